"""The point-of-sale use cases on the fakes: look-ups and masking, the gate, proof of presence, bill payment,
updates with images, registration, the postpaid shortcut, document images."""

from __future__ import annotations

import copy
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.domain.access.masking import mask_value
from subreg.domain.access.permissions import Permission, Purpose, Role, Scope, authorize, visible_fields
from subreg.domain.common.errors import (
    DuplicateMsisdnError,
    FieldError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ProcessingRestrictedError,
)
from subreg.domain.counter import gate
from subreg.domain.counter.gate import (
    NewOwnerPapersRequiredError,
    RegistrationIncompleteError,
    SubscriptionTerminatedError,
    UpdateRequiredError,
)
from subreg.services import counter
from subreg.services.counter.commands import (
    ChangeOwner,
    LookUpIdDocument,
    LookUpNumber,
    OpenVisit,
    PayBill,
    RegisterSubscription,
    SuggestPostpaid,
    Transact,
    UpdateSubscription,
    ViewDocumentImage,
)
from subreg.services.privacy.consent import consent_text
from subreg.services.registry import read_document
from tests.fakes import NOW, TODAY, Fakes, card_fields, image
from tests.records import complete_record

NUMBER = "0901234567"
KEY = 84901234567
ID_NUMBER = "079190123456"
# Someone else than the fixtures' card holder (whose card the fake inspector reads by default).
BINH = {"full_name": "Trần Văn Bình", "date_of_birth": "1985-02-03", "gender": "male", "id_type": "cccd",
        "id_number": "001085123456", "id_issue_date": "2021-04-10",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH"}  # fmt: skip
FAST = settings(max_examples=25, deadline=None)


def incomplete(**changes: Any) -> dict[str, Any]:
    """A record of STORE-1 whose papers are only the signed confirmation form (no portrait, no card photos)."""
    record = complete_record(point_of_sale="STORE-1", **changes)
    record["documents"] = {"confirmation_form": "blob:c1"}
    return record


def three_images() -> dict[str, bytes]:
    return {kind: image(kind) for kind in ("portrait", "id_front", "id_back")}


def registration_images() -> dict[str, bytes]:
    return {**three_images(), "confirmation_form": image("confirmation_form")}


def new(number: str, **changes: Any) -> dict[str, Any]:
    record = {"msisdn": number, "subscriber_type": "individual", "payment_type": "prepaid",
              "holder": copy.deepcopy(complete_record()["holder"])}  # fmt: skip
    record.update(changes)
    return record


def run(fakes: Fakes, use_case: Any, cmd: Any, actor: Any, **ctx: Any) -> Any:
    """`use_case(cmd)` in a fresh unit of work with the request's context."""
    return use_case(cmd, uow=fakes.uow(), ctx=fakes.counter_context(**ctx), actor=actor)


class TestLookUp:
    def test_the_card_shows_status_compliance_phase_and_the_masked_holder(self, fakes):
        line = fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="transaction"), store)
        assert (card["msisdn"], card["status"], card["phase"]) == ("+84901234567", "active", 1)
        assert card["compliance"]["complete"] is False
        assert set(card["compliance"]["missing"]) == {"documents.portrait", "documents.id_front", "documents.id_back"}
        assert card["holder"]["id_number"] == "0791******56"
        assert card["holder"]["gender"] == "female"  # a low-risk descriptor stays clear
        # Paying, giving the line up and a new owner with papers are never refused for the record's papers.
        assert card["gate"] == {"update_required": True, "allowed": ["bill_payment", "change_owner", "termination"]}
        assert (card["compliance"]["contract_needed"], card["compliance"]["state"]) == (False, "incomplete")
        assert card["visibility"] == {"masked": True, "images": True}
        assert [d["kind"] for d in card["documents"]] == ["confirmation_form"]
        assert [h["action"] for h in card["history"]] == ["created"]
        (read,) = fakes.rows("audit_log")
        assert (read["action"], read["subject"], read["purpose"], read["actor_staff_id"]) == (
            "subscription:read", f"line:{line.id}", "transaction", store.staff_id
        )  # fmt: skip
        assert "holder.id_number" in read["fields"]
        assert ID_NUMBER not in str(read)

    def test_updating_shows_the_holder_in_clear(self, fakes):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="update"), store)
        assert card["holder"]["id_number"] == ID_NUMBER
        assert card["visibility"]["masked"] is False

    @FAST
    @given(
        role=st.sampled_from([r.value for r in Role]),
        purpose=st.one_of(st.none(), st.sampled_from([p.value for p in Purpose]), st.just("curiosity")),
    )
    def test_a_card_shows_each_field_only_as_the_role_and_purpose_allow(self, role, purpose):
        fakes = Fakes.build()
        record = incomplete()
        fakes.seed(record)
        actor = fakes.actor(role, "STORE-1" if role == "store_staff" else None)
        allowed = authorize(actor, Permission.SUBSCRIPTION_READ, purpose=purpose, subject_scope=Scope.of(None))
        if not allowed:
            with pytest.raises(PermissionDeniedError) as refused:
                run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose=purpose), actor)
            assert refused.value.errors[0].code == allowed.reason_code
            assert fakes.audit_actions() == ["access:denied"]
            return
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose=purpose), actor)
        visibility = visible_fields(role, purpose)
        for name, value in record["holder"].items():
            shown = (card["holder"] or {}).get(name)
            match visibility.of(name):
                case "clear":
                    assert shown == value, name
                case "masked":
                    assert shown == mask_value(name, value), name
                case _:
                    assert shown is None, name
        assert fakes.audit_actions() == ["subscription:read"]

    def test_an_agent_sees_another_points_customer_only_while_presence_is_proven(self, fakes):
        fakes.seed(incomplete())
        agent = fakes.actor("agent", "AGENT-9")
        look = LookUpNumber(NUMBER, purpose="transaction")
        with pytest.raises(PermissionDeniedError) as refused:
            run(fakes, counter.lookup_by_msisdn, look, agent)
        assert refused.value.errors[0].code == "out_of_scope"
        with pytest.raises(PermissionDeniedError) as wrong:
            run(fakes, counter.open_visit, OpenVisit(NUMBER, "079190999999"), agent)
        assert wrong.value.errors[0].code == "presence_not_proven"
        visit = run(fakes, counter.open_visit, OpenVisit(NUMBER, ID_NUMBER), agent)
        assert visit["expires_at"] == (NOW + timedelta(minutes=30)).isoformat()
        assert run(fakes, counter.lookup_by_msisdn, look, agent)["msisdn"] == "+84901234567"
        fakes.clock.advance(timedelta(minutes=31))
        with pytest.raises(PermissionDeniedError):
            run(fakes, counter.lookup_by_msisdn, look, agent)
        assert fakes.audit_actions() == [
            "access:denied", "access:denied", "counter:transaction", "subscription:read", "access:denied"
        ]  # fmt: skip
        (visit_row,) = fakes.rows("serving_visits")
        assert (visit_row["point_of_sale_id"], visit_row["staff_id"]) == (agent.point_of_sale_id, agent.staff_id)
        denied = fakes.rows("audit_log")[1]
        assert ID_NUMBER not in str(denied)
        assert "presence_not_proven" in denied["details"]

    def test_proof_of_presence_needs_an_id_number_and_a_point_of_sale(self, fakes):
        fakes.seed(incomplete())
        agent = fakes.actor("agent", "AGENT-9")
        with pytest.raises(InputError) as missing:
            run(fakes, counter.open_visit, OpenVisit(NUMBER, "  "), agent)
        assert missing.value.errors[0].code == "required"
        nowhere = fakes.actor("agent")
        with pytest.raises(PermissionDeniedError) as refused:
            run(fakes, counter.open_visit, OpenVisit(NUMBER, ID_NUMBER), nowhere)
        assert refused.value.errors[0].code == "no_point_of_sale"
        assert fakes.rows("serving_visits") == []

    def test_look_up_by_id_document_finds_every_line_of_the_holder(self, fakes):
        first = fakes.seed(incomplete())
        fakes.seed(incomplete(msisdn="0901234568"))
        store = fakes.actor("store_staff", "STORE-1")
        by_id = LookUpIdDocument("cccd", ID_NUMBER, "customer_request")
        found = run(fakes, counter.lookup_by_id_document, by_id, store)
        assert [c["msisdn"] for c in found["subscriptions"]] == ["+84901234567", "+84901234568"]
        assert fakes.audit_actions() == ["subscription:read", "subscription:read", "lookup:by_id"]
        lookup = fakes.rows("audit_log")[-1]
        assert (lookup["subject"], lookup["fields"]) == (f"holder:{first.holder_id}", '["holder.id_number"]')
        unknown = LookUpIdDocument("cccd", "001099000001", "transaction")
        nobody = run(fakes, counter.lookup_by_id_document, unknown, store)
        assert nobody == {"count": 0, "subscriptions": []}

    def test_look_up_by_id_document_is_for_stores_only(self, fakes):
        agent = fakes.actor("agent", "AGENT-9")
        with pytest.raises(PermissionDeniedError):
            run(fakes, counter.lookup_by_id_document, LookUpIdDocument("cccd", ID_NUMBER, "transaction"), agent)

    @pytest.mark.parametrize(("number", "error"), [("0901234599", NotFoundError), ("12", InputError)])
    def test_an_unknown_or_malformed_number_is_refused(self, fakes, number, error):
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(error):
            run(fakes, counter.lookup_by_msisdn, LookUpNumber(number, purpose="transaction"), store)

    def test_a_restricted_holder_is_kept_but_neither_shown_nor_changed(self, fakes):
        line = fakes.seed(incomplete())
        with fakes.uow() as uow:
            uow.privacy.set_flags(line.holder_id, restricted=True)
            uow.commit()
        store = fakes.actor("store_staff", "STORE-1")
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="update"), store)
        assert (card["restricted"], card["holder"], card["visibility"]["images"]) == (True, None, False)
        with pytest.raises(ProcessingRestrictedError) as refused:
            run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), store)
        assert [(e.field, e.code) for e in refused.value.errors] == [("holder", "processing_restricted")]
        assert fakes.rows("network_orders") == []
        assert fakes.line(NUMBER).version == line.version


