"""When a campaign may send: from its start date, inside the allowed local hours, one wave per day at most.

A **wave** is one pass over the cohort, evaluated when the wave runs (a line completed meanwhile is no longer
in it). "Daily for 5 days" is up to 5 waves: the first on the start date (or when the campaign is started, if
later), each next one on a day after the day the previous one finished, never two in one day. A wave that
does not fit in one day's allowed hours goes on in the next day's, and the next wave waits for it: a large
cohort at a modest rate takes days per wave (34 M lines at 4 binds x 40 msg/s within 08:00-20:00: 5 days),
and `planned_finish` says so before anything is sent.

Times are aware datetimes; the operator's time zone is passed in (`tz`) by the caller, the domain reads no
clock and no time-zone database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from subreg.domain.common.errors import FieldError, InputError

__all__ = [
    "MAX_WAVES",
    "AllowedHours",
    "Plan",
    "Schedule",
    "next_wave",
    "parse_hours",
    "parse_repeats",
    "planned_finish",
]

MAX_WAVES = 31  # a month of daily reminders; longer is a new campaign
_DAY = 86_400
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_REPEATS = re.compile(r"^\s*(?:daily\s+for\s+)?(\d{1,3})\s*(?:days?|waves?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AllowedHours:
    """A daily window of local time, `[opens, closes)` in seconds after midnight; `closes` may be 24:00.
    A window that closes before it opens runs over midnight (22:00-06:00)."""

    opens: int
    closes: int

    @property
    def text(self) -> str:
        """`HH:MM-HH:MM`, as parsed."""
        return f"{_hhmm(self.opens)}-{_hhmm(self.closes)}"

    @property
    def seconds_per_day(self) -> int:
        """How many seconds of each day are allowed."""
        return self.closes - self.opens if self.closes > self.opens else _DAY - self.opens + self.closes

    def contains(self, moment: time) -> bool:
        """Whether a local time of day is inside the window."""
        s = moment.hour * 3600 + moment.minute * 60 + moment.second
        if self.closes > self.opens:
            return self.opens <= s < self.closes
        return s >= self.opens or s < self.closes


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def parse_hours(text: Any, field: str = "hours") -> AllowedHours:
    """`08:00-20:00` (local time; `00:00-24:00` is the whole day); InputError `invalid_format` at `field`."""
    match = _HOURS.match(text) if isinstance(text, str) else None
    if match is None:
        raise InputError([FieldError(field, "invalid_format")])
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens, closes = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if h1 > 23 or m1 > 59 or m2 > 59 or closes > _DAY or opens == closes:
        raise InputError([FieldError(field, "invalid_format")])
    return AllowedHours(opens, closes)


def parse_repeats(value: Any, field: str = "repeats") -> int:
    """How many waves: `once`, `daily for 5 days`, `5 days` or `5`; InputError `invalid_format` or `out_of_range`
    (1 to MAX_WAVES) at `field`."""
    if isinstance(value, int) and not isinstance(value, bool):
        waves = value
    elif isinstance(value, str) and value.strip().lower() in ("once", "1 wave"):
        waves = 1
    else:
        match = _REPEATS.match(value) if isinstance(value, str) else None
        if match is None:
            raise InputError([FieldError(field, "invalid_format")])
        waves = int(match.group(1))
    if not 1 <= waves <= MAX_WAVES:
        raise InputError([FieldError(field, "out_of_range")])
    return waves


@dataclass(frozen=True, slots=True)
class Schedule:
    """From `start_on` (local date), inside `hours`, up to `waves` waves, one per day at most."""

    start_on: date
    hours: AllowedHours
    waves: int = 1

    @property
    def repeats(self) -> str:
        """How the repeats read: `once` or `daily for N days`."""
        return "once" if self.waves == 1 else f"daily for {self.waves} days"


def next_wave(schedule: Schedule, *, wave: int, finished_on: date | None, today: date) -> int | None:
    """The wave to begin today, or None: the first on or after the start date; the next one only once the
    current one finished, on a later day; none after the last."""
    if wave == 0:
        return 1 if today >= schedule.start_on else None
    if finished_on is None or wave >= schedule.waves or today <= finished_on:
        return None
    return wave + 1


@dataclass(frozen=True, slots=True)
class Plan:
    """When each wave is planned to begin and end, at a constant cohort size (an upper bound: lines completed
    meanwhile leave the cohort), and what that means in sending time."""

    waves: tuple[tuple[datetime, datetime], ...]
    rate: float  # messages a second (rate per bind x binds)
    seconds_per_wave: float  # of sending, inside the allowed hours

    @property
    def finish(self) -> datetime:
        """When the last wave is planned to end."""
        return self.waves[-1][1]

    @property
    def begin(self) -> datetime:
        return self.waves[0][0]

    def days(self, tz: tzinfo) -> int:
        """Calendar days (local) from the first wave's beginning to the last one's end, both counted."""
        return (self.finish.astimezone(tz).date() - self.begin.astimezone(tz).date()).days + 1

    def wave_days(self, tz: tzinfo) -> int:
        """Calendar days (local) the longest wave spans: more than 1 means the rate, not the repeats, makes it last."""
        return max((e.astimezone(tz).date() - b.astimezone(tz).date()).days + 1 for b, e in self.waves)


def _at(day: date, seconds: int, tz: tzinfo) -> datetime:
    return (datetime.combine(day, time(0), tzinfo=tz) + timedelta(seconds=seconds)).astimezone(UTC)


def _window(moment: datetime, hours: AllowedHours, tz: tzinfo) -> tuple[datetime, datetime]:
    """The allowed window that contains `moment`, or else the next one to open: (opens, closes), in UTC."""
    day = moment.astimezone(tz).date()
    # A window over midnight may have opened the day before.
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        opens = _at(d, hours.opens, tz)
        closes = _at(d + timedelta(days=1) if hours.closes <= hours.opens else d, hours.closes, tz)
        if moment < closes:
            return max(opens, moment), closes
    raise AssertionError("unreachable: a window opens every day")


def _send(start: datetime, seconds: float, hours: AllowedHours, tz: tzinfo) -> tuple[datetime, datetime]:
    """When sending `seconds` worth of messages from `start` on, inside the allowed hours, begins and ends."""
    opens, closes = _window(start, hours, tz)
    begin, left = opens, seconds
    while True:
        available = (closes - opens).total_seconds()
        if left <= available:
            return begin, opens + timedelta(seconds=left)
        left -= available
        opens, closes = _window(closes, hours, tz)


def planned_finish(
    cohort_size: int, rate_per_bind: float, binds: int, start: datetime, hours: AllowedHours, repeats: int,
    tz: tzinfo,
) -> Plan:  # fmt: skip
    """The plan of every wave when `cohort_size` messages a wave go out at `rate_per_bind` x `binds` messages a
    second from `start` (aware) on, only inside `hours` (local to `tz`), `repeats` waves one day apart at least.

    ValueError for a rate that is not positive, a negative size, or fewer than one wave."""
    rate = float(rate_per_bind) * binds
    if rate <= 0 or cohort_size < 0 or repeats < 1 or start.tzinfo is None:
        raise ValueError("planned_finish: positive rate, size >= 0, one wave or more, an aware start")
    seconds = cohort_size / rate
    waves: list[tuple[datetime, datetime]] = []
    at = start.astimezone(UTC)
    for _ in range(repeats):
        begin, end = _send(at, seconds, hours, tz)
        waves.append((begin, end))
        # The next wave: the day after this one ended (local), from midnight on.
        at = _at(end.astimezone(tz).date() + timedelta(days=1), 0, tz)
    return Plan(tuple(waves), rate, seconds)
