"""Ports of the back-office work queue: the queue table, the provenance rows, the scan reader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from subreg.domain.backoffice.reading import ScanText
from subreg.services.counter.ports import CounterUnitOfWork

__all__ = [
    "BackofficeUnitOfWork",
    "DeadlineRule",
    "FillPlan",
    "QueueCounts",
    "ScanReader",
    "WorkItem",
    "WorkQueueRepository",
]


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One line waiting for the back office (`backoffice_items`)."""

    id: int
    subscription_id: int
    missing: tuple[str, ...]
    deadline: date | None
    state: str  # open | done | skipped
    version_seen: int
    claimed_by: int | None = None
    claimed_until: datetime | None = None
    outcome: str | None = None
    done_by: int | None = None
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """A line in enforcement state `state` meets its next lock `after_days` after its step, not before `on_date`."""

    state: int
    after_days: int
    on_date: date | None = None


@dataclass(frozen=True, slots=True)
class FillPlan:
    """What `fill` queues, set-based: incomplete valid lines whose every missing item a scan can fill
    (`missing_mask & unreadable_mask = 0`), with a stored scan of a kind in `scan_kinds`."""

    unreadable_mask: int
    scan_kinds: tuple[str, ...]
    deadlines: tuple[DeadlineRule, ...]
    default_deadline: date  # lines not in enforcement yet: the first notice may go on this day


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """How many items are open (and of them held now), done and skipped."""

    open: int
    held: int
    done: int
    skipped: int


class WorkQueueRepository(Protocol):
    """Implemented by `subreg.adapters.db.work_queue_repo.SqlWorkQueueRepository`."""

    def fill(self, plan: FillPlan, *, now: datetime) -> int:
        """Queue every line `plan` selects that has no open item (nor one skipped at its version); how many."""
        ...

    def claim_next(self, staff_id: int, *, now: datetime, until: datetime) -> WorkItem | None:
        """Lease the oldest-deadline open item nobody else holds (or whose lease ran out) to `staff_id`, atomically
        (an item the caller already holds counts as free for them: asking again serves it again)."""
        ...

    def get(self, item_id: int) -> WorkItem | None:
        """One item by id."""
        ...

    def finish(self, item_id: int, *, staff_id: int, state: str, outcome: str, now: datetime) -> bool:
        """Close an item `staff_id` holds (state done | skipped); False when they do not hold it any more."""
        ...

    def add_provenance(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append `field_provenance` rows (no value in them: path, method, source, confidence, staff)."""
        ...

    def counts(self, *, now: datetime) -> QueueCounts:
        """The queue's figures."""
        ...


class ScanReader(Protocol):
    """Reads a stored scan's QR code, MRZ and printed text (`adapters.images.card_text.TesseractScanReader`)."""

    def read_scan(self, data: bytes, *, document_id: int, kind: str) -> ScanText:
        """Everything readable on one scan; never raises for an unreadable image (`ScanText.error`)."""
        ...


class BackofficeUnitOfWork(CounterUnitOfWork, Protocol):
    """The counter's unit of work (lines, documents, privacy flags, restorations) and the queue."""

    work_queue: WorkQueueRepository
