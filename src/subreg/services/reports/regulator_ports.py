"""Ports of the regulator's report: its figures, counted set-based over the dated history of events.

Kept apart from `ports.py` (the snapshots' and the dashboard's) so that each report owns its module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from subreg.domain.reports.regulator import ProvinceFigures

__all__ = ["PeriodBounds", "RegulatorFigures"]


@dataclass(frozen=True, slots=True)
class PeriodBounds:
    """A period as days (enforcement steps are dated) and as UTC instants (history entries are timestamped):
    `start_at` is the first instant of `start`, `end_at` the first instant after `end`, in the operator's zone."""

    start: date
    end: date
    start_at: datetime
    end_at: datetime


class RegulatorFigures(Protocol):
    """The report's figures, read in one snapshot of the database."""

    def count(self, bounds: PeriodBounds, *, provinces: tuple[str, ...] | None) -> list[ProvinceFigures]:
        """Every figure of `domain.reports.regulator.FIGURES` by province (`unknown`: no known point of sale), for
        the period; `provinces`: only those (None: all). A handful of GROUP BY statements, never a loop per line;
        provinces with nothing to count may be absent."""
        ...

    def staff_provinces(self, staff_id: int) -> tuple[str, ...]:
        """The provinces a regional manager's account names (`staff_provinces`; none: it sees nothing)."""
        ...
