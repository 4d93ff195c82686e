"""The fraud and quality signals on real storage (SQLite and PostgreSQL), each list checked against what the
test generated (expected signals computed here from the generated facts, not by the same query), the review
decisions with their audit entries, and the portrait signal on real images through the real writer."""

from __future__ import annotations

import os
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image, ImageOps
from sqlalchemy import func, select

from subreg.adapters.db.tables import audit_log, portrait_bands, review_items, signal_reviews
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.errors import InputError, NotFoundError, PermissionDeniedError
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.registry.writer import Registry
from subreg.services.signals.lists import list_signals, review_signal
from subreg.services.signals.portraits import index_portraits
from tests.fixtures.images import encode, face_image, portrait_jpeg
from tests.integration.signal_data import Reg, add_staff, seed, utc
from tests.records import complete_record, with_holder

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LOCAL = timedelta(hours=7)  # Asia/Ho_Chi_Minh
OFFICER = Actor(staff_id=None, role=Role.COMPLIANCE_OFFICER)


def listed(container, kind, **options):
    opts = replace(container.signal_options(), **options)
    return list_signals(kind, uow=container.uow(), options=opts, actor=None, today=TODAY, now=NOW,
                        documents=container.registry(), hasher=container.portrait_hasher())  # fmt: skip


def decide(container, **values):
    return review_signal(values, uow=container.uow(), options=container.signal_options(), actor=None, today=TODAY,
                         now=NOW, documents=container.registry(), hasher=container.portrait_hasher())  # fmt: skip


def count(container, table):
    with container.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


def person() -> bytes:
    return os.urandom(32)


class TestDocumentsOverTheLimit:
    def test_documents_with_four_or_more_lines_without_a_contract_are_listed_with_their_lines(self, container):
        p5, p4, p4c, p4t, p3 = person(), person(), person(), person(), person()
        regs = ([Reg("HN-1", person=p5)] * 5 + [Reg("HN-1", person=p4)] * 4
                + [Reg("HN-1", person=p4c)] * 3 + [Reg("HN-1", person=p4c, has_contract=True)]
                + [Reg("HN-1", person=p4t)] * 3 + [Reg("HN-1", person=p4t, status="terminated")]
                + [Reg("HN-1", person=p3)] * 3)  # fmt: skip
        ids = seed(container.engine, regs)
        lines_of = defaultdict(list)
        for line, r in zip(ids, regs, strict=True):
            if r.status != "terminated":
                lines_of[r.person].append(line)
        expected = {k for k in lines_of if sum(1 for r in regs if r.person == k and r.status != "terminated"
                                                and not r.has_contract) >= 4}  # fmt: skip
        assert expected == {p5, p4}

        got = listed(container, "over_limit")

        assert {i.facts["document"] for i in got.items} == {k.hex()[:12] for k in expected}
        first = got.items[0]
        assert first.facts == {"document": p5.hex()[:12], "lines": 5, "without_contract": 5}
        assert [r.line_id for r in first.lines] == lines_of[p5]
        assert all("*" in r.masked for r in first.lines)  # masked numbers only


