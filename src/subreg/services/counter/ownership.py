"""A change of owner: the line passes to a new holder who brings complete papers, whatever the old record held.

The gate decides it on the NEW owner's papers (`gate.decide(..., new_owner_complete=)`): the rule set
checks the line's record with the new owner's sections in place of the old ones, as a registration would
(documents, portrait, guardian, organization papers, the 4th-subscription contract counted under the new
owner's documents). Refused with every reason (409 `new_owner_papers_required`) unless complete; the
line keeps its identity, number and tenure, its history records the new holder (paths, never values), and
the new holder's consent is recorded like at a registration.
"""

from __future__ import annotations

from typing import Any

from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.errors import FieldError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.compliance.records import flatten
from subreg.domain.counter import gate
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.counter._saving import editable, save, seal_ahead
from subreg.services.counter._shared import (
    COUNTER_TRANSACTION,
    PERSON_SECTIONS,
    audit,
    load,
    require,
    require_for,
    scope_of,
)
from subreg.services.counter.commands import ChangeOwner
from subreg.services.counter.context import CounterContext
from subreg.services.counter.images import check_images, fill_from_card
from subreg.services.counter.ports import CounterUnitOfWork
from subreg.services.registry.ports import SubscriptionRow

__all__ = ["change_owner"]

_OWNERS_OWN = (*PERSON_SECTIONS, "documents", "contract_number")  # what a new owner brings, never inherits


def change_owner(cmd: ChangeOwner, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor) -> dict[str, Any]:
    """Pass a line to a new owner with complete papers; refused (nothing stored) otherwise."""
    images = dict(cmd.images)
    changes = editable(cmd.new_owner)
    if not cmd.consent_accepted:
        raise gate.NewOwnerPapersRequiredError([FieldError("consent", "consent_required")], ["consent"])
    check = check_images(images, ctx=ctx, id_type=None)

    def record_for(sub: SubscriptionRow) -> dict[str, Any]:
        """The line's record with the new owner's papers instead of the old owner's (nothing merged): their
        sections, their documents and their own 4th-subscription contract (the old one's number stays theirs)."""
        current = ctx.registry.record_of(sub, uow=uow)
        record = {k: v for k, v in current.items() if k not in _OWNERS_OWN}
        record.update(changes)
        return record

    def prepared() -> dict[str, Any]:
        sub = load(uow, ctx, cmd.msisdn)
        require(actor, Permission.SUBSCRIPTION_UPDATE, cmd.purpose, scope_of(uow, ctx, sub))
        record = record_for(sub)
        fill_from_card(record, check)
        return record

    with uow:
        sealed = seal_ahead(uow, ctx, images, prepared)
        uow.lock_for_write()
        sub = load(uow, ctx, cmd.msisdn)
        sub = require_for(uow, ctx, actor, Permission.SUBSCRIPTION_UPDATE, cmd.purpose, sub)
        record = record_for(sub)
        saved = save(record, images, check, uow=uow, ctx=ctx, actor=actor, sealed=sealed, stored=sub)
        result = saved.result
        decision = gate.decide(
            gate.TransactionKind.CHANGE_OWNER, status=sub.status, complete=sub.complete,
            new_owner_complete=result.complete,
        )  # fmt: skip
        if not decision.allowed:
            uow.rollback()
            reasons = list(result.errors)
            listed = {e.field for e in reasons}
            reasons += [FieldError(m, "required") for m in result.missing if m not in listed]
            if decision.code == gate.SubscriptionTerminatedError.code:
                raise decision.error()
            raise gate.NewOwnerPapersRequiredError(reasons, list(result.missing))
        line = uow.subscriptions.get_by_id(sub.id) or sub
        ctx.consents.record(
            uow, line.holder_id, line.id, ctx.consent_version, True, actor, text=cmd.consent_text or None, now=ctx.now
        )
        uow.counter.add_transaction(
            {
                "subscription_id": sub.id,
                "kind": gate.TransactionKind.CHANGE_OWNER.value,
                "outcome": "done",
                "refusal_code": None,
                "at": ctx.now,
                "staff_id": actor.staff_id,
                "point_of_sale_id": actor.point_of_sale_id,
            }
        )
        fields = sorted(flatten({k: v for k, v in record.items() if k in PERSON_SECTIONS}))
        audit(uow, ctx, actor, COUNTER_TRANSACTION, sub, fields=fields, purpose=cmd.purpose,
              details={"kind": "change_owner", "outcome": "done", "documents": sorted(images)})  # fmt: skip
        audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_UPDATED, sub, fields=fields, purpose=cmd.purpose,
              details={"complete": True, "new_owner": True})  # fmt: skip
        # The line is complete now, under its new owner: enforcement restores it (lifts any lock) within seconds.
        uow.counter.request_restore(sub.id, channel="counter", now=ctx.now)
        uow.commit()
    return {
        "msisdn": msisdn_from_key(sub.msisdn),
        "status": sub.status,
        "complete": True,
        "derived": dict(result.derived),
        "filled_from_card": saved.filled,
        "card_source": check.card_source,
    }
