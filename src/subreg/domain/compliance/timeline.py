"""Enforcement timelines: what happens to a line that stays incomplete, and when (data of a rule set).

A timeline is a first step (the notice, repeated a few times) and then locks, each waiting its full
period after the previous step HAPPENED for that line (a sweep that did not run for a week catches up
one step, never skips one). A step may also have a fixed date (2023: one-way on 31/3, two-way on 15/4,
termination on 15/5): it then happens on that date or later, and never sooner than `after_days` after
the previous step (the minimum gap).

Decree 49/2017, as reported (domain-facts §1): notices daily for 5 days from the day after the deadline
(24/4/2018), one-way lock 15 days after the first notice, two-way 15 days later, termination 30 days
after that. Each lock keeps some services: emergency calls always, incoming calls and SMS in a one-way
lock, and 1414 (free, the way to check and fix the registration) while the line is not terminated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from subreg.domain.common.errors import FieldError, InputError

__all__ = [
    "CIRCULAR_08_2026_TIMELINE",
    "LOCK_STEPS",
    "ND49_2017_TIMELINE",
    "ND163_2024_TIMELINE",
    "POPULATION_DB_2023_TIMELINE",
    "RegimeSchedule",
    "Step",
    "StepRule",
    "Timeline",
    "parse_regime_schedule",
]


class Step(StrEnum):
    NOTIFY = "notify"
    LOCK_ONE_WAY = "lock_one_way"
    LOCK_TWO_WAY = "lock_two_way"
    TERMINATE = "terminate"


LOCK_STEPS: tuple[Step, ...] = (Step.LOCK_ONE_WAY, Step.LOCK_TWO_WAY, Step.TERMINATE)

# Services a line keeps in each state (emergency calls are never barred; 1414 is free and stays reachable).
_KEEPS: Mapping[Step, frozenset[str]] = {
    Step.NOTIFY: frozenset({"all"}),
    Step.LOCK_ONE_WAY: frozenset({"emergency_calls", "incoming_calls", "incoming_sms", "sms_1414"}),
    Step.LOCK_TWO_WAY: frozenset({"emergency_calls", "sms_1414"}),
    Step.TERMINATE: frozenset(),
}


@dataclass(frozen=True)
class StepRule:
    """One lock step: `after_days` after the previous step happened, and not before `on_date` if set."""

    step: Step
    after_days: int
    on_date: date | None = None
    keeps: frozenset[str] = frozenset()

    def due(self, previous_on: date) -> date:
        """The first day this step may happen for a line whose previous step happened on `previous_on`."""
        earliest = date.fromordinal(previous_on.toordinal() + self.after_days)
        return max(earliest, self.on_date) if self.on_date else earliest


@dataclass(frozen=True)
class Timeline:
    """A regime's enforcement timeline (the reported values are the defaults; settings override)."""

    regime: str
    starts_on: date  # the first day a notice may go (the day after the deadline)
    notices: int  # notices before the first lock (the first one is the `notify` step)
    notice_every_days: int
    locks: tuple[StepRule, ...]  # one-way, two-way, termination, in this order

    def rule(self, step: Step) -> StepRule:
        for rule in self.locks:
            if rule.step is step:
                return rule
        raise KeyError(step)

    def keeps(self, step: Step) -> frozenset[str]:
        return _KEEPS[step] if step is Step.NOTIFY else self.rule(step).keeps

    def overridden(self, overrides: Mapping[str, Any]) -> Timeline:
        """This timeline with settings applied: `starts_on`, `notices`, `notice_every_days`,
        `<step>_days` and `<step>_on` (step = lock_one_way | lock_two_way | terminate).
        Unknown keys and bad values are an InputError naming the key."""
        errors: list[FieldError] = []
        out = self
        locks = {r.step: r for r in self.locks}
        for key, value in overrides.items():
            path = f"enforcement_timeline.{self.regime}.{key}"
            try:
                if key == "starts_on":
                    out = replace(out, starts_on=_as_date(value))
                elif key == "notices":
                    out = replace(out, notices=_as_days(value, minimum=1))
                elif key == "notice_every_days":
                    out = replace(out, notice_every_days=_as_days(value, minimum=1))
                elif key.endswith("_days") and key[:-5] in locks:
                    step = Step(key[:-5])
                    locks[step] = replace(locks[step], after_days=_as_days(value, minimum=0))
                elif key.endswith("_on") and key[:-3] in locks:
                    step = Step(key[:-3])
                    locks[step] = replace(locks[step], on_date=None if value in (None, "") else _as_date(value))
                else:
                    errors.append(FieldError(path, "unknown_field"))
            except (TypeError, ValueError):
                errors.append(FieldError(path, "invalid_format"))
        if errors:
            raise InputError(errors)
        return replace(out, locks=tuple(locks[r.step] for r in self.locks))


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(value)