class TestUnusualVolumes:
    def test_a_point_is_flagged_against_its_own_history_and_a_busy_point_is_not(self, container):
        rng = random.Random(15)
        regs: list[Reg] = []
        for day_back in range(40):
            day = TODAY - timedelta(days=day_back)
            for point in ("Q-1", "Q-2", "Q-3"):
                regs += [Reg(point, utc(day, rng.randrange(0, 14)))] * rng.randrange(2, 8)
            regs += [Reg("BUSY", utc(day, 4))] * rng.randrange(28, 36)  # busy every day: normal for it
            if day_back == 2:
                regs += [Reg("Q-2", utc(day, 5))] * 60  # a spike
            if day_back == 5:
                regs += [Reg("Q-3", utc(day, 5), channel="legacy_import")] * 100  # an import: not a counter's work
        # 00:30 local on TODAY is 17:30 UTC the day before: counted on TODAY
        regs += [Reg("NEW", utc(TODAY - timedelta(days=1), 17, 30))] * 25  # a new point: no history vouches for it
        seed(container.engine, regs)

        daily: dict[str, Counter] = defaultdict(Counter)
        for r in regs:
            if r.channel in ("store", "agent", "authorized_point", "mobile_point"):
                daily[r.point][(r.at + LOCAL).date()] += 1
        expected = set()
        for point, counts in daily.items():
            for back in range(7):
                day = TODAY - timedelta(days=back)
                history = [counts.get(day - timedelta(days=i), 0) for i in range(1, 29)]
                median = statistics.median(history)
                mad = statistics.median([abs(h - median) for h in history])
                bar = max(20, 3 * statistics.fmean(history), median + 3.5 * 1.4826 * mad)
                if counts.get(day, 0) >= bar:
                    expected.add((point, day.isoformat()))
        assert expected == {("Q-2", (TODAY - timedelta(days=2)).isoformat()), ("NEW", TODAY.isoformat())}

        got = listed(container, "pos_volume")

        assert {(i.facts["point_of_sale"], i.facts["day"]) for i in got.items} == expected
        spike = next(i for i in got.items if i.facts["point_of_sale"] == "Q-2")
        assert spike.facts["registrations"] == daily["Q-2"][TODAY - timedelta(days=2)]


class TestOneDocumentAtManyPointsTheSameDay:
    def test_three_registrations_at_two_points_in_one_local_day_are_listed_and_nothing_else(self, container):
        d = TODAY - timedelta(days=1)
        flagged, one_point, two_regs, old, imported = person(), person(), person(), person(), person()
        regs = [
            Reg("A", utc(d, 2), person=flagged), Reg("B", utc(d, 9), person=flagged),
            Reg("B", utc(d - timedelta(days=1), 17, 10), person=flagged),  # 00:10 local on d
            Reg("A", utc(d, 2), person=one_point), Reg("A", utc(d, 3), person=one_point),
            Reg("A", utc(d, 4), person=one_point),
            Reg("A", utc(d, 2), person=two_regs), Reg("B", utc(d, 3), person=two_regs),
            *[Reg(p, utc(TODAY - timedelta(days=20), 3), person=old) for p in ("A", "B", "C")],
            *[Reg(p, utc(d, 3), person=imported, channel="legacy_import") for p in ("A", "B", "C")],
        ]  # fmt: skip
        ids = seed(container.engine, regs)
        groups: dict[tuple[bytes, date], list[int]] = defaultdict(list)
        for line, r in zip(ids, regs, strict=True):
            day = (r.at + LOCAL).date()
            if r.channel != "legacy_import" and TODAY - timedelta(days=6) <= day <= TODAY:
                groups[(r.person, day)].append(line)
        expected = {
            k for k, lines in groups.items()
            if len(lines) >= 3 and len({regs[ids.index(i)].point for i in lines}) >= 2
        }  # fmt: skip
        assert expected == {(flagged, d)}

        got = listed(container, "multi_pos_day")

        assert [(i.facts["document"], i.facts["day"]) for i in got.items] == [(flagged.hex()[:12], d.isoformat())]
        item = got.items[0]
        assert item.facts["points"] == 2
        assert item.facts["registrations"] == 3
        assert item.facts["points_of_sale"] == ["A", "B"]
        assert sorted(r.line_id for r in item.lines) == sorted(groups[(flagged, d)])


class TestStaffReadingMore:
    def test_the_heavy_reader_among_peers_is_listed_by_username(self, container):
        ids = add_staff(container.engine, ["an", "binh", "chi", "dung", "heavy"])
        reads = {"an": 10, "binh": 12, "chi": 9, "dung": 11, "heavy": 150}
        with container.uow() as uow:
            for name, n in reads.items():
                actor = Actor(staff_id=ids[name], role=Role.STORE_STAFF)
                for i in range(n):
                    audit_trail.record(uow, actor=actor, action=AuditAction.SUBSCRIPTION_READ, subject=f"line:{i}",
                                       purpose="transaction", now=NOW - timedelta(days=1))  # fmt: skip
            uow.commit()
        median = statistics.median(reads.values())
        expected = {n for n, r in reads.items() if r >= max(50, 5 * median) and r > median}
        assert expected == {"heavy"}

        got = listed(container, "staff_reads")

        assert [(i.facts["staff"], i.facts["reads"]) for i in got.items] == [("heavy", 150)]


