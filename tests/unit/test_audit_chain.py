"""The audit hash chain: sealing, canonical form, and detection of every kind of tampering."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.privacy.audit_chain import (
    GENESIS,
    START,
    AuditAction,
    AuditDraft,
    AuditEntry,
    Checkpoint,
    canonical_bytes,
    chain_hash,
    key_fingerprint,
    seal,
    utc_timestamp,
    verify_chain,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
T0 = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)


def draft(seq: int, **overrides: object) -> AuditDraft:
    values: dict[str, object] = {
        "seq": seq,
        "at": utc_timestamp(T0 + timedelta(seconds=seq)),
        "actor_staff_id": 100 + seq % 7,
        "actor_role": "store_staff",
        "point_of_sale_id": 10 + seq % 3,
        "action": AuditAction.SUBSCRIPTION_READ,
        "subject": f"sub:{84901000000 + seq}",
        "fields": ("holder.full_name", "holder.id_number"),
        "purpose": "transaction",
        "request_id": f"req-{seq}",
        "details": {"masked": seq % 2 == 0, "count": seq},
    }
    values.update(overrides)
    return AuditDraft(**values)  # type: ignore[arg-type]


def build(n: int, key: bytes | None = None) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    last = START
    for seq in range(1, n + 1):
        entry = seal(draft(seq), last.hash, key)
        entries.append(entry)
        last = entry.checkpoint
    return entries


def reseal_from(entries: list[AuditEntry], index: int, key: bytes | None) -> list[AuditEntry]:
    """What an attacker with write access does: renumber and recompute every hash from `index` on."""
    out = entries[:index]
    prev = out[-1].checkpoint if out else START
    for e in entries[index:]:
        fields = {f.name: getattr(e, f.name) for f in dataclasses.fields(AuditDraft)}
        fields["seq"] = prev.seq + 1
        sealed = seal(fields, prev.hash, key)
        out.append(sealed)
        prev = sealed.checkpoint
    return out


PLAIN = build(100)
KEYED = build(100, KEY)


def forged(seq: int, prev_hash: str) -> AuditEntry:
    # Sealed without the chain key: the best an attacker with database access can do.
    return seal(draft(seq, subject="sub:84900000000", details={"forged": True}), prev_hash, None)


class TestSeal:
    def test_the_first_entry_links_to_genesis(self):
        assert PLAIN[0].prev_hash == GENESIS
        assert PLAIN[0].seq == 1

    def test_each_entry_links_to_the_previous_hash(self):
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(PLAIN))

    def test_hash_is_sha256_hex_or_hmac_with_a_key(self):
        assert len(PLAIN[0].hash) == 64
        int(PLAIN[0].hash, 16)
        assert KEYED[0].hash != PLAIN[0].hash
        assert KEYED[0].hash == chain_hash(GENESIS, draft(1), KEY)

    def test_a_mapping_draft_seals_like_a_dataclass(self):
        as_map = dataclasses.asdict(draft(1))
        assert seal(as_map, GENESIS).hash == PLAIN[0].hash

    def test_the_sealed_details_are_a_private_copy(self):
        details = {"count": 1}
        entry = seal(draft(1, details=details), GENESIS)
        details["count"] = 2
        assert entry.details == {"count": 1}

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"at": "2026-05-01 01:00:00"}, "audit.at: invalid_format"),
            ({"seq": 0}, "audit.seq: invalid"),
            ({"action": "Read It"}, "audit.action: invalid_format"),
            ({"purpose": None}, "audit.purpose: required"),
            ({"details": {"full_name": "Nguyễn Văn An"}}, "audit.details.full_name: personal_data_key"),
            (
                {"details": {"x": {"ID_NUMBER": "079212345656"}}},
                "audit.details.x.ID_NUMBER: personal_data_key",
            ),
            ({"details": {"ratio": 0.5}}, "audit.details.ratio: not_json_safe"),
            ({"details": ["a"]}, "audit.details: invalid_format"),
            ({"fields": ("holder.id_number", 3)}, "audit.fields: invalid_format"),
        ],
    )
    def test_an_unacceptable_draft_is_refused_without_echoing_values(self, overrides, code):
        with pytest.raises(ValueError, match=r"^audit\.") as err:
            seal(draft(**{"seq": 1, **overrides}), GENESIS)
        assert str(err.value) == code
        assert "079212345656" not in str(err.value)
        assert "Nguyễn" not in str(err.value)

    def test_actions_without_personal_data_need_no_purpose(self):
        entry = seal(draft(1, action=AuditAction.AUTH_LOGIN_FAILED, purpose=None, fields=()), GENESIS)
        assert entry.purpose is None

    def test_a_bad_prev_hash_is_refused(self):
        with pytest.raises(ValueError, match=r"audit\.prev_hash"):
            seal(draft(1), "xyz")


class TestCanonicalForm:
    def test_canonical_bytes_are_sorted_compact_ascii_json_without_hashes(self):
        raw = canonical_bytes(KEYED[0])
        doc = json.loads(raw)
        assert list(doc) == sorted(doc)
        assert "hash" not in doc
        assert "prev_hash" not in doc
        assert b" " not in raw.replace(b"sub:", b"")
        assert raw.isascii()

    def test_non_ascii_text_is_escaped(self):
        assert canonical_bytes(draft(1, request_id="đ")).isascii()

    def test_key_order_of_a_mapping_does_not_matter(self):
        as_map = dataclasses.asdict(draft(1))
        reversed_map = dict(reversed(list(as_map.items())))
        assert canonical_bytes(reversed_map) == canonical_bytes(draft(1))

    def test_a_sealed_entry_and_its_draft_have_the_same_bytes(self):
        assert canonical_bytes(PLAIN[4]) == canonical_bytes(draft(5))

    def test_timestamps_are_normalised_to_utc(self):
        hanoi = timezone(timedelta(hours=7))
        assert utc_timestamp(datetime(2026, 5, 1, 8, 0, tzinfo=hanoi)) == "2026-05-01T01:00:00.000000Z"

    def test_a_naive_timestamp_is_refused(self):
        with pytest.raises(ValueError, match="naive"):
            utc_timestamp(datetime(2026, 5, 1, 8, 0))

    def test_key_fingerprint_is_stable_and_tells_keys_apart(self):
        assert key_fingerprint(KEY) == key_fingerprint(bytes(KEY))
        assert key_fingerprint(KEY) != key_fingerprint(OTHER_KEY)
        assert len(key_fingerprint(KEY)) == 16


def edit(entries: list[AuditEntry], index: int, **changes: object) -> list[AuditEntry]:
    out = list(entries)
    out[index] = dataclasses.replace(out[index], **changes)
    return out


class TestVerifyIntact:
    @pytest.mark.parametrize(("entries", "key"), [(PLAIN, None), (KEYED, KEY)], ids=["sha256", "hmac"])
    def test_an_intact_log_verifies(self, entries, key):
        result = verify_chain(entries, key)
        assert result.ok
        assert result.checked == 100
        assert result.first_bad_seq is None
        assert result.reason is None
        assert result.last == entries[-1].checkpoint

    def test_an_empty_log_verifies(self):
        assert verify_chain([]).ok

    def test_a_one_shot_generator_is_enough(self):
        assert verify_chain((e for e in KEYED), KEY).ok


class TestVerifyTampering:
    @pytest.mark.parametrize(
        "changes",
        [
            {"purpose": "update"},
            {"subject": "sub:84999999999"},
            {"fields": ("holder.full_name",)},
            {"details": {"masked": True, "count": 1}},
            {"at": "2026-05-01T01:00:42.000001Z"},
            {"actor_staff_id": 1},
            {"point_of_sale_id": None},
            {"action": "subscription:updated"},
        ],
        ids=lambda c: next(iter(c)),
    )
    def test_an_edited_field_is_named_at_its_entry(self, changes):
        result = verify_chain(edit(KEYED, 41, **changes), KEY)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, 42, "edited")
        assert result.checked == 41
        assert result.last == KEYED[40].checkpoint

    def test_an_edited_last_entry_is_detected(self):
        result = verify_chain(edit(PLAIN, 99, purpose="dsr"))
        assert (result.first_bad_seq, result.reason) == (100, "edited")

    def test_a_deleted_entry_is_named_by_its_missing_number(self):
        result = verify_chain(KEYED[:41] + KEYED[42:], KEY)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, 42, "deleted_or_inserted")

    def test_a_deleted_entry_with_the_rest_renumbered_breaks_the_link(self):
        renumbered = [dataclasses.replace(e, seq=e.seq - 1) for e in KEYED[42:]]
        result = verify_chain(KEYED[:41] + renumbered, KEY)
        assert (result.first_bad_seq, result.reason) == (42, "deleted_or_inserted")

    def test_a_deleted_first_entry_is_detected(self):
        result = verify_chain(PLAIN[1:])
        assert (result.first_bad_seq, result.reason) == (1, "deleted_or_inserted")

    def test_an_inserted_entry_with_a_repeated_number_is_detected(self):
        log = [*KEYED[:41], forged(42, KEYED[40].hash), *KEYED[41:]]
        result = verify_chain(log, KEY)
        assert (result.first_bad_seq, result.reason) == (42, "deleted_or_inserted")

    def test_an_inserted_entry_repeating_a_number_is_found_even_without_a_key(self):
        log = [*PLAIN[:41], forged(42, PLAIN[40].hash), *PLAIN[41:]]
        result = verify_chain(log)
        assert (result.first_bad_seq, result.reason) == (42, "deleted_or_inserted")

    def test_an_inserted_entry_with_the_rest_renumbered_is_named_at_the_forgery_under_a_key(self):
        renumbered = [dataclasses.replace(e, seq=e.seq + 1) for e in KEYED[41:]]
        log = [*KEYED[:41], forged(42, KEYED[40].hash), *renumbered]
        result = verify_chain(log, KEY)
        assert (result.first_bad_seq, result.reason) == (42, "deleted_or_inserted")

    def test_two_swapped_entries_are_reported_as_reordered_at_the_first(self):
        log = list(KEYED)
        log[20], log[60] = log[60], log[20]
        result = verify_chain(log, KEY)
        assert (result.first_bad_seq, result.reason) == (21, "reordered")

    def test_two_adjacent_swapped_entries_are_reordered(self):
        log = list(PLAIN)
        log[49], log[50] = log[50], log[49]
        result = verify_chain(log)
        assert (result.first_bad_seq, result.reason) == (50, "reordered")

    def test_a_changed_genesis_is_detected(self):
        result = verify_chain(edit(KEYED, 0, prev_hash="f" * 64), KEY)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, 1, "bad_genesis")
        assert result.last is None

    def test_a_log_rebuilt_from_another_genesis_is_detected(self):
        rebuilt = [seal(draft(1), "1" * 64)]
        assert verify_chain(rebuilt).reason == "bad_genesis"

    def test_a_wrong_hmac_key_fails_at_the_first_entry(self):
        result = verify_chain(KEYED, OTHER_KEY)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, 1, "edited")

    def test_a_keyed_log_does_not_verify_without_the_key(self):
        assert not verify_chain(KEYED).ok

    def test_without_a_key_a_recomputed_chain_passes_and_only_the_head_catches_it(self):
        # Why the keyed mode exists: with write access, plain SHA-256 can simply be recomputed.
        tampered = reseal_from(PLAIN[:41] + PLAIN[42:], 41, None)
        assert verify_chain(tampered).ok
        result = verify_chain(tampered, head=PLAIN[-1].checkpoint)
        assert (result.first_bad_seq, result.reason) == (100, "deleted_or_inserted")

    def test_under_a_key_a_recomputed_chain_fails_where_it_was_rewritten(self):
        tampered = reseal_from(KEYED[:41] + KEYED[42:], 41, OTHER_KEY)
        result = verify_chain(tampered, KEY)
        assert (result.first_bad_seq, result.reason) == (42, "edited")

    def test_a_truncated_log_fails_against_its_head(self):
        result = verify_chain(KEYED[:90], KEY, head=KEYED[-1].checkpoint)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, 91, "deleted_or_inserted")
        assert result.checked == 90

    def test_a_head_with_another_hash_is_detected(self):
        result = verify_chain(KEYED, KEY, head=Checkpoint(50, "a" * 64))
        assert (result.first_bad_seq, result.reason) == (50, "edited")

    def test_a_log_longer_than_its_head_verifies(self):
        assert verify_chain(KEYED, KEY, head=KEYED[49].checkpoint).ok

    def test_verification_stops_reading_soon_after_an_edit(self):
        log = edit(KEYED, 9, purpose="update")
        consumed = 0

        def stream() -> Iterator[AuditEntry]:
            nonlocal consumed
            for e in log:
                consumed += 1
                yield e

        assert verify_chain(stream(), KEY).first_bad_seq == 10
        assert consumed == 11  # the bad entry and one lookahead


class TestCheckpoint:
    def test_verification_resumes_from_a_checkpoint(self):
        first = verify_chain(KEYED[:50], KEY)
        rest = verify_chain(KEYED[50:], KEY, checkpoint=first.last)
        assert rest.ok
        assert rest.checked == 50
        assert rest.last == KEYED[-1].checkpoint

    def test_a_wrong_checkpoint_hash_breaks_the_link(self):
        result = verify_chain(KEYED[50:], KEY, checkpoint=Checkpoint(50, "a" * 64))
        assert (result.first_bad_seq, result.reason) == (51, "deleted_or_inserted")
        assert result.last == Checkpoint(50, "a" * 64)

    def test_entries_must_start_right_after_the_checkpoint(self):
        result = verify_chain(KEYED[52:], KEY, checkpoint=KEYED[49].checkpoint)
        assert (result.first_bad_seq, result.reason) == (51, "deleted_or_inserted")

    def test_tampering_after_the_checkpoint_is_still_found(self):
        result = verify_chain(edit(KEYED, 70, purpose="update")[50:], KEY, checkpoint=KEYED[49].checkpoint)
        assert (result.first_bad_seq, result.reason) == (71, "edited")


SMALL = build(30, KEY)
N = len(SMALL)


class TestRandomTampering:
    @given(st.integers(0, N - 1), st.sampled_from(["purpose", "subject", "details", "request_id"]))
    def test_any_edit_is_named_at_its_entry(self, i, field):
        value = {"purpose": "dsr", "subject": "sub:1", "details": {"z": 1}, "request_id": "other"}[field]
        if getattr(SMALL[i], field) == value:
            return
        result = verify_chain(edit(SMALL, i, **{field: value}), KEY, head=SMALL[-1].checkpoint)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, i + 1, "edited")
        assert result.checked == i

    @given(st.integers(0, N - 1))
    def test_any_deletion_is_named_by_its_number(self, i):
        result = verify_chain(SMALL[:i] + SMALL[i + 1 :], KEY, head=SMALL[-1].checkpoint)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, i + 1, "deleted_or_inserted")

    @given(st.integers(0, N - 1))
    def test_any_insertion_is_named_at_the_forgery(self, i):
        prev = SMALL[i - 1].hash if i else GENESIS
        log = [*SMALL[:i], forged(i + 1, prev), *SMALL[i:]]
        result = verify_chain(log, KEY, head=SMALL[-1].checkpoint)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, i + 1, "deleted_or_inserted")

    @given(st.lists(st.integers(0, N - 1), min_size=2, max_size=2, unique=True))
    def test_any_swap_is_reordered_at_the_earlier_position(self, pair):
        i, j = sorted(pair)
        log = list(SMALL)
        log[i], log[j] = log[j], log[i]
        result = verify_chain(log, KEY, head=SMALL[-1].checkpoint)
        assert (result.ok, result.first_bad_seq, result.reason) == (False, i + 1, "reordered")

    @given(st.integers(1, N))
    def test_any_truncation_is_caught_by_the_head(self, keep):
        if keep == N:
            assert verify_chain(SMALL, KEY, head=SMALL[-1].checkpoint).ok
            return
        result = verify_chain(SMALL[:keep], KEY, head=SMALL[-1].checkpoint)
        assert (result.first_bad_seq, result.reason) == (keep + 1, "deleted_or_inserted")