def _as_days(value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value > 3650:
        raise ValueError(value)
    return value


ND49_2017_TIMELINE = Timeline(
    regime="nd49-2017",
    starts_on=date(2018, 4, 25),  # the deadline was 24/4/2018
    notices=5,  # "continuously for 5 days"
    notice_every_days=1,
    locks=(
        StepRule(Step.LOCK_ONE_WAY, after_days=15, keeps=_KEEPS[Step.LOCK_ONE_WAY]),  # 15 days after the first notice
        StepRule(Step.LOCK_TWO_WAY, after_days=15, keeps=_KEEPS[Step.LOCK_TWO_WAY]),
        StepRule(Step.TERMINATE, after_days=30, keeps=_KEEPS[Step.TERMINATE]),
    ),
)


# PM Decision 06/QD-TTg and the 2023 steps (domain-facts §2): lines not matched against the National
# Population Database by 31/3/2023 were locked one way on 31/3, two ways on 15/4 and terminated on 15/5 (fixed
# dates; the gaps below are the minimum spacing if a sweep starts late). Five daily notices lead up to 31/3.
POPULATION_DB_2023_TIMELINE = Timeline(
    regime="population-db-2023",
    starts_on=date(2023, 3, 26),
    notices=5,
    notice_every_days=1,
    locks=(
        StepRule(Step.LOCK_ONE_WAY, after_days=5, on_date=date(2023, 3, 31), keeps=_KEEPS[Step.LOCK_ONE_WAY]),
        StepRule(Step.LOCK_TWO_WAY, after_days=15, on_date=date(2023, 4, 15), keeps=_KEEPS[Step.LOCK_TWO_WAY]),
        StepRule(Step.TERMINATE, after_days=30, on_date=date(2023, 5, 15), keeps=_KEEPS[Step.TERMINATE]),
    ),
)

# Decree 163/2024/ND-CP (in force 24/12/2024), Art. 25: notice, one-way suspension, two-way suspension,
# termination. The press confirms the three steps but not every period (domain-facts §2 marks the numbers
# [C]); the periods below repeat Decree 49's spacing until the operator's counsel confirms them, and every one
# is a setting (`enforcement_timeline.nd163-2024.<step>_days`).
ND163_2024_TIMELINE = Timeline(
    regime="nd163-2024",
    starts_on=date(2024, 12, 24),
    notices=5,
    notice_every_days=1,
    locks=(
        StepRule(Step.LOCK_ONE_WAY, after_days=15, keeps=_KEEPS[Step.LOCK_ONE_WAY]),
        StepRule(Step.LOCK_TWO_WAY, after_days=15, keeps=_KEEPS[Step.LOCK_TWO_WAY]),
        StepRule(Step.TERMINATE, after_days=30, keeps=_KEEPS[Step.TERMINATE]),
    ),
)

# Circular 08/2026/TT-BKHCN (in force 15/4/2026, 60-day transition to 15/6/2026): an unverified line is
# notified once and locked one way the next day, two ways after 60 days (sources say 30 or 60: the setting
# `enforcement_timeline.circular-08-2026.lock_two_way_days`), terminated 5 days after that.
CIRCULAR_08_2026_TIMELINE = Timeline(
    regime="circular-08-2026",
    starts_on=date(2026, 6, 15),
    notices=1,
    notice_every_days=1,
    locks=(
        StepRule(Step.LOCK_ONE_WAY, after_days=1, keeps=_KEEPS[Step.LOCK_ONE_WAY]),
        StepRule(Step.LOCK_TWO_WAY, after_days=60, keeps=_KEEPS[Step.LOCK_TWO_WAY]),
        StepRule(Step.TERMINATE, after_days=5, keeps=_KEEPS[Step.TERMINATE]),
    ),
)


@dataclass(frozen=True)
class RegimeSchedule:
    """Which regime applies from which date (`regime_schedule`, default `nd49-2017` from 2017-04-24)."""

    entries: tuple[tuple[date, str], ...]  # sorted by date

    def regime_on(self, day: date) -> str | None:
        """The regime in force on `day` (None before the first entry)."""
        found = None
        for start, name in self.entries:
            if start <= day:
                found = name
        return found


def parse_regime_schedule(raw: Mapping[str, str] | Sequence[Any], known: Sequence[str]) -> RegimeSchedule:
    """`{"2017-04-24": "nd49-2017", ...}` (or a list of [date, regime] pairs) as a RegimeSchedule;
    an unknown regime or a bad date is an InputError at `regime_schedule.<date>`."""
    pairs = list(raw.items()) if isinstance(raw, Mapping) else [tuple(p) for p in raw]
    errors: list[FieldError] = []
    entries: list[tuple[date, str]] = []
    for start, name in pairs:
        path = f"regime_schedule.{start}"
        try:
            day = _as_date(start)
        except (TypeError, ValueError):
            errors.append(FieldError(path, "invalid_format"))
            continue
        if name not in known:
            errors.append(FieldError(path, "unknown_rule_set"))
            continue
        entries.append((day, str(name)))
    if not entries and not errors:
        errors.append(FieldError("regime_schedule", "required"))
    if errors:
        raise InputError(errors)
    return RegimeSchedule(tuple(sorted(entries)))