class TestReviewDecisions:
    def test_a_reviewed_signal_leaves_the_open_list_until_its_facts_change_and_each_decision_is_audited(
        self, container
    ):
        key_person = person()
        seed(container.engine, [Reg("HN-1", person=key_person)] * 4)
        signal = listed(container, "over_limit").items[0]

        decide(container, kind="over_limit", key=signal.key, decision="escalated", reason="suspected_fraud")
        still = listed(container, "over_limit")
        assert [i.decision for i in still.items] == ["escalated"]  # escalated: someone is on it, still shown

        decide(container, kind="over_limit", key=signal.key, decision="reviewed", reason="contract_on_file",
               note="hợp đồng giấy đã có")  # fmt: skip
        after = listed(container, "over_limit")
        assert after.items == ()
        assert after.closed_count == 1

        seed(container.engine, [Reg("HN-1", person=key_person)])  # a fifth line: the facts changed
        again = listed(container, "over_limit")
        assert [i.facts["lines"] for i in again.items] == [5]
        assert again.items[0].decision is None

        with container.engine.connect() as c:
            rows = c.execute(select(signal_reviews.c.decision, signal_reviews.c.reason, signal_reviews.c.note)
                             .order_by(signal_reviews.c.id)).all()  # fmt: skip
            actions = [a for (a,) in c.execute(select(audit_log.c.action).order_by(audit_log.c.seq))]
        assert [tuple(r) for r in rows] == [("escalated", "suspected_fraud", None),
                                            ("reviewed", "contract_on_file", "hợp đồng giấy đã có")]  # fmt: skip
        assert actions.count("signal:decided") == 2
        assert actions.count("signals:listed") == 4

    def test_an_escalated_signal_sends_its_lines_to_the_supervisor_and_a_dismissed_one_does_not(self, container):
        seed(container.engine, [Reg("HN-1", person=person())] * 4)
        seed(container.engine, [Reg("HN-1", person=person())] * 5)
        first, second = listed(container, "over_limit").items
        decide(container, kind="over_limit", key=first.key, decision="dismissed", reason="contract_on_file")
        decide(container, kind="over_limit", key=second.key, decision="escalated", reason="suspected_fraud")
        decide(container, kind="over_limit", key=second.key, decision="escalated", reason="suspected_fraud")

        with container.engine.connect() as c:
            items = c.execute(select(review_items.c.subscription_id, review_items.c.kind, review_items.c.flags,
                                     review_items.c.state).order_by(review_items.c.subscription_id)).all()  # fmt: skip
            details = [
                d for (a, d) in c.execute(select(audit_log.c.action, audit_log.c.details)) if a == "signal:decided"
            ]
        # Escalated twice: each line of that signal waits once, flagged; the dismissed signal's lines do not.
        assert [tuple(i) for i in items] == [(r.line_id, "signal", "fraud_signal", "pending") for r in
                                             sorted(second.lines, key=lambda r: r.line_id)]  # fmt: skip
        assert len(items) == len(second.lines)
        assert {r.line_id for r in first.lines}.isdisjoint(i[0] for i in items)
        assert ['"lines_to_review":0' in d.replace(" ", "") for d in details] == [True, False, False]

    def test_bad_decisions_name_the_field_and_write_nothing(self, container):
        seed(container.engine, [Reg("HN-1", person=person())] * 4)
        key = listed(container, "over_limit").items[0].key
        before = (count(container, signal_reviews), count(container, audit_log))
        cases = [
            ({"kind": "nope", "key": key, "decision": "reviewed", "reason": "false_positive"}, InputError, "kind"),
            ({"kind": "over_limit", "key": key, "decision": "reviewed", "reason": "because"}, InputError, "reason"),
            ({"kind": "over_limit", "key": key, "decision": "maybe", "reason": "other", "note": "x"}, InputError,
             "decision"),
            ({"kind": "over_limit", "key": "0" * 32 + ":4:4", "decision": "reviewed", "reason": "false_positive"},
             NotFoundError, "key"),
        ]  # fmt: skip
        for values, error, field in cases:
            with pytest.raises(error) as raised:
                decide(container, **values)
            assert field in {e.field for e in raised.value.errors}
        assert (count(container, signal_reviews), count(container, audit_log)) == before

    def test_listing_an_unknown_kind_is_refused_and_deciding_needs_the_permission(self, container):
        with pytest.raises(InputError) as raised:
            listed(container, "nope")
        assert [(e.field, e.code) for e in raised.value.errors] == [("kind", "invalid_choice")]
        with pytest.raises(PermissionDeniedError):
            review_signal({}, uow=container.uow(), options=container.signal_options(),
                          actor=Actor(staff_id=1, role=Role.AUDITOR), today=TODAY, now=NOW)  # fmt: skip


