"""The holder's active lines and the 4th-subscription rule: ONE definition for every path.

Decree 49: the first three subscriptions under one person's ID documents need the papers and a signed
confirmation; from the 4th (`rule_set.contract_from_ordinal`), an individual's line needs a standard-form
contract. Which lines count, and in what order, is defined here, and the set-based evaluation
(`adapters.db.bulk.BulkSession.evaluate_contracts`) implements exactly the same in SQL; a test generates
bases and checks that the counter, the import, the evaluation and the statistics agree.

- The person: the lines whose `person_key` is the same blind index (the holder's document key, or the
  previous CMND's when a CCCD names it, see `person_key_of`).
- Active: every line but a terminated one (a terminated line is no longer held under the document).
- Order: activation date (none: first, it predates the records), then the number.
- A line "needs a contract" when it is an individual's, its ordinal is `contract_from_ordinal` or more,
  and it has no contract on file (`has_contract`: a contract document AND a contract number).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from subreg.domain.compliance.records import INDIVIDUAL
from subreg.services.registry.ports import SubscriptionRow

__all__ = ["TERMINATED", "counts_towards_limit", "line_order", "needs_contract", "ordinal_of"]

TERMINATED = "terminated"


def counts_towards_limit(status: str | None) -> bool:
    """Whether a line of this status is one of the person's active lines."""
    return status != TERMINATED


def line_order(activated_on: date | None, msisdn: int) -> tuple[date, int]:
    """The order lines are counted in: activation date (none first), then the number."""
    return (activated_on or date.min, msisdn)


def ordinal_of(activated_on: date | None, msisdn: int, others: Iterable[SubscriptionRow]) -> int:
    """The 1-based position of a line (its activation date and number) among the person's active lines.

    `others` may include the line itself (it is skipped by its number) and terminated lines (skipped).
    """
    me = line_order(activated_on, msisdn)
    return 1 + sum(
        1
        for s in others
        if s.msisdn != msisdn and counts_towards_limit(s.status) and line_order(s.activated_on, s.msisdn) < me
    )


def needs_contract(
    *, status: str | None, ordinal: int, subscriber_type: str | None, has_contract: bool, from_ordinal: int
) -> bool:
    """The 4th-subscription rule for one line (a terminated line needs nothing)."""
    return (
        counts_towards_limit(status) and subscriber_type == INDIVIDUAL and not has_contract and ordinal >= from_ordinal
    )
