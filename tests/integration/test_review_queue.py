"""The supervisor review queue on SQLite and PostgreSQL: flags stored at the counter's save, concurrent claims
(SKIP LOCKED / conditional UPDATE), the version check, the audit, a rejection's lock and gate, an approval's
unlock, the cross-store rule read from real sessions."""

from __future__ import annotations

import copy
import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log, network_orders, review_items
from subreg.adapters.images.quality import OpenCvImageInspector
from subreg.domain.access.permissions import Actor
from subreg.domain.backoffice.review import ReviewStaleError
from subreg.domain.counter.gate import ReviewRejectedError
from subreg.services import counter
from subreg.services.access.sessions import issue_session
from subreg.services.backoffice import review
from subreg.services.backoffice.review import DecideReview
from subreg.services.counter.commands import LookUpNumber, RegisterSubscription, Transact, UpdateSubscription
from tests.auth_helpers import make_staff
from tests.fixtures.images import portrait_jpeg, registration_images
from tests.records import complete_record

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
_INSPECTOR = OpenCvImageInspector()


def ctx(container: Any):
    return dataclasses.replace(container.counter_context(now=NOW), images=_INSPECTOR)


def rctx(container: Any, now: datetime = NOW):
    return container.review_context(now=now)


def actor(container: Any, role: str, code: str) -> Actor:
    username, _ = make_staff(container, role, code)
    with container.uow() as uow:
        row = uow.staff.get_by_username(username)
        pos = uow.points_of_sale.get_by_code(code)
    kind = "store" if role == "store_staff" else None
    return Actor(staff_id=row.id, role=role, point_of_sale_id=pos.id, pos_kind=kind)


def rows(container: Any, table: Any) -> list[Any]:
    with container.engine.connect() as c:
        return list(c.execute(select(table).order_by(table.c[next(iter(table.c.keys()))])))


def register_mistyped(container: Any, number: str, store: Actor) -> dict[str, Any]:
    """A registration whose typed name differs from the name in the card's QR code."""
    holder = copy.deepcopy(complete_record()["holder"])
    typed = {**holder, "full_name": "Nguyễn Thị Anh"}
    record = {"msisdn": number, "subscriber_type": "individual", "payment_type": "prepaid", "holder": typed}
    cmd = RegisterSubscription(record, registration_images(holder))
    return counter.register_subscription(cmd, uow=container.uow(), ctx=ctx(container), actor=store)


def decide(container, who, item, decision, reason, version, now=NOW):
    cmd = DecideReview(item, decision, reason, None, version)
    return review.decide(cmd, uow=container.uow(), ctx=rctx(container, now), actor=who)


class TestQueue:
    def test_a_flagged_registration_is_queued_in_its_own_transaction_and_audited(self, container):
        store = actor(container, "store_staff", "STORE-1")
        done = register_mistyped(container, "0901111111", store)
        assert "card_mismatch" in done["review_flags"]
        (item,) = rows(container, review_items)
        assert (item.kind, item.state, item.point_of_sale_id, item.submitted_by) == (
            "registration", "pending", store.point_of_sale_id, store.staff_id
        )  # fmt: skip
        assert "card_mismatch" in item.flags.split(",")
        assert "review:queued" in [r.action for r in rows(container, audit_log)]

    def test_concurrent_supervisors_each_get_a_different_item(self, container):
        count = 6
        with container.uow() as uow:
            for n in range(count):
                at = NOW + timedelta(seconds=n)
                uow.reviews.submit(subscription_id=1000 + n, kind="update", flags="narrow_image", version=1,
                                   point_of_sale_id=None, submitted_by=None, now=at)  # fmt: skip
            uow.commit()
        supervisors = [actor(container, "supervisor", f"SUP-{n}") for n in range(count + 2)]
        barrier = threading.Barrier(len(supervisors))
        got: dict[int, int | None] = {}
        failures: list[BaseException] = []

        def work(who: Actor) -> None:
            try:
                barrier.wait()
                got[who.staff_id] = review.claim_next(uow=container.uow(), ctx=rctx(container), actor=who)
            except BaseException as exc:  # reported below, not swallowed
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(s,)) for s in supervisors]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        claimed = [v for v in got.values() if v is not None]
        assert len(claimed) == count
        assert len(set(claimed)) == count
        assert list(got.values()).count(None) == 2
        held = {r.id: r.claimed_by for r in rows(container, review_items)}
        assert {held[i] for i in claimed} == {s for s, i in got.items() if i is not None}


