"""Ports of the campaigns: their storage (set-based over the whole base) and the reminder texts.

A campaign's messages are rows of the SMS channel's one outbox (`sms_outbox`, kind `campaign`, priority 2:
behind 1414 replies and notices), written set-based by the repository together with one send record per line
and wave (the idempotency key) in the tick's transaction. The text holds no personal data: it is rendered,
encoded, counted and sealed once per tick (`CampaignTexts`, implemented by the SMS capability) and the same
sealed bytes are copied into every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from subreg.domain.campaigns.campaign import CampaignDefinition, CampaignState
from subreg.domain.campaigns.cohort import Cohort
from subreg.services.common.ports import UnitOfWork

__all__ = [
    "CampaignRepository",
    "CampaignTexts",
    "CampaignUnitOfWork",
    "PreparedText",
    "Queued",
    "StoredCampaign",
    "WaveCount",
]


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A reminder text ready to copy into outbox rows: encoded, counted and sealed once."""

    text: str  # what the phone shows (for previews; never logged)
    sender: str
    encoding: str  # gsm7 | ucs2
    part_count: int
    sealed: Mapping[str, Any]  # kek_id, wrapped_dek, payload


class CampaignTexts(Protocol):
    """The operator's reminder templates (`<lang>/campaign_<name>.txt`), rendered and sealed."""

    def compose(self, template: str, lang: str, context: Mapping[str, Any]) -> PreparedText:
        """The text of `template` in `lang`; InputError `unknown_template` at `template` when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class StoredCampaign:
    """A campaign as stored: its definition, its state and how far the worker got."""

    id: int
    definition: CampaignDefinition
    state: CampaignState
    wave: int  # the current (or last) wave; 0 before the first
    wave_finished_on: date | None  # the local day the current wave finished (None: going on, or none yet)
    cursor: int  # the last line (subscription id) queued in the current wave
    rate_clock: datetime | None  # the sending allowance is used up to this instant
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """What one tick queued: how many lines, and the last one (the new cursor)."""

    count: int
    last_line: int | None


@dataclass(frozen=True, slots=True)
class WaveCount:
    """How many messages of one wave are in one outbox state (pending, sending, accepted, delivered, ...)."""

    wave: int
    state: str
    count: int


class CampaignRepository(Protocol):
    """Campaigns, their send records, and their messages in the SMS outbox; cohorts evaluated in SQL."""

    def add(self, definition: CampaignDefinition, *, created_by: str, now: datetime) -> int:
        """Store a new campaign as a draft; its id."""
        ...

    def get(self, campaign_id: int, *, lock: bool = False) -> StoredCampaign | None:
        """One campaign; `lock`: held until the transaction ends (another worker's tick waits)."""
        ...

    def by_name(self, name: str) -> StoredCampaign | None: ...

    def recent(self, *, limit: int) -> list[StoredCampaign]:
        """The newest campaigns first."""
        ...

    def running(self) -> list[int]:
        """The ids of the running campaigns."""
        ...

    def update(self, campaign_id: int, values: Mapping[str, Any]) -> None:
        """Change stored columns (state, wave, wave_finished_on, cursor, rate_clock, started_at, ...)."""
        ...

    def cohort_size(self, cohort: Cohort, *, missing_mask: int, after: int = 0) -> int:
        """How many lines the cohort holds now (one COUNT); `after`: only lines whose id is greater."""
        ...

    def sample(self, cohort: Cohort, *, missing_mask: int, limit: int) -> list[int]:
        """The numbers (MSISDN keys) of the first `limit` lines of the cohort."""
        ...

    def enqueue(
        self, campaign_id: int, *, wave: int, cohort: Cohort, missing_mask: int, after: int, limit: int,
        message: PreparedText, now: datetime,
    ) -> Queued:  # fmt: skip
        """Queue the next `limit` lines of the cohort (ids above `after`, in id order) that have no send record
        for this wave: their send records and their outbox rows, set-based, in the caller's transaction."""
        ...

    def backlog(self, campaign_id: int) -> int:
        """The campaign's messages queued but not yet taken by the SMSC (pending or being submitted)."""
        ...

    def progress(self, campaign_id: int) -> list[WaveCount]:
        """The campaign's messages counted by wave and outbox state."""
        ...


class CampaignUnitOfWork(UnitOfWork, Protocol):
    campaigns: CampaignRepository
