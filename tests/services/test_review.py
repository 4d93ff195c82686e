"""The supervisor review queue on the fakes: flags at the counter's save, claiming, deciding, the rejected line's
gate and network orders, the version check, who may review whose work."""

from __future__ import annotations

import copy
import dataclasses
from datetime import time, timedelta
from typing import Any

import pytest

from subreg.domain.backoffice.review import ReviewNotClaimedError, ReviewStaleError
from subreg.domain.common.errors import FieldError, InputError, PermissionDeniedError
from subreg.domain.counter.gate import ReviewRejectedError
from subreg.services import counter
from subreg.services.backoffice import review
from subreg.services.backoffice.review import DecideReview, ReviewContext
from subreg.services.backoffice.review_ports import ReviewRules
from subreg.services.counter.commands import LookUpNumber, RegisterSubscription, Transact, UpdateSubscription
from tests.fakes import NOW, Fakes, card_fields, image
from tests.records import complete_record

RULES = ReviewRules()  # always open (opening == closing), cross-store only, 30 minutes, 10-minute leases


def ctx(fakes: Fakes, rules: ReviewRules = RULES, **kw: Any):
    return dataclasses.replace(fakes.counter_context(**kw), review=rules)


def review_ctx(fakes: Fakes, rules: ReviewRules = RULES, now=None) -> ReviewContext:
    from subreg.domain.compliance.timeline import ND49_2017_TIMELINE

    return ReviewContext(registry=fakes.registry(), rule_set=fakes.rule_set, rules=rules, now=now or fakes.clock.now(),
                         timeline=ND49_2017_TIMELINE)  # fmt: skip


def images() -> dict[str, bytes]:
    return {k: image(k) for k in ("portrait", "id_front", "id_back", "confirmation_form")}


def new(number: str, **holder: Any) -> dict[str, Any]:
    person = copy.deepcopy(complete_record()["holder"]) | holder
    return {"msisdn": number, "subscriber_type": "individual", "payment_type": "prepaid", "holder": person}


def register(fakes: Fakes, number: str, actor, rules: ReviewRules = RULES, **holder: Any) -> dict[str, Any]:
    cmd = RegisterSubscription(new(number, **holder), images())
    return counter.register_subscription(cmd, uow=fakes.uow(), ctx=ctx(fakes, rules), actor=actor)


def claim(fakes: Fakes, actor, rules: ReviewRules = RULES) -> int | None:
    return review.claim_next(uow=fakes.uow(), ctx=review_ctx(fakes, rules), actor=actor)


def decide(fakes: Fakes, actor, item: int, decision: str, reason: str, version: int | None, note=None):
    cmd = DecideReview(item, decision, reason, note, version)
    return review.decide(cmd, uow=fakes.uow(), ctx=review_ctx(fakes), actor=actor)


def signed_in(fakes: Fakes, actor, at) -> None:
    with fakes.uow() as uow:
        uow._current().update("staff", actor.staff_id, {"last_login_at": at})
        uow.commit()


MISTYPED = {"full_name": "Nguyễn Thị Anh"}  # the card (fixtures' holder) reads a different name


@pytest.fixture
def staff(fakes):
    class Staff:
        store1 = fakes.actor("store_staff", "STORE-1")
        store2 = fakes.actor("store_staff", "STORE-2")
        sup1 = fakes.actor("supervisor", "STORE-1")
        sup2 = fakes.actor("supervisor", "STORE-2")

    fakes.images.card_fields = card_fields(complete_record()["holder"])
    return Staff


