"""Helpers every counter use case shares: finding the subscription, the access decision, the audit entry,
and the subscription card. The order of the checks is the same everywhere:

1. find the subscription (`not_found`), and its *scope*: the point of sale that registered it plus
   those with an open serving visit (`open_visit`, opened by proof of presence);
2. `domain.access.permissions.authorize` with the caller's declared purpose and that scope (403 with
   the reason; a refusal on a known subscription is audited as `access:denied`);
3. the rule (the gate, the rule set, image checks), then the change, the audit entry, the commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from subreg.domain.access.masking import mask_record
from subreg.domain.access.permissions import Actor, Permission, Scope, authorize, visible_fields
from subreg.domain.common.errors import (
    FieldError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ProcessingRestrictedError,
)
from subreg.domain.common.msisdn import msisdn_from_key, msisdn_key, parse_msisdn
from subreg.domain.compliance.phase import phase_of
from subreg.domain.compliance.records import flatten
from subreg.domain.compliance.rules.base import rule_tag
from subreg.domain.counter import gate
from subreg.domain.enforcement.machine import next_due
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.counter._review import rejected_services, review_card
from subreg.services.counter.context import CounterContext
from subreg.services.counter.ports import CounterUnitOfWork
from subreg.services.registry.ports import SubscriptionRow

__all__ = [
    "COUNTER_TRANSACTION",
    "PERSON_SECTIONS",
    "audit",
    "card",
    "channel_of",
    "error_fields",
    "key_of",
    "load",
    "refuse_if_restricted",
    "require",
    "require_for",
    "scope_of",
    "shown_paths",
]

COUNTER_TRANSACTION = "counter:transaction"
PERSON_SECTIONS = ("holder", "guardian", "organization")
_HISTORY_SHOWN = 10
_REASON_FIELD = {
    "purpose_required": "purpose",
    "purpose_not_allowed": "purpose",
    "out_of_scope": "msisdn",
    "scope_required": "msisdn",
    "no_point_of_sale": "point_of_sale",
    "pos_kind_mismatch": "point_of_sale",
}


def key_of(msisdn: str | int) -> int:
    """The integer key of a number as typed (InputError `invalid_msisdn`)."""
    if isinstance(msisdn, int):
        return msisdn
    e164 = parse_msisdn(msisdn) if isinstance(msisdn, str) else None
    if e164 is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])
    return msisdn_key(e164)


def load(uow: CounterUnitOfWork, ctx: CounterContext, msisdn: str | int) -> SubscriptionRow:
    """The current line of a number as stored (NotFoundError at `msisdn`); a terminated line stays until reissued.

    Its verdict may be stale: `require_for` (or `with_current_verdict`) gives the line checked again.
    """
    sub = uow.subscriptions.get(key_of(msisdn))
    if sub is None:
        raise NotFoundError("subscription not found", errors=[FieldError("msisdn", "not_found")])
    return sub


def with_current_verdict(uow: CounterUnitOfWork, ctx: CounterContext, sub: SubscriptionRow) -> SubscriptionRow:
    """The line with a verdict that holds today.

    A verdict older than the rules or past a date it depends on (`SubscriptionRow.stale`) is checked
    again (the record decrypted, so only once access is allowed): the counter never answers from an
    expired document's or a past birthday's verdict.
    """
    if sub.status != "terminated" and sub.stale(today=ctx.today, rule_tag=rule_tag(ctx.rule_set)):
        return ctx.registry.refresh(sub, uow=uow, as_of=ctx.today)
    return sub


def scope_of(uow: CounterUnitOfWork, ctx: CounterContext, sub: SubscriptionRow) -> Scope:
    """The points of sale that may see this subscription now."""
    return Scope.of(sub.point_of_sale_id, uow.counter.serving_pos_ids(sub.id, now=ctx.now))


def restricted(uow: CounterUnitOfWork, sub: SubscriptionRow) -> bool:
    """Whether the holder asked for restriction of processing."""
    flags = uow.privacy.flags(sub.holder_id)
    return bool(flags and flags.restricted)


def refuse_if_restricted(uow: CounterUnitOfWork, sub: SubscriptionRow) -> None:
    """A restricted holder's data is kept, not used or changed at the counter (409 `processing_restricted`)."""
    if restricted(uow, sub):
        raise ProcessingRestrictedError("processing restricted", errors=[FieldError("holder", "processing_restricted")])


def require(actor: Actor, permission: Permission, purpose: str | None, scope: Scope | None = None) -> None:
    """`authorize`, raising a 403 whose field-level error names the reason (never a value)."""
    decision = authorize(actor, permission, purpose=purpose, subject_scope=scope)
    if not decision.allowed:
        field = _REASON_FIELD.get(decision.reason_code, str(permission))
        raise PermissionDeniedError(decision.reason_code, errors=[FieldError(field, decision.reason_code)])