class TestGate:
    def test_an_incomplete_line_refuses_a_sim_replacement_and_records_the_refusal(self, fakes):
        line = fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(UpdateRequiredError) as refused:
            run(fakes, counter.transact, Transact(NUMBER, "sim_replacement"), store)
        assert "documents.portrait" in refused.value.missing
        (tx,) = fakes.rows("counter_transactions")
        assert (tx["subscription_id"], tx["kind"], tx["outcome"], tx["refusal_code"], tx["at"]) == (
            line.id, "sim_replacement", "refused", "update_required", NOW
        )  # fmt: skip
        assert fakes.audit_actions() == ["counter:transaction"]

    def test_a_complete_line_passes_the_gate(self, fakes):
        fakes.seed(complete_record(point_of_sale="STORE-1"))
        store = fakes.actor("store_staff", "STORE-1")
        done = run(fakes, counter.transact, Transact(NUMBER, "package_change"), store)
        assert (done["outcome"], done["kind"]) == ("done", "package_change")
        assert [t["outcome"] for t in fakes.rows("counter_transactions")] == ["done"]

    def test_a_verdict_past_its_date_is_checked_again_before_the_gate_answers(self, fakes):
        record = complete_record(point_of_sale="STORE-1")
        record["holder"] = {**record["holder"], "id_expiry_date": "2026-12-01"}
        line = fakes.seed(record)  # stored on 2026-11-28, while the card is valid
        assert line.complete is True
        store = fakes.actor("store_staff", "STORE-1")
        later = NOW + timedelta(days=4)  # 2026-12-02: the card has expired
        with pytest.raises(UpdateRequiredError) as refused:
            run(fakes, counter.transact, Transact(NUMBER, "sim_replacement"), store, now=later)
        assert "holder.id_expiry_date" in refused.value.missing
        line = fakes.line(NUMBER)
        assert (line.complete, line.evaluated_on) == (False, later.date())
        assert any(code.endswith(":id_expired") for code in line.error_codes)
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="transaction"), store, now=later)
        assert card["compliance"]["state"] == "invalid"
        assert card["gate"]["update_required"] is True

    def test_a_refused_request_re_checks_nothing(self, fakes):
        # The stale verdict is checked again (the record decrypted) only once access is allowed.
        record = complete_record(point_of_sale="STORE-1")
        record["holder"] = {**record["holder"], "id_expiry_date": "2026-12-01"}
        line = fakes.seed(record)
        later = NOW + timedelta(days=4)
        agent = fakes.actor("agent", "AGENT-9")
        with pytest.raises(PermissionDeniedError):
            run(fakes, counter.transact, Transact(NUMBER, "sim_replacement"), agent, now=later)
        after = fakes.line(NUMBER)
        assert (after.version, after.complete, after.evaluated_on) == (line.version, True, line.evaluated_on)
        assert fakes.audit_actions()[-1] == "access:denied"

    def test_an_unknown_kind_is_refused_before_anything_is_read(self, fakes):
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(InputError) as refused:
            run(fakes, counter.transact, Transact(NUMBER, "teleport"), store)
        assert refused.value.errors[0].code == "invalid_choice"

    @FAST
    @given(
        kind=st.sampled_from(gate.TRANSACTION_KINDS),
        status=st.sampled_from(["active", "one_way_locked", "two_way_locked", "terminated"]),
        complete=st.booleans(),
    )
    def test_every_transaction_is_recorded_with_the_gates_decision(self, kind, status, complete):
        fakes = Fakes.build()
        fakes.seed(complete_record(point_of_sale="STORE-1") if complete else incomplete(), status=status)
        store = fakes.actor("store_staff", "STORE-1")
        expected = gate.decide(kind, status=status, complete=complete)
        if expected.allowed:
            assert run(fakes, counter.transact, Transact(NUMBER, kind), store)["outcome"] == "done"
        else:
            with pytest.raises(
                (UpdateRequiredError, SubscriptionTerminatedError, NewOwnerPapersRequiredError)
            ) as refused:
                run(fakes, counter.transact, Transact(NUMBER, kind), store)
            assert refused.value.code == expected.code
        (tx,) = fakes.rows("counter_transactions")
        assert (tx["kind"], tx["outcome"], tx["refusal_code"]) == (
            kind, "done" if expected.allowed else "refused", expected.code
        )  # fmt: skip


