"""Look-ups at the counter: the card of one number, and every subscription under one ID document."""

from __future__ import annotations

from typing import Any

from subreg.domain.access.permissions import Actor, Permission, authorize
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.records import is_absent
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.counter._shared import audit, card, load, require, require_for, scope_of, shown_paths
from subreg.services.counter.commands import LookUpIdDocument, LookUpNumber
from subreg.services.counter.context import CounterContext
from subreg.services.counter.ports import CounterUnitOfWork

__all__ = ["lookup_by_id_document", "lookup_by_msisdn"]


def lookup_by_msisdn(cmd: LookUpNumber, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor) -> dict[str, Any]:
    """The look-up card of one subscription (masked per role and purpose); audited `subscription:read`."""
    with uow:
        uow.lock_for_write()
        sub = load(uow, ctx, cmd.msisdn)
        sub = require_for(uow, ctx, actor, Permission.SUBSCRIPTION_READ, cmd.purpose, sub)
        record = ctx.registry.record_of(sub, uow=uow)
        shown = card(uow, ctx, sub, record, actor, cmd.purpose)
        audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_READ, sub, fields=shown_paths(shown), purpose=cmd.purpose)
        uow.commit()
    return shown


def lookup_by_id_document(
    cmd: LookUpIdDocument, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor
) -> dict[str, Any]:
    """Every subscription under one ID document, found through its blind index; audited `lookup:by_id`."""
    require(actor, Permission.SUBSCRIPTION_LOOKUP_BY_ID, cmd.purpose)
    if not isinstance(cmd.id_number, str) or is_absent(cmd.id_number):
        raise InputError([FieldError("id_number", "required")])
    doc_key = ctx.rule_set.document_key({"holder": {"id_type": cmd.id_type, "id_number": cmd.id_number}})
    if doc_key is None:
        raise InputError([FieldError("id_number", "invalid_id_number")])
    blind = ctx.vault.blind(doc_key)
    with uow:
        uow.lock_for_write()
        holders = uow.holders.find_by_blind(blind)
        subs = uow.subscriptions.list_by_holders([h.id for h in holders]) if holders else []
        cards = []
        for sub in subs:
            scope = scope_of(uow, ctx, sub)
            if not authorize(actor, Permission.SUBSCRIPTION_READ, purpose=cmd.purpose, subject_scope=scope):
                continue
            shown = card(uow, ctx, sub, ctx.registry.record_of(sub, uow=uow), actor, cmd.purpose)
            audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_READ, sub, fields=shown_paths(shown), purpose=cmd.purpose)
            cards.append(shown)
        subject = audit_trail.subject_for_holder(holders[0].id) if holders else None
        audit(uow, ctx, actor, AuditAction.LOOKUP_BY_ID, None, fields=("holder.id_number",), purpose=cmd.purpose,
              details={"results": len(cards)}, subject=subject)  # fmt: skip
        uow.commit()
    return {"count": len(cards), "subscriptions": cards}
