"""`FixedClock`: the `Clock` port at a moment the test chooses (and moves on when it says so)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from subreg.adapters.clock import OPERATOR_TZ

__all__ = ["FixedClock"]


class FixedClock:
    """A clock that stays where it is set: `now()` timezone-aware (UTC), `today()` the operator's date of
    `now()` unless a date was set explicitly."""

    def __init__(self, now: datetime, *, today: date | None = None) -> None:
        self._now = self._aware(now)
        self._today = today

    @staticmethod
    def _aware(moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("a clock's time must be timezone-aware")
        return moment.astimezone(UTC)

    def now(self) -> datetime:
        """The moment set, in UTC."""
        return self._now

    def today(self) -> date:
        """The date set, else the operator's (Vietnam) date of `now()`."""
        return self._today if self._today is not None else self._now.astimezone(OPERATOR_TZ).date()

    def set(self, now: datetime, *, today: date | None = None) -> None:
        """Move to `now` (and `today`, when the test wants a date that does not follow from it)."""
        self._now = self._aware(now)
        self._today = today

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` (a set date stays as it is); the new moment."""
        self._now += delta
        return self._now
