"""Carrying out network orders: claim due orders, hand each to the network element, record its answer.

The orders were written by the decisions that caused them (a sweep's step, a completion) in the same
transaction; here they leave. A claim commits before any order is sent (a crash mid-batch leaves leased
orders, claimed again when the lease ends: the element sees the same order, with the same idempotency key,
again). A transient failure is retried with backoff; a refusal, or an order out of attempts, becomes
`failed`, shown to staff (`subreg orders failed`, the orders page) and never dropped. Every order's outcome
is audited (subject: the line; no number in clear).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from subreg.domain.access.permissions import Actor
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.enforcement.options import EnforcementOptions
from subreg.services.enforcement.ports import (
    EnforcementUnitOfWork,
    NetworkOrder,
    NetworkProvisioner,
    OrderOutcome,
)

__all__ = ["OrderCounts", "carry_out", "failed_orders", "retry_orders"]

log = structlog.get_logger("subreg.network")


@dataclass(frozen=True, slots=True)
class OrderCounts:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0


def _apply(network: NetworkProvisioner, order: NetworkOrder) -> OrderOutcome:
    try:
        return network.apply(order)
    except Exception:  # an adapter bug or fault: retried like a timeout; the batch's other orders go on
        log.exception("network.apply_failed", order_id=order.id, provisioner=network.name)
        return OrderOutcome("retry", detail="apply_failed")


def _settle(order: NetworkOrder, outcome: OrderOutcome, at: datetime, network: str,
            options: EnforcementOptions) -> dict[str, object]:  # fmt: skip
    attempts = order.attempts + 1
    values: dict[str, object] = {"attempts": attempts, "last_error": outcome.detail or None, "provisioner": network}
    if outcome.status == "done":
        return values | {"status": "done", "processed_at": at, "applied": outcome.applied}
    if outcome.status == "retry" and attempts < options.order_attempts:
        first = options.retry_after.total_seconds()
        wait = min(first * 2.0 ** (attempts - 1), options.retry_cap.total_seconds())
        return values | {"status": "queued", "next_attempt_at": at + timedelta(seconds=wait)}
    return values | {"status": "failed", "processed_at": at}


def carry_out(
    *, uow_factory: Callable[[], EnforcementUnitOfWork], network: NetworkProvisioner, options: EnforcementOptions,
    now: Callable[[], datetime], limit: int = 100,
) -> OrderCounts:  # fmt: skip
    """Claim up to `limit` due orders (unlocks first), apply each, record the answers; the counts."""
    start = now()
    with uow_factory() as uow:
        uow.lock_for_write()
        orders = uow.orders.claim(now=start, lease_until=start + options.lease, limit=limit)
        uow.commit()
    if not orders:
        return OrderCounts()
    outcomes = [(order, _apply(network, order)) for order in orders]
    at = now()
    counts = {"done": 0, "queued": 0, "failed": 0}
    with uow_factory() as uow:
        uow.lock_for_write()
        for order, outcome in outcomes:
            values = _settle(order, outcome, at, network.name, options)
            counts[str(values["status"])] += 1
            uow.orders.settle(order.id, values)
            audit_trail.record(
                uow, actor=None, action=AuditAction.NETWORK_ORDER, subject=audit_trail.subject_for_line(order.line),
                now=at, details={"order_id": order.id, "action": order.action, "status": values["status"],
                                 "applied": outcome.applied, "detail": outcome.detail, "provisioner": network.name},
            )  # fmt: skip
        uow.commit()
    return OrderCounts(len(orders), counts["done"], counts["queued"], counts["failed"])


def failed_orders(*, uow: EnforcementUnitOfWork, limit: int = 200) -> list[dict[str, Any]]:
    """Orders the network refused or that ran out of attempts, newest first (no number: the line's id)."""
    with uow:
        return [dict(r) for r in uow.orders.failed(limit=limit)]


def retry_orders(order_ids: Sequence[int], *, uow: EnforcementUnitOfWork, actor: Actor | None, now: datetime) -> int:
    """Queue failed orders again (staff fixed the cause on the network side); audited; how many."""
    with uow:
        uow.lock_for_write()
        count = uow.orders.retry(order_ids, now=now)
        audit_trail.record(uow, actor=actor, action=AuditAction.NETWORK_ORDER, now=now,
                           details={"retried": list(order_ids)[:100], "count": count})  # fmt: skip
        uow.commit()
    return count