class TestPayBill:
    def test_a_payment_is_recorded_anywhere_and_offers_the_update(self, fakes):
        line = fakes.seed(incomplete())
        agent = fakes.actor("agent", "AGENT-9")  # any point of sale takes payments
        paid = run(fakes, counter.pay_bill, PayBill(NUMBER, 120_000, reference="INV-1"), agent)
        assert paid["update_offered"] is True
        assert "documents.portrait" in paid["missing"]
        (payment,) = fakes.rows("bill_payments")
        assert (payment["subscription_id"], payment["amount_vnd"], payment["reference"], payment["paid_at"]) == (
            line.id, 120_000, "INV-1", NOW
        )  # fmt: skip
        assert [(t["kind"], t["outcome"]) for t in fakes.rows("counter_transactions")] == [("bill_payment", "done")]
        assert ID_NUMBER not in str(paid)

    def test_a_terminated_line_still_takes_a_payment_without_an_offer(self, fakes):
        fakes.seed(complete_record(point_of_sale="STORE-1"), status="terminated")
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(SubscriptionTerminatedError):
            run(fakes, counter.transact, Transact(NUMBER, "change_owner"), store)
        paid = run(fakes, counter.pay_bill, PayBill(NUMBER, 50_000), store)
        assert (paid["update_offered"], paid["missing"], paid["status"]) == (False, [], "terminated")

    @FAST
    @given(
        amount=st.one_of(
            st.integers(max_value=0), st.integers(min_value=1_000_000_000_001), st.booleans(), st.floats(), st.text()
        )
    )
    def test_an_amount_that_is_not_a_positive_whole_number_of_dong_is_refused(self, amount):
        fakes = Fakes.build()
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(InputError) as refused:
            run(fakes, counter.pay_bill, PayBill(NUMBER, amount), store)
        assert refused.value.errors[0].field == "amount_vnd"
        assert fakes.rows("bill_payments") == []

    def test_a_long_reference_is_refused(self, fakes):
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(InputError) as refused:
            run(fakes, counter.pay_bill, PayBill(NUMBER, 1, reference="x" * 65), store)
        assert refused.value.errors[0].code == "too_long"


