"""Network orders as an outbox on real storage (SQLite and PostgreSQL): claimed by urgency and leased, each
outcome recorded and audited, transient failures retried with backoff, refusals and exhausted orders kept as
`failed` for staff and queued again on request; concurrent claimers never share an order (PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log, network_orders
from subreg.services.enforcement.orders import carry_out, failed_orders, retry_orders
from subreg.services.enforcement.ports import LineAccess, NetworkOrder, OrderOutcome
from tests.integration.test_enforcement_sweep import _lines

T0 = datetime(2018, 5, 10, 1, 0, tzinfo=UTC)


class ScriptedNetwork:
    """A network element whose answers the test writes, per action (the real ones have their own tests)."""

    name = "scripted"

    def __init__(self, answers: dict[str, OrderOutcome | Exception]) -> None:
        self.answers = answers
        self.seen: list[NetworkOrder] = []

    def apply(self, order: NetworkOrder) -> OrderOutcome:
        self.seen.append(order)
        answer = self.answers[order.action]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def access(self, msisdn: str) -> LineAccess:
        return "open"

    def close(self) -> None:
        pass


def _orders(container, lines: list[int], actions: list[str]) -> None:
    with container.engine.begin() as c:
        for line, action in zip(lines, actions, strict=True):
            c.execute(network_orders.insert().values(
                subscription_id=line, action=action, status="queued", reason="r", created_at=T0,
                priority=1 if action == "unlock" else 5, order_key=f"k:{line}:{action}", next_attempt_at=T0,
            ))  # fmt: skip


def _rows(container) -> dict[str, dict]:
    with container.engine.connect() as c:
        return {r.action: dict(r._mapping) for r in c.execute(select(network_orders))}


def test_outcomes_are_recorded_retried_with_backoff_and_failures_kept(container):
    lines = _lines(container, 4)
    _orders(container, lines, ["lock_one_way", "lock_two_way", "unlock", "terminate"])
    network = ScriptedNetwork({
        "unlock": OrderOutcome("done", applied="open"), "lock_one_way": OrderOutcome("retry", detail="timeout"),
        "lock_two_way": OrderOutcome("refused", detail="unknown_subscriber"), "terminate": RuntimeError("bug"),
    })  # fmt: skip
    options = replace(container.enforcement_options(), order_attempts=2)
    counts = carry_out(uow_factory=container.uow, network=network, options=options, now=lambda: T0)
    assert (counts.claimed, counts.done, counts.retried, counts.failed) == (4, 1, 2, 1)
    assert network.seen[0].action == "unlock"  # the most urgent first
    assert all(o.msisdn.startswith("84") and o.key.startswith("k:") for o in network.seen)
    rows = _rows(container)
    unlock = rows["unlock"]
    assert (unlock["status"], unlock["applied"], unlock["provisioner"]) == ("done", "open", "scripted")
    assert (rows["lock_two_way"]["status"], rows["lock_two_way"]["last_error"]) == ("failed", "unknown_subscriber")
    assert (rows["lock_one_way"]["status"], rows["lock_one_way"]["attempts"]) == ("queued", 1)
    assert rows["terminate"]["last_error"] == "apply_failed"
    # Not due yet (backoff): nothing claimed; due: claimed again and, out of attempts, failed.
    assert carry_out(uow_factory=container.uow, network=network, options=options, now=lambda: T0).claimed == 0
    later = T0 + timedelta(seconds=6)
    assert carry_out(uow_factory=container.uow, network=network, options=options, now=lambda: later).failed == 2
    failed = failed_orders(uow=container.uow())
    assert sorted(f["action"] for f in failed) == ["lock_one_way", "lock_two_way", "terminate"]
    with container.engine.connect() as c:
        audited = c.execute(select(audit_log.c.subject, audit_log.c.details).where(
            audit_log.c.action == "network:order")).all()  # fmt: skip
    assert len(audited) == 6
    assert all(s.startswith("line:") for s, _ in audited)  # the line, never the number
    assert retry_orders([f["id"] for f in failed], uow=container.uow(), actor=None, now=later) == 3
    network.answers = dict.fromkeys(network.answers, OrderOutcome("done", applied="two_way"))
    assert carry_out(uow_factory=container.uow, network=network, options=options, now=lambda: later).done == 3
    assert {r["status"] for r in _rows(container).values()} == {"done"}


def test_a_claimed_order_whose_worker_died_is_claimed_again_after_its_lease(container):
    lines = _lines(container, 1)
    _orders(container, lines, ["lock_one_way"])
    options = container.enforcement_options()
    with container.uow() as uow:
        uow.lock_for_write()
        assert len(uow.orders.claim(now=T0, lease_until=T0 + options.lease, limit=10)) == 1
        uow.commit()  # ... and the worker dies before applying it
    network = ScriptedNetwork({"lock_one_way": OrderOutcome("done", applied="one_way")})
    assert carry_out(uow_factory=container.uow, network=network, options=options, now=lambda: T0).claimed == 0
    after = T0 + options.lease + timedelta(seconds=1)
    assert carry_out(uow_factory=container.uow, network=network, options=options, now=lambda: after).done == 1
    assert network.seen[0].key == f"k:{lines[0]}:lock_one_way"  # the same key: the element can tell


def test_concurrent_claimers_never_share_an_order(container):
    if container.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers: one claimer at a time")
    lines = _lines(container, 6)
    _orders(container, lines, ["lock_one_way"] * 6)
    first, second = container.uow(), container.uow()
    with first, second:
        a = first.orders.claim(now=T0, lease_until=T0 + timedelta(minutes=1), limit=3)
        b = second.orders.claim(now=T0, lease_until=T0 + timedelta(minutes=1), limit=10)  # skips a's locked rows
        assert {o.id for o in a}.isdisjoint({o.id for o in b})
        assert len(a) + len(b) == 6
