"""The supervisor review queue: claim the next flagged item, see it, approve, reject or send it back.

- `claim_next`: the item this supervisor already holds, else the oldest pending one nobody holds (a lease of
  `lease_seconds`; two supervisors claiming at once get different items), never their own submission, and not
  their own point of sale's work while a supervisor of another point of sale is active (`cross_store_only`).
- `show_item`: the item and its line now (the record in clear with its documents, purpose `review`, audited
  `subscription:read`), the version the page shows, and whether the line changed since it was flagged.
- `decide`: the decision with a reason code and free text, on the version the page showed: a line changed
  meanwhile refuses it (`review_stale`, nothing written); audited `review:decided`. A rejection queues the
  network lock that keeps only the rule set's `rejected_registration_services` (two-way by default: 1414 and
  emergency calls); an approval of a line a rejection holds queues its unlock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from subreg.domain.access.masking import mask_record
from subreg.domain.access.permissions import Actor, Permission, Purpose, authorize, require, visible_fields
from subreg.domain.backoffice.review import (
    REASONS,
    Decision,
    ReviewNotClaimedError,
    ReviewStaleError,
    lock_for,
    may_review,
    parse_decision,
)
from subreg.domain.common.errors import FieldError, NotFoundError, PermissionDeniedError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.compliance.records import flatten
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.compliance.timeline import Timeline
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.backoffice.review_ports import ReviewItemRow, ReviewRules
from subreg.services.common import audit_trail
from subreg.services.counter.ports import CounterUnitOfWork
from subreg.services.registry.ports import SubscriptionWriter

__all__ = [
    "REASONS",
    "DecideReview",
    "ReviewContext",
    "claim_next",
    "decide",
    "pending_items",
    "queue_status",
    "show_item",
]

_PERSON_SECTIONS = ("holder", "guardian", "organization")
_ORDER_PRIORITY = 3  # ahead of routine orders (5), as the counter's unlock


@dataclass(frozen=True, slots=True)
class ReviewContext:
    """The request's moment and the settings the review applies (built by `bootstrap.Container.review_context`)."""

    registry: SubscriptionWriter
    rule_set: RuleSet
    rules: ReviewRules
    now: datetime
    timeline: Timeline | None = None
    request_id: str | None = None

    @property
    def rejected_services(self) -> frozenset[str]:
        """What a rejected line keeps: the setting, else the rule set's."""
        if self.rules.rejected_services is not None:
            return self.rules.rejected_services
        return frozenset(self.rule_set.rejected_registration_services)


@dataclass(frozen=True, slots=True)
class DecideReview:
    """A supervisor's decision on a claimed item, made on the line's `version` the page showed."""

    item_id: int
    decision: str | None
    reason: str | None
    note: str | None = None
    version: int | None = None


def _require_reviewer(actor: Actor) -> None:
    decision = authorize(actor, Permission.REVIEW_DECIDE)
    if not decision.allowed:
        raise PermissionDeniedError(decision.reason_code, errors=[FieldError("review", decision.reason_code)])


def _audit(
    uow: CounterUnitOfWork, ctx: ReviewContext, actor: Actor, action: str, line_id: int, *,
    fields: tuple[str, ...] = (), purpose: str | None = None, details: Mapping[str, Any] | None = None,
) -> None:  # fmt: skip
    audit_trail.record(
        uow, actor=actor, action=action, subject=audit_trail.subject_for_line(line_id), fields=fields,
        purpose=purpose, request_id=ctx.request_id, details=details, now=ctx.now,
    )  # fmt: skip


def _other_store_active(uow: CounterUnitOfWork, ctx: ReviewContext, actor: Actor) -> bool:
    if not ctx.rules.cross_store_only or actor.point_of_sale_id is None:
        return False
    since = ctx.now - timedelta(minutes=ctx.rules.active_minutes)
    return uow.reviews.other_store_active(actor.point_of_sale_id, since=since, now=ctx.now)


def queue_status(*, uow: CounterUnitOfWork, actor: Actor, now: datetime) -> dict[str, Any]:
    """How many items wait, and the one this supervisor holds (its id), if any."""
    _require_reviewer(actor)
    with uow:
        held = uow.reviews.held_by(actor.staff_id, now=now)
        return {"pending": uow.reviews.pending_count(), "held": held.id if held else None}


def pending_items(*, uow: CounterUnitOfWork, limit: int = 100) -> list[ReviewItemRow]:
    """The oldest items waiting (ids, flags, kinds, points of sale: nothing personal), for the command line."""
    with uow:
        return uow.reviews.list_pending(limit=limit)


def claim_next(*, uow: CounterUnitOfWork, ctx: ReviewContext, actor: Actor) -> int | None:
    """The id of the item this supervisor holds or now claims (None: nothing they may take); audited."""
    _require_reviewer(actor)
    with uow:
        uow.lock_for_write()
        held = uow.reviews.held_by(actor.staff_id, now=ctx.now)
        if held is not None:
            return held.id
        exclude = actor.point_of_sale_id if _other_store_active(uow, ctx, actor) else None
        until = ctx.now + timedelta(seconds=ctx.rules.lease_seconds)
        item = uow.reviews.claim_next(actor.staff_id, now=ctx.now, until=until, exclude_pos=exclude)
        if item is None:
            uow.rollback()
            return None
        _audit(uow, ctx, actor, AuditAction.REVIEW_CLAIMED, item.subscription_id,
               details={"item": item.id, "flags": ",".join(item.flags)})  # fmt: skip
        uow.commit()
        return item.id