class TestFlags:
    def test_a_clean_registration_is_not_queued(self, fakes, staff):
        done = register(fakes, "0901111111", staff.store1)
        assert done["review_flags"] == []
        assert fakes.rows("review_items") == []

    def test_a_card_disagreeing_with_the_typed_name_queues_the_registration(self, fakes, staff):
        done = register(fakes, "0901111111", staff.store1, **MISTYPED)
        assert done["review_flags"] == ["card_mismatch"]
        (item,) = fakes.rows("review_items")
        line = fakes.line("0901111111")
        assert (item["subscription_id"], item["kind"], item["flags"], item["state"], item["version_seen"]) == (
            line.id, "registration", "card_mismatch", "pending", line.version
        )  # fmt: skip
        assert (item["point_of_sale_id"], item["submitted_by"]) == (
            staff.store1.point_of_sale_id,
            staff.store1.staff_id,
        )
        assert fakes.audit_actions()[-2:] == ["review:queued", "subscription:registered"]

    def test_no_review_settings_means_no_flag(self, fakes, staff):
        cmd = RegisterSubscription(new("0901111111", **MISTYPED), images())
        done = counter.register_subscription(cmd, uow=fakes.uow(), ctx=fakes.counter_context(), actor=staff.store1)
        assert done["review_flags"] == []
        assert fakes.rows("review_items") == []

    def test_the_fourth_line_of_one_id_document_is_flagged(self, fakes, staff):
        for n in ("0901111111", "0901111112", "0901111113"):
            assert register(fakes, n, staff.store1)["review_flags"] == []
        cmd = RegisterSubscription({**new("0901111114"), "contract_number": "HD-1"},
                                   {**images(), "contract": image("contract")})  # fmt: skip
        done = counter.register_subscription(cmd, uow=fakes.uow(), ctx=ctx(fakes), actor=staff.store1)
        assert done["review_flags"] == ["fourth_sim"]

    def test_one_id_document_registered_at_two_points_of_sale_on_one_day_is_a_fraud_signal(self, fakes, staff):
        assert register(fakes, "0901111111", staff.store1)["review_flags"] == []
        assert register(fakes, "0901111112", staff.store2)["review_flags"] == ["fraud_signal"]

    def test_a_narrow_image_check_is_flagged(self, fakes, staff):
        fakes.images.narrow = ["documents.portrait:sharpness"]
        assert register(fakes, "0901111111", staff.store1)["review_flags"] == ["narrow_image"]

    def test_an_agent_outside_opening_hours_is_flagged_a_store_is_not(self, fakes, staff):
        agent = fakes.actor("agent", "AGENT-1")
        closed = dataclasses.replace(RULES, opening=time(12), closing=time(13))  # NOW is 10:00 in Hà Nội
        assert register(fakes, "0901111111", staff.store1, closed)["review_flags"] == []
        # (the same ID document at a second point of sale today is a fraud signal as well)
        assert register(fakes, "0901111112", agent, closed)["review_flags"] == ["fraud_signal", "agent_anomaly"]

    def test_an_update_flagged_again_joins_the_lines_pending_item(self, fakes, staff):
        register(fakes, "0901111111", staff.store1, **MISTYPED)
        fakes.images.narrow = ["documents.portrait:sharpness"]
        cmd = UpdateSubscription("0901111111", {}, {"portrait": image("portrait")})
        done = counter.update_subscription(cmd, uow=fakes.uow(), ctx=ctx(fakes), actor=staff.store1)
        assert done["review_flags"] == ["narrow_image"]
        (item,) = fakes.rows("review_items")
        assert item["flags"] == "card_mismatch,narrow_image"
        assert item["version_seen"] == fakes.line("0901111111").version


