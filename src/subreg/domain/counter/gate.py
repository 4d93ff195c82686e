"""The counter gate: which transactions a subscription may have, given its network status and completeness.

Decree 49: every transaction at a point of sale first checks the subscription's
information, and an incomplete subscription must be updated before anything else is done. The
exceptions are the ones that help the line come into line with the law or leave it: paying a bill
(refusing money helps nobody, and the payment visit is where the update is offered, `offer_update`),
giving the line up, and handing it to a new owner who brings full papers. The rules, in order:

1. An unknown kind of transaction is refused (`unknown_transaction`).
2. A bill payment is always allowed (also on a locked or terminated subscription: debts are still paid).
3. A terminated subscription allows nothing else (`subscription_terminated`): its number is reclaimed.
4. A termination is always allowed, complete or not, contract or not: the subscriber giving up a
   non-compliant line is what the law's steps end with anyway (one-way, two-way lock, termination).
5. A change of owner is decided by the NEW owner's papers, never by the current record: it is an
   update that replaces the holder. `decide` needs `new_owner_complete`, the rule set's verdict on
   the new owner's record checked as a registration (its ordinal counted under the new owner's
   document keys); without it, or when it is False, the answer is `new_owner_papers_required`
   with the item `new_owner`. The current record's completeness and contract do not matter.
6. While the information is incomplete (or holds invalid values), or the line is a 4th-or-later
   subscription under its ID document without the standard contract (`contract_needed`, Decree
   49), everything else is refused with `update_required` and exactly what is missing (for a
   contract: `contract_number` and `documents.contract`): the remedy is the update, which is not a
   gated transaction itself.
7. A locked subscription (one-way or two-way) whose information is complete is waiting for its unlock
   order to reach the network; counter transactions are allowed (the lock was for missing data only).

A line whose registration a supervisor rejected (`review_rejected`, `domain.backoffice.review`) allows only
the kinds its rule set's `rejected_registration_services` names (by default none: the line keeps the 1414
look-up and emergency calls, which are not counter transactions) besides a bill payment; everything else is
refused with `review_rejected` (checked after rule 3). The update that brings a new photo is not gated.

Pure: no clock, no I/O. (The update campaign's phases are in `domain.compliance.phase`.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from subreg.domain.common.errors import FieldError, RuleViolationError

__all__ = [
    "CONTRACT_ITEMS",
    "GATED_KINDS",
    "LOCKED_STATUSES",
    "NEW_OWNER",
    "TRANSACTION_KINDS",
    "UNGATED_KINDS",
    "GateDecision",
    "NewOwnerPapersRequiredError",
    "RegistrationIncompleteError",
    "ReviewRejectedError",
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
# Never refused for the record's completeness: paying, giving the line up, a new owner with papers.
UNGATED_KINDS: tuple[str, ...] = (
    TransactionKind.BILL_PAYMENT.value,
    TransactionKind.TERMINATION.value,
    TransactionKind.CHANGE_OWNER.value,
)
# Everything else is behind the gate.
GATED_KINDS: tuple[str, ...] = tuple(k for k in TRANSACTION_KINDS if k not in UNGATED_KINDS)
LOCKED_STATUSES: frozenset[str] = frozenset({"one_way_locked", "two_way_locked"})
TERMINATED = "terminated"
# What a line needing the standard contract must supply (the 4th-subscription rule).
CONTRACT_ITEMS: tuple[str, ...] = ("contract_number", "documents.contract")
# The item a change of owner waits for: the new owner's complete record.
NEW_OWNER = "new_owner"


class UpdateRequiredError(RuleViolationError):
    """The subscription's information is incomplete: update it first (HTTP 409)."""

    code = "update_required"


class SubscriptionTerminatedError(RuleViolationError):
    """The subscription is terminated: only a bill may still be paid (HTTP 409)."""

    code = "subscription_terminated"


class RegistrationIncompleteError(RuleViolationError):
    """A new subscription lacks what Decree 49 requires: activation refused, with every reason (HTTP 409)."""

    code = "registration_incomplete"


