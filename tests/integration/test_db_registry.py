"""The registry service on both databases: store, find by ID document, history, images, shredding."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import text

from subreg.domain.common.errors import CryptoError, InputError, NotFoundError
from subreg.domain.common.msisdn import msisdn_key
from subreg.services import registry
from tests.records import complete_record, with_holder

AS_OF = date(2023, 6, 1)  # after the fixture's CCCD issue date (2021)


def _jpeg(color=(200, 120, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 50), color).save(buf, format="JPEG")
    return buf.getvalue()


def _store(container, record, *, images=None, actor=None, as_of=AS_OF):
    with container.uow() as uow:
        result = registry.store_subscription(
            record,
            uow=uow,
            vault=container.vault,
            blobs=container.blobs,
            as_of=as_of,
            actor=actor,
            channel="store",
            images=images,
            rule_set=container.rule_set,
        )
        uow.commit()
    return result


def _get(container, msisdn):
    with container.uow() as uow:
        return registry.get_subscription(msisdn, uow=uow, vault=container.vault)


class TestStoreAndGet:
    def test_a_complete_record_round_trips_decrypted(self, container):
        result = _store(container, complete_record())
        assert result.complete
        stored = _get(container, "0901234567")
        assert stored["msisdn"] == "+84901234567"
        assert stored["holder"]["full_name"] == "Nguyễn Thị Ánh"
        assert stored["holder"]["id_number"] == "079190123456"
        assert stored["activated_on"] == "2016-03-01"
        assert stored["point_of_sale"] == "HCM-Q1-01"
        assert stored["documents"]["portrait"] == "blob:p1"

    def test_compliance_columns_follow_the_check(self, container):
        record = complete_record()
        del record["documents"]["portrait"]
        result = _store(container, with_holder(record, id_issue_place=None))
        with container.uow() as uow:
            sub = uow.subscriptions.get(msisdn_key("+84901234567"))
        assert not sub.complete
        assert set(sub.missing) == set(result.missing) == {"documents.portrait", "holder.id_issue_place"}
        assert sub.rule_set == f"nd49-2017/{container.rule_set.revision}"
        assert sub.evaluated_on == AS_OF

    def test_an_invalid_number_is_refused(self, container):
        with pytest.raises(InputError):
            _store(container, complete_record(msisdn="12345"))

    def test_an_unknown_number_is_not_found(self, container):
        with pytest.raises(NotFoundError):
            _get(container, "0909999999")

    def test_nothing_is_stored_when_the_caller_does_not_commit(self, container):
        with container.uow() as uow:
            registry.store_subscription(
                complete_record(),
                uow=uow,
                vault=container.vault,
                blobs=container.blobs,
                as_of=AS_OF,
                actor=None,
                channel="store",
                rule_set=container.rule_set,
            )
        with pytest.raises(NotFoundError):
            _get(container, "0901234567")


class TestSameIdDocument:
    def test_subscriptions_under_one_id_share_one_holder_found_by_blind_index(self, container):
        for n in range(3):
            _store(container, complete_record(msisdn=f"090123456{n}"))
        with container.uow() as uow:
            holders = uow.holders.find_by_blind(container.vault.blind("079190123456"))
            assert len(holders) == 1
            assert len(uow.subscriptions.list_by_holder(holders[0].id)) == 3

    def test_the_fourth_subscription_needs_a_contract_number(self, container):
        for n in range(3):
            assert _store(container, complete_record(msisdn=f"090123456{n}", activated_on=f"2016-03-0{n + 1}")).valid
        fourth = _store(container, complete_record(msisdn="0901234569", activated_on="2016-04-01"))
        assert "contract_required" in {e.code for e in fourth.errors}
        # Re-storing an earlier one keeps its rank: no contract needed for the 2nd subscription.
        assert _store(container, complete_record(msisdn="0901234561", activated_on="2016-03-02")).valid

    def test_a_changed_personal_field_re_encrypts_the_shared_payload(self, container):
        _store(container, complete_record())
        _store(container, with_holder(complete_record(msisdn="0901234568"), address="1 Hùng Vương, Huế"))
        assert _get(container, "0901234567")["holder"]["address"] == "1 Hùng Vương, Huế"


class TestHistory:
    def test_creation_and_updates_are_recorded_without_personal_values(self, container):
        _store(container, complete_record(), actor=None)
        _store(container, with_holder(complete_record(payment_type="postpaid"), full_name="Trần Văn Bình"))
        _store(container, with_holder(complete_record(payment_type="postpaid", status="one_way_locked"),
                                      full_name="Trần Văn Bình"))  # fmt: skip
        with container.uow() as uow:
            entries = uow.history.list_for(uow.subscriptions.get(msisdn_key("+84901234567")).id)
        assert [e.action for e in entries] == ["created", "updated", "status_changed"]
        update = entries[1].changes
        assert "holder.full_name" in update["fields"]
        assert update["values"]["payment_type"] == ["prepaid", "postpaid"]
        assert "holder.full_name" not in update["values"]
        assert "Trần" not in str(update)
        assert "Nguyễn" not in str(entries[0].changes)
        assert entries[2].changes["values"]["status"] == ["active", "one_way_locked"]

    def test_storing_the_same_record_twice_adds_no_history(self, container):
        _store(container, complete_record())
        _store(container, complete_record())
        with container.uow() as uow:
            assert len(uow.history.list_for(uow.subscriptions.get(msisdn_key("+84901234567")).id)) == 1


class TestImages:
    def test_uploaded_images_are_stored_encrypted_and_count_as_documents(self, container):
        record = complete_record()
        del record["documents"]["portrait"]
        portrait = _jpeg()
        result = _store(container, record, images={"portrait": portrait})
        assert result.complete
        stored = _get(container, "0901234567")
        ref = stored["documents"]["portrait"]
        assert ref.startswith("document:")
        with container.uow() as uow:
            doc = uow.documents.get(int(ref.split(":")[1]))
            assert doc.content_type == "image/jpeg"
            assert doc.size == len(portrait)
            assert container.blobs.get(doc.blob_key) != portrait
            content_type, data = registry.read_document(doc.id, uow=uow, vault=container.vault, blobs=container.blobs)
        assert (content_type, data) == ("image/jpeg", portrait)

    def test_adding_an_image_later_is_recorded_as_documents_added(self, container):
        _store(container, complete_record())
        _store(container, complete_record(), images={"id_front": _jpeg((10, 20, 30))})
        with container.uow() as uow:
            entries = uow.history.list_for(uow.subscriptions.get(msisdn_key("+84901234567")).id)
        assert entries[-1].action == "documents_added"
        assert entries[-1].changes["fields"] == ["documents.id_front"]

    def test_an_unknown_document_kind_is_refused(self, container):
        with pytest.raises(InputError):
            _store(container, complete_record(), images={"selfie": b"x"})


class TestCryptoShredding:
    def test_a_shredded_holder_can_no_longer_be_read(self, container):
        _store(container, complete_record(), images={"portrait": _jpeg()})
        with container.uow() as uow:
            sub = uow.subscriptions.get(msisdn_key("+84901234567"))
            doc = uow.documents.list_for(sub.id)[-1]
            uow.holders.shred(sub.holder_id)
            uow.commit()
        with pytest.raises(CryptoError):
            _get(container, "0901234567")
        with container.uow() as uow, pytest.raises(CryptoError):
            registry.read_document(doc.id, uow=uow, vault=container.vault, blobs=container.blobs)


class TestBulkLoad:
    def test_batches_share_holders_and_reject_duplicates(self, container):
        records = [complete_record(msisdn=f"09012345{n:02d}", activated_on="2016-03-01") for n in range(5)]
        records.append(complete_record(msisdn="0901234500"))  # duplicate number
        records.append(complete_record(msisdn="12345"))  # invalid number
        with container.uow() as uow:
            stats = registry.bulk_load(
                records,
                uow=uow,
                vault=container.vault,
                blobs=container.blobs,
                as_of=AS_OF,
                rule_set=container.rule_set,
                batch_size=2,
            )
        assert stats.stored == 5
        assert stats.rejected_codes == {"duplicate_msisdn": 1, "invalid_msisdn": 1}
        # Each line is stored with the answer on its own papers; its person is marked for the evaluation,
        # which applies the 4th-subscription rule across batches (the 4th and 5th need a contract).
        assert stats.invalid == 0
        with container.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM evaluation_dirty")).scalar_one() == 1
        with container.uow() as uow:
            holders = uow.holders.find_by_blind(container.vault.blind("079190123456"))
            assert len(holders) == 1
            assert len(uow.subscriptions.list_by_holder(holders[0].id)) == 5
            assert uow.history.list_for(uow.subscriptions.get(msisdn_key("+84901234500")).id)[0].action == "created"
        assert _get(container, "0901234503")["holder"]["full_name"] == "Nguyễn Thị Ánh"
