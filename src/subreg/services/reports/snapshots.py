"""Take a day's snapshot: the registry's figures counted set-based and stored, one snapshot per day.

The figures are read in one read-only transaction (one GROUP BY per source table, no line ever reaches
Python), folded by `domain.reports.figures`, then stored in a second, short transaction: the long read
never holds the writers' lock. A snapshot is kept as taken: a second one for the same day is refused
unless `replace` (then the old one is deleted and the new one stored in the same transaction).

What is exact for a past day and what is not: the day's enforcement steps, campaign SMS queued that day
and the counter's updates and registrations come from dated rows, so they are that day's whenever the
snapshot is taken. The line figures (state, missing items, enforcement state, ...) are the registry as it
is when taken (`taken_at`); the phase is computed for the as-of day. The counter's running totals (`*_cum`) are
the previous snapshot's plus the history rows after its day: one range of the history index a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import ConflictError, FieldError, InputError
from subreg.domain.compliance.phase import cutoff
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.reports.figures import (
    CUMULATIVE,
    carry_forward,
    figures_of,
    fold_campaign,
    fold_counter,
    fold_lines,
    fold_steps,
)
from subreg.services.common import audit_trail
from subreg.services.reports.ports import ReportsUnitOfWork

__all__ = ["SnapshotTaken", "TakeSnapshot", "day_bounds", "take_snapshot"]

SNAPSHOT_TAKEN = "report:snapshot_taken"
_EXISTS = [FieldError("as_of", "snapshot_exists")]


@dataclass(frozen=True, slots=True)
class TakeSnapshot:
    """Take the snapshot of `as_of` (a date or its ISO text); `replace` an existing one."""

    as_of: date | str
    replace: bool = False


@dataclass(frozen=True, slots=True)
class SnapshotTaken:
    """What was stored."""

    id: int
    as_of: date
    taken_at: datetime
    figures: int
    lines: int
    replaced: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "as_of": self.as_of.isoformat(), "taken_at": self.taken_at.isoformat(),
                "figures": self.figures, "lines": self.lines, "replaced": self.replaced}  # fmt: skip


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day, as aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def _as_of(value: date | str, today: date) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InputError([FieldError("as_of", "invalid_format")]) from None
    if value > today:
        raise InputError([FieldError("as_of", "date_in_future")])
    return value


def take_snapshot(
    cmd: TakeSnapshot,
    *,
    uow: ReportsUnitOfWork,
    rule_set: RuleSet,
    tz: tzinfo,
    now: datetime,
    actor: Actor | None = None,
) -> SnapshotTaken:
    """Count and store the figures of `cmd.as_of` (no later than today in `tz`). Commits.

    ConflictError `snapshot_exists` when the day has a snapshot and `replace` is not set.
    """
    day = _as_of(cmd.as_of, now.astimezone(tz).date())
    start, end = day_bounds(day, tz)
    with uow:
        if uow.snapshots.snapshot_on(day) is not None and not cmd.replace:
            raise ConflictError("snapshot_exists", errors=_EXISTS)
        source = uow.snapshot_source
        lines = fold_lines(source.line_groups(cutoff(day)), rule_set.missing_items)
        steps = fold_steps(source.step_counts(day))
        campaign = fold_campaign(source.campaign_counts(start, end))
        counter = fold_counter(source.counter_counts(start, end))
        # Running totals: the previous snapshot's, plus the counter's work after its day (from the start without one).
        previous = uow.snapshots.snapshot_before(day)
        carried = [] if previous is None else [
            (f.dimension, f.province or "unknown", f.key, f.n)
            for f in uow.snapshots.sums(previous.as_of, previous.as_of, tuple(CUMULATIVE.values()), None,
                                        per_day=False, per_province=True)
        ]  # fmt: skip
        since = None if previous is None else day_bounds(previous.as_of, tz)[1]
        running = carry_forward(carried, fold_counter(source.counter_counts(since, end)))
    figures = figures_of(lines, steps, campaign, counter, running)
    total = sum(n for (d, _p, _k), n in lines.items() if d == "lines")
    with uow:
        existing = uow.snapshots.snapshot_on(day)
        if existing is not None:
            if not cmd.replace:
                raise ConflictError("snapshot_exists", errors=_EXISTS)
            uow.snapshots.remove_snapshot(existing.id)
        snapshot_id = uow.snapshots.add_snapshot(day, rule_set.name, now, figures)
        audit_trail.record(
            uow, actor=actor, action=SNAPSHOT_TAKEN, subject=f"snapshot:{day.isoformat()}", now=now,
            details={"figures": len(figures), "replaced": existing is not None},
        )  # fmt: skip
        uow.commit()
    return SnapshotTaken(snapshot_id, day, now, len(figures), total, existing is not None)
