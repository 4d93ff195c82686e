"""The worker's tick: queue the next slice of every running campaign, at its rate, inside its hours.

Each tick (about every second) and each running campaign, in one transaction with the campaign row locked:

1. outside the allowed local hours, or before the start date, nothing;
2. no wave going on: begin the next one if one is due today (`domain.campaigns.schedule.next_wave`: one per
   day at most, each after the previous one finished);
3. the allowance: the campaign's rate (per bind x binds) times the time since its rate clock (at most
   `backlog_ticks` ticks' worth, so a worker that was down does not burst), less what still waits for the
   dispatcher (so a slow SMSC holds the campaign back and a pause stops it within a tick);
4. the next `allowance` lines of the cohort after the wave's cursor, evaluated now (a line completed since the
   cohort was defined is no longer in it), get a send record and an outbox row (set-based, sealed text copied);
   the rate clock moves on by exactly what was queued, so the measured rate is the configured one;
5. fewer lines than allowed: the cohort is exhausted, the wave is finished today; after the last wave, done.

Several workers may tick at once: the locked campaign row (SQLite: the write lock) puts them in line, and
they share the campaign's one rate clock. A tick that dies leaves nothing (the transaction rolls back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from subreg.domain.campaigns.campaign import CampaignState
from subreg.domain.campaigns.schedule import next_wave
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.campaigns.options import CampaignOptions
from subreg.services.campaigns.ports import CampaignTexts, CampaignUnitOfWork, StoredCampaign
from subreg.services.common import audit_trail

__all__ = ["TickReport", "send_due", "tick_campaign"]

log = structlog.get_logger("subreg.campaigns")


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did for one campaign."""

    campaign_id: int
    queued: int = 0
    wave: int = 0
    wave_started: bool = False
    wave_finished: bool = False
    done: bool = False
    reason: str = ""  # why nothing was queued: not_running, outside_hours, before_start, waiting, backlog, ...


def _audit(uow: CampaignUnitOfWork, action: AuditAction, campaign_id: int, now: datetime, **details: Any) -> None:
    audit_trail.record(uow, actor=None, action=action, subject=f"campaign:{campaign_id}", now=now, details=details)


def _allowance(campaign: StoredCampaign, now: datetime, options: CampaignOptions, backlog: int) -> tuple[int, datetime]:
    """How many messages the campaign may queue now, and its rate clock before queuing them: the rate times the
    time since the clock (at most `backlog_ticks` ticks of it), and never more waiting than that in the outbox."""
    rate = campaign.definition.rate
    window = options.tick * options.backlog_ticks
    clock = min(max(campaign.rate_clock or now - options.tick, now - window), now)
    by_time = int((now - clock).total_seconds() * rate)
    room = int(window.total_seconds() * rate) - backlog
    return max(min(by_time, room), 0), clock


def tick_campaign(
    campaign_id: int, *, uow: CampaignUnitOfWork, texts: CampaignTexts, options: CampaignOptions, now: datetime
) -> TickReport:
    """One tick of one campaign (see the module docstring); commits what it queued."""
    local = now.astimezone(options.tz)
    with uow:
        uow.lock_for_write()
        c = uow.campaigns.get(campaign_id, lock=True)
        if c is None or c.state is not CampaignState.RUNNING:
            return TickReport(campaign_id, reason="not_running")
        d = c.definition
        if local.date() < d.schedule.start_on:
            return TickReport(campaign_id, wave=c.wave, reason="before_start")
        if not d.schedule.hours.contains(local.time()):
            return TickReport(campaign_id, wave=c.wave, reason="outside_hours")
        values: dict[str, Any] = {"updated_at": now}
        wave, cursor, started = c.wave, c.cursor, False
        if c.wave == 0 or c.wave_finished_on is not None:
            due = next_wave(d.schedule, wave=c.wave, finished_on=c.wave_finished_on, today=local.date())
            if due is None:
                return TickReport(campaign_id, wave=c.wave, reason="waiting")
            wave, cursor, started = due, 0, True
            values |= {"wave": wave, "cursor": 0, "wave_finished_on": None}
            _audit(uow, AuditAction.CAMPAIGN_WAVE_STARTED, campaign_id, now, wave=wave)
        limit, clock = _allowance(c, now, options, uow.campaigns.backlog(campaign_id))
        report = TickReport(campaign_id, wave=wave, wave_started=started, reason="rate")
        if limit > 0:
            message = texts.compose(d.template, d.lang, {"wave": wave, "waves": d.schedule.waves})
            mask = d.cohort.missing_mask(options.missing_items)
            queued = uow.campaigns.enqueue(
                campaign_id, wave=wave, cohort=d.cohort, missing_mask=mask, after=cursor, limit=limit,
                message=message, now=now,
            )  # fmt: skip
            values["cursor"] = queued.last_line or cursor
            values["rate_clock"] = clock + timedelta(seconds=queued.count / d.rate)
            report = TickReport(campaign_id, queued.count, wave, started)
            if queued.count < limit:  # the cohort is exhausted: this wave is finished today
                values |= {"wave_finished_on": local.date(), "rate_clock": now}
                _audit(uow, AuditAction.CAMPAIGN_WAVE_FINISHED, campaign_id, now, wave=wave)
                done = wave >= d.schedule.waves
                if done:
                    values |= {"state": str(CampaignState.DONE), "finished_at": now}
                    _audit(uow, AuditAction.CAMPAIGN_FINISHED, campaign_id, now, waves=wave)
                report = TickReport(campaign_id, queued.count, wave, started, wave_finished=True, done=done)
        if started or limit > 0:
            uow.campaigns.update(campaign_id, values)
        uow.commit()
    return report


def send_due(
    *, uow_factory: Callable[[], CampaignUnitOfWork], texts: CampaignTexts, options: CampaignOptions,
    now: Callable[[], datetime],
) -> list[TickReport]:  # fmt: skip
    """One tick of every running campaign, each in a transaction of its own (one campaign's failure is logged
    and does not hold the others back)."""
    with uow_factory() as uow:
        running = uow.campaigns.running()
    reports = []
    for campaign_id in running:
        try:
            reports.append(tick_campaign(campaign_id, uow=uow_factory(), texts=texts, options=options, now=now()))
        except Exception:
            log.exception("campaigns.tick_failed", campaign_id=campaign_id)
    return reports
