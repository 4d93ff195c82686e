"""Flagging a saved registration or update for the supervisor's review, in the transaction that saves it.

The facts come from what the save already has (the card's fields and the typed record, the image checks'
margins, the caller's role and the time) and two indexed look-ups (the person's lines and today's points of
sale, the line's last decision); `domain.backoffice.review.flags_for` decides. See docs/backoffice.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from subreg.domain.access.permissions import Actor, Role
from subreg.domain.backoffice.review import Decision, SaveFacts, card_mismatches, flags_for, join_flags
from subreg.domain.privacy.anomalies import is_open
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.counter.context import CounterContext
from subreg.services.counter.images import signer_of
from subreg.services.counter.ports import CounterUnitOfWork, ImageCheck
from subreg.services.registry.ports import SubscriptionRow

__all__ = ["queue_review", "rejected_services", "review_card", "review_hold"]

_THIRD_PARTIES = frozenset({Role.AGENT, Role.AUTHORIZED_POINT})
_RESUBMIT_AFTER = frozenset({Decision.REJECTED, Decision.SENT_BACK})


def rejected_services(ctx: CounterContext) -> frozenset[str]:
    """What a rejected line keeps: the setting, else the rule set's `rejected_registration_services`."""
    rules = ctx.review
    if rules is not None and rules.rejected_services is not None:
        return rules.rejected_services
    return frozenset(ctx.rule_set.rejected_registration_services)


def review_hold(uow: CounterUnitOfWork, sub: SubscriptionRow) -> bool:
    """Whether a supervisor's rejection holds the line (its newest decision is a rejection)."""
    last = uow.reviews.latest_verdict(sub.id)
    return last is not None and last.decision == Decision.REJECTED


def queue_review(
    uow: CounterUnitOfWork,
    ctx: CounterContext,
    actor: Actor,
    *,
    kind: str,
    sub: SubscriptionRow,
    record: Mapping[str, Any],
    check: ImageCheck,
) -> tuple[str, ...]:
    """Queue the saved line for review when a rule flags it (audited `review:queued`); the flags raised."""
    rules = ctx.review
    if rules is None or not rules.enabled:
        return ()
    who = signer_of(record)
    typed = record.get(who) if who else None
    lines = points = 0
    if kind == "registration" and sub.person_key is not None:
        lines, points = uow.reviews.person_activity(sub.person_key, day=ctx.today)
    last = uow.reviews.latest_for(sub.id)
    facts = SaveFacts(
        card_mismatches=card_mismatches(typed if isinstance(typed, Mapping) else None, check.card_fields),
        person_lines=lines,
        contract_from=int(getattr(ctx.rule_set, "CONTRACT_FROM_ORDINAL", 4)),
        points_today=points,
        narrow_images=tuple(check.narrow),
        outside_hours=actor.role in _THIRD_PARTIES
        and not is_open(ctx.now.astimezone(rules.tz).time(), rules.opening, rules.closing),
        resubmission=last is not None and last.state == "decided" and last.decision in _RESUBMIT_AFTER,
    )
    flags = tuple(f.value for f in flags_for(facts))
    if not flags:
        return ()
    item_id = uow.reviews.submit(
        subscription_id=sub.id, kind=kind, flags=join_flags(flags), version=sub.version,
        point_of_sale_id=actor.point_of_sale_id, submitted_by=actor.staff_id, now=ctx.now,
    )  # fmt: skip
    audit_trail.record(
        uow, actor=actor, action=AuditAction.REVIEW_QUEUED, subject=audit_trail.subject_for_line(sub.id),
        request_id=ctx.request_id, details={"item": item_id, "flags": ",".join(flags)}, now=ctx.now,
    )  # fmt: skip
    return flags


def review_card(uow: CounterUnitOfWork, sub: SubscriptionRow) -> dict[str, Any] | None:
    """The card's review section: the newest item's state (pending, approved, rejected with its reason, sent
    back: take a new photo) and whether a rejection holds the line; None when the line was never flagged."""
    item = uow.reviews.latest_for(sub.id)
    if item is None:
        return None
    return {
        "state": item.decision if item.state == "decided" else "pending",
        "reason": item.reason if item.state == "decided" else None,
        "flags": list(item.flags),
        "kind": item.kind,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "held": review_hold(uow, sub),
    }