class TestDecisions:
    def flagged(self, container):
        store = actor(container, "store_staff", "STORE-1")
        sup = actor(container, "supervisor", "STORE-2")
        register_mistyped(container, "0901111111", store)
        item = review.claim_next(uow=container.uow(), ctx=rctx(container), actor=sup)
        shown = review.show_item(item, uow=container.uow(), ctx=rctx(container), actor=sup)
        return store, sup, item, shown

    def test_a_rejection_queues_a_two_way_lock_and_the_gate_refuses_until_an_approval(self, container):
        store, sup, item, shown = self.flagged(container)
        assert decide(container, sup, item, "rejected", "person_mismatch", shown["line"]["version"])["order"] == (
            "lock_two_way"
        )
        (order,) = rows(container, network_orders)
        assert (order.action, order.reason, order.order_key) == ("lock_two_way", "review_rejected",
                                                                 f"review:{item}:lock_two_way")  # fmt: skip
        with pytest.raises(ReviewRejectedError):
            counter.transact(Transact("0901111111", "top_up"), uow=container.uow(), ctx=ctx(container), actor=store)
        card = counter.lookup_by_msisdn(LookUpNumber("0901111111", "transaction"), uow=container.uow(),
                                        ctx=ctx(container), actor=store)  # fmt: skip
        assert (card["review"]["state"], card["review"]["held"]) == ("rejected", True)
        decided = [r for r in rows(container, audit_log) if r.action == "review:decided"]
        assert len(decided) == 1
        assert decided[0].actor_staff_id == sup.staff_id

        # The new photo: queued again (resubmitted), no unlock from the counter; the approval lifts the lock.
        cmd = UpdateSubscription("0901111111", {"holder": {"full_name": complete_record()["holder"]["full_name"]}},
                                 {"portrait": portrait_jpeg()})  # fmt: skip
        done = counter.update_subscription(cmd, uow=container.uow(), ctx=ctx(container), actor=store)
        assert "resubmitted" in done["review_flags"]
        later = NOW + timedelta(minutes=1)
        again = review.claim_next(uow=container.uow(), ctx=rctx(container, later), actor=sup)
        shown = review.show_item(again, uow=container.uow(), ctx=rctx(container, later), actor=sup)
        decide(container, sup, again, "approved", "documents_consistent", shown["line"]["version"], later)
        assert [(o.action, o.reason) for o in rows(container, network_orders)] == [
            ("lock_two_way", "review_rejected"), ("unlock", "review_approved")
        ]  # fmt: skip
        tx = counter.transact(Transact("0901111111", "top_up"), uow=container.uow(), ctx=ctx(container), actor=store)
        assert tx["outcome"] == "done"

    def test_a_decision_on_a_stale_version_is_refused_and_nothing_is_overwritten(self, container):
        store, sup, item, shown = self.flagged(container)
        cmd = UpdateSubscription("0901111111", {"holder": {"address": "2 Tràng Tiền, Hoàn Kiếm, Hà Nội"}})
        counter.update_subscription(cmd, uow=container.uow(), ctx=ctx(container), actor=store)
        with pytest.raises(ReviewStaleError):
            decide(container, sup, item, "rejected", "person_mismatch", shown["line"]["version"])
        (row,) = rows(container, review_items)
        assert (row.state, row.decision, row.claimed_by) == ("pending", None, sup.staff_id)
        assert rows(container, network_orders) == []
        fresh = review.show_item(item, uow=container.uow(), ctx=rctx(container), actor=sup)
        assert fresh["changed"] is True

    def test_own_store_work_goes_to_an_active_supervisor_of_another_store(self, container):
        store = actor(container, "store_staff", "STORE-1")
        own = actor(container, "supervisor", "STORE-1")
        other = actor(container, "supervisor", "STORE-2")
        register_mistyped(container, "0901111111", store)
        with container.uow() as uow:  # the other store's supervisor has a session opened just now
            issue_session(uow, other.staff_id, kind="web", now=NOW - timedelta(minutes=2))
        assert review.claim_next(uow=container.uow(), ctx=rctx(container), actor=own) is None
        assert review.claim_next(uow=container.uow(), ctx=rctx(container), actor=other) is not None
