"""Updating a subscription's information at the counter (fields and images), in steps if need be."""

from __future__ import annotations

from typing import Any

from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.errors import InputError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.compliance.records import flatten
from subreg.domain.counter import gate
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.counter._review import queue_review, review_hold
from subreg.services.counter._saving import editable, merge, save, seal_ahead
from subreg.services.counter._shared import (
    PERSON_SECTIONS,
    audit,
    load,
    refuse_if_restricted,
    require,
    require_for,
    scope_of,
)
from subreg.services.counter.commands import UpdateSubscription
from subreg.services.counter.context import CounterContext
from subreg.services.counter.images import check_images, fill_from_card
from subreg.services.counter.ports import CounterUnitOfWork
from subreg.services.registry.ports import SubscriptionRow

__all__ = ["update_subscription"]

_UNLOCK_REASON = "information_complete"
_UNLOCK_PRIORITY = 3  # ahead of routine orders (5): the customer is waiting at the counter


def update_subscription(
    cmd: UpdateSubscription, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor
) -> dict[str, Any]:
    """Update a subscription's information with field changes and up to three images.

    Images are quality-checked first (`check_images`, before the unit of work opens); holder fields the
    card's QR/MRZ gives fill the absent ones; the rule set re-checks the whole record, and any
    invalid value refuses the update (422, field-level). Still-missing items are reported, not
    refused: an update may be done in steps. A locked subscription that becomes complete gets an
    `unlock` network order (reason `information_complete`), queued: nothing in subreg sends it yet.
    """
    images = dict(cmd.images)
    changes = editable(cmd.changes)
    check = check_images(images, ctx=ctx, id_type=None)

    def current(*, audit_refusal: bool) -> tuple[SubscriptionRow, dict[str, Any]]:
        """The subscription and its record with the changes applied, once access is allowed."""
        sub = load(uow, ctx, cmd.msisdn)
        if audit_refusal:
            sub = require_for(uow, ctx, actor, Permission.SUBSCRIPTION_UPDATE, cmd.purpose, sub)
        else:  # the first, read-only phase: the locked phase checks again and audits a refusal
            require(actor, Permission.SUBSCRIPTION_UPDATE, cmd.purpose, scope_of(uow, ctx, sub))
        refuse_if_restricted(uow, sub)
        return sub, merge(ctx.registry.record_of(sub, uow=uow), changes)

    def prepared() -> dict[str, Any]:
        record = current(audit_refusal=False)[1]
        fill_from_card(record, check)
        return record

    with uow:
        sealed = seal_ahead(uow, ctx, images, prepared)
        uow.lock_for_write()
        sub, record = current(audit_refusal=True)
        saved = save(record, images, check, uow=uow, ctx=ctx, actor=actor, sealed=sealed, stored=sub)
        result = saved.result
        # An update may be done in steps: only wrong values refuse it. The 4th line's missing contract is
        # reported like any missing item (the gate keeps refusing other transactions until it is there).
        refused = [e for e in result.errors if e.code != "contract_required"]
        if refused:
            uow.rollback()
            raise InputError(refused)
        # A line a supervisor rejected stays locked until an approval of this new save lifts it.
        held = review_hold(uow, sub)
        unlock = sub.status in gate.LOCKED_STATUSES and result.complete and not held
        if unlock:
            _queue_unlock(uow, sub, actor)
        if result.complete and sub.status != gate.TERMINATED and not held:
            # Enforcement restores the line within seconds (state cleared, SMS; the unlock above goes first).
            uow.counter.request_restore(sub.id, channel="counter", now=ctx.now)
        paths = sorted({*flatten({k: v for k, v in changes.items() if k in PERSON_SECTIONS}), *saved.filled,
                        *(f"documents.{k}" for k in images)})  # fmt: skip
        paths += sorted(k for k in changes if k not in PERSON_SECTIONS)
        saved_line = uow.subscriptions.get_by_id(sub.id) or sub
        flags = queue_review(uow, ctx, actor, kind="update", sub=saved_line, record=record, check=check)
        audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_UPDATED, sub, fields=paths, purpose=cmd.purpose,
              details={"complete": result.complete, "unlock_queued": unlock})  # fmt: skip
        uow.commit()
    return {
        "msisdn": msisdn_from_key(sub.msisdn),
        "status": sub.status,
        "complete": result.complete,
        "missing": list(result.missing),
        "derived": dict(result.derived),
        "filled_from_card": saved.filled,
        "card_source": check.card_source,
        "unlock_queued": unlock,
        "review_flags": list(flags),
    }


def _queue_unlock(uow: CounterUnitOfWork, sub: SubscriptionRow, actor: Actor) -> None:
    """One queued `unlock` order per locked subscription that became complete (not a second one)."""
    queued = uow.counter.list_network_orders(sub.id, status="queued")
    if any(o.action == "unlock" for o in queued):
        return
    uow.counter.add_network_order(
        {
            "subscription_id": sub.id,
            "action": "unlock",
            "status": "queued",
            "reason": _UNLOCK_REASON,
            "created_by_staff_id": actor.staff_id,
            "priority": _UNLOCK_PRIORITY,
        }
    )