def require_for(
    uow: CounterUnitOfWork,
    ctx: CounterContext,
    actor: Actor,
    permission: Permission,
    purpose: str | None,
    sub: SubscriptionRow,
) -> SubscriptionRow:
    """`require` on one subscription, then the line `with_current_verdict`.

    A refusal is audited as `access:denied` (an attempt is an access too), and nothing else is written.
    """
    try:
        require(actor, permission, purpose, scope_of(uow, ctx, sub))
    except PermissionDeniedError as refused:
        audit(uow, ctx, actor, AuditAction.ACCESS_DENIED, sub, purpose=purpose,
              details={"reason": str(refused), "permission": str(permission)})  # fmt: skip
        uow.commit()
        raise
    return with_current_verdict(uow, ctx, sub)


def audit(
    uow: CounterUnitOfWork,
    ctx: CounterContext,
    actor: Actor,
    action: str,
    sub: SubscriptionRow | None,
    *,
    fields: Sequence[str] = (),
    purpose: str | None = None,
    details: Mapping[str, Any] | None = None,
    subject: str | None = None,
) -> None:
    """One audit entry about `sub` (or `subject`) in the use case's transaction."""
    if subject is None and sub is not None:
        subject = audit_trail.subject_for_line(sub.id)
    audit_trail.record(
        uow,
        actor=actor,
        action=action,
        subject=subject,
        fields=tuple(fields),
        purpose=purpose,
        request_id=ctx.request_id,
        details=details,
        now=ctx.now,
    )


def channel_of(actor: Actor) -> str:
    """The registration channel of the caller's point of sale."""
    return actor.pos_kind if actor.pos_kind in ("store", "agent", "authorized_point") else "store"


def error_fields(sub: SubscriptionRow) -> list[str]:
    """The paths of the stored record's invalid values."""
    return [e.rsplit(":", 1)[0] for e in sub.error_codes if e]


def _errors_of(sub: SubscriptionRow) -> list[dict[str, str]]:
    out = []
    for item in sub.error_codes:
        if item:
            path, _, code = item.rpartition(":")
            out.append({"field": path, "code": code})
    return out


def shown_paths(masked: Mapping[str, Any]) -> list[str]:
    """The personal field paths a card shows (for the audit entry of the read)."""
    return sorted(p for p in flatten({k: v for k, v in masked.items() if k in PERSON_SECTIONS}))


def enforcement_card(uow: CounterUnitOfWork, ctx: CounterContext, subscription_id: int) -> dict[str, Any]:
    """The line's enforcement state, the date of each past step and the date of the next one."""
    line, steps = uow.counter.enforcement_of(subscription_id)
    upcoming = next_due(line, ctx.timeline) if line is not None and ctx.timeline is not None else None
    return {
        "state": line.state.label if line is not None else None,
        "notices": line.notices if line is not None else 0,
        "steps": [{"action": a, "on": d.isoformat()} for a, d in steps],
        "next": {"action": upcoming[0], "on": upcoming[1].isoformat()} if upcoming else None,
    }


def card(
    uow: CounterUnitOfWork,
    ctx: CounterContext,
    sub: SubscriptionRow,
    record: Mapping[str, Any],
    actor: Actor,
    purpose: str | None,
) -> dict[str, Any]:
    """The subscription card: state, gate, masked holder, documents and recent history."""
    visibility = visible_fields(actor.role, purpose)
    is_restricted = restricted(uow, sub)
    # A holder who asked for restriction is kept on file but not shown at the counter (only the DPO's export).
    masked = {} if is_restricted else mask_record(record, visibility)
    latest: dict[str, Any] = {}
    for doc in uow.documents.list_for(sub.id):
        latest[doc.kind] = doc
    documents = [
        {"id": d.id, "kind": d.kind, "has_image": bool(d.blob_key), "content_type": d.content_type}
        for d in latest.values()
    ]
    review = review_card(uow, sub)
    held = bool(review and review["held"])
    history = [
        {"at": h.at.isoformat(), "action": h.action, "channel": h.channel, "fields": list(h.changes.get("fields", []))}
        for h in uow.history.list_for(sub.id)[-_HISTORY_SHOWN:]
    ]
    return {
        "msisdn": msisdn_from_key(sub.msisdn),
        "status": sub.status,
        "subscriber_type": sub.subscriber_type,
        "payment_type": sub.payment_type,
        "activated_on": sub.activated_on.isoformat() if sub.activated_on else None,
        "phase": phase_of(sub.activated_on, ctx.phase_reference),
        "enforcement": enforcement_card(uow, ctx, sub.id),
        "compliance": {
            "complete": sub.complete,
            "contract_needed": sub.contract_needed,
            "state": sub.state.label,
            "missing": list(sub.missing),
            "errors": _errors_of(sub),
            "rule_set": sub.rule_set,
            "evaluated_on": sub.evaluated_on.isoformat(),
        },
        "gate": {
            "update_required": gate.offer_update(
                status=sub.status, complete=sub.complete, contract_needed=sub.contract_needed
            ),
            "allowed": list(
                gate.allowed_kinds(
                    status=sub.status,
                    complete=sub.complete,
                    contract_needed=sub.contract_needed,
                    review_rejected=held,
                    rejected_allowed=rejected_services(ctx),
                )
            ),
        },
        "review": review,
        "holder": masked.get("holder"),
        "guardian": masked.get("guardian"),
        "organization": masked.get("organization"),
        "visibility": {"masked": bool(visibility.masked), "images": visibility.images and not is_restricted},
        "restricted": is_restricted,
        "documents": documents,
        "history": history,
    }
