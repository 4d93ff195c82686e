"""Campaigns in SQL: cohorts evaluated set-based, each tick's slice queued with two INSERT ... SELECT.

A cohort (`domain.campaigns.cohort.Cohort`) becomes one WHERE clause over `subscriptions` (joined to the
holder, and to the point of sale only when a criterion needs it; the enforcement state is on the line). `enqueue` writes
the send records of the next lines of the cohort (ids above the campaign's cursor, in id order, LIMIT the
tick's allowance) and then the outbox rows of exactly those records, the sealed text bound once and copied
into every row, in the caller's transaction: both or neither, and the unique send record keeps a line from
being queued twice for one wave even if a crashed tick's work were ever replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    and_,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from subreg.adapters.db.tables import campaign_sends, campaigns, holders, points_of_sale, sms_outbox
from subreg.adapters.db.tables import subscriptions as subs
from subreg.domain.campaigns.campaign import CampaignDefinition, CampaignState
from subreg.domain.campaigns.cohort import CRITERIA, UNKNOWN_PROVINCE, Cohort
from subreg.domain.campaigns.schedule import Schedule, parse_hours
from subreg.domain.enforcement.machine import EnforcementState
from subreg.services.campaigns.ports import PreparedText, Queued, StoredCampaign, WaveCount

__all__ = ["SqlCampaignRepository"]

_STATE_NUMBERS = {s.label: int(s) for s in EnforcementState}
_PRIORITY = 2  # services.sms.outbox.PRIORITY["campaign"]: behind 1414 replies (0) and notices (1)
s, h, p = subs.c, holders.c, points_of_sale.c
cs, o, c = campaign_sends.c, sms_outbox.c, campaigns.c


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _cohort(cohort: Cohort, missing_mask: int) -> tuple[FromClause, list[ColumnElement[bool]]]:
    """The lines of a cohort: the joins it needs and its conditions (domain.campaigns.cohort's docstring)."""
    source: FromClause = subs.join(holders, h.id == s.holder_id)
    where: list[ColumnElement[bool]] = [
        s.status != "terminated",
        or_(s.verdict != 0, s.contract_needed.is_(True)),  # still something to do
        # Objected to reminders: only legally required notices. Restricted processing: stored, not used.
        not_(h.objected),
        not_(h.restricted),
    ]
    if cohort.phases:
        where.append(s.phase.in_(cohort.phases))
    if missing_mask:
        where.append(s.missing_mask.op("&")(literal(missing_mask, BigInteger)) != 0)
    if cohort.subscriber_types:
        where.append(s.subscriber_type.in_(cohort.subscriber_types))
    if cohort.payment_types:
        where.append(s.payment_type.in_(cohort.payment_types))
    if cohort.provinces:
        source = source.outerjoin(points_of_sale, p.id == s.point_of_sale_id)
        where.append(func.coalesce(p.province_code, UNKNOWN_PROVINCE).in_(cohort.provinces))
    if cohort.states:  # the enforcement state is on the line (`enf_state`, NULL: not in enforcement)
        numbers = [_STATE_NUMBERS[name] for name in cohort.states if name != "none"]
        either = [s.enf_state.in_(numbers)] if numbers else []
        if "none" in cohort.states:
            either.append(s.enf_state.is_(None))
        where.append(or_(*either))
    return source, where


def _stored(row: Any) -> StoredCampaign:
    m = row._mapping
    cohort = Cohort(**{k: tuple(v) for k, v in orjson.loads(m["cohort"]).items() if k in CRITERIA})
    definition = CampaignDefinition(
        name=m["name"], template=m["template"], lang=m["lang"], cohort=cohort,
        schedule=Schedule(_day(m["start_on"]) or date.min, parse_hours(m["hours"]), int(m["waves"])),
        rate_per_bind=int(m["rate_per_bind"]), binds=int(m["binds"]),
    )  # fmt: skip
    return StoredCampaign(
        id=int(m["id"]), definition=definition, state=CampaignState(m["state"]), wave=int(m["wave"]),
        wave_finished_on=_day(m["wave_finished_on"]), cursor=int(m["cursor"]), rate_clock=_utc(m["rate_clock"]),
        created_by=m["created_by"], created_at=_utc(m["created_at"]) or datetime.min.replace(tzinfo=UTC),
        updated_at=_utc(m["updated_at"]) or datetime.min.replace(tzinfo=UTC), started_at=_utc(m["started_at"]),
        finished_at=_utc(m["finished_at"]),
    )  # fmt: skip


class SqlCampaignRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, definition: CampaignDefinition, *, created_by: str, now: datetime) -> int:
        d, at = definition, now.astimezone(UTC)
        row = {
            "name": d.name, "template": d.template, "lang": d.lang, "cohort": orjson.dumps(d.cohort.as_dict()).decode(),
            "start_on": d.schedule.start_on, "hours": d.schedule.hours.text, "waves": d.schedule.waves,
            "rate_per_bind": d.rate_per_bind, "binds": d.binds, "state": str(CampaignState.DRAFT), "wave": 0,
            "cursor": 0, "created_by": created_by, "created_at": at, "updated_at": at,
        }  # fmt: skip
        return int(self._c.execute(insert(campaigns).returning(c.id), row).scalar_one())

    def get(self, campaign_id: int, *, lock: bool = False) -> StoredCampaign | None:
        stmt = select(campaigns).where(c.id == campaign_id)
        if lock and self._c.dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # SQLite: the caller's transaction already holds the write lock
        row = self._c.execute(stmt).first()
        return None if row is None else _stored(row)

    def by_name(self, name: str) -> StoredCampaign | None:
        row = self._c.execute(select(campaigns).where(c.name == name)).first()
        return None if row is None else _stored(row)

    def recent(self, *, limit: int) -> list[StoredCampaign]:
        return [_stored(r) for r in self._c.execute(select(campaigns).order_by(c.id.desc()).limit(limit))]

    def running(self) -> list[int]:
        stmt = select(c.id).where(c.state == str(CampaignState.RUNNING)).order_by(c.id)
        return [int(i) for i in self._c.execute(stmt).scalars()]

    def update(self, campaign_id: int, values: Mapping[str, Any]) -> None:
        row = {k: (v.astimezone(UTC) if isinstance(v, datetime) else v) for k, v in values.items()}
        self._c.execute(update(campaigns).where(c.id == campaign_id).values(row))

    def cohort_size(self, cohort: Cohort, *, missing_mask: int, after: int = 0) -> int:
        source, where = _cohort(cohort, missing_mask)
        stmt = select(func.count()).select_from(source).where(*where, s.id > after)
        return int(self._c.execute(stmt).scalar_one())

    def sample(self, cohort: Cohort, *, missing_mask: int, limit: int) -> list[int]:
        source, where = _cohort(cohort, missing_mask)
        stmt = select(s.msisdn).select_from(source).where(*where).order_by(s.id).limit(limit)
        return [int(m) for m in self._c.execute(stmt).scalars()]

    def enqueue(
        self, campaign_id: int, *, wave: int, cohort: Cohort, missing_mask: int, after: int, limit: int,
        message: PreparedText, now: datetime,
    ) -> Queued:  # fmt: skip
        at = now.astimezone(UTC)
        stamp = literal(at, DateTime(timezone=True))
        source, where = _cohort(cohort, missing_mask)
        already = exists().where(cs.campaign_id == campaign_id, cs.wave == wave, cs.subscription_id == s.id)
        lines = (
            select(literal(campaign_id, Integer), literal(wave, SmallInteger), s.id, stamp)
            .select_from(source)
            .where(*where, s.id > after, not_(already))
            .order_by(s.id)
            .limit(limit)
        )
        cols = ["campaign_id", "wave", "subscription_id", "created_at"]
        written = self._c.execute(insert(campaign_sends).from_select(cols, lines).returning(cs.subscription_id))
        queued = [int(i) for i in written.scalars()]
        if not queued:
            return Queued(0, None)
        # The records just written: this wave's above the cursor (the campaign row is locked, so no other tick
        # writes any) that have no message yet (so even a wrong cursor could not give a record two messages).
        mine = and_(cs.campaign_id == campaign_id, cs.wave == wave, cs.subscription_id > after)
        unsent = not_(exists().where(o.campaign_send_id == cs.id))
        sealed = message.sealed
        rows = select(
            literal("campaign", String), literal(_PRIORITY, SmallInteger), s.msisdn, literal(message.sender, String),
            literal(message.encoding, String), literal(message.part_count, SmallInteger), literal("pending", String),
            literal(0, Integer), stamp, literal(sealed["kek_id"], Integer),
            literal(sealed["wrapped_dek"], LargeBinary), literal(sealed["payload"], LargeBinary),
            stamp, cs.id,
        ).select_from(campaign_sends.join(subs, s.id == cs.subscription_id)).where(mine, unsent)  # fmt: skip
        self._c.execute(
            insert(sms_outbox).from_select(
                ["kind", "priority", "recipient", "sender", "encoding", "part_count", "state", "attempts",
                 "next_attempt_at", "kek_id", "wrapped_dek", "payload", "created_at", "campaign_send_id"],
                rows,
            )
        )  # fmt: skip
        return Queued(len(queued), max(queued))

    def backlog(self, campaign_id: int) -> int:
        stmt = (
            select(func.count())
            .select_from(sms_outbox.join(campaign_sends, cs.id == o.campaign_send_id))
            .where(o.state.in_(("pending", "sending")), o.priority == _PRIORITY, cs.campaign_id == campaign_id)
        )
        return int(self._c.execute(stmt).scalar_one())

    def progress(self, campaign_id: int) -> list[WaveCount]:
        stmt = (
            select(cs.wave, o.state, func.count())
            .select_from(campaign_sends.join(sms_outbox, o.campaign_send_id == cs.id))
            .where(cs.campaign_id == campaign_id)
            .group_by(cs.wave, o.state)
            .order_by(cs.wave, o.state)
        )
        return [WaveCount(int(w), str(st), int(n)) for w, st, n in self._c.execute(stmt)]
