"""One line's enforcement state machine, as pure functions.

States: none -> notified -> one-way locked -> two-way locked -> terminated; `restored` is the exit
(a line whose information became complete leaves the machine at once, from any state but terminated).
The daily sweep runs the same rules in SQL over the whole base (adapters/db/enforcement_repo.py); these
functions answer for one line (the counter card's next date) and are what the SQL is tested against.
A line moves at most ONE step per sweep, and every step waits its full period after the previous step
happened for that line, so a sweep that did not run for a week catches up one step and skips nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import IntEnum

from subreg.domain.compliance.timeline import Step, Timeline

__all__ = [
    "STATUS_OF", "EnforcementState", "LineEnforcement", "LockCut", "Move", "SweepPlan", "advance", "next_due",
    "sweep_plan",
]  # fmt: skip


class EnforcementState(IntEnum):
    """Stored as a small integer (`enforcement.state`); absent row = not in enforcement."""

    NOTIFIED = 1
    ONE_WAY = 2
    TWO_WAY = 3
    TERMINATED = 4

    @property
    def label(self) -> str:
        return {1: "notified", 2: "one_way_locked", 3: "two_way_locked", 4: "terminated"}[self.value]


# The subscription status each state puts on the line (counter gate, 1414 and pages read it).
STATUS_OF: dict[EnforcementState, str] = {
    EnforcementState.NOTIFIED: "active",
    EnforcementState.ONE_WAY: "one_way_locked",
    EnforcementState.TWO_WAY: "two_way_locked",
    EnforcementState.TERMINATED: "terminated",
}
_AFTER: dict[EnforcementState, tuple[Step, EnforcementState]] = {
    EnforcementState.NOTIFIED: (Step.LOCK_ONE_WAY, EnforcementState.ONE_WAY),
    EnforcementState.ONE_WAY: (Step.LOCK_TWO_WAY, EnforcementState.TWO_WAY),
    EnforcementState.TWO_WAY: (Step.TERMINATE, EnforcementState.TERMINATED),
}


@dataclass(frozen=True)
class LineEnforcement:
    """Where one line stands: its state, when the current step happened, the notices sent so far."""

    state: EnforcementState
    step_on: date  # the day the current state's step happened (the first notice for `notified`)
    notices: int = 1
    last_notice_on: date | None = None


@dataclass(frozen=True)
class Move:
    """What one sweep does to one line: a step (`notify` also for a repeated notice), or `restore`."""

    action: str  # notify | renotify | lock_one_way | lock_two_way | terminate | restore
    after: LineEnforcement | None  # None: the line left the machine (restored)


def advance(
    line: LineEnforcement | None, *, complete: bool, held: bool, live: bool, as_of: date, timeline: Timeline
) -> Move | None:
    """The sweep's decision for one line on `as_of` (None: nothing happens).

    `complete`: the information is complete now; `held`: the holder restricted processing (held, not
    locked); `live`: the line is active (a line terminated or suspended for another reason is left alone).
    """
    if line is None:
        if complete or held or not live or as_of < timeline.starts_on:
            return None
        return Move("notify", LineEnforcement(EnforcementState.NOTIFIED, as_of, 1, as_of))
    if line.state is EnforcementState.TERMINATED:
        return None
    if complete:
        return Move("restore", None)
    if held:
        return None
    step, state = _AFTER[line.state]
    if line.state is EnforcementState.NOTIFIED and line.notices < timeline.notices:
        last = line.last_notice_on or line.step_on
        if as_of >= last + timedelta(days=timeline.notice_every_days):
            return Move("renotify", replace(line, notices=line.notices + 1, last_notice_on=as_of))
        return None
    if as_of >= timeline.rule(step).due(line.step_on):
        return Move(step.value, LineEnforcement(state, as_of, line.notices, line.last_notice_on))
    return None


def next_due(line: LineEnforcement, timeline: Timeline) -> tuple[str, date] | None:
    """The next step a still-incomplete line faces and the first day it may happen (None when terminated)."""
    if line.state is EnforcementState.TERMINATED:
        return None
    if line.state is EnforcementState.NOTIFIED and line.notices < timeline.notices:
        last = line.last_notice_on or line.step_on
        return "renotify", last + timedelta(days=timeline.notice_every_days)
    step, _ = _AFTER[line.state]
    return step.value, timeline.rule(step).due(line.step_on)


@dataclass(frozen=True)
class LockCut:
    """A lock step the sweep may take today: lines in `from_state` whose step happened on or before `cutoff`."""

    action: str
    from_state: EnforcementState
    cutoff: date


@dataclass(frozen=True)
class SweepPlan:
    """`advance` for every line at once, as the thresholds of one sweep on `as_of` (what the SQL compares with)."""

    as_of: date
    regime: str
    notify: bool  # first notices may go (the timeline has started)
    notices: int  # notices a line gets before its first lock
    renotify_cutoff: date  # a repeated notice goes to lines whose last notice was on or before this day
    locks: tuple[LockCut, ...]  # the lock steps that may happen today (a fixed date not reached yet: absent)


def sweep_plan(timeline: Timeline, as_of: date) -> SweepPlan:
    """The thresholds equivalent to `advance(..., as_of=as_of, timeline=timeline)` for every line."""
    locks = []
    for state, (step, _) in _AFTER.items():
        rule = timeline.rule(step)
        if rule.on_date is None or as_of >= rule.on_date:
            locks.append(LockCut(step.value, state, as_of - timedelta(days=rule.after_days)))
    return SweepPlan(
        as_of=as_of,
        regime=timeline.regime,
        notify=as_of >= timeline.starts_on,
        notices=timeline.notices,
        renotify_cutoff=as_of - timedelta(days=timeline.notice_every_days),
        locks=tuple(locks),
    )
