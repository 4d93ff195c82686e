"""The point-of-sale use cases on a real database (SQLite and PostgreSQL), real vault, real image checks."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log, bill_payments, consents, counter_transactions, network_orders
from subreg.adapters.images.quality import OpenCvImageInspector
from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import (
    DuplicateMsisdnError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ProcessingRestrictedError,
)
from subreg.domain.counter.gate import RegistrationIncompleteError, SubscriptionTerminatedError, UpdateRequiredError
from subreg.services import counter
from subreg.services.counter.commands import (
    LookUpIdDocument,
    LookUpNumber,
    OpenVisit,
    PayBill,
    RegisterSubscription,
    SuggestPostpaid,
    Transact,
    UpdateSubscription,
)
from subreg.services.counter.context import CounterContext
from subreg.services.registry import read_document, seal_images, store_subscription
from tests.auth_helpers import make_staff
from tests.fixtures.images import (
    card_front_jpeg,
    paper_jpeg,
    plain_card_jpeg,
    portrait_jpeg,
    registration_images,
    three_images,
    two_faces_jpeg,
)
from tests.records import complete_record

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
_INSPECTOR = OpenCvImageInspector()


def ctx(container: Any, now: datetime = NOW) -> CounterContext:
    return dataclasses.replace(container.counter_context(now=now), images=_INSPECTOR)


def seed(container: Any, record: dict[str, Any], *, status: str | None = None) -> None:
    """Store a subscription as a legacy import would (no checks at the counter)."""
    if status:
        record = {**record, "status": status}
    with container.uow() as uow:
        store_subscription(
            record,
            uow=uow,
            vault=container.vault,
            blobs=container.blobs,
            as_of=TODAY,
            actor=None,
            channel="legacy_import",
            rule_set=container.rule_set,
        )
        uow.commit()


def point(container: Any, code: str, kind: str) -> int:
    with container.uow() as uow:
        found = uow.points_of_sale.get_by_code(code)
        pos_id = (
            found.id if found else uow.points_of_sale.add({"code": code, "kind": kind, "name": code, "active": True})
        )
        uow.commit()
    return pos_id


def actor(container: Any, role: str, code: str, kind: str) -> Actor:
    """A real staff account of `role` at the point of sale `code` (created when missing)."""
    username, _ = make_staff(container, role, code)
    with container.uow() as uow:
        row = uow.staff.get_by_username(username)
    return Actor(staff_id=row.id, role=role, point_of_sale_id=point(container, code, kind), pos_kind=kind)


def incomplete(**changes: Any) -> dict[str, Any]:
    record = complete_record(point_of_sale="STORE-1", **changes)
    record["documents"] = {"confirmation_form": "blob:c1"}  # no portrait, no card images
    return record


def rows(container: Any, table: Any) -> list[Any]:
    with container.engine.connect() as c:
        return list(c.execute(select(table).order_by(table.c[next(iter(table.c.keys()))])))


def audit_actions(container: Any) -> list[str]:
    return [r.action for r in rows(container, audit_log)]


class TestLookUp:
    def test_the_card_shows_status_compliance_phase_and_masked_holder(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        card = counter.lookup_by_msisdn(
            LookUpNumber("0901234567", purpose="transaction"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert card["status"] == "active"
        assert card["compliance"]["complete"] is False
        assert set(card["compliance"]["missing"]) == {"documents.portrait", "documents.id_front", "documents.id_back"}
        assert card["phase"] == 1  # activated 2016-03-01: under 5 years before the 2018-04-24 reference
        assert card["holder"]["id_number"] == "0791******56"
        assert card["gate"]["update_required"] is True
        assert card["gate"]["allowed"] == ["bill_payment", "change_owner", "termination"]
        assert "subscription:read" in audit_actions(container)

    def test_an_agent_cannot_read_another_points_customer_until_presence_is_proven(self, container):
        seed(container, incomplete())
        agent = actor(container, "agent", "AGENT-9", "agent")
        with pytest.raises(PermissionDeniedError) as refused:
            counter.lookup_by_msisdn(
                LookUpNumber("0901234567", purpose="transaction"), uow=container.uow(), ctx=ctx(container), actor=agent
            )
        assert refused.value.errors[0].code == "out_of_scope"
        (denied,) = [r for r in rows(container, audit_log) if r.action == "access:denied"]
        assert (denied.actor_staff_id, denied.purpose) == (agent.staff_id, "transaction")
        assert '"out_of_scope"' in denied.details
        assert "079190123456" not in denied.details + denied.subject
        with pytest.raises(PermissionDeniedError) as wrong:
            counter.open_visit(
                OpenVisit("0901234567", "079190999999"), uow=container.uow(), ctx=ctx(container), actor=agent
            )
        assert wrong.value.errors[0].code == "presence_not_proven"
        visit = counter.open_visit(
            OpenVisit("0901234567", "079190123456"), uow=container.uow(), ctx=ctx(container), actor=agent
        )
        assert visit["msisdn"] == "+84901234567"
        card = counter.lookup_by_msisdn(
            LookUpNumber("0901234567", purpose="transaction"), uow=container.uow(), ctx=ctx(container), actor=agent
        )
        assert card["msisdn"] == "+84901234567"
        later = NOW + timedelta(minutes=31)
        with pytest.raises(PermissionDeniedError):
            counter.lookup_by_msisdn(
                LookUpNumber("0901234567", purpose="transaction"),
                uow=container.uow(),
                ctx=ctx(container, later),
                actor=agent,
            )
        assert "access:denied" in audit_actions(container)

    def test_look_up_by_id_document_finds_every_subscription(self, container):
        seed(container, incomplete())
        seed(container, incomplete(msisdn="0901234568"))
        store = actor(container, "store_staff", "STORE-1", "store")
        found = counter.lookup_by_id_document(
            LookUpIdDocument("cccd", "079190123456", purpose="customer_request"),
            uow=container.uow(),
            ctx=ctx(container),
            actor=store,
        )
        assert [c["msisdn"] for c in found["subscriptions"]] == ["+84901234567", "+84901234568"]
        assert "lookup:by_id" in audit_actions(container)

    def test_an_unknown_number_is_not_found(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(NotFoundError):
            counter.lookup_by_msisdn(
                LookUpNumber("0901234599", purpose="transaction"), uow=container.uow(), ctx=ctx(container), actor=store
            )


class TestRestriction:
    """A holder who asked to restrict processing (PDPL) is kept on file, neither shown nor changed at the counter."""

    def _restrict(self, container: Any) -> None:
        with container.uow() as uow:
            sub = uow.subscriptions.get(84901234567)
            uow.privacy.set_flags(sub.holder_id, restricted=True)
            uow.commit()

    def test_the_card_hides_the_holder_and_the_update_is_refused(self, container):
        seed(container, incomplete())
        self._restrict(container)
        store = actor(container, "store_staff", "STORE-1", "store")
        card = counter.lookup_by_msisdn(
            LookUpNumber("0901234567", purpose="update"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert card["restricted"] is True
        assert card["holder"] is None
        assert card["visibility"]["images"] is False
        read = [r for r in rows(container, audit_log) if r.action == "subscription:read"][-1]
        assert "holder.id_number" not in read.fields
        with pytest.raises(ProcessingRestrictedError) as refused:
            counter.update_subscription(
                UpdateSubscription("0901234567", {}, three_images()),
                uow=container.uow(),
                ctx=ctx(container),
                actor=store,
            )
        assert [(e.field, e.code) for e in refused.value.errors] == [("holder", "processing_restricted")]
        assert not rows(container, network_orders)

    def test_an_unrestricted_holder_is_shown(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        card = counter.lookup_by_msisdn(
            LookUpNumber("0901234567", purpose="update"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert card["restricted"] is False
        assert card["holder"]["id_number"] == "079190123456"  # updating needs the number in full


class TestGate:
    def test_an_incomplete_subscription_refuses_a_sim_replacement_and_records_it(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(UpdateRequiredError) as refused:
            counter.transact(
                Transact("0901234567", "sim_replacement"), uow=container.uow(), ctx=ctx(container), actor=store
            )
        assert "documents.portrait" in refused.value.missing
        (tx,) = rows(container, counter_transactions)
        assert (tx.kind, tx.outcome, tx.refusal_code) == ("sim_replacement", "refused", "update_required")

    def test_a_complete_subscription_passes_the_gate(self, container):
        seed(container, complete_record(point_of_sale="STORE-1"))
        store = actor(container, "store_staff", "STORE-1", "store")
        done = counter.transact(
            Transact("0901234567", "package_change"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert done["outcome"] == "done"

    def test_a_terminated_subscription_refuses_everything_but_payment(self, container):
        seed(container, complete_record(point_of_sale="STORE-1"), status="terminated")
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(SubscriptionTerminatedError):
            counter.transact(
                Transact("0901234567", "change_owner"), uow=container.uow(), ctx=ctx(container), actor=store
            )
        paid = counter.pay_bill(PayBill("0901234567", 50_000), uow=container.uow(), ctx=ctx(container), actor=store)
        assert paid["update_offered"] is False

    def test_bill_payment_is_recorded_and_offers_the_update(self, container):
        seed(container, incomplete())
        agent = actor(container, "agent", "AGENT-9", "agent")  # any point of sale takes payments
        paid = counter.pay_bill(
            PayBill("0901234567", 120_000, reference="INV-1"), uow=container.uow(), ctx=ctx(container), actor=agent
        )
        assert paid["update_offered"] is True
        assert "documents.portrait" in paid["missing"]
        (payment,) = rows(container, bill_payments)
        assert payment.amount_vnd == 120_000
        with pytest.raises(InputError):
            counter.pay_bill(PayBill("0901234567", -5), uow=container.uow(), ctx=ctx(container), actor=agent)


class TestUpdate:
    def test_three_good_images_complete_the_subscription_and_queue_the_unlock(self, container):
        seed(container, incomplete(), status="one_way_locked")
        store = actor(container, "store_staff", "STORE-1", "store")
        done = counter.update_subscription(
            UpdateSubscription("0901234567", {}, three_images()), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert done["complete"] is True
        assert done["unlock_queued"] is True
        assert done["card_source"] == "qr"
        (order,) = rows(container, network_orders)
        assert (order.action, order.status, order.reason) == ("unlock", "queued", "information_complete")
        card = counter.lookup_by_msisdn(
            LookUpNumber("0901234567", purpose="update"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert card["compliance"]["complete"] is True
        assert {d["kind"] for d in card["documents"]} >= {"portrait", "id_front", "id_back"}
        assert any(h["action"] == "documents_added" for h in card["history"])

    def test_the_card_qr_fills_absent_holder_fields(self, container):
        record = incomplete()
        del record["holder"]["address"]
        seed(container, record)
        store = actor(container, "store_staff", "STORE-1", "store")
        done = counter.update_subscription(
            UpdateSubscription("0901234567", {}, three_images()), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert "holder.address" in done["filled_from_card"]

    def test_bad_images_are_refused_field_by_field(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        images = {"portrait": two_faces_jpeg(), "id_front": plain_card_jpeg(), "id_back": plain_card_jpeg()}
        with pytest.raises(InputError) as refused:
            counter.update_subscription(
                UpdateSubscription("0901234567", {}, images), uow=container.uow(), ctx=ctx(container), actor=store
            )
        codes = {(e.field, e.code) for e in refused.value.errors}
        assert ("documents.portrait", "several_faces") in codes
        assert rows(container, network_orders) == []

    def test_a_card_of_someone_else_is_refused(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        other = {**three_images(), "id_front": card_front_jpeg({**_holder(), "id_number": "079190654321"})}
        with pytest.raises(InputError) as refused:
            counter.update_subscription(
                UpdateSubscription("0901234567", {}, other), uow=container.uow(), ctx=ctx(container), actor=store
            )
        assert refused.value.errors[0].code == "id_card_mismatch"

    def test_an_invalid_value_refuses_the_update(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(InputError) as refused:
            counter.update_subscription(
                UpdateSubscription("0901234567", {"holder": {"gender": "male"}}, {}),
                uow=container.uow(),
                ctx=ctx(container),
                actor=store,
            )
        assert refused.value.errors[0].code == "id_gender_mismatch"


def blob_files(container: Any) -> list[Path]:
    root = container.settings.blob_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def stored_images(container: Any, msisdn: int) -> dict[str, bytes]:
    with container.uow() as uow:
        docs = [d for d in uow.documents.list_for(uow.subscriptions.get(msisdn).id) if d.blob_key]
        return {d.kind: read_document(d.id, uow=uow, vault=container.vault, blobs=container.blobs)[1] for d in docs}


class TestImagesSealedAhead:
    """Images are encrypted and written before the write lock; the locked phase uses those blobs."""

    def test_an_update_writes_each_image_once(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        images = three_images()
        counter.update_subscription(
            UpdateSubscription("0901234567", {}, images), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert len(blob_files(container)) == 3  # no second copy sealed under the lock
        assert stored_images(container, 84901234567) == images

    def test_a_registration_writes_each_image_once(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        images = registration_images()
        counter.register_subscription(
            RegisterSubscription(_new("0901111111"), images), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert len(blob_files(container)) == len(images)
        assert stored_images(container, 84901111111) == images

    def test_a_refused_card_leaves_no_image_behind(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        other = {**three_images(), "id_front": card_front_jpeg({**_holder(), "id_number": "079190654321"})}
        with pytest.raises(InputError):
            counter.update_subscription(
                UpdateSubscription("0901234567", {}, other), uow=container.uow(), ctx=ctx(container), actor=store
            )
        assert blob_files(container) == []

    def test_images_sealed_for_another_holder_are_sealed_again(self, container):
        seed(container, incomplete())
        images = {"portrait": portrait_jpeg()}
        someone_else = incomplete(msisdn="0907654321")
        someone_else["holder"] = {**someone_else["holder"], "id_number": "079190654321"}
        with container.uow() as uow:
            # Sealed with the key of 0901234567's holder, then stored for another person: not usable.
            sealed = seal_images(incomplete(), images, uow=uow, vault=container.vault, blobs=container.blobs,
                                 rule_set=container.rule_set)  # fmt: skip
            assert sealed.holder_id is not None
            store_subscription(someone_else, uow=uow, vault=container.vault, blobs=container.blobs, as_of=TODAY,
                               actor=None, channel="store", images=images, rule_set=container.rule_set,
                               sealed=sealed)  # fmt: skip
            uow.commit()
        assert len(blob_files(container)) == 2  # the prepared blob is an orphan; a fresh one was written
        assert stored_images(container, 84907654321) == images  # readable with the right holder's key
        with container.uow() as uow:
            (doc,) = [d for d in uow.documents.list_for(uow.subscriptions.get(84907654321).id) if d.blob_key]
        assert doc.blob_key != sealed.blobs["portrait"][0]


def _holder() -> dict[str, Any]:
    return copy.deepcopy(complete_record()["holder"])


def _new(msisdn: str, **changes: Any) -> dict[str, Any]:
    record = {"msisdn": msisdn, "subscriber_type": "individual", "payment_type": "prepaid", "holder": _holder()}
    record.update(changes)
    return record


class TestRegister:
    def test_a_complete_registration_is_stored_with_consent(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        images = registration_images()
        done = counter.register_subscription(
            RegisterSubscription(_new("0901111111"), images), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert done["complete"] is True
        card = counter.lookup_by_msisdn(
            LookUpNumber("0901111111", purpose="transaction"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert card["activated_on"] == TODAY.isoformat()
        assert "subscription:registered" in audit_actions(container)
        (consent,) = rows(container, consents)
        assert consent.accepted is True

    def test_an_incomplete_registration_is_refused_with_the_reasons(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(RegistrationIncompleteError) as refused:
            counter.register_subscription(
                RegisterSubscription(_new("0901111111"), {"portrait": portrait_jpeg()}),
                uow=container.uow(),
                ctx=ctx(container),
                actor=store,
            )
        assert set(refused.value.missing) >= {"documents.id_front", "documents.id_back"}
        with container.uow() as uow:
            assert uow.subscriptions.get(84901111111) is None

    def test_the_fourth_subscription_needs_a_contract_number(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        for n in ("0901111111", "0901111112", "0901111113"):
            counter.register_subscription(
                RegisterSubscription(_new(n), registration_images()),
                uow=container.uow(),
                ctx=ctx(container),
                actor=store,
            )
        with pytest.raises(RegistrationIncompleteError) as refused:
            counter.register_subscription(
                RegisterSubscription(_new("0901111114"), registration_images()),
                uow=container.uow(),
                ctx=ctx(container),
                actor=store,
            )
        assert ("contract_number", "contract_required") in {(e.field, e.code) for e in refused.value.errors}
        # With the number and the signed standard-form contract, the 4th goes through.
        images = {**three_images(), "contract": paper_jpeg("HOP DONG THEO MAU")}
        done = counter.register_subscription(
            RegisterSubscription(_new("0901111114", contract_number="HD-2026-0001"), images),
            uow=container.uow(),
            ctx=ctx(container),
            actor=store,
        )
        assert done["complete"] is True

    def test_an_under_14_is_registered_by_a_guardian_whose_card_is_photographed(self, container):
        store = actor(container, "store_staff", "STORE-1", "store")
        child = {"full_name": "Nguyễn Văn Bé", "date_of_birth": "2018-02-03"}
        guardian = {**_holder(), "relationship": "mother"}
        del guardian["address"]  # filled from the guardian's card
        without = {"msisdn": "0901111115", "subscriber_type": "individual", "payment_type": "prepaid",
                   "holder": child}  # fmt: skip
        with pytest.raises(RegistrationIncompleteError) as refused:
            counter.register_subscription(
                RegisterSubscription(without, registration_images()),
                uow=container.uow(),
                ctx=ctx(container),
                actor=store,
            )
        assert ("guardian", "underage_without_guardian") in {(e.field, e.code) for e in refused.value.errors}
        done = counter.register_subscription(
            RegisterSubscription({**without, "guardian": guardian}, registration_images()),
            uow=container.uow(),
            ctx=ctx(container),
            actor=store,
        )
        assert done["complete"] is True
        assert "guardian.address" in done["filled_from_card"]

    def test_a_taken_number_is_refused(self, container):
        seed(container, incomplete())
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(DuplicateMsisdnError):
            counter.register_subscription(
                RegisterSubscription(_new("0901234567"), three_images()),
                uow=container.uow(),
                ctx=ctx(container),
                actor=store,
            )


class TestPostpaidShortcut:
    def test_fields_are_proposed_from_the_stored_colour_scan(self, container):
        record = incomplete(payment_type="postpaid")
        del record["holder"]["address"]
        del record["documents"]
        with container.uow() as uow:  # a legacy import that kept the colour scan of the card's front
            store_subscription(record, uow=uow, vault=container.vault, blobs=container.blobs, as_of=TODAY,
                               actor=None, channel="legacy_import", rule_set=container.rule_set,
                               images={"id_front": card_front_jpeg()})  # fmt: skip
            uow.commit()
        store = actor(container, "store_staff", "STORE-1", "store")
        found = counter.postpaid_suggestions(
            SuggestPostpaid("0901234567"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        fields = {s["field"]: s for s in found["suggestions"]}
        assert found["payment_type"] == "postpaid"
        assert fields["holder.address"]["source"] == "id_front:qr"
        assert "holder.full_name" not in fields  # present already: never proposed over a stored value
        done = counter.update_subscription(
            UpdateSubscription("0901234567", {"holder": {"address": fields["holder.address"]["value"]}}, {}),
            uow=container.uow(),
            ctx=ctx(container),
            actor=store,
        )
        assert "holder.address" not in done["missing"]
