"""Registering a new subscription at the counter, only when Decree 49 is satisfied."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.errors import DuplicateMsisdnError, FieldError, InputError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.common.operator_numbers import check_operator_number, with_ported
from subreg.domain.compliance.records import flatten
from subreg.domain.counter import gate
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.counter._review import queue_review
from subreg.services.counter._saving import editable, save, seal_ahead
from subreg.services.counter._shared import PERSON_SECTIONS, audit, channel_of, key_of, require
from subreg.services.counter.commands import RegisterSubscription
from subreg.services.counter.context import CounterContext
from subreg.services.counter.images import check_images, fill_from_card
from subreg.services.counter.ports import CounterUnitOfWork
from subreg.services.registry.ports import SubscriptionRow

__all__ = ["register_subscription"]


def register_subscription(
    cmd: RegisterSubscription, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor
) -> dict[str, Any]:
    """Register a new subscription at the caller's point of sale, only when Decree 49 is satisfied.

    Refused with every reason (409 `registration_incomplete`, field-level errors and `missing`)
    unless complete: documents, portrait, guardian for under-14s, organization papers; from the 4th
    subscription under one ID document a contract number (`contract_required`). The consent shown
    is recorded with the subscription; without it the registration is refused (`consent_required`).
    A number that is not this operator's is refused first (422 `not_operator_number`).
    """
    require(actor, Permission.SUBSCRIPTION_REGISTER, cmd.purpose)
    images = dict(cmd.images)
    fields_in = dict(cmd.record)
    number = fields_in.pop("msisdn", None)
    key = key_of(number if isinstance(number, str) else "")
    changes = editable(fields_in)
    _require_operator_number(uow, ctx, key)
    if not cmd.consent_accepted:
        raise gate.RegistrationIncompleteError([FieldError("consent", "consent_required")], ["consent"])
    check = check_images(images, ctx=ctx, id_type=None)

    def prepared() -> dict[str, Any]:
        record = _new_record(uow, ctx, actor, key, changes)
        fill_from_card(record, check)
        return record

    with uow:
        sealed = seal_ahead(uow, ctx, images, prepared)
        uow.lock_for_write()
        full = _new_record(uow, ctx, actor, key, changes)
        saved = save(full, images, check, uow=uow, ctx=ctx, actor=actor, sealed=sealed)
        result = saved.result
        if not result.complete:
            uow.rollback()
            reasons = list(result.errors)
            listed = {e.field for e in reasons}
            reasons += [FieldError(m, "required") for m in result.missing if m not in listed]
            raise gate.RegistrationIncompleteError(reasons, list(result.missing))
        sub = uow.subscriptions.get(key)  # the line just stored
        _record_consent(uow, ctx, actor, sub, cmd.consent_text)
        flags = queue_review(uow, ctx, actor, kind="registration", sub=sub, record=full, check=check) if sub else ()
        audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_REGISTERED, sub, purpose=cmd.purpose,
              fields=sorted(flatten({k: v for k, v in full.items() if k in PERSON_SECTIONS})),
              details={"documents": sorted(images)})  # fmt: skip
        uow.commit()
    return {
        "msisdn": msisdn_from_key(key),
        "status": "active",
        "complete": True,
        "derived": dict(result.derived),
        "filled_from_card": saved.filled,
        "card_source": check.card_source,
        "review_flags": list(flags),
    }


def _require_operator_number(uow: CounterUnitOfWork, ctx: CounterContext, key: int) -> None:
    """InputError `not_operator_number` unless the number is this operator's: within its ranges (setting
    `operator_ranges`; none: every number) or ported in, and not ported out (docs/rules.md P2). Decided
    before anything is written, images included; the MNP list is read for this one number, in a short
    transaction of its own (the registration's own transaction must begin as a writer)."""
    e164 = msisdn_from_key(key)
    with uow:
        direction = uow.ported.directions_of([key]).get(key)
    listed = {e164: direction} if direction is not None else {}
    if check_operator_number(e164, with_ported(ctx.numbers, listed)) is not None:
        raise InputError([FieldError("msisdn", "not_operator_number")])


def _refuse_in_quarantine(uow: CounterUnitOfWork, ctx: CounterContext, line_id: int) -> None:
    """A number terminated by enforcement waits `quarantine_days` before it is issued to a new holder (calls
    and messages meant for the former holder die out first)."""
    line, steps = uow.counter.enforcement_of(line_id)
    ended = [d for a, d in steps if a == "terminate"]
    if line is not None and ended and (ctx.today - ended[-1]).days < ctx.quarantine_days:
        raise DuplicateMsisdnError("msisdn in quarantine", errors=[FieldError("msisdn", "number_in_quarantine")])


def _new_record(
    uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor, key: int, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """A registration's record: the fields given, activated today at the caller's point of sale."""
    current = uow.subscriptions.get(key)
    if current is not None and current.status != "terminated":  # a reclaimed number is issued as a new line
        raise DuplicateMsisdnError("msisdn taken", errors=[FieldError("msisdn", "duplicate_msisdn")])
    if current is not None:
        _refuse_in_quarantine(uow, ctx, current.id)
    pos_code = uow.counter.point_of_sale_code(actor.point_of_sale_id) if actor.point_of_sale_id else None
    full = {
        **changes,
        "msisdn": msisdn_from_key(key),
        "activated_on": ctx.today.isoformat(),
        "channel": channel_of(actor),
        "status": "active",
    }
    if pos_code:
        full["point_of_sale"] = pos_code
    return full


def _record_consent(
    uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor, sub: SubscriptionRow | None, text: str | None
) -> None:
    """The consent shown at registration, with the subscription (audited by the privacy capability too)."""
    if sub is None:
        return
    ctx.consents.record(uow, sub.holder_id, sub.id, ctx.consent_version, True, actor, text=text or None, now=ctx.now)
