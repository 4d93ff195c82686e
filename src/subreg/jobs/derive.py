"""The worker's bulk derivation: `subreg complete --derive` for today, once a day at `derive_daily_at`.

Scheduled BEFORE the enforcement sweep (`derive_daily_at` 00:30, `enforce_daily_at` 01:00 by default): a
derivation only ever makes a line more complete, so running it first means the sweep never notifies or locks
a line the papers on file already complete; lines already locked that it completes are restored at once
through the enforcement machinery (`request_restores`, the restore loop). A run killed midway (the worker
stopped) resumes on the next start the same day; a second run the same day finds nothing left to fill.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import structlog

from subreg.bootstrap import Container
from subreg.services.backoffice.derive import DeriveOptions, DeriveReport, complete_by_derivation
from subreg.services.enforcement.sweep import request_restores

__all__ = ["DeriveJobs", "derive_today"]

log = structlog.get_logger("subreg.backoffice")
_OPERATOR_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # the daily hour is the operator's local time


def derive_today(container: Container, day: date, *, workers: int | None = None) -> DeriveReport:
    """One real derivation run at `day` (resumes today's run if it was killed), restorations asked for."""
    store = container.derive_store()
    try:
        return complete_by_derivation(
            DeriveOptions(as_of=day), store=store, uow_factory=container.uow, vault=container.vault,
            rule_set=container.rule_set, pool=container.worker_pool(workers or container.settings.import_workers),
            now=_now, restore=lambda: request_restores(uow=container.uow(), channel="derivation", now=_now()),
        )  # fmt: skip
    finally:
        store.close()


class DeriveJobs:
    """`run()` blocks until `stop()`: waits for `derive_daily_at`, then derives once that day."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self._stop = threading.Event()
        self._derived_on: date | None = None

    def run(self) -> None:
        hour, minute = (int(x) for x in self.container.settings.derive_daily_at.split(":"))
        while not self._stop.wait(5.0):
            local = datetime.now(UTC).astimezone(_OPERATOR_TZ)
            today = local.date()
            if self._derived_on == today or (local.hour, local.minute) < (hour, minute):
                continue
            try:
                report = derive_today(self.container, today)
                log.info("backoffice.derived", **{k: v for k, v in report.as_dict().items() if k != "filled"})
                self._derived_on = today
            except Exception:
                log.exception("backoffice.derive_failed")

    def stop(self) -> None:
        self._stop.set()


def _now() -> datetime:
    return datetime.now(UTC)
