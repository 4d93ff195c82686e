"""The postpaid shortcut: what the papers on file let staff fill in without asking the customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.compliance.records import is_absent
from subreg.domain.counter.image_rules import CARD_KINDS
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.counter._shared import audit, load, refuse_if_restricted, require_for
from subreg.services.counter.commands import SuggestPostpaid
from subreg.services.counter.context import CounterContext
from subreg.services.counter.ports import CounterUnitOfWork

__all__ = ["postpaid_suggestions"]


def postpaid_suggestions(
    cmd: SuggestPostpaid, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor
) -> dict[str, Any]:
    """What the system can fill for staff to confirm, without asking the customer.

    From the papers: `nationality` VNM from a CMND/CCCD, gender and birth year from a CCCD number,
    `purpose` personal_use for an individual (the rule set's derivations); and, when a colour scan of
    the card's front is held, the holder fields its QR code gives. Only ABSENT fields are proposed.
    Confirming is an ordinary `update_subscription` with the accepted values.
    """
    with uow:
        uow.lock_for_write()
        sub = load(uow, ctx, cmd.msisdn)
        sub = require_for(uow, ctx, actor, Permission.SUBSCRIPTION_UPDATE, cmd.purpose, sub)
        refuse_if_restricted(uow, sub)
        uow.rollback()  # reading the card scans can take seconds (OCR): not while holding the write lock
        record = ctx.registry.record_of(sub, uow=uow)
        suggestions: dict[str, dict[str, Any]] = {}
        check = ctx.rule_set.check(record, as_of=ctx.today)
        for path, value in check.derived.items():
            suggestions[path] = {"field": path, "value": value, "source": "derived"}
        scans = [d for d in uow.documents.list_for(sub.id) if d.kind in CARD_KINDS and d.blob_key]
        holder = record.get("holder")
        given: Mapping[str, Any] = holder if isinstance(holder, Mapping) else {}
        if scans and ctx.images is not None:
            for doc in reversed(scans):  # newest first
                _, data = ctx.registry.read_document(doc.id, uow=uow)
                fields, source = ctx.images.read_card(data)
                if source is None:
                    continue
                for name, value in fields.items():
                    path = f"holder.{name}"
                    if is_absent(given.get(name)) and path not in suggestions and not is_absent(value):
                        suggestions[path] = {"field": path, "value": value, "source": f"{doc.kind}:{source}"}
                break
        uow.rollback()
        uow.lock_for_write()
        audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_READ, sub, fields=sorted(suggestions), purpose=cmd.purpose,
              details={"view": "postpaid_suggestions"})  # fmt: skip
        uow.commit()
    covered = [m for m in sub.missing if m in suggestions]
    return {
        "msisdn": msisdn_from_key(sub.msisdn),
        "payment_type": sub.payment_type,
        "suggestions": [suggestions[k] for k in sorted(suggestions)],
        "missing": list(sub.missing),
        "missing_covered": covered,
    }