class TestClaim:
    def test_two_supervisors_get_different_items_and_then_none(self, fakes, staff):
        register(fakes, "0901111111", staff.store1, **MISTYPED)
        register(fakes, "0901111112", staff.store2, **MISTYPED)
        sup3 = fakes.actor("supervisor", "STORE-3")
        first, second = claim(fakes, staff.sup2), claim(fakes, sup3)
        assert {first, second} == {r["id"] for r in fakes.rows("review_items")}
        assert claim(fakes, fakes.actor("supervisor", "STORE-4")) is None
        assert claim(fakes, staff.sup2) == first  # the item held is handed back, not a new one
        assert fakes.audit_actions().count("review:claimed") == 2

    def test_an_expired_lease_frees_the_item(self, fakes, staff):
        register(fakes, "0901111111", staff.store1, **MISTYPED)
        item = claim(fakes, staff.sup2)
        sup3 = fakes.actor("supervisor", "STORE-3")
        assert claim(fakes, sup3) is None
        fakes.clock.advance(timedelta(seconds=RULES.lease_seconds + 1))
        assert claim(fakes, sup3) == item

    def test_own_store_work_waits_for_a_supervisor_of_another_store_while_one_is_active(self, fakes, staff):
        register(fakes, "0901111111", staff.store1, **MISTYPED)
        signed_in(fakes, staff.sup2, NOW - timedelta(minutes=5))  # the STORE-2 supervisor is active
        assert claim(fakes, staff.sup1) is None
        off = dataclasses.replace(RULES, cross_store_only=False)
        assert claim(fakes, staff.sup1, off) is not None

    def test_own_store_work_is_taken_when_no_other_store_is_active(self, fakes, staff):
        register(fakes, "0901111111", staff.store1, **MISTYPED)
        signed_in(fakes, staff.sup2, NOW - timedelta(minutes=60))  # an hour ago: not active any more
        assert claim(fakes, staff.sup1) is not None

    def test_a_supervisor_never_gets_their_own_submission(self, fakes, staff):
        # The same account saving at the counter (a store manager with both hats, say).
        as_store = dataclasses.replace(staff.sup1, role="store_staff", pos_kind="store")
        register(fakes, "0901111111", as_store, **MISTYPED)
        assert claim(fakes, staff.sup1) is None

    def test_only_supervisors_claim(self, fakes, staff):
        with pytest.raises(PermissionDeniedError):
            claim(fakes, staff.store1)