def _held_item(uow: CounterUnitOfWork, ctx: ReviewContext, actor: Actor, item_id: int) -> ReviewItemRow:
    item = uow.reviews.get(item_id)
    if item is None:
        raise NotFoundError("review item not found", errors=[FieldError("item", "not_found")])
    live = item.claimed_until is not None and item.claimed_until > ctx.now
    if item.state != "pending" or item.claimed_by != actor.staff_id or not live:
        raise ReviewNotClaimedError("review item not held", errors=[FieldError("item", "review_not_claimed")])
    return item


def show_item(item_id: int, *, uow: CounterUnitOfWork, ctx: ReviewContext, actor: Actor) -> dict[str, Any]:
    """The held item and its line as it is now (clear, with its documents); audited `subscription:read`."""
    _require_reviewer(actor)
    require(actor, Permission.SUBSCRIPTION_READ, purpose=Purpose.REVIEW)
    with uow:
        uow.lock_for_write()
        item = _held_item(uow, ctx, actor, item_id)
        sub = uow.subscriptions.get_by_id(item.subscription_id)
        if sub is None:
            raise NotFoundError("line not found", errors=[FieldError("item", "not_found")])
        visibility = visible_fields(actor.role, Purpose.REVIEW)
        shown = mask_record(ctx.registry.record_of(sub, uow=uow), visibility)
        latest: dict[str, Any] = {}
        for doc in uow.documents.list_for(sub.id):
            latest[doc.kind] = doc
        documents = [{"id": d.id, "kind": d.kind, "has_image": bool(d.blob_key)} for d in latest.values()]
        fields = tuple(sorted(flatten({k: v for k, v in shown.items() if k in _PERSON_SECTIONS})))
        _audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_READ, sub.id, fields=fields, purpose=Purpose.REVIEW,
               details={"view": "review", "item": item.id})  # fmt: skip
        pos = uow.counter.point_of_sale_code(item.point_of_sale_id) if item.point_of_sale_id else None
        uow.commit()
    return {
        "item": {
            "id": item.id, "kind": item.kind, "flags": list(item.flags), "version_seen": item.version_seen,
            "point_of_sale": pos, "created_at": item.created_at.isoformat() if item.created_at else None,
            "claimed_until": item.claimed_until.isoformat() if item.claimed_until else None,
        },
        "line": {
            "msisdn": msisdn_from_key(sub.msisdn), "status": sub.status, "version": sub.version,
            "complete": sub.complete, "contract_needed": sub.contract_needed, "missing": list(sub.missing),
            "subscriber_type": sub.subscriber_type, "activated_on": sub.activated_on.isoformat()
            if sub.activated_on else None,
        },
        "changed": sub.version != item.version_seen,
        "holder": shown.get("holder"),
        "guardian": shown.get("guardian"),
        "organization": shown.get("organization"),
        "documents": documents,
        "images": visibility.images,
        "reasons": {str(d): list(r) for d, r in REASONS.items()},
    }  # fmt: skip


def decide(cmd: DecideReview, *, uow: CounterUnitOfWork, ctx: ReviewContext, actor: Actor) -> dict[str, Any]:
    """Record a supervisor's decision and its effect on the line (a lock order, an unlock order); audited."""
    _require_reviewer(actor)
    parsed = parse_decision(cmd.decision, cmd.reason, cmd.note)
    with uow:
        uow.lock_for_write()
        item = _held_item(uow, ctx, actor, cmd.item_id)
        if not may_review(
            reviewer_id=actor.staff_id, reviewer_pos=actor.point_of_sale_id, item_pos=item.point_of_sale_id,
            submitted_by=item.submitted_by, cross_store_only=ctx.rules.cross_store_only,
            other_store_active=_other_store_active(uow, ctx, actor),
        ):  # fmt: skip
            raise PermissionDeniedError("own_store", errors=[FieldError("item", "review_own_store")])
        current = uow.reviews.line_version(item.subscription_id)
        if current is None:
            raise NotFoundError("line not found", errors=[FieldError("item", "not_found")])
        if cmd.version is None or cmd.version != current:
            raise ReviewStaleError("line changed", errors=[FieldError("version", "review_stale")])
        before = uow.reviews.latest_verdict(item.subscription_id)
        was_held = before is not None and before.decision == Decision.REJECTED
        if not uow.reviews.decide(item.id, staff_id=actor.staff_id, decision=parsed.decision, reason=parsed.reason,
                                  note=parsed.note, now=ctx.now):  # fmt: skip
            raise ReviewNotClaimedError("review item not held", errors=[FieldError("item", "review_not_claimed")])
        order = None
        if parsed.decision == Decision.REJECTED:
            order = lock_for(ctx.rejected_services, ctx.timeline)
        elif parsed.decision == Decision.APPROVED and was_held:
            order = "unlock"
        if order is not None:
            uow.counter.add_network_order(
                {
                    "subscription_id": item.subscription_id, "action": order, "status": "queued",
                    "reason": f"review_{parsed.decision}", "created_by_staff_id": actor.staff_id,
                    "priority": _ORDER_PRIORITY, "order_key": f"review:{item.id}:{order}", "created_at": ctx.now,
                }
            )  # fmt: skip
        # The note is free text: kept with the item, never copied into the audit log.
        _audit(uow, ctx, actor, AuditAction.REVIEW_DECIDED, item.subscription_id,
               details={"item": item.id, "decision": str(parsed.decision), "reason": parsed.reason,
                        "flags": ",".join(item.flags), "order": order or ""})  # fmt: skip
        uow.commit()
    return {"item": item.id, "decision": str(parsed.decision), "reason": parsed.reason, "order": order}