class NewOwnerPapersRequiredError(RuleViolationError):
    """A change of owner without the new owner's complete papers (HTTP 409, item `new_owner`)."""

    code = "new_owner_papers_required"


class ReviewRejectedError(RuleViolationError):
    """A supervisor rejected the line's registration: nothing but what the rule set keeps (HTTP 409)."""

    code = "review_rejected"


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
            return UpdateRequiredError(
                [FieldError(m, "contract_required" if m == "contract_number" else "required") for m in self.missing],
                list(self.missing),
            )
        if self.code == SubscriptionTerminatedError.code:
            return SubscriptionTerminatedError([FieldError("status", "subscription_terminated")])
        if self.code == ReviewRejectedError.code:
            return ReviewRejectedError([FieldError("review", "review_rejected")])
        if self.code == NewOwnerPapersRequiredError.code:
            return NewOwnerPapersRequiredError([FieldError(NEW_OWNER, "new_owner_papers_required")], [NEW_OWNER])
        return UnknownTransactionError([FieldError("kind", "unknown_transaction")])


def _outstanding(
    complete: bool, missing: Iterable[str], error_fields: Iterable[str], contract_needed: bool
) -> tuple[str, ...]:
    # Invalid values must be corrected too: they are as much "what the update must supply" as absences.
    items = list(dict.fromkeys([*missing, *error_fields, *(CONTRACT_ITEMS if contract_needed else ())]))
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
    contract_needed: bool = False,
    new_owner_complete: bool | None = None,
    review_rejected: bool = False,
    rejected_allowed: Iterable[str] = (),
) -> GateDecision:
    """Whether a transaction of `kind` may go ahead on a subscription in this state (rules above).

    Args:
        contract_needed: the line is the 4th or later under its ID document and has no standard
            contract (storage's `contract_needed`); such a line is not complete, whatever `complete` says.
        new_owner_complete: for `change_owner` only, the rule set's verdict on the new owner's record.
        review_rejected: a supervisor rejected the line; only `rejected_allowed` kinds go ahead.
    """
    if kind not in TRANSACTION_KINDS:
        return GateDecision(False, UnknownTransactionError.code)
    if kind == TransactionKind.BILL_PAYMENT:
        return GateDecision(True)
    if status == TERMINATED:
        return GateDecision(False, SubscriptionTerminatedError.code)
    if review_rejected and kind not in frozenset(rejected_allowed):
        return GateDecision(False, ReviewRejectedError.code, ("review",))
    if kind == TransactionKind.TERMINATION:
        return GateDecision(True)
    if kind == TransactionKind.CHANGE_OWNER:
        if new_owner_complete is True:
            return GateDecision(True)
        return GateDecision(False, NewOwnerPapersRequiredError.code, (NEW_OWNER,))
    if not complete or contract_needed:
        return GateDecision(
            False, UpdateRequiredError.code, _outstanding(complete, missing, error_fields, contract_needed)
        )
    return GateDecision(True)


def allowed_kinds(
    *,
    status: str,
    complete: bool,
    contract_needed: bool = False,
    review_rejected: bool = False,
    rejected_allowed: Iterable[str] = (),
) -> tuple[str, ...]:
    """The kinds of transaction the gate lets through for this state (for the look-up card).

    A change of owner is listed whenever the line is not terminated: it goes ahead with the new
    owner's complete papers, whatever the current record holds.
    """
    return tuple(
        k
        for k in TRANSACTION_KINDS
        if decide(
            k,
            status=status,
            complete=complete,
            contract_needed=contract_needed,
            new_owner_complete=True,
            review_rejected=review_rejected,
            rejected_allowed=rejected_allowed,
        ).allowed
    )


def offer_update(*, status: str, complete: bool, contract_needed: bool = False) -> bool:
    """Whether the counter should offer the update during this visit (not complete, or a contract is
    needed, and not terminated)."""
    return (not complete or contract_needed) and status != TERMINATED
