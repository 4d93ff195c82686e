"""The campaigns' options, built from settings by the wiring (the use cases never read settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, tzinfo

__all__ = ["CampaignOptions"]


@dataclass(frozen=True, slots=True)
class CampaignOptions:
    tz: tzinfo  # the operator's time zone: allowed hours and wave days are local (Asia/Ho_Chi_Minh)
    missing_items: tuple[str, ...]  # the rule set's missing items (the cohort's `missing` criterion, its bits)
    hours: str = "08:00-20:00"  # default allowed hours of a new campaign
    binds: int = 1  # default SMSC binds of a new campaign
    lang: str = "vi"  # default language of a new campaign's texts
    tick: timedelta = timedelta(seconds=1)  # how often the worker queues the next slice of each running campaign
    # Never more than this many ticks' worth of one campaign waiting for the dispatcher: a slow SMSC (or a stopped
    # dispatcher) holds the campaign back instead of piling up its outbox, and a pause stops it within a tick.
    backlog_ticks: int = 2
    samples: int = 3  # sample messages a preview shows
