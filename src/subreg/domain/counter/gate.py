"""The counter gate: which transactions a subscription may have, given its network status and completeness.

Decree 49: every transaction at a point of sale first checks the subscription's
information, and an incomplete subscription must be updated before anything else is done. The one
exception is paying a bill: refusing money helps nobody, and the payment visit is where the update is
offered (`offer_update`). The rules, in order:

1. An unknown kind of transaction is refused (`unknown_transaction`).
2. A bill payment is always allowed (also on a locked or terminated subscription: debts are still paid).
3. A terminated subscription allows nothing else (`subscription_terminated`): its number is reclaimed.
4. While the information is incomplete (or holds invalid values), everything else is refused with
   `update_required` and exactly what is missing: the remedy is the update, which is not a gated
   transaction itself.
5. A locked subscription (one-way or two-way) whose information is complete is waiting for its unlock
   order to reach the network; counter transactions are allowed (the lock was for missing data only).

Pure: no clock, no I/O. (The update campaign's phases are in `domain.compliance.phase`.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from subreg.domain.common.errors import FieldError, RuleViolationError

__all__ = [
    "GATED_KINDS",
    "LOCKED_STATUSES",
    "TRANSACTION_KINDS",
    "GateDecision",
    "RegistrationIncompleteError",
    "SubscriptionTerminatedError",
    "TransactionKind",
    "UnknownTransactionError",
    "UpdateRequiredError",
    "allowed_kinds",
    "decide",
    "offer_update",
]


class TransactionKind(StrEnum):
    """What a customer can ask for at the counter."""

    BILL_PAYMENT = "bill_payment"
    SIM_REPLACEMENT = "sim_replacement"
    CHANGE_OWNER = "change_owner"
    PACKAGE_CHANGE = "package_change"
    PAYMENT_TYPE_CHANGE = "payment_type_change"
    SERVICE_ACTIVATION = "service_activation"
    TOP_UP = "top_up"
    TERMINATION = "termination"


TRANSACTION_KINDS: tuple[str, ...] = tuple(k.value for k in TransactionKind)
# Everything except paying is behind the gate.
GATED_KINDS: tuple[str, ...] = tuple(k for k in TRANSACTION_KINDS if k != TransactionKind.BILL_PAYMENT)
LOCKED_STATUSES: frozenset[str] = frozenset({"one_way_locked", "two_way_locked"})
TERMINATED = "terminated"


class UpdateRequiredError(RuleViolationError):
    """The subscription's information is incomplete: update it first (HTTP 409)."""

    code = "update_required"


class SubscriptionTerminatedError(RuleViolationError):
    """The subscription is terminated: only a bill may still be paid (HTTP 409)."""

    code = "subscription_terminated"


class RegistrationIncompleteError(RuleViolationError):
    """A new subscription lacks what Decree 49 requires: activation refused, with every reason (HTTP 409)."""

    code = "registration_incomplete"


class UnknownTransactionError(RuleViolationError):
    """No such kind of counter transaction (HTTP 409 with the field `kind`)."""

    code = "unknown_transaction"


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Allowed or not; when refused, a stable code and the items the update must supply."""

    allowed: bool
    code: str | None = None
    missing: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed

    def error(self) -> RuleViolationError:
        """The exception that reports this refusal, with field-level errors (one per missing item)."""
        if self.code == UpdateRequiredError.code:
            return UpdateRequiredError([FieldError(m, "required") for m in self.missing], list(self.missing))
        if self.code == SubscriptionTerminatedError.code:
            return SubscriptionTerminatedError([FieldError("status", "subscription_terminated")])
        return UnknownTransactionError([FieldError("kind", "unknown_transaction")])


def _outstanding(complete: bool, missing: Iterable[str], error_fields: Iterable[str]) -> tuple[str, ...]:
    # Invalid values must be corrected too: they are as much "what the update must supply" as absences.
    items = list(dict.fromkeys([*missing, *error_fields]))
    if not complete and not items:
        items = ["subscription"]  # incomplete for a reason the stored columns do not name: re-check
    return tuple(items)


def decide(
    kind: str,
    *,
    status: str,
    complete: bool,
    missing: Iterable[str] = (),
    error_fields: Iterable[str] = (),
) -> GateDecision:
    """Whether a transaction of `kind` may go ahead on a subscription in this state (rules above)."""
    if kind not in TRANSACTION_KINDS:
        return GateDecision(False, UnknownTransactionError.code)
    if kind == TransactionKind.BILL_PAYMENT:
        return GateDecision(True)
    if status == TERMINATED:
        return GateDecision(False, SubscriptionTerminatedError.code)
    if not complete:
        return GateDecision(False, UpdateRequiredError.code, _outstanding(complete, missing, error_fields))
    return GateDecision(True)


def allowed_kinds(*, status: str, complete: bool) -> tuple[str, ...]:
    """The kinds of transaction the gate lets through for this state (for the look-up card)."""
    return tuple(k for k in TRANSACTION_KINDS if decide(k, status=status, complete=complete).allowed)


def offer_update(*, status: str, complete: bool) -> bool:
    """Whether the counter should offer the update during this visit (incomplete and not terminated)."""
    return not complete and status != TERMINATED