class TestUpdate:
    def test_three_images_complete_a_locked_line_and_queue_one_unlock(self, fakes):
        line = fakes.seed(incomplete(), status="one_way_locked")
        store = fakes.actor("store_staff", "STORE-1")
        done = run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), store)
        assert (done["complete"], done["unlock_queued"], done["card_source"], done["status"]) == (
            True, True, "qr", "one_way_locked"
        )  # fmt: skip
        (order,) = fakes.rows("network_orders")
        assert (order["subscription_id"], order["action"], order["status"], order["reason"], order["priority"]) == (
            line.id, "unlock", "queued", "information_complete", 3
        )  # fmt: skip
        again = run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, {"portrait": b"\xff\xd8\xffx"}),
                    store)  # fmt: skip
        assert again["unlock_queued"] is True
        assert len(fakes.rows("network_orders")) == 1  # queued once, not twice
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="update"), store)
        assert card["compliance"]["complete"] is True
        assert {d["kind"] for d in card["documents"]} >= {"portrait", "id_front", "id_back"}
        assert any(h["action"] == "documents_added" for h in card["history"])
        updated = next(r for r in fakes.rows("audit_log") if r["action"] == "subscription:updated")
        assert "documents.id_front" in updated["fields"]
        assert '"unlock_queued":true' in updated["details"]

    def test_an_active_line_that_becomes_complete_queues_nothing(self, fakes):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        done = run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), store)
        assert (done["complete"], done["unlock_queued"]) == (True, False)
        assert fakes.rows("network_orders") == []

    @FAST
    @given(order=st.permutations(["portrait", "id_front", "id_back"]), locked=st.booleans())
    def test_papers_brought_one_at_a_time_in_any_order_complete_the_line_once(self, order, locked):
        fakes = Fakes.build()
        fakes.seed(incomplete(), status="two_way_locked" if locked else None)
        store = fakes.actor("store_staff", "STORE-1")
        missing = {"documents.portrait", "documents.id_front", "documents.id_back"}
        for step, kind in enumerate(order, start=1):
            done = run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, {kind: image(kind)}), store)
            missing.discard(f"documents.{kind}")
            assert set(done["missing"]) == missing
            assert done["complete"] is (step == 3)
        assert [o["action"] for o in fakes.rows("network_orders")] == (["unlock"] if locked else [])
        assert len(fakes.blobs.keys()) == 3

    def test_the_card_fills_absent_holder_fields(self, fakes):
        record = incomplete()
        del record["holder"]["address"]
        fakes.seed(record)
        store = fakes.actor("store_staff", "STORE-1")
        done = run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), store)
        assert done["filled_from_card"] == ["holder.address"]  # the rest was given: never overwritten
        with fakes.uow() as uow:
            stored = fakes.registry().record_of(uow.subscriptions.get(KEY), uow=uow)
        assert stored["holder"]["address"] == card_fields()["address"]
        assert stored["holder"]["full_name"] == complete_record()["holder"]["full_name"]

    def test_each_image_is_written_once_and_reads_back(self, fakes):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        images = three_images()
        run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, images), store)
        assert len(fakes.blobs.keys()) == 3  # sealed ahead, used under the lock: no second copy
        with fakes.uow() as uow:
            docs = [d for d in uow.documents.list_for(uow.subscriptions.get(KEY).id) if d.blob_key]
            read = {d.kind: read_document(d.id, uow=uow, vault=fakes.vault, blobs=fakes.blobs)[1] for d in docs}
        assert read == images
        assert all(images[k] not in fakes.blobs.get(d.blob_key) for k, d in zip(read, docs, strict=True))

    def test_a_card_of_someone_else_is_refused_and_leaves_no_image_behind(self, fakes):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        fakes.images.card_fields = card_fields({**complete_record()["holder"], "id_number": "079190654321"})
        with pytest.raises(InputError) as refused:
            run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), store)
        assert [(e.field, e.code) for e in refused.value.errors] == [("documents.id_front", "id_card_mismatch")]
        assert fakes.blobs.keys() == []
        assert fakes.line(NUMBER).version == 1

    def test_refused_images_are_reported_field_by_field(self, fakes):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        fakes.images.refuse = [FieldError("documents.portrait", "several_faces"),
                               FieldError("documents.id_back", "image_blurry")]  # fmt: skip
        with pytest.raises(InputError) as refused:
            run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), store)
        assert {(e.field, e.code) for e in refused.value.errors} == {
            ("documents.portrait", "several_faces"), ("documents.id_back", "image_blurry")
        }  # fmt: skip
        assert (fakes.blobs.keys(), fakes.rows("audit_log")) == ([], [])

    def test_an_unreadable_chip_card_is_refused(self, fakes):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        fakes.images.card_fields = {}
        with pytest.raises(InputError) as refused:
            run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), store)
        assert {e.code for e in refused.value.errors} == {"id_unreadable"}

    def test_an_invalid_value_refuses_the_update_and_changes_nothing(self, fakes):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(InputError) as refused:
            run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {"holder": {"gender": "male"}}), store)
        assert refused.value.errors[0].code == "id_gender_mismatch"
        assert fakes.line(NUMBER).version == 1
        assert fakes.audit_actions() == []

    @pytest.mark.parametrize(
        ("changes", "code"),
        [({"msisdn": "0901111111"}, "unknown_field"), ({"status": "active"}, "unknown_field"),
         ({"holder": "Nguyễn"}, "invalid_format")],
    )  # fmt: skip
    def test_only_the_editable_fields_may_be_sent(self, fakes, changes, code):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(InputError) as refused:
            run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, changes), store)
        assert refused.value.errors[0].code == code

    def test_an_agent_updates_only_a_customer_in_its_scope(self, fakes):
        fakes.seed(incomplete())
        agent = fakes.actor("agent", "AGENT-9")
        with pytest.raises(PermissionDeniedError):
            run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), agent)
        assert fakes.audit_actions() == ["access:denied"]
        run(fakes, counter.open_visit, OpenVisit(NUMBER, ID_NUMBER), agent)
        done = run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, three_images()), agent)
        assert done["complete"] is True


