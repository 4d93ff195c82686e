"""Ports of the supervisor review queue: the items, their lease, the facts the counter flags from.

The counter queues an item in the transaction that saves the line (`services.counter._review`, through
`CounterUnitOfWork.reviews`, the counter's unit of work being the review's too); the supervisor's use cases
(`services.backoffice.review`) claim, show and decide.
Nothing personal is stored in an item: flags, reason codes, ids, versions and the supervisor's note (the form
says it must not hold personal data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Protocol

__all__ = ["SIGNAL_FLAG", "SIGNAL_KIND", "ReviewItemRow", "ReviewRepository", "ReviewRules"]

# What another room queues when a compliance officer escalates a fraud signal: the item's kind and its flag
# (`domain.backoffice.review.Flag.FRAUD_SIGNAL`).
SIGNAL_KIND = "signal"
SIGNAL_FLAG = "fraud_signal"


@dataclass(frozen=True, slots=True)
class ReviewItemRow:
    """One item of `review_items`."""

    id: int
    subscription_id: int
    kind: str
    flags: tuple[str, ...]
    state: str  # pending | decided
    version_seen: int
    point_of_sale_id: int | None
    submitted_by: int | None
    claimed_by: int | None = None
    claimed_until: datetime | None = None
    decision: str | None = None
    reason: str | None = None
    note: str | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReviewRules:
    """The operator's settings of the review (bootstrap copies them from `config.Settings`)."""

    enabled: bool = True
    cross_store_only: bool = True  # `review_cross_store_only`
    active_minutes: int = 30  # a supervisor seen within this many minutes is active (`review_active_minutes`)
    lease_seconds: int = 600  # how long a claimed item stays with its supervisor (`review_lease_seconds`)
    # What a rejected line keeps; None: the rule set's `rejected_registration_services`.
    rejected_services: frozenset[str] | None = None
    opening: time = time(0, 0)  # agents' opening hours (`opening_hours`); equal: always open
    closing: time = time(0, 0)
    tz: tzinfo = field(default=UTC)


class ReviewRepository(Protocol):
    """`adapters.db.review_repo.SqlReviewRepository`, `adapters.memory.review.MemoryReviewRepository`."""

    def submit(
        self,
        *,
        subscription_id: int,
        kind: str,
        flags: str,
        version: int,
        point_of_sale_id: int | None,
        submitted_by: int | None,
        now: datetime,
    ) -> int:
        """Queue an item; a line with a pending item keeps that one (flags joined, the new version seen). Its id."""
        ...

    def get(self, item_id: int) -> ReviewItemRow | None:
        """One item."""
        ...

    def held_by(self, staff_id: int, *, now: datetime) -> ReviewItemRow | None:
        """The pending item this supervisor holds under an unexpired lease, if any."""
        ...

    def claim_next(
        self, staff_id: int, *, now: datetime, until: datetime, exclude_pos: int | None
    ) -> ReviewItemRow | None:
        """Lease the oldest pending item nobody holds (another supervisor's claim is skipped, never waited for),
        not submitted by `staff_id`, not from `exclude_pos`; None when there is none."""
        ...

    def decide(
        self, item_id: int, *, staff_id: int, decision: str, reason: str, note: str | None, now: datetime
    ) -> bool:
        """Record the decision if the item is pending and held by `staff_id`; False otherwise (nothing written)."""
        ...

    def latest_for(self, subscription_id: int) -> ReviewItemRow | None:
        """The line's newest item (pending or decided)."""
        ...

    def latest_verdict(self, subscription_id: int) -> ReviewItemRow | None:
        """The line's newest item decided `approved` or `rejected` (a rejection holds the line until an approval;
        a send-back changes nothing)."""
        ...

    def pending_count(self) -> int:
        """Items waiting (claimed or not)."""
        ...

    def list_pending(self, *, limit: int) -> list[ReviewItemRow]:
        """The oldest `limit` items waiting, oldest first."""
        ...

    def other_store_active(self, point_of_sale_id: int | None, *, since: datetime, now: datetime) -> bool:
        """Whether an active supervisor of another point of sale has an open session seen since `since`."""
        ...

    def person_activity(self, person_key: bytes, *, day: date) -> tuple[int, int]:
        """(live lines counting towards this person key, points of sale that activated one of them on `day`)."""
        ...

    def line_version(self, subscription_id: int) -> int | None:
        """The line's current version (None: no such line)."""
        ...
