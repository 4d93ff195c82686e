"""Proof of presence: a serving visit puts a subscription in the point of sale's scope for a while."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from subreg.domain.access.permissions import Actor, Permission, Scope
from subreg.domain.common.errors import FieldError, InputError, PermissionDeniedError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.compliance.records import is_absent
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.counter._shared import COUNTER_TRANSACTION, audit, load, require
from subreg.services.counter.commands import OpenVisit
from subreg.services.counter.context import CounterContext
from subreg.services.counter.ports import CounterUnitOfWork

__all__ = ["open_visit"]


def open_visit(cmd: OpenVisit, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor) -> dict[str, Any]:
    """Open a serving visit: the ID document shown must be the holder's (compared by blind index).

    The visit puts the subscription in the point of sale's scope for `serving_minutes`. A wrong ID
    number is refused (403 `presence_not_proven`) and audited as `access:denied`.
    """
    if actor.point_of_sale_id is None:
        require(actor, Permission.SUBSCRIPTION_READ, cmd.purpose, Scope())
    if not isinstance(cmd.id_number, str) or is_absent(cmd.id_number):
        raise InputError([FieldError("id_number", "required")])
    with uow:
        uow.lock_for_write()
        sub = load(uow, ctx, cmd.msisdn)
        # Role, purpose and point-of-sale kind, as if the visit were already open.
        require(actor, Permission.SUBSCRIPTION_READ, cmd.purpose, Scope.of(None, [actor.point_of_sale_id or 0]))
        holder = uow.holders.get(sub.holder_id)
        id_type = holder.id_type if holder is not None else None
        doc_key = ctx.rule_set.document_key({"holder": {"id_type": id_type, "id_number": cmd.id_number}})
        proven = (
            holder is not None
            and holder.id_blind is not None
            and doc_key is not None
            and hmac.compare_digest(ctx.vault.blind(doc_key), holder.id_blind)
        )
        if not proven:
            audit(uow, ctx, actor, AuditAction.ACCESS_DENIED, sub, purpose=cmd.purpose,
                  details={"reason": "presence_not_proven"})  # fmt: skip
            uow.commit()
            raise PermissionDeniedError("presence_not_proven", errors=[FieldError("id_number", "presence_not_proven")])
        expires = ctx.now + timedelta(minutes=ctx.serving_minutes)
        visit_id = uow.counter.open_visit(
            sub.id,
            point_of_sale_id=actor.point_of_sale_id or 0,
            staff_id=actor.staff_id,
            opened_at=ctx.now,
            expires_at=expires,
        )
        audit(uow, ctx, actor, COUNTER_TRANSACTION, sub, purpose=cmd.purpose,
              details={"kind": "serving_visit", "outcome": "done"})  # fmt: skip
        uow.commit()
    return {"visit_id": visit_id, "msisdn": msisdn_from_key(sub.msisdn), "expires_at": expires.isoformat()}