class TestRegister:
    def test_a_complete_registration_is_stored_with_the_consent_shown(self, fakes):
        store = fakes.actor("store_staff", "STORE-1")
        cmd = RegisterSubscription(new("0901111111"), registration_images())
        done = run(fakes, counter.register_subscription, cmd, store)
        assert (done["msisdn"], done["complete"], done["card_source"]) == ("+84901111111", True, "qr")
        line = fakes.line("0901111111")
        assert (line.activated_on, line.channel, line.point_of_sale_code, line.status) == (
            TODAY, "store", "STORE-1", "active"
        )  # fmt: skip
        (consent,) = fakes.rows("consents")
        assert (consent["holder_id"], consent["subscription_id"]) == (line.holder_id, line.id)
        assert consent["accepted"] is True
        assert consent["text_sha256"] == hashlib.sha256(consent_text("2026-01").encode()).hexdigest()
        assert fakes.audit_actions() == ["consent:recorded", "subscription:registered"]
        assert len(fakes.blobs.keys()) == 4

    def test_an_incomplete_registration_is_refused_with_every_reason(self, fakes):
        store = fakes.actor("store_staff", "STORE-1")
        cmd = RegisterSubscription(new("0901111111"), {"portrait": image("portrait")})
        with pytest.raises(RegistrationIncompleteError) as refused:
            run(fakes, counter.register_subscription, cmd, store)
        assert set(refused.value.missing) >= {"documents.id_front", "documents.id_back"}
        assert {e.field for e in refused.value.errors} >= {"documents.id_front", "documents.id_back"}
        assert (fakes.rows("subscriptions"), fakes.rows("consents"), fakes.rows("audit_log")) == ([], [], [])

    def test_without_consent_nothing_is_registered(self, fakes):
        store = fakes.actor("store_staff", "STORE-1")
        cmd = RegisterSubscription(new("0901111111"), registration_images(), consent_accepted=False)
        with pytest.raises(RegistrationIncompleteError) as refused:
            run(fakes, counter.register_subscription, cmd, store)
        assert [(e.field, e.code) for e in refused.value.errors] == [("consent", "consent_required")]
        assert fakes.rows("subscriptions") == []

    def test_the_fourth_line_under_one_id_document_needs_a_contract(self, fakes):
        store = fakes.actor("store_staff", "STORE-1")
        for n in ("0901111111", "0901111112", "0901111113"):
            run(fakes, counter.register_subscription, RegisterSubscription(new(n), registration_images()), store)
        with pytest.raises(RegistrationIncompleteError) as refused:
            run(fakes, counter.register_subscription, RegisterSubscription(new("0901111114"), registration_images()),
                store)  # fmt: skip
        assert ("contract_number", "contract_required") in {(e.field, e.code) for e in refused.value.errors}
        images = {**three_images(), "contract": image("contract")}
        cmd = RegisterSubscription(new("0901111114", contract_number="HD-2026-0001"), images)
        assert run(fakes, counter.register_subscription, cmd, store)["complete"] is True
        assert len({r["holder_id"] for r in fakes.rows("subscriptions")}) == 1  # one holder, four lines

    def test_a_live_number_is_not_registered_twice(self, fakes):
        fakes.seed(incomplete())
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(DuplicateMsisdnError):
            run(fakes, counter.register_subscription, RegisterSubscription(new(NUMBER), registration_images()), store)

    def test_a_reclaimed_number_is_registered_as_a_new_line(self, fakes):
        other = {"full_name": "Trần Văn Bình", "date_of_birth": "1985-02-03", "id_type": "cccd",
                 "id_number": "001085123456", "id_issue_date": "2021-04-10",
                 "id_issue_place": "Cục Cảnh sát QLHC về TTXH"}  # fmt: skip
        fakes.seed(complete_record(point_of_sale="STORE-1", holder=other))
        old = fakes.seed(complete_record(point_of_sale="STORE-1", holder=other), status="terminated")
        store = fakes.actor("store_staff", "STORE-1")
        run(fakes, counter.register_subscription, RegisterSubscription(new(NUMBER), registration_images()), store)
        with fakes.uow() as uow:
            lines = uow.subscriptions.lines_of(KEY)
        assert [(s.generation, s.status) for s in lines] == [(1, "terminated"), (2, "active")]
        assert lines[0].id == old.id
        assert lines[1].holder_id != old.holder_id
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="update"), store)
        assert card["holder"]["id_number"] == ID_NUMBER
        reads = [r["subject"] for r in fakes.rows("audit_log") if r["action"] == "subscription:read"]
        assert reads == [f"line:{lines[1].id}"]

    def test_only_counter_roles_register(self, fakes):
        auditor = fakes.actor("auditor")
        with pytest.raises(PermissionDeniedError):
            run(fakes, counter.register_subscription, RegisterSubscription(new("0901111111"), registration_images()),
                auditor)  # fmt: skip


