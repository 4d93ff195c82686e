"""Enforcement's options, built from settings by the wiring (the use cases never read settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from subreg.domain.compliance.timeline import RegimeSchedule, Timeline

__all__ = ["EnforcementOptions"]


@dataclass(frozen=True, slots=True)
class EnforcementOptions:
    schedule: RegimeSchedule  # which regime applies from which date (`regime_schedule`)
    timelines: Mapping[str, Timeline]  # each regime's timeline, settings applied
    quarantine_days: int = 180  # a terminated number waits this long before it can be issued again
    order_attempts: int = 10  # tries of one network order before staff are asked to look at it
    retry_after: timedelta = timedelta(seconds=5)  # first retry; doubles each attempt, at most `retry_cap`
    retry_cap: timedelta = timedelta(minutes=30)
    lease: timedelta = timedelta(seconds=60)  # a claimed order nobody settled is claimed again after this

    def timeline_on(self, day: date) -> Timeline | None:
        """The timeline in force on `day` (None before the first regime of the schedule)."""
        regime = self.schedule.regime_on(day)
        return None if regime is None else self.timelines[regime]
