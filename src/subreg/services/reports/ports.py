"""Ports of reports: the grouped sources a snapshot is made of, and the stored snapshots.

`SnapshotSource` runs ONE GROUP BY per source table (subscriptions, enforcement steps, campaign SMS, the
day's history) and returns the groups, a few thousand rows whatever the size of the base; the use case folds
them into figures (`domain.reports.figures`). `SnapshotStore` keeps snapshots (one per day, never updated)
and answers the dashboard's sums over a date range, filtered by province, in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from subreg.domain.reports.figures import Figure, LineGroup
from subreg.services.access.ports import StaffProvinceRepository
from subreg.services.common.ports import UnitOfWork

__all__ = ["FigureSum", "ReportsUnitOfWork", "SnapshotInfo", "SnapshotSource", "SnapshotStore"]


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A stored snapshot: its day, rule set, when it was taken and how many figures it holds."""

    id: int
    as_of: date
    rule_set: str
    taken_at: datetime
    figures: int


@dataclass(frozen=True, slots=True)
class FigureSum:
    """A sum of figures: per day and/or per province when asked, else None there."""

    as_of: date | None
    dimension: str
    province: str | None
    key: str
    n: int


class SnapshotSource(Protocol):
    """The registry's tables grouped for a snapshot (one GROUP BY each, read-only)."""

    def line_groups(self, phase_cutoff: date) -> list[LineGroup]:
        """Every line grouped by the province of its point of sale and the line dimensions; the phase is
        1 when activated after `phase_cutoff`, 2 on or before it, None without an activation date."""
        ...

    def step_counts(self, day: date) -> list[tuple[str | None, str, int]]:
        """(province of the point of sale, action, n) of the enforcement steps dated `day`."""
        ...

    def campaign_counts(self, start: datetime, end: datetime) -> list[tuple[str | None, str, bool, int]]:
        """(province, state, queued in [start, end), n) of the campaign SMS queued before `end`."""
        ...

    def counter_counts(self, start: datetime | None, end: datetime) -> list[tuple[str, str | None, str, int]]:
        """(point of sale code, its province, action, n) of the history rows in [start, end) written by staff
        of a point of sale, actions `created` and `updated`."""
        ...


class SnapshotStore(Protocol):
    """Stored snapshots (`report_snapshots`, `snapshot_figures`)."""

    def snapshot_on(self, day: date) -> SnapshotInfo | None:
        """The snapshot of one day, if taken."""
        ...

    def snapshot_before(self, day: date) -> SnapshotInfo | None:
        """The newest snapshot of a day before `day`, if any."""
        ...

    def remove_snapshot(self, snapshot_id: int) -> None:
        """Delete a snapshot and its figures (`--replace` only)."""
        ...

    def add_snapshot(self, as_of: date, rule_set: str, taken_at: datetime, figures: Sequence[Figure]) -> int:
        """Store a snapshot and its figures (one multi-row insert); its id. ConflictError when the day has one."""
        ...

    def snapshots(self, start: date, end: date) -> list[SnapshotInfo]:
        """The snapshots of the days in [start, end], oldest first."""
        ...

    def sums(
        self,
        start: date,
        end: date,
        dimensions: Sequence[str],
        provinces: frozenset[str] | None,
        *,
        per_day: bool,
        per_province: bool,
    ) -> list[FigureSum]:
        """Figures of the snapshots in [start, end] summed in the database by dimension and key (and day,
        province when asked); `provinces` None: every province."""
        ...


class ReportsUnitOfWork(UnitOfWork, Protocol):
    """What the reports use cases touch."""

    snapshot_source: SnapshotSource
    snapshots: SnapshotStore
    staff_provinces: StaffProvinceRepository
