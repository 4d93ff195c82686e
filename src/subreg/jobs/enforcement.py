"""The worker's enforcement side: network orders out, completed lines restored, the daily sweep on time.

Threads, each doing one thing:
- the order loop claims due network orders (unlocks first) and applies them to the configured element;
- the restore loop restores, every second, the lines completed through a channel (counter, import) since
  the last pass (state cleared, unlock order, SMS), so that a subscriber is restored within seconds;
- the schedule runs the day's sweep (`subreg enforce` for today) at `enforce_daily_at`, local time; a
  sweep run twice the same day does nothing the second time (every step waits at least a day); then, once
  the day's sweep is done and `snapshot_daily_at` has come, the day's report snapshot (`subreg snapshot`):
  one per day, so a second worker finding it taken leaves it alone.
Several worker processes may run: claims skip each other's rows (SKIP LOCKED on PostgreSQL, the writer
lock on SQLite), and the sweep is one transaction.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import structlog

from subreg.bootstrap import Container
from subreg.services.enforcement.orders import carry_out
from subreg.services.enforcement.sweep import restore_rechecked, sweep

__all__ = ["EnforcementJobs"]

log = structlog.get_logger("subreg.enforcement")
_OPERATOR_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # the daily hour is the operator's local time


class EnforcementJobs:
    """`run()` blocks until `stop()`."""

    def __init__(self, container: Container, *, idle_sleep: float = 0.2, schedule: bool = True) -> None:
        self.container = container
        self.network = container.network()
        self.options = container.enforcement_options()
        self.notices = container.notices()
        self._stop = threading.Event()
        self._idle_sleep = idle_sleep
        self._schedule = schedule
        self._swept_on: date | None = None
        self._snapped_on: date | None = None

    def run(self) -> None:
        loops = [self._order_loop, self._restore_loop] + ([self._schedule_loop] if self._schedule else [])
        threads = [threading.Thread(target=f, name=f"enforcement-{f.__name__}", daemon=True) for f in loops]
        for t in threads:
            t.start()
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            self._stop.set()
            for t in threads:
                t.join(timeout=10)
            self.network.close()

    def stop(self) -> None:
        self._stop.set()

    def _order_loop(self) -> None:
        while not self._stop.is_set():
            try:
                counts = carry_out(uow_factory=self.container.uow, network=self.network, options=self.options,
                                   now=_now)  # fmt: skip
            except Exception:
                log.exception("enforcement.orders_failed")
                counts = None
            if counts is None or counts.claimed == 0:
                self._stop.wait(self._idle_sleep)

    def _restore_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                restored = restore_rechecked(uow=self.container.uow(), today=self.container.clock.today(),
                                             now=_now(), options=self.options, notices=self.notices)  # fmt: skip
                if restored:
                    log.info("enforcement.restored", lines=restored)
            except Exception:
                log.exception("enforcement.restore_failed")

    def _schedule_loop(self) -> None:
        hour, minute = (int(x) for x in self.container.settings.enforce_daily_at.split(":"))
        snap_at = tuple(int(x) for x in self.container.settings.snapshot_daily_at.split(":"))
        while not self._stop.wait(5.0):
            local = datetime.now(UTC).astimezone(_OPERATOR_TZ)
            today = local.date()
            if self._swept_on != today and (local.hour, local.minute) >= (hour, minute):
                try:
                    report = sweep(uow=self.container.uow(), as_of=today, now=_now(), options=self.options,
                                   notices=self.notices)  # fmt: skip
                    log.info("enforcement.swept", **report.as_dict())
                    self._swept_on = today
                except Exception:
                    log.exception("enforcement.sweep_failed")
            # The day's snapshot once the day's sweep is done (its steps are then in the day's figures).
            if self._swept_on == today and self._snapped_on != today and (local.hour, local.minute) >= snap_at:
                self._snapshot(today)

    def _snapshot(self, today: date) -> None:
        """The day's report snapshot, after the day's sweep (its steps are in it)."""
        from subreg.domain.common.errors import ConflictError

        try:
            taken = self.container.take_snapshot(today)
            log.info("reports.snapshot_taken", as_of=today.isoformat(), figures=taken.figures)
        except ConflictError:
            log.info("reports.snapshot_exists", as_of=today.isoformat())
        except Exception:
            log.exception("reports.snapshot_failed")
            return
        self._snapped_on = today


def _now() -> datetime:
    return datetime.now(UTC)