class TestPostpaidSuggestions:
    def test_fields_are_proposed_from_the_stored_card_scan_and_confirmed_by_an_update(self, fakes):
        record = incomplete(payment_type="postpaid")
        del record["holder"]["address"]
        del record["documents"]
        fakes.seed(record, images={"id_front": image("id_front")})  # a legacy import kept the card's colour scan
        store = fakes.actor("store_staff", "STORE-1")
        found = run(fakes, counter.postpaid_suggestions, SuggestPostpaid(NUMBER), store)
        fields = {s["field"]: s for s in found["suggestions"]}
        assert found["payment_type"] == "postpaid"
        assert fields["holder.address"] == {"field": "holder.address", "value": card_fields()["address"],
                                            "source": "id_front:qr"}  # fmt: skip
        assert "holder.full_name" not in fields  # present already: never proposed over a stored value
        assert set(found["missing_covered"]) <= set(found["missing"]) & set(fields)
        (read,) = fakes.rows("audit_log")
        assert (read["action"], read["purpose"]) == ("subscription:read", "update")
        assert "postpaid_suggestions" in read["details"]
        change = {"holder": {"address": fields["holder.address"]["value"]}}
        done = run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, change), store)
        assert "holder.address" not in done["missing"]

    @pytest.mark.parametrize("scan", [False, True])
    def test_without_a_readable_scan_nothing_is_proposed_from_a_card(self, fakes, scan):
        record = incomplete(payment_type="postpaid")
        del record["holder"]["address"]
        del record["documents"]
        fakes.seed(record, images={"id_front": image("id_front")} if scan else None)
        fakes.images.card_fields = {}  # the scan, when there is one, does not read
        store = fakes.actor("store_staff", "STORE-1")
        found = run(fakes, counter.postpaid_suggestions, SuggestPostpaid(NUMBER), store)
        assert all(s["source"] == "derived" for s in found["suggestions"])  # what the papers imply, if anything
        assert "holder.address" not in {s["field"] for s in found["suggestions"]}
        assert fakes.audit_actions() == ["subscription:read"]


