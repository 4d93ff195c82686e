"""Staff's campaign use cases: create, preview, start, pause, resume, status; each one audited.

A campaign is created as a draft; its preview counts the cohort now (one COUNT), renders the reminder for
three sample lines (numbers masked) and plans the finish at the campaign's rate inside its allowed hours, so
that staff see before starting that 34 M lines at 4 binds x 40 msg/s take days, not hours. Only `start`
lets the worker send (services/campaigns/sending.py); `pause` stops it within a tick, `resume` goes on where
it stopped (the wave's cursor is kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from subreg.domain.access.masking import mask_msisdn
from subreg.domain.access.permissions import Actor, Permission, require
from subreg.domain.campaigns.campaign import CampaignDefinition, CampaignState, parse_definition, transition
from subreg.domain.campaigns.schedule import Plan, planned_finish
from subreg.domain.common.errors import ConflictError, FieldError, NotFoundError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.campaigns.options import CampaignOptions
from subreg.services.campaigns.ports import CampaignTexts, CampaignUnitOfWork, StoredCampaign, WaveCount
from subreg.services.common import audit_trail

__all__ = [
    "CampaignStatus",
    "CreateCampaign",
    "Preview",
    "Sample",
    "campaign_status",
    "create_campaign",
    "list_campaigns",
    "pause_campaign",
    "preview_campaign",
    "preview_definition",
    "resume_campaign",
    "start_campaign",
]


@dataclass(frozen=True, slots=True)
class CreateCampaign:
    """A new campaign as staff typed it (text from a form or a command line is fine: it is parsed here)."""

    name: str
    start_on: str | date
    rate_per_bind: int | str
    template: str = "campaign_reminder"
    cohort: Mapping[str, Any] = field(default_factory=dict)
    hours: str | None = None  # default: the setting `campaign_hours`
    repeats: str | int = "once"  # or "daily for 5 days"
    binds: int | str | None = None  # default: the setting `campaign_binds`
    lang: str | None = None  # default: the setting `lang`


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample message as the phone will show it (number masked)."""

    to: str
    text: str
    segments: int
    encoding: str


@dataclass(frozen=True, slots=True)
class Preview:
    """The cohort's size now, sample messages and the plan (None once a campaign is done)."""

    size: int  # lines in the cohort now
    remaining: int  # lines still to queue in the current wave (= size before the first wave)
    samples: tuple[Sample, ...]
    plan: Plan | None
    definition: CampaignDefinition
    tz: tzinfo

    def as_dict(self) -> dict[str, Any]:
        """JSON: numbers, local ISO times, and `summary`, the plan in one English sentence."""
        d, plan = self.definition, self.plan
        out: dict[str, Any] = {
            "size": self.size, "remaining": self.remaining, "rate": d.rate, "rate_per_bind": d.rate_per_bind,
            "binds": d.binds, "hours": d.schedule.hours.text, "waves": d.schedule.waves,
            "samples": [asdict(s) for s in self.samples], "summary": self.summary(),
        }  # fmt: skip
        if plan is not None:
            out |= {
                "seconds_per_wave": round(plan.seconds_per_wave, 1), "days": plan.days(self.tz),
                "wave_days": plan.wave_days(self.tz),
                "planned_finish": plan.finish.astimezone(self.tz).isoformat(),
                "planned_waves": [{"begin": b.astimezone(self.tz).isoformat(), "end": e.astimezone(self.tz).isoformat()}
                                  for b, e in plan.waves],
            }  # fmt: skip
        return out

    def summary(self) -> str:
        """E.g. "34,000,000 lines at 4 binds x 40 msg/s = 160 msg/s: 59.0 h of sending a wave inside 08:00-20:00;
        1 wave over 5 days, planned to finish 2026-12-14 19:01"."""
        d, plan = self.definition, self.plan
        head = f"{self.size:,} lines at {d.binds} bind(s) x {d.rate_per_bind} msg/s = {d.rate} msg/s"
        if plan is None:
            return f"{head}: done"
        finish = plan.finish.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        waves = len(plan.waves)
        sending = f"{_duration(plan.seconds_per_wave)} of sending a wave inside {d.schedule.hours.text}"
        over = f"{waves} wave{'s' if waves > 1 else ''} over {plan.days(self.tz)} day(s)"
        return f"{head}: {sending}; {over}, planned to finish {finish}"


