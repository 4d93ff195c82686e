"""The registry on the fakes: the one writer (creation, updates, history, documents, shared holders, lines of a
number), bulk loads, and the sweep of orphan blobs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.domain.common.errors import ConflictError, CryptoError, InputError, NotFoundError
from subreg.domain.compliance.rules.base import rule_tag
from subreg.services import counter, registry
from subreg.services.counter.commands import LookUpIdDocument, UpdateSubscription
from subreg.services.registry.blob_sweep import sweep_orphan_blobs
from tests.fakes import Fakes, image, key_of
from tests.records import complete_record, with_holder

AS_OF = date(2023, 6, 1)  # after the fixture's CCCD issue date (2021)
ID_NUMBER = "079190123456"


def store(fakes: Fakes, record: dict[str, Any], *, images: dict[str, bytes] | None = None, **kw: Any) -> Any:
    with fakes.uow() as uow:
        result = registry.store_subscription(
            record, uow=uow, vault=fakes.vault, blobs=fakes.blobs, as_of=kw.pop("as_of", AS_OF),
            actor=kw.pop("actor", None), channel="store", images=images, rule_set=fakes.rule_set, **kw,
        )  # fmt: skip
        uow.commit()
    return result


def get(fakes: Fakes, number: str) -> dict[str, Any]:
    with fakes.uow() as uow:
        return registry.get_subscription(number, uow=uow, vault=fakes.vault)


def history(fakes: Fakes, number: str) -> list[Any]:
    with fakes.uow() as uow:
        return uow.history.list_for(fakes.line(number).id)


class TestStore:
    def test_a_complete_record_round_trips_with_personal_data_only_in_the_holders_ciphertext(self, fakes):
        result = store(fakes, complete_record())
        assert (result.complete, result.valid) == (True, True)
        stored = get(fakes, "0901234567")
        assert (stored["msisdn"], stored["holder"]["id_number"], stored["activated_on"]) == (
            "+84901234567", ID_NUMBER, "2016-03-01"
        )  # fmt: skip
        assert stored["documents"]["portrait"] == "blob:p1"
        (holder,) = fakes.rows("holders")
        (line,) = fakes.rows("subscriptions")
        assert (holder["kind"], holder["id_type"], holder["province_code"]) == ("person", "cccd", "079")
        assert holder["id_blind"] == fakes.vault.blind(ID_NUMBER)
        clear = str([line, *fakes.rows("subscription_history"), *fakes.rows("documents")])
        for personal in (ID_NUMBER, "Nguyễn", "Lê Lợi", "1990-05-17"):
            assert personal not in clear
            assert personal.encode() not in holder["payload"]
        assert (line["generation"], line["version"], line["evaluated_on"], line["rule_set"]) == (
            1, 1, AS_OF, rule_tag(fakes.rule_set)
        )  # fmt: skip

    def test_compliance_columns_follow_the_check(self, fakes):
        record = with_holder(complete_record(), id_issue_place=None)
        del record["documents"]["portrait"]
        result = store(fakes, record)
        line = fakes.line("0901234567")
        assert set(line.missing) == set(result.missing) == {"documents.portrait", "holder.id_issue_place"}
        assert line.complete is False

    @pytest.mark.parametrize(
        ("record", "images"),
        [(complete_record(msisdn="12345"), None), (complete_record(), {"selfie": b"x"})],
    )
    def test_an_invalid_number_or_document_kind_is_refused(self, fakes, record, images):
        with pytest.raises(InputError):
            store(fakes, record, images=images)
        assert fakes.rows("subscriptions") == []

    def test_nothing_is_kept_when_the_caller_does_not_commit(self, fakes):
        with fakes.uow() as uow:
            registry.store_subscription(complete_record(), uow=uow, vault=fakes.vault, blobs=fakes.blobs,
                                        as_of=AS_OF, actor=None, channel="store", rule_set=fakes.rule_set)  # fmt: skip
        with pytest.raises(NotFoundError):
            get(fakes, "0901234567")

    def test_lines_under_one_id_document_share_one_holder_and_its_latest_data(self, fakes):
        for n in range(3):
            store(fakes, complete_record(msisdn=f"090123456{n}"))
        store(fakes, with_holder(complete_record(msisdn="0901234563"), address="1 Hùng Vương, Huế"))
        with fakes.uow() as uow:
            (holder,) = uow.holders.find_by_blind(fakes.vault.blind(ID_NUMBER))
            assert len(uow.subscriptions.list_by_holder(holder.id)) == 4
        assert get(fakes, "0901234560")["holder"]["address"] == "1 Hùng Vương, Huế"  # last write wins

    def test_the_fourth_line_needs_a_contract_and_an_earlier_one_keeps_its_rank(self, fakes):
        for n in range(3):
            assert store(fakes, complete_record(msisdn=f"090123456{n}", activated_on=f"2016-03-0{n + 1}")).valid
        fourth = store(fakes, complete_record(msisdn="0901234569", activated_on="2016-04-01"))
        assert "contract_required" in {e.code for e in fourth.errors}
        assert store(fakes, complete_record(msisdn="0901234561", activated_on="2016-03-02")).valid

    def test_a_cccd_naming_the_previous_cmnd_counts_the_lines_under_both_towards_one_person(self, fakes):
        cmnd = {"id_type": "cmnd", "id_number": "123456789", "id_issue_date": "2012-05-06",
                "id_issue_place": "CA Hà Nội", "id_expiry_date": None}  # fmt: skip
        for n in range(2):
            record = with_holder(complete_record(msisdn=f"090123456{n}", activated_on=f"2016-03-0{n + 1}"), **cmnd)
            assert store(fakes, record).valid
        old_key = fakes.rule_set.document_keys(with_holder(complete_record(), **cmnd))[0]
        person = fakes.vault.blind(old_key)
        assert store(fakes, with_holder(complete_record(msisdn="0901234562", activated_on="2016-03-03"),
                                        previous_id_number="123456789")).valid  # fmt: skip
        fourth = store(fakes, with_holder(complete_record(msisdn="0901234563", activated_on="2016-03-04"),
                                          previous_id_number="123456789"))  # fmt: skip
        assert "contract_required" in {e.code for e in fourth.errors}
        with fakes.uow() as uow:
            assert uow.people.person_of_document(fakes.vault.blind(ID_NUMBER)) == person
            lines = uow.people.lines_of_person(person)
        assert [(line.msisdn % 10, line.contract_needed) for line in lines] == [
            (0, False), (1, False), (2, False), (3, True)
        ]  # fmt: skip
        assert len({line.holder_id for line in lines}) == 2  # two documents, two holders, one person
        # Marked for the evaluation: the person, and the CCCD's own key (lines counted under it would have moved).
        assert {r["person_key"] for r in fakes.rows("evaluation_dirty")} == {person, fakes.vault.blind(ID_NUMBER)}

    def test_a_stale_read_of_the_line_conflicts(self, fakes):
        store(fakes, complete_record())
        stale = fakes.line("0901234567")
        store(fakes, complete_record(payment_type="postpaid"))
        with pytest.raises(ConflictError):
            store(fakes, complete_record(), stored=stale)
        assert fakes.line("0901234567").payment_type == "postpaid"


class TestHistory:
    def test_creation_and_changes_are_recorded_without_personal_values(self, fakes):
        clerk = fakes.actor("store_staff", "STORE-1").staff_id
        store(fakes, complete_record())
        store(fakes, with_holder(complete_record(payment_type="postpaid"), full_name="Trần Văn Bình"), actor=clerk)
        store(fakes, with_holder(complete_record(payment_type="postpaid", status="one_way_locked"),
                                 full_name="Trần Văn Bình"), actor=clerk)  # fmt: skip
        entries = history(fakes, "0901234567")
        assert [(e.action, e.actor_staff_id, e.channel) for e in entries] == [
            ("created", None, "store"), ("updated", clerk, "store"), ("status_changed", clerk, "store")
        ]  # fmt: skip
        created, update, status = (e.changes for e in entries)
        assert "holder" in created["fields"]
        assert "holder.full_name" in update["fields"]
        assert update["values"]["payment_type"] == ["prepaid", "postpaid"]
        assert "holder.full_name" not in update["values"]
        assert status == {"fields": ["status"], "values": {"status": ["active", "one_way_locked"]}}
        assert "Trần" not in str([e.changes for e in entries])
        assert fakes.line("0901234567").version == 3

    def test_storing_the_same_record_again_adds_no_history(self, fakes):
        store(fakes, complete_record())
        store(fakes, complete_record(), as_of=AS_OF + timedelta(days=30))  # only the evaluation date moves
        assert [e.action for e in history(fakes, "0901234567")] == ["created"]
        assert fakes.line("0901234567").evaluated_on == AS_OF + timedelta(days=30)


class TestDocuments:
    def test_uploaded_images_are_sealed_in_the_blob_store_and_count_as_documents(self, fakes):
        record = complete_record()
        del record["documents"]["portrait"]
        portrait = image("portrait")
        clerk = fakes.actor("store_staff", "STORE-1").staff_id
        assert store(fakes, record, images={"portrait": portrait}, actor=clerk).complete
        ref = get(fakes, "0901234567")["documents"]["portrait"]
        assert ref.startswith("document:")
        with fakes.uow() as uow:
            doc = uow.documents.get(int(ref.split(":")[1]))
            content_type, data = registry.read_document(doc.id, uow=uow, vault=fakes.vault, blobs=fakes.blobs)
        assert (doc.content_type, doc.size, doc.created_by_staff_id) == ("image/jpeg", len(portrait), clerk)
        assert fakes.blobs.keys() == [doc.blob_key]
        assert portrait not in fakes.blobs.get(doc.blob_key)
        assert (content_type, data) == ("image/jpeg", portrait)

    def test_a_new_image_or_reference_is_recorded_and_an_unchanged_one_is_not(self, fakes):
        store(fakes, complete_record())
        documents = len(fakes.rows("documents"))
        store(fakes, complete_record())
        assert len(fakes.rows("documents")) == documents
        store(fakes, complete_record(), images={"id_front": image("id_front")})
        changed = get(fakes, "0901234567")  # the stored record names the uploaded image by its document id
        changed["documents"]["id_back"] = "blob:b2"
        store(fakes, changed)
        assert [e.changes["fields"] for e in history(fakes, "0901234567") if e.action == "documents_added"] == [
            ["documents.id_front"], ["documents.id_back"]
        ]  # fmt: skip
        assert len(fakes.rows("documents")) == documents + 2

    def test_a_shredded_holder_can_no_longer_be_read(self, fakes):
        store(fakes, complete_record(), images={"portrait": image("portrait")})
        with fakes.uow() as uow:
            sub = uow.subscriptions.get(key_of("0901234567"))
            doc = next(d for d in uow.documents.list_for(sub.id) if d.blob_key)
            uow.holders.shred(sub.holder_id)
            uow.commit()
        with pytest.raises(CryptoError):
            get(fakes, "0901234567")
        with fakes.uow() as uow, pytest.raises(CryptoError):
            registry.read_document(doc.id, uow=uow, vault=fakes.vault, blobs=fakes.blobs)


class TestRefresh:
    """`Registry.refresh`: a stored verdict checked again when a date it depends on is reached or the rules
    changed (what the counter does before its gate answers)."""

    def expiring(self) -> dict[str, Any]:
        return with_holder(complete_record(), id_expiry_date="2026-12-01")

    def test_a_verdict_past_its_date_is_checked_again_and_stored(self, fakes):
        store(fakes, self.expiring(), as_of=date(2026, 11, 1))
        tag = rule_tag(fakes.rule_set)
        line = fakes.line("0901234567")
        assert (line.complete, line.valid_until) == (True, date(2026, 11, 30))  # the Monday of the expiry's week
        assert not line.stale(today=date(2026, 11, 29), rule_tag=tag)
        assert line.stale(today=date(2026, 11, 30), rule_tag=tag)
        with fakes.uow() as uow:
            fresh = fakes.registry().refresh(line, uow=uow, as_of=date(2026, 12, 2))
            uow.commit()
        assert fresh == fakes.line("0901234567")
        assert (fresh.complete, fresh.version, fresh.evaluated_on, fresh.rule_set) == (
            False, 2, date(2026, 12, 2), tag
        )  # fmt: skip
        assert any(code.endswith(":id_expired") for code in fresh.error_codes)
        assert fresh.state.label == "invalid"
        assert fakes.rows("subscriptions")[0]["verdict"] == int(fresh.state)
        assert not fresh.stale(today=date(2026, 12, 2), rule_tag=tag)
        assert [e.action for e in history(fakes, "0901234567")] == ["created"]  # a re-check is no change of record

    def test_a_verdict_of_another_revision_of_the_rules_is_stale_and_checked_again(self, fakes):
        store(fakes, complete_record())
        with fakes.uow() as uow:
            line = uow.subscriptions.get(key_of("0901234567"))
            uow.subscriptions.update(line.id, {"rule_set": "nd49-2017/0"}, expected_version=line.version)
            uow.commit()
        line = fakes.line("0901234567")
        tag = rule_tag(fakes.rule_set)
        assert line.stale(today=AS_OF, rule_tag=tag)
        with fakes.uow() as uow:
            fresh = fakes.registry().refresh(line, uow=uow, as_of=AS_OF)
            uow.commit()
        assert (fresh.rule_set, fresh.complete, fresh.person_key, fresh.contract_needed) == (
            tag, True, line.person_key, False
        )  # fmt: skip

    def test_a_refresh_that_finds_the_same_answer_stores_nothing(self, fakes):
        # SubscriptionWriter.refresh: "The line with its verdict checked again at `as_of` (stored when it changed)."
        store(fakes, self.expiring(), as_of=date(2026, 11, 1))
        line = fakes.line("0901234567")
        with fakes.uow() as uow:
            fresh = fakes.registry().refresh(line, uow=uow, as_of=date(2026, 11, 30))  # the card is valid until 12-01
            uow.commit()
        assert fresh.complete is True
        assert fresh.version == line.version

    def test_a_refresh_from_a_stale_read_conflicts(self, fakes):
        store(fakes, self.expiring(), as_of=date(2026, 11, 1))
        line = fakes.line("0901234567")
        store(fakes, with_holder(self.expiring(), address="12 Hàng Bài, Hà Nội"), as_of=date(2026, 11, 1))
        with fakes.uow() as uow, pytest.raises(ConflictError):
            fakes.registry().refresh(line, uow=uow, as_of=date(2026, 12, 2))
        assert fakes.line("0901234567").complete is True


class TestLines:
    def test_a_terminated_number_stored_live_again_is_a_new_line(self, fakes):
        first = {"full_name": "Trần Văn Bình", "date_of_birth": "1985-02-03", "id_type": "cccd",
                 "id_number": "001085123456", "id_issue_date": "2021-04-10",
                 "id_issue_place": "Cục Cảnh sát QLHC về TTXH"}  # fmt: skip
        store(fakes, complete_record(holder=first))
        store(fakes, complete_record(holder=first, status="terminated"))
        store(fakes, complete_record())
        with fakes.uow() as uow:
            old, new = uow.subscriptions.lines_of(key_of("0901234567"))
            assert uow.subscriptions.existing([key_of("0901234567")]) == {key_of("0901234567")}
            old_history, new_history = uow.history.list_for(old.id), uow.history.list_for(new.id)
        assert [(old.generation, old.status), (new.generation, new.status)] == [(1, "terminated"), (2, "active")]
        assert old.holder_id != new.holder_id
        assert [e.action for e in old_history] == ["created", "status_changed"]
        assert [e.action for e in new_history] == ["created"]
        assert get(fakes, "0901234567")["holder"]["id_number"] == ID_NUMBER

    def test_a_line_stored_as_terminated_keeps_its_holder_and_its_images(self, fakes):
        portrait = image("portrait")
        store(fakes, complete_record(), images={"portrait": portrait})
        store(fakes, complete_record(status="terminated"))
        line = fakes.line("0901234567")
        with fakes.uow() as uow:
            under_document = uow.holders.find_by_blind(fakes.vault.blind(ID_NUMBER))
            doc = next(d for d in uow.documents.list_for(line.id) if d.blob_key)
            _, data = registry.read_document(doc.id, uow=uow, vault=fakes.vault, blobs=fakes.blobs)
        assert [h.id for h in under_document] == [line.holder_id]
        assert (line.status, data, len(fakes.rows("holders"))) == ("terminated", portrait, 1)

    def test_an_update_of_a_terminated_line_at_the_counter_keeps_its_holder(self, fakes):
        fakes.seed(complete_record(point_of_sale="STORE-1"), images={"portrait": image("portrait")})
        line = fakes.seed(complete_record(point_of_sale="STORE-1"), status="terminated")
        store_staff = fakes.actor("store_staff", "STORE-1")
        counter.update_subscription(UpdateSubscription("0901234567", {"payment_type": "postpaid"}),
                                    uow=fakes.uow(), ctx=fakes.counter_context(), actor=store_staff)  # fmt: skip
        by_id = LookUpIdDocument("cccd", ID_NUMBER, "customer_request")
        found = counter.lookup_by_id_document(by_id, uow=fakes.uow(), ctx=fakes.counter_context(), actor=store_staff)
        assert fakes.line("0901234567").holder_id == line.holder_id
        assert [c["status"] for c in found["subscriptions"]] == ["terminated"]
        assert len(fakes.rows("holders")) == 1


def _records(draw: Any) -> list[dict[str, Any]]:
    numbers = draw(st.lists(st.sampled_from(["0901234560", "0901234561", "0901234562", "0901234563", "12345"]),
                            min_size=1, max_size=8))  # fmt: skip
    ids = draw(st.lists(st.sampled_from([ID_NUMBER, "079190654321"]), min_size=len(numbers), max_size=len(numbers)))
    return [with_holder(complete_record(msisdn=n), id_number=i) for n, i in zip(numbers, ids, strict=True)]


class TestBulkLoad:
    def test_batches_share_holders_and_reject_duplicates(self, fakes):
        records = [complete_record(msisdn=f"09012345{n:02d}", activated_on="2016-03-01") for n in range(5)]
        records += [complete_record(msisdn="0901234500"), complete_record(msisdn="12345")]
        with fakes.uow() as uow:
            stats = registry.bulk_load(records, uow=uow, vault=fakes.vault, blobs=fakes.blobs, as_of=AS_OF,
                                       rule_set=fakes.rule_set, batch_size=2)  # fmt: skip
        # Each line is stored with the answer on its own papers; the 4th-subscription rule is the evaluation's,
        # for the people the load marked.
        assert (stats.stored, stats.complete, stats.invalid) == (5, 5, 0)
        assert stats.rejected_codes == {"duplicate_msisdn": 1, "invalid_msisdn": 1}
        person = fakes.vault.blind(ID_NUMBER)
        with fakes.uow() as uow:
            (holder,) = uow.holders.find_by_blind(person)
            assert len(uow.subscriptions.list_by_holder(holder.id)) == 5
            lines = uow.people.lines_of_person(person)
        assert [line.contract_needed for line in lines] == [False] * 5
        assert [r["person_key"] for r in fakes.rows("evaluation_dirty")] == [person]
        assert [e.action for e in history(fakes, "0901234500")] == ["created"]
        assert get(fakes, "0901234503")["holder"]["full_name"] == "Nguyễn Thị Ánh"

    def test_images_are_stored_for_the_kinds_the_callback_gives_and_a_reissued_number_is_a_new_line(self, fakes):
        store(fakes, complete_record(status="terminated"))

        def images_for(normalized: Any, result: Any) -> dict[str, bytes]:
            return {"portrait": image("portrait")}

        with fakes.uow() as uow:
            stats = registry.bulk_load([complete_record(), complete_record(msisdn="0901234568")], uow=uow,
                                       vault=fakes.vault, blobs=fakes.blobs, as_of=AS_OF, rule_set=fakes.rule_set,
                                       images_for=images_for)  # fmt: skip
        assert stats.stored == 2
        assert [r["generation"] for r in fakes.rows("subscriptions") if r["msisdn"] == key_of("0901234567")] == [1, 2]
        assert len(fakes.blobs.keys()) == 2
        assert get(fakes, "0901234568")["documents"]["portrait"].startswith("document:")

    @settings(max_examples=25, deadline=None)
    @given(data=st.data(), batch_size=st.integers(min_value=1, max_value=4))
    def test_every_record_is_stored_once_or_rejected_with_a_reason(self, data, batch_size):
        fakes = Fakes.build()
        records = _records(data.draw)
        with fakes.uow() as uow:
            stats = registry.bulk_load(records, uow=uow, vault=fakes.vault, blobs=fakes.blobs, as_of=AS_OF,
                                       rule_set=fakes.rule_set, batch_size=batch_size)  # fmt: skip
        valid = [r["msisdn"] for r in records if r["msisdn"] != "12345"]
        assert stats.stored == len(set(valid)) == len(fakes.rows("subscriptions"))
        assert stats.rejected == len(records) - stats.stored == sum(stats.rejected_codes.values())
        assert stats.stored == stats.complete + stats.incomplete + stats.invalid
        holders = {r["id_blind"] for r in fakes.rows("holders")}
        assert len(holders) == len(fakes.rows("holders"))  # one holder per ID document, across batches
        assert len(fakes.rows("subscription_history")) == stats.stored


class TestBlobSweep:
    def test_only_old_unreferenced_blobs_are_removed(self, fakes):
        store(fakes, complete_record(), images={"portrait": image("portrait")})
        (kept,) = fakes.blobs.keys()
        fakes.blobs.put("0a0a" + "1" * 28, b"an orphan: a refused update's image")
        fakes.clock.advance(timedelta(hours=2))
        fakes.blobs.put("0a0a" + "2" * 28, b"a request still in flight")
        hour, now = timedelta(hours=1), fakes.clock.now()
        dry = sweep_orphan_blobs(fakes.uow(), fakes.blobs, older_than=hour, now=now, dry_run=True)
        assert (dry.checked, dry.referenced, dry.young, dry.orphans, dry.removed) == (3, 1, 1, 1, 0)
        done = sweep_orphan_blobs(fakes.uow(), fakes.blobs, older_than=hour, now=now)
        assert (done.removed, done.temporaries) == (1, 0)
        assert fakes.blobs.keys() == sorted([kept, "0a0a" + "2" * 28])