class TestDocumentImages:
    @pytest.fixture
    def stored(self, fakes) -> int:
        fakes.seed(incomplete(), images={"portrait": image("portrait")})
        with fakes.uow() as uow:
            return next(d.id for d in uow.documents.list_for(uow.subscriptions.get(KEY).id) if d.blob_key)

    def test_the_image_is_decrypted_for_an_admitted_purpose_and_the_view_audited(self, fakes, stored):
        store = fakes.actor("store_staff", "STORE-1")
        content_type, data = run(fakes, counter.view_document_image, ViewDocumentImage(stored, "transaction"), store)
        assert (content_type, data) == ("image/jpeg", image("portrait"))
        (viewed,) = fakes.rows("audit_log")
        assert (viewed["action"], viewed["fields"], viewed["purpose"]) == (
            "document:image_viewed", '["documents.portrait"]', "transaction"
        )  # fmt: skip

    @FAST
    @given(purpose=st.one_of(st.none(), st.sampled_from([p.value for p in Purpose]), st.just("curiosity")))
    def test_a_view_needs_a_purpose_the_role_admits(self, purpose):
        fakes = Fakes.build()
        fakes.seed(incomplete(), images={"portrait": image("portrait")})
        store = fakes.actor("store_staff", "STORE-1")
        admitted = purpose in {"transaction", "update", "customer_request"}
        (portrait,) = [r["id"] for r in fakes.rows("documents") if r["blob_key"]]
        if admitted:
            run(fakes, counter.view_document_image, ViewDocumentImage(portrait, purpose), store)
            assert fakes.audit_actions() == ["document:image_viewed"]
            return
        with pytest.raises(PermissionDeniedError) as refused:
            run(fakes, counter.view_document_image, ViewDocumentImage(portrait, purpose), store)
        assert refused.value.errors[0].code == ("purpose_required" if purpose is None else "purpose_not_allowed")
        assert fakes.audit_actions() == ["access:denied"]

    def test_roles_without_the_permission_are_refused(self, fakes, stored):
        officer = fakes.actor("compliance_officer")
        with pytest.raises(PermissionDeniedError) as refused:
            run(fakes, counter.view_document_image, ViewDocumentImage(stored, "enforcement"), officer)
        assert refused.value.errors[0].code == "not_permitted"

    def test_a_reference_without_an_image_or_an_unknown_id_is_not_found(self, fakes, stored):
        store = fakes.actor("store_staff", "STORE-1")
        with fakes.uow() as uow:
            reference = next(d.id for d in uow.documents.list_for(uow.subscriptions.get(KEY).id) if not d.blob_key)
        for document_id in (reference, stored + 1000):
            with pytest.raises(NotFoundError):
                run(fakes, counter.view_document_image, ViewDocumentImage(document_id, "transaction"), store)

    def test_a_restricted_holders_image_is_not_shown(self, fakes, stored):
        with fakes.uow() as uow:
            uow.privacy.set_flags(uow.subscriptions.get(KEY).holder_id, restricted=True)
            uow.commit()
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(ProcessingRestrictedError):
            run(fakes, counter.view_document_image, ViewDocumentImage(stored, "transaction"), store)