class TestDecide:
    def flagged(self, fakes, staff) -> tuple[int, dict[str, Any]]:
        register(fakes, "0901111111", staff.store1, **MISTYPED)
        item = claim(fakes, staff.sup2)
        shown = review.show_item(item, uow=fakes.uow(), ctx=review_ctx(fakes), actor=staff.sup2)
        return item, shown

    def test_the_item_shows_the_line_in_clear_with_its_documents_and_is_audited(self, fakes, staff):
        _item, shown = self.flagged(fakes, staff)
        assert shown["item"]["flags"] == ["card_mismatch"]
        assert shown["changed"] is False
        assert shown["holder"]["full_name"] == "Nguyễn Thị Anh"
        assert {d["kind"] for d in shown["documents"]} >= {"portrait", "id_front", "id_back"}
        read = [r for r in fakes.rows("audit_log") if r["action"] == "subscription:read"][-1]
        assert read["purpose"] == "review"

    def test_a_rejection_locks_the_line_two_way_and_the_gate_refuses_it(self, fakes, staff):
        item, shown = self.flagged(fakes, staff)
        done = decide(fakes, staff.sup2, item, "rejected", "person_mismatch", shown["line"]["version"], "ảnh khác")
        assert done["order"] == "lock_two_way"
        (order,) = fakes.rows("network_orders")
        assert (order["action"], order["reason"], order["status"]) == ("lock_two_way", "review_rejected", "queued")
        row = fakes.rows("review_items")[0]
        assert (row["state"], row["decision"], row["reason"], row["note"], row["decided_by"]) == (
            "decided", "rejected", "person_mismatch", "ảnh khác", staff.sup2.staff_id
        )  # fmt: skip
        decided = [r for r in fakes.rows("audit_log") if r["action"] == "review:decided"]
        assert len(decided) == 1
        assert "ảnh khác" not in str(decided[0])
        with pytest.raises(ReviewRejectedError):
            counter.transact(Transact("0901111111", "sim_replacement"), uow=fakes.uow(), ctx=ctx(fakes),
                             actor=staff.store1)  # fmt: skip
        card = counter.lookup_by_msisdn(LookUpNumber("0901111111", "transaction"), uow=fakes.uow(), ctx=ctx(fakes),
                                        actor=staff.store1)  # fmt: skip
        assert card["review"]["state"] == "rejected"
        assert card["review"]["reason"] == "person_mismatch"
        assert card["review"]["held"]
        assert card["gate"]["allowed"] == ["bill_payment"]

    def test_a_new_photo_after_a_rejection_is_queued_again_and_its_approval_unlocks(self, fakes, staff):
        item, shown = self.flagged(fakes, staff)
        decide(fakes, staff.sup2, item, "rejected", "person_mismatch", shown["line"]["version"])
        cmd = UpdateSubscription("0901111111", {"holder": {"full_name": "Nguyễn Thị Ánh"}}, {"portrait": image("p")})
        done = counter.update_subscription(cmd, uow=fakes.uow(), ctx=ctx(fakes), actor=staff.store1)
        assert done["review_flags"] == ["resubmitted"]
        assert not done["unlock_queued"]
        again = claim(fakes, staff.sup2)
        assert again != item
        shown = review.show_item(again, uow=fakes.uow(), ctx=review_ctx(fakes), actor=staff.sup2)
        assert decide(fakes, staff.sup2, again, "approved", "documents_consistent", shown["line"]["version"])[
            "order"] == "unlock"  # fmt: skip
        assert [o["action"] for o in fakes.rows("network_orders")] == ["lock_two_way", "unlock"]
        tx = counter.transact(Transact("0901111111", "sim_replacement"), uow=fakes.uow(), ctx=ctx(fakes),
                              actor=staff.store1)  # fmt: skip
        assert tx["outcome"] == "done"

    def test_a_send_back_asks_for_a_new_photo_without_locking(self, fakes, staff):
        item, shown = self.flagged(fakes, staff)
        assert (
            decide(fakes, staff.sup2, item, "sent_back", "portrait_unclear", shown["line"]["version"])["order"] is None
        )
        card = counter.lookup_by_msisdn(LookUpNumber("0901111111", "transaction"), uow=fakes.uow(), ctx=ctx(fakes),
                                        actor=staff.store1)  # fmt: skip
        assert card["review"]["state"] == "sent_back"
        assert not card["review"]["held"]
        assert fakes.rows("network_orders") == []

    def test_a_decision_on_a_version_the_line_has_left_is_refused_and_nothing_is_written(self, fakes, staff):
        item, shown = self.flagged(fakes, staff)
        cmd = UpdateSubscription("0901111111", {"holder": {"address": "2 Tràng Tiền, Hoàn Kiếm, Hà Nội"}})
        counter.update_subscription(cmd, uow=fakes.uow(), ctx=ctx(fakes), actor=staff.store1)
        with pytest.raises(ReviewStaleError) as refused:
            decide(fakes, staff.sup2, item, "rejected", "person_mismatch", shown["line"]["version"])
        assert refused.value.errors == [FieldError("version", "review_stale")]
        assert fakes.rows("review_items")[0]["state"] == "pending"
        assert fakes.rows("network_orders") == []
        again = review.show_item(item, uow=fakes.uow(), ctx=review_ctx(fakes), actor=staff.sup2)
        assert again["changed"]
        assert again["line"]["version"] == shown["line"]["version"] + 1
        assert decide(fakes, staff.sup2, item, "approved", "documents_consistent", again["line"]["version"])

    def test_unknown_decision_and_reason_are_refused_field_by_field(self, fakes, staff):
        item, shown = self.flagged(fakes, staff)
        with pytest.raises(InputError) as refused:
            decide(fakes, staff.sup2, item, "maybe", "because", shown["line"]["version"])
        assert refused.value.errors == [
            FieldError("decision", "invalid_choice"),
            FieldError("reason", "invalid_choice"),
        ]

    def test_an_item_not_held_cannot_be_decided(self, fakes, staff):
        item, shown = self.flagged(fakes, staff)
        sup3 = fakes.actor("supervisor", "STORE-3")
        with pytest.raises(ReviewNotClaimedError):
            decide(fakes, sup3, item, "approved", "documents_consistent", shown["line"]["version"])
        decide(fakes, staff.sup2, item, "approved", "documents_consistent", shown["line"]["version"])
        with pytest.raises(ReviewNotClaimedError):  # decided already
            decide(fakes, staff.sup2, item, "rejected", "person_mismatch", shown["line"]["version"])