# --- the portrait signal, through the real writer and real images ---------------------------------------------


def _store(registry, container, number: str, id_number: str, portrait: bytes) -> None:
    record = with_holder(complete_record(msisdn=number), id_number=id_number)
    with container.uow() as uow:
        registry.store(record, uow=uow, as_of=TODAY, actor=None, channel="store", images={"portrait": portrait})
        uow.commit()


class TestPortraitReuse:
    def test_the_same_face_under_two_documents_is_found_and_different_faces_or_one_person_are_not(self, container):
        from skimage import data

        same = portrait_jpeg()
        resized = encode(face_image().resize((300, 300), Image.Resampling.LANCZOS), quality=60)
        others = [encode(Image.fromarray(data.camera())), encode(Image.fromarray(data.chelsea())),
                  encode(ImageOps.mirror(face_image()))]  # fmt: skip
        plain = Registry(container.vault, container.blobs, container.rule_set, phase_reference=date(2018, 4, 24))
        # stored before the signal existed (no bands): the backfill keys them
        _store(plain, container, "0901000001", "079190000001", same)
        _store(plain, container, "0901000002", "079190000001", same)  # the same person's second line
        for i, image in enumerate(others):
            _store(plain, container, f"090100001{i}", f"07919000001{i}", image)
        assert count(container, portrait_bands) == 0
        report = index_portraits(uow=container.uow(), documents=container.registry(),
                                 hasher=container.portrait_hasher(), options=replace(container.signal_options(),
                                 portrait_batch=2), actor=None, now=NOW)  # fmt: skip
        assert (report.indexed, report.unreadable, report.batches) == (5, 0, 3)
        # registered at the counter under ANOTHER document, re-encoded and resized: keyed at once
        _store(container.registry(), container, "0901000003", "079190000099", resized)
        bands = container.signal_options()
        assert count(container, portrait_bands) == 6 * container.settings.signal_portrait_bands
        assert bands.portrait_max_distance == 24

        got = listed(container, "portrait_reuse")

        assert len(got.items) == 2  # each of the first person's two portraits with the newcomer's
        numbers = {tuple(sorted(r.masked for r in i.lines)) for i in got.items}
        assert all(any(m.endswith("03") for m in pair) for pair in numbers)
        assert all(i.facts["distance"] <= 24 for i in got.items)

    def test_no_clear_hash_is_stored_only_keyed_band_digests(self, container):
        hasher = container.portrait_hasher()
        _store(container.registry(), container, "0901000005", "079190000005", portrait_jpeg())
        value = hasher.perceptual_hash(portrait_jpeg())
        with container.engine.connect() as c:
            stored = [bytes(d) for (d,) in c.execute(select(portrait_bands.c.digest).order_by(portrait_bands.c.band))]
        assert stored == hasher.digests_of(value)
        clear = value.to_bytes(hasher.bits // 8, "big")
        assert all(d not in clear and len(d) == 16 for d in stored)
