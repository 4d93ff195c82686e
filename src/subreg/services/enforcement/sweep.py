"""The daily enforcement sweep (`subreg enforce --as-of DATE`): every line's move for the day, set-based.

One transaction: plan every line's move (the repository writes them into a work table with a handful of
INSERT ... SELECT), count them by action and province, then carry them out (history, state, line status,
network orders, notices) in the same transaction, so a crash leaves either the whole day or nothing.
A dry run plans and counts the same way and rolls back: it answers exactly what the real run would do.
Notices are rendered and sealed once per action (they hold no personal data) and copied into each row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from subreg.domain.access.permissions import Actor
from subreg.domain.compliance.timeline import Step, Timeline
from subreg.domain.enforcement.machine import sweep_plan
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.enforcement.options import EnforcementOptions
from subreg.services.enforcement.ports import EnforcementUnitOfWork, NoticeComposer, PreparedNotice

__all__ = ["ACTIONS", "SweepReport", "request_restores", "restore_rechecked", "sweep"]

# The keys of `transitions` (later issues may add keys; these stay).
ACTIONS = ("notify", "lock_one_way", "lock_two_way", "terminate", "restore")
# Moves that send the subscriber an SMS (a terminated line gets none: its contract has ended).
_NOTICED = ("notify", "renotify", "lock_one_way", "lock_two_way", "restore")


@dataclass
class SweepReport:
    as_of: date
    regime: str | None
    dry_run: bool
    transitions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    by_province: dict[str, dict[str, int]] = field(default_factory=dict)
    renotify: int = 0  # repeated notices (not state changes)
    held: int = 0  # incomplete lines of holders who restricted processing: held, not locked

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "regime": self.regime,
            "dry_run": self.dry_run,
            "transitions": dict(self.transitions),
            "by_province": {p: dict(c) for p, c in sorted(self.by_province.items())},
            "renotify": self.renotify,
            "held": self.held,
        }


def _next_on(timeline: Timeline, action: str, as_of: date) -> date | None:
    """The first day of the step after `action` for a line that takes `action` on `as_of` (None: not known
    for every line alike, or no next step)."""
    following = {"notify": Step.LOCK_ONE_WAY, "lock_one_way": Step.LOCK_TWO_WAY, "lock_two_way": Step.TERMINATE}
    step = following.get(action)
    return None if step is None else timeline.rule(step).due(as_of)


def sweep(
    *, uow: EnforcementUnitOfWork, as_of: date, now: datetime, options: EnforcementOptions,
    notices: NoticeComposer, dry_run: bool = False, actor: Actor | None = None,
    prepare: Callable[[EnforcementUnitOfWork], object] | None = None,
) -> SweepReport:  # fmt: skip
    """Move every line one step along its regime's timeline on `as_of` (or say what that would do).

    `prepare` runs first inside the same transaction (a dry run re-evaluates the date's verdicts there, so that
    it answers exactly what the real run, which re-evaluates first, will do; all of it is rolled back)."""
    timeline = options.timeline_on(as_of)
    report = SweepReport(as_of, timeline.regime if timeline else None, dry_run)
    if timeline is None:
        return report
    plan = sweep_plan(timeline, as_of)
    with uow:
        uow.lock_for_write()
        if prepare is not None:
            prepare(uow)
        uow.enforcement.plan(plan)
        counts = uow.enforcement.counts()
        report.held = uow.enforcement.held_count()
        for c in counts:
            if c.action == "renotify":
                report.renotify += c.count
            else:
                report.transitions[c.action] = report.transitions.get(c.action, 0) + c.count
            report.by_province.setdefault(c.province, {})[c.action] = c.count
        if dry_run:
            uow.rollback()
            return report
        present = {c.action for c in counts}
        prepared: dict[str, PreparedNotice] = {
            a: notices.compose(a, as_of=as_of, next_on=_next_on(timeline, a, as_of)) for a in _NOTICED if a in present
        }
        uow.enforcement.apply(plan=plan, now=now, notices=prepared, channel="sweep")
        audit_trail.record(uow, actor=actor, action=AuditAction.ENFORCEMENT_RUN, now=now, details=report.as_dict())
        uow.commit()
    return report


def restore_rechecked(
    *, uow: EnforcementUnitOfWork, today: date, now: datetime, options: EnforcementOptions, notices: NoticeComposer
) -> int:
    """Restore at once the lines completed through a channel since the last call (the worker runs this
    every second or so): state cleared, unlock order, SMS. How many lines were restored."""
    timeline = options.timeline_on(today)
    if timeline is None:
        return 0
    plan = sweep_plan(timeline, today)
    with uow:
        uow.lock_for_write()
        uow.enforcement.plan(plan, only_rechecks=True)
        restored = sum(c.count for c in uow.enforcement.counts())
        prepared = {"restore": notices.compose("restore", as_of=today, next_on=None)} if restored else {}
        uow.enforcement.apply(plan=plan, now=now, notices=prepared, channel="recheck")
        uow.commit()
    return restored


def request_restores(*, uow: EnforcementUnitOfWork, channel: str, now: datetime) -> int:
    """After a bulk channel (an import) completed lines: the worker restores them within seconds."""
    with uow:
        uow.lock_for_write()
        asked = uow.enforcement.request_restores(channel=channel, now=now)
        uow.commit()
    return asked