def _duration(seconds: float) -> str:
    """59.0 h, 12.5 min, 40 s."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


@dataclass(frozen=True, slots=True)
class CampaignStatus:
    """A campaign and its messages counted: queued (not yet taken by the SMSC), accepted, delivered, failed."""

    campaign: StoredCampaign
    by_wave: tuple[WaveCount, ...]

    def counts(self) -> dict[str, int]:
        """Totals over every wave: queued, accepted, delivered, failed (failed includes rejected), total."""
        return _totals(self.by_wave)

    def as_dict(self, tz: tzinfo) -> dict[str, Any]:
        c, d = self.campaign, self.campaign.definition
        waves: dict[int, list[WaveCount]] = {}
        for row in self.by_wave:
            waves.setdefault(row.wave, []).append(row)
        return {
            "id": c.id, "name": d.name, "state": str(c.state), "template": d.template, "lang": d.lang,
            "cohort": d.cohort.as_dict(), "start_on": d.schedule.start_on.isoformat(), "hours": d.schedule.hours.text,
            "repeats": d.schedule.repeats, "waves": d.schedule.waves, "rate_per_bind": d.rate_per_bind,
            "binds": d.binds, "wave": c.wave,
            "wave_finished_on": c.wave_finished_on.isoformat() if c.wave_finished_on else None,
            "created_by": c.created_by, "created_at": c.created_at.astimezone(tz).isoformat(),
            "started_at": c.started_at.astimezone(tz).isoformat() if c.started_at else None,
            "finished_at": c.finished_at.astimezone(tz).isoformat() if c.finished_at else None,
            "counts": self.counts(), "by_wave": {str(w): _totals(rows) for w, rows in sorted(waves.items())},
        }  # fmt: skip


_BUCKET = {"pending": "queued", "sending": "queued", "accepted": "accepted", "delivered": "delivered",
           "failed": "failed", "rejected": "failed"}  # fmt: skip


def _totals(rows: tuple[WaveCount, ...] | list[WaveCount]) -> dict[str, int]:
    totals = dict.fromkeys(("queued", "accepted", "delivered", "failed"), 0)
    for row in rows:
        bucket = _BUCKET.get(row.state)
        if bucket is not None:
            totals[bucket] += row.count
    totals["total"] = sum(r.count for r in rows)
    return totals


def _allowed(actor: Actor | None) -> None:
    """Staff need `campaigns:manage`; None is the command line (whoever runs it holds the database)."""
    if actor is not None:
        require(actor, Permission.CAMPAIGNS_MANAGE)


def _created_by(actor: Actor | None) -> str:
    return "cli" if actor is None else f"staff:{actor.staff_id}"


def _subject(campaign_id: int) -> str:
    return f"campaign:{int(campaign_id)}"


def _definition(cmd: CreateCampaign, options: CampaignOptions) -> CampaignDefinition:
    return parse_definition(
        asdict(cmd), missing_items=options.missing_items, default_hours=options.hours, default_binds=options.binds,
        default_lang=options.lang,
    )  # fmt: skip


def _get(uow: CampaignUnitOfWork, campaign_id: int, *, lock: bool = False) -> StoredCampaign:
    found = uow.campaigns.get(campaign_id, lock=lock)
    if found is None:
        raise NotFoundError("campaign", errors=[FieldError("campaign", "not_found")])
    return found


def create_campaign(
    cmd: CreateCampaign, *, uow: CampaignUnitOfWork, texts: CampaignTexts, options: CampaignOptions,
    actor: Actor | None, now: datetime,
) -> StoredCampaign:  # fmt: skip
    """Store a new campaign as a draft (InputError names every wrong field; ConflictError: the name is taken)."""
    _allowed(actor)
    definition = _definition(cmd, options)
    texts.compose(definition.template, definition.lang, {"wave": 1, "waves": definition.schedule.waves})
    with uow:
        uow.lock_for_write()
        if uow.campaigns.by_name(definition.name) is not None:
            raise ConflictError("campaign name", errors=[FieldError("name", "duplicate_name")])
        campaign_id = uow.campaigns.add(definition, created_by=_created_by(actor), now=now)
        audit_trail.record(
            uow, actor=actor, action=AuditAction.CAMPAIGN_CREATED, subject=_subject(campaign_id), now=now,
            details={"template": definition.template, "waves": definition.schedule.waves,
                     "rate_per_bind": definition.rate_per_bind, "binds": definition.binds},
        )  # fmt: skip
        created = _get(uow, campaign_id)
        uow.commit()
    return created


def _begin(day: date, now: datetime, tz: tzinfo) -> datetime:
    """The later of `now` and the local midnight that begins `day`."""
    return max(now, datetime.combine(day, time(0), tzinfo=tz))


def _plan(campaign: StoredCampaign | None, definition: CampaignDefinition, size: int, remaining: int,
          now: datetime, tz: tzinfo) -> Plan | None:  # fmt: skip
    """The plan of what is left: a draft's every wave; a started campaign's rest of the current wave, then the
    waves still to come (each at today's cohort size: lines completed meanwhile only make it shorter)."""
    d = definition

    def plan(lines: int, start: datetime, waves: int) -> Plan:
        return planned_finish(lines, d.rate_per_bind, d.binds, start, d.schedule.hours, waves, tz)

    if campaign is None or campaign.wave == 0:
        return plan(size, _begin(d.schedule.start_on, now, tz), d.schedule.waves)
    if campaign.state is CampaignState.DONE:
        return None
    left = d.schedule.waves - campaign.wave
    if campaign.wave_finished_on is not None:
        return plan(size, _begin(campaign.wave_finished_on + timedelta(days=1), now, tz), left) if left else None
    current = plan(remaining, now, 1)
    if not left:
        return current
    after = current.finish.astimezone(tz).date() + timedelta(days=1)
    rest = plan(size, _begin(after, now, tz), left)
    return Plan(current.waves + rest.waves, rest.rate, rest.seconds_per_wave)


def _preview(
    definition: CampaignDefinition, campaign: StoredCampaign | None, *, uow: CampaignUnitOfWork,
    texts: CampaignTexts, options: CampaignOptions, now: datetime,
) -> Preview:  # fmt: skip
    mask = definition.cohort.missing_mask(options.missing_items)
    size = uow.campaigns.cohort_size(definition.cohort, missing_mask=mask)
    remaining = size
    if campaign is not None and campaign.wave and campaign.wave_finished_on is None:
        remaining = uow.campaigns.cohort_size(definition.cohort, missing_mask=mask, after=campaign.cursor)
    numbers = uow.campaigns.sample(definition.cohort, missing_mask=mask, limit=options.samples)
    wave = max(campaign.wave, 1) if campaign is not None else 1
    text = texts.compose(definition.template, definition.lang, {"wave": wave, "waves": definition.schedule.waves})
    samples = tuple(Sample(mask_msisdn(msisdn_from_key(n)), text.text, text.part_count, text.encoding) for n in numbers)
    plan = _plan(campaign, definition, size, remaining, now, options.tz)
    return Preview(size, remaining, samples, plan, definition, options.tz)


def _audit_preview(uow: CampaignUnitOfWork, preview: Preview, campaign_id: int | None, *, actor: Actor | None,
                   now: datetime) -> None:  # fmt: skip
    """The audit entry of a preview, in a write transaction of its own: the counting before it only read (a
    COUNT over millions of lines must not hold SQLite's write lock and stall the worker's ticks)."""
    uow.rollback()
    uow.lock_for_write()
    subject = None if campaign_id is None else _subject(campaign_id)
    audit_trail.record(uow, actor=actor, action=AuditAction.CAMPAIGN_PREVIEWED, subject=subject, now=now,
                       details={"size": preview.size})  # fmt: skip
    uow.commit()


def preview_definition(
    cmd: CreateCampaign, *, uow: CampaignUnitOfWork, texts: CampaignTexts, options: CampaignOptions,
    actor: Actor | None, now: datetime,
) -> Preview:  # fmt: skip
    """The preview of a campaign not yet created (the form's Preview button): nothing is stored but the audit."""
    _allowed(actor)
    definition = _definition(cmd, options)
    with uow:
        preview = _preview(definition, None, uow=uow, texts=texts, options=options, now=now)
        _audit_preview(uow, preview, None, actor=actor, now=now)
    return preview


def preview_campaign(
    campaign_id: int, *, uow: CampaignUnitOfWork, texts: CampaignTexts, options: CampaignOptions,
    actor: Actor | None, now: datetime,
) -> Preview:  # fmt: skip
    """A stored campaign's preview: its cohort now, samples, and the plan of what is left."""
    _allowed(actor)
    with uow:
        campaign = _get(uow, campaign_id)
        preview = _preview(campaign.definition, campaign, uow=uow, texts=texts, options=options, now=now)
        _audit_preview(uow, preview, campaign_id, actor=actor, now=now)
    return preview


_AUDITED = {"start": AuditAction.CAMPAIGN_STARTED, "pause": AuditAction.CAMPAIGN_PAUSED,
            "resume": AuditAction.CAMPAIGN_RESUMED}  # fmt: skip


def _act(
    action: str, campaign_id: int, *, uow: CampaignUnitOfWork, actor: Actor | None, now: datetime
) -> StoredCampaign:
    _allowed(actor)
    with uow:
        uow.lock_for_write()
        campaign = _get(uow, campaign_id, lock=True)
        state = transition(campaign.state, action)
        values: dict[str, Any] = {"state": str(state), "updated_at": now}
        if action == "start":
            values["started_at"] = now
        uow.campaigns.update(campaign_id, values)
        audit_trail.record(uow, actor=actor, action=_AUDITED[action], subject=_subject(campaign_id), now=now,
                           details={"wave": campaign.wave})  # fmt: skip
        changed = _get(uow, campaign_id)
        uow.commit()
    return changed


def start_campaign(campaign_id: int, *, uow: CampaignUnitOfWork, actor: Actor | None, now: datetime) -> StoredCampaign:
    """Let the worker send a draft (from its start date, inside its hours); ConflictError unless a draft."""
    return _act("start", campaign_id, uow=uow, actor=actor, now=now)


def pause_campaign(campaign_id: int, *, uow: CampaignUnitOfWork, actor: Actor | None, now: datetime) -> StoredCampaign:
    """Stop queuing (within a tick); what is already queued (at most a tick or two) still leaves."""
    return _act("pause", campaign_id, uow=uow, actor=actor, now=now)


def resume_campaign(campaign_id: int, *, uow: CampaignUnitOfWork, actor: Actor | None, now: datetime) -> StoredCampaign:
    """Go on where the campaign was paused (same wave, same cursor)."""
    return _act("resume", campaign_id, uow=uow, actor=actor, now=now)


def campaign_status(campaign_id: int, *, uow: CampaignUnitOfWork, actor: Actor | None) -> CampaignStatus:
    """A campaign and its messages counted by wave and outcome (from the outbox, joined to the send records)."""
    _allowed(actor)
    with uow:
        campaign = _get(uow, campaign_id)
        return CampaignStatus(campaign, tuple(uow.campaigns.progress(campaign_id)))


def list_campaigns(*, uow: CampaignUnitOfWork, actor: Actor | None, limit: int = 100) -> list[StoredCampaign]:
    """The newest campaigns first."""
    _allowed(actor)
    with uow:
        return uow.campaigns.recent(limit=limit)