class TestChangeOwner:
    """A line passes to a new owner who brings complete papers (decided on the new owner's record only)."""

    def owner(self) -> dict[str, Any]:
        return {"holder": copy.deepcopy(complete_record()["holder"])}  # the card the fake inspector reads

    def test_a_new_owner_with_complete_papers_takes_the_line_over(self, fakes):
        old = fakes.seed(complete_record(point_of_sale="STORE-1", holder=BINH))
        store = fakes.actor("store_staff", "STORE-1")
        done = run(fakes, counter.change_owner, ChangeOwner(NUMBER, self.owner(), registration_images()), store)
        assert (done["msisdn"], done["complete"], done["card_source"]) == ("+84901234567", True, "qr")
        line = fakes.line(NUMBER)
        assert (line.id, line.generation, line.version, line.status) == (old.id, 1, 2, "active")  # the same line
        assert line.holder_id != old.holder_id
        assert line.person_key == fakes.vault.blind(ID_NUMBER) != old.person_key
        assert len(fakes.rows("holders")) == 2  # the old owner's holder stays (its data is kept for retention)
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="update"), store)
        assert card["holder"]["id_number"] == ID_NUMBER
        (consent,) = fakes.rows("consents")
        assert (consent["holder_id"], consent["subscription_id"], consent["accepted"]) == (
            line.holder_id,
            line.id,
            True,
        )
        assert [(t["kind"], t["outcome"]) for t in fakes.rows("counter_transactions")] == [("change_owner", "done")]
        assert fakes.audit_actions()[:3] == ["consent:recorded", "counter:transaction", "subscription:updated"]
        with fakes.uow() as uow:
            entries = uow.history.list_for(line.id)
        assert [e.action for e in entries] == ["created", "updated", "documents_added"]
        assert "holder.id_number" in entries[1].changes["fields"]
        assert "001085123456" not in str(entries[1].changes)
        assert ID_NUMBER not in str(entries[1].changes)
        # Both people's lines changed: the evaluation re-ranks both.
        dirty = {r["person_key"] for r in fakes.rows("evaluation_dirty")}
        assert dirty == {old.person_key, line.person_key}

    def test_without_the_new_owners_papers_nothing_changes(self, fakes):
        fakes.seed(complete_record(point_of_sale="STORE-1", holder=BINH))
        store = fakes.actor("store_staff", "STORE-1")
        before = (fakes.rows("subscriptions"), fakes.rows("holders"))
        with pytest.raises(NewOwnerPapersRequiredError) as refused:
            run(fakes, counter.change_owner, ChangeOwner(NUMBER, self.owner(), {"portrait": image("portrait")}),
                store)  # fmt: skip
        assert {"documents.id_front", "documents.id_back"} <= set(refused.value.missing)
        assert {"documents.id_front", "documents.id_back"} <= {e.field for e in refused.value.errors}
        assert (fakes.rows("subscriptions"), fakes.rows("holders")) == before
        assert (fakes.rows("consents"), fakes.rows("counter_transactions")) == ([], [])
        # The bare transaction is refused by the gate too (and recorded): the papers are what decides.
        with pytest.raises(NewOwnerPapersRequiredError) as bare:
            run(fakes, counter.transact, Transact(NUMBER, "change_owner"), store)
        assert bare.value.missing == ["new_owner"]
        assert [t["refusal_code"] for t in fakes.rows("counter_transactions")] == ["new_owner_papers_required"]

    def test_without_consent_it_is_refused_before_anything_is_read(self, fakes):
        fakes.seed(complete_record(point_of_sale="STORE-1", holder=BINH))
        store = fakes.actor("store_staff", "STORE-1")
        cmd = ChangeOwner(NUMBER, self.owner(), registration_images(), consent_accepted=False)
        with pytest.raises(NewOwnerPapersRequiredError) as refused:
            run(fakes, counter.change_owner, cmd, store)
        assert [(e.field, e.code) for e in refused.value.errors] == [("consent", "consent_required")]
        assert fakes.audit_actions() == []

    def test_a_terminated_line_has_no_owner_to_change(self, fakes):
        fakes.seed(complete_record(point_of_sale="STORE-1", holder=BINH), status="terminated")
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(SubscriptionTerminatedError):
            run(fakes, counter.change_owner, ChangeOwner(NUMBER, self.owner(), registration_images()), store)
        assert fakes.line(NUMBER).version == 1

    def test_the_line_counts_under_the_new_owner_whose_fourth_line_needs_its_contract(self, fakes):
        for n in ("0901111111", "0901111112", "0901111113"):  # the new owner's lines, activated before
            fakes.seed(complete_record(msisdn=n, point_of_sale="STORE-1"))
        fakes.seed(complete_record(point_of_sale="STORE-1", holder=BINH))
        store = fakes.actor("store_staff", "STORE-1")
        with pytest.raises(NewOwnerPapersRequiredError) as refused:
            run(fakes, counter.change_owner, ChangeOwner(NUMBER, self.owner(), registration_images()), store)
        assert ("contract_number", "contract_required") in {(e.field, e.code) for e in refused.value.errors}
        assert fakes.line(NUMBER).version == 1
        owner = {**self.owner(), "contract_number": "HD-2026-0042"}
        images = {**registration_images(), "contract": image("contract")}
        assert run(fakes, counter.change_owner, ChangeOwner(NUMBER, owner, images), store)["complete"] is True
        line = fakes.line(NUMBER)
        assert (line.has_contract, line.contract_needed, line.contract_number) == (True, False, "HD-2026-0042")

    def test_the_old_owners_contract_is_not_the_new_owners(self, fakes):
        for n in ("0901111111", "0901111112", "0901111113"):  # the new owner's lines, activated before
            fakes.seed(complete_record(msisdn=n, point_of_sale="STORE-1"))
        old = complete_record(point_of_sale="STORE-1", holder=BINH, contract_number="HD-OLD-7")
        old["documents"] = {**old["documents"], "contract": "blob:old-contract"}
        fakes.seed(old)
        store = fakes.actor("store_staff", "STORE-1")
        images = {**registration_images(), "contract": image("contract")}  # a scan without its number
        with pytest.raises(NewOwnerPapersRequiredError) as refused:
            run(fakes, counter.change_owner, ChangeOwner(NUMBER, self.owner(), images), store)
        assert ("contract_number", "contract_required") in {(e.field, e.code) for e in refused.value.errors}
        assert fakes.line(NUMBER).contract_number == "HD-OLD-7"  # nothing stored

    def test_only_staff_who_may_update_the_line_change_its_owner(self, fakes):
        fakes.seed(complete_record(point_of_sale="STORE-1", holder=BINH))
        agent = fakes.actor("agent", "AGENT-9")  # not serving this customer (no visit opened)
        auditor = fakes.actor("auditor")
        for who in (agent, auditor):
            with pytest.raises(PermissionDeniedError):
                run(fakes, counter.change_owner, ChangeOwner(NUMBER, self.owner(), registration_images()), who)
        assert fakes.line(NUMBER).version == 1
