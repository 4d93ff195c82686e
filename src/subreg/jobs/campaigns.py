"""The worker's campaign side: every tick (`campaign_tick_seconds`, default 1 s) queue the next slice of each
running campaign (services/campaigns/sending.py); the SMS service's dispatchers carry the messages out.

Ticks are scheduled on a fixed grid (not "sleep a second after the work"), though the rate does not depend on
it: each campaign's rate clock in the database decides how many messages a tick may queue, so several workers
share one rate and a late tick queues the time it missed (up to a couple of ticks' worth).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import structlog

from subreg.bootstrap import Container
from subreg.services.campaigns.sending import send_due

__all__ = ["CampaignJobs"]

log = structlog.get_logger("subreg.campaigns")


class CampaignJobs:
    """`run()` blocks until `stop()`."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.options = container.campaign_options()
        self.texts = container.campaign_texts()
        self._stop = threading.Event()

    def run(self) -> None:
        every = self.options.tick.total_seconds()
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                reports = send_due(uow_factory=self.container.uow, texts=self.texts, options=self.options, now=_now)
                for r in reports:
                    if r.queued or r.wave_started or r.wave_finished:
                        log.info("campaigns.tick", campaign_id=r.campaign_id, wave=r.wave, queued=r.queued,
                                 wave_finished=r.wave_finished, done=r.done)  # fmt: skip
            except Exception:  # a database hiccup must not end the worker: logged, tried again next tick
                log.exception("campaigns.tick_failed")
            due = max(due + every, time.monotonic())
            self._stop.wait(due - time.monotonic())

    def stop(self) -> None:
        self._stop.set()


def _now() -> datetime:
    return datetime.now(UTC)
