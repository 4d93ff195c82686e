"""Counter transactions through the gate, and bill payments (never gated)."""

from __future__ import annotations

from typing import Any

from subreg.domain.access.permissions import Actor, Permission, Scope
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.counter import gate
from subreg.services.counter._review import rejected_services, review_hold
from subreg.services.counter._shared import (
    COUNTER_TRANSACTION,
    audit,
    error_fields,
    load,
    require,
    require_for,
    with_current_verdict,
)
from subreg.services.counter.commands import PayBill, Transact
from subreg.services.counter.context import CounterContext
from subreg.services.counter.ports import CounterUnitOfWork

__all__ = ["pay_bill", "transact"]

_MAX_AMOUNT_VND = 1_000_000_000_000


def transact(cmd: Transact, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor) -> dict[str, Any]:
    """Run a counter transaction through the gate; recorded done or refused (then 409 with the reason)."""
    if cmd.kind not in gate.TRANSACTION_KINDS:
        raise InputError([FieldError("kind", "invalid_choice")])
    with uow:
        uow.lock_for_write()
        sub = load(uow, ctx, cmd.msisdn)
        sub = require_for(uow, ctx, actor, Permission.SUBSCRIPTION_READ, cmd.purpose, sub)
        decision = gate.decide(
            cmd.kind, status=sub.status, complete=sub.complete, missing=sub.missing, error_fields=error_fields(sub),
            contract_needed=sub.contract_needed, review_rejected=review_hold(uow, sub),
            rejected_allowed=rejected_services(ctx),
        )  # fmt: skip
        outcome = "done" if decision.allowed else "refused"
        tx_id = uow.counter.add_transaction(
            {
                "subscription_id": sub.id,
                "kind": cmd.kind,
                "outcome": outcome,
                "refusal_code": decision.code,
                "at": ctx.now,
                "staff_id": actor.staff_id,
                "point_of_sale_id": actor.point_of_sale_id,
            }
        )
        audit(uow, ctx, actor, COUNTER_TRANSACTION, sub, purpose=cmd.purpose,
              details={"kind": cmd.kind, "outcome": outcome, "refusal_code": decision.code})  # fmt: skip
        uow.commit()
    if not decision.allowed:
        raise decision.error()
    return {"id": tx_id, "msisdn": msisdn_from_key(sub.msisdn), "kind": cmd.kind, "outcome": outcome}


def pay_bill(cmd: PayBill, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor) -> dict[str, Any]:
    """Record a bill payment (never gated) and say whether to offer the update in the same visit.

    Any point of sale may take a payment for any number (no scope needed): it shows no personal data,
    only whether the information is complete and which items are missing (paths, not values).
    """
    amount = cmd.amount_vnd
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= _MAX_AMOUNT_VND:
        raise InputError([FieldError("amount_vnd", "invalid_format")])
    if cmd.reference is not None and len(cmd.reference) > 64:
        raise InputError([FieldError("reference", "too_long")])
    # The payer is served where they pay: the point of sale itself is the scope.
    require(actor, Permission.SUBSCRIPTION_READ, cmd.purpose, Scope.of(None, [actor.point_of_sale_id or 0]))
    with uow:
        uow.lock_for_write()
        sub = with_current_verdict(uow, ctx, load(uow, ctx, cmd.msisdn))  # allowed above: the payer's scope
        payment_id = uow.counter.add_payment(
            {
                "subscription_id": sub.id,
                "amount_vnd": amount,
                "reference": cmd.reference,
                "paid_at": ctx.now,
                "staff_id": actor.staff_id,
                "point_of_sale_id": actor.point_of_sale_id,
            }
        )
        uow.counter.add_transaction(
            {
                "subscription_id": sub.id,
                "kind": gate.TransactionKind.BILL_PAYMENT.value,
                "outcome": "done",
                "refusal_code": None,
                "at": ctx.now,
                "staff_id": actor.staff_id,
                "point_of_sale_id": actor.point_of_sale_id,
            }
        )
        offered = gate.offer_update(status=sub.status, complete=sub.complete, contract_needed=sub.contract_needed)
        audit(uow, ctx, actor, COUNTER_TRANSACTION, sub, purpose=cmd.purpose,
              details={"kind": "bill_payment", "outcome": "done", "update_offered": offered})  # fmt: skip
        uow.commit()
    return {
        "payment_id": payment_id,
        "msisdn": msisdn_from_key(sub.msisdn),
        "amount_vnd": amount,
        "status": sub.status,
        "update_offered": offered,
        "missing": list(
            dict.fromkeys([*sub.missing, *error_fields(sub), *(gate.CONTRACT_ITEMS if sub.contract_needed else ())])
        )
        if offered
        else [],
    }
