"""The supervisor review queue in SQL: items, their lease, and the facts the counter flags from.

Claiming the next item: on PostgreSQL the oldest claimable row is selected `FOR UPDATE SKIP LOCKED` (two
supervisors claiming at once get different rows, neither waits), then leased; on SQLite the writer holds the
database (the use case declares itself a writer first) and the lease is a conditional UPDATE (`state =
'pending'` and no live lease), so a row leased meanwhile is skipped. Either way the lease is the UPDATE's
`claimed_by` / `claimed_until`, and a decision is a conditional UPDATE on the holder of the lease.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, insert, or_, select, update
from sqlalchemy.engine import Row

from subreg.adapters.db.tables import auth_sessions, review_items, staff, subscriptions
from subreg.services.backoffice.review_ports import ReviewItemRow

__all__ = ["SqlReviewRepository"]

_CANDIDATES = 8  # rows tried per claim on SQLite before giving up (each one was leased meanwhile)
_ITEM = review_items.c


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(r: Row[Any]) -> ReviewItemRow:
    m = r._mapping
    return ReviewItemRow(
        id=int(m["id"]), subscription_id=int(m["subscription_id"]), kind=m["kind"],
        flags=tuple(f for f in (m["flags"] or "").split(",") if f), state=m["state"],
        version_seen=int(m["version_seen"]), point_of_sale_id=m["point_of_sale_id"], submitted_by=m["submitted_by"],
        claimed_by=m["claimed_by"], claimed_until=_utc(m["claimed_until"]), decision=m["decision"],
        reason=m["reason"], note=m["note"], decided_by=m["decided_by"], decided_at=_utc(m["decided_at"]),
        created_at=_utc(m["created_at"]),
    )  # fmt: skip


class SqlReviewRepository:
    """`services.backoffice.review_ports.ReviewRepository` on SQLite and PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def submit(
        self,
        *,
        subscription_id: int,
        kind: str,
        flags: str,
        version: int,
        point_of_sale_id: int | None,
        submitted_by: int | None,
        now: datetime,
    ) -> int:
        pending = self._c.execute(
            select(_ITEM.id, _ITEM.flags)
            .where(_ITEM.subscription_id == subscription_id, _ITEM.state == "pending")
            .order_by(_ITEM.id)
            .limit(1)
        ).first()
        if pending is not None:
            ordered = ",".join(f for f in dict.fromkeys([*(pending[1] or "").split(","), *flags.split(",")]) if f)
            self._c.execute(
                update(review_items)
                .where(_ITEM.id == pending[0])
                .values(
                    flags=ordered, version_seen=version, submitted_by=submitted_by, point_of_sale_id=point_of_sale_id
                )
            )
            return int(pending[0])
        stmt = (
            insert(review_items)
            .values(
                subscription_id=subscription_id,
                kind=kind,
                flags=flags,
                state="pending",
                version_seen=version,
                point_of_sale_id=point_of_sale_id,
                submitted_by=submitted_by,
                created_at=now.astimezone(UTC),
            )
            .returning(_ITEM.id)
        )
        return int(self._c.execute(stmt).scalar_one())

    def get(self, item_id: int) -> ReviewItemRow | None:
        r = self._c.execute(select(review_items).where(_ITEM.id == item_id)).first()
        return _row(r) if r is not None else None

    def held_by(self, staff_id: int, *, now: datetime) -> ReviewItemRow | None:
        r = self._c.execute(
            select(review_items)
            .where(_ITEM.state == "pending", _ITEM.claimed_by == staff_id, _ITEM.claimed_until > now.astimezone(UTC))
            .order_by(_ITEM.created_at, _ITEM.id)
            .limit(1)
        ).first()
        return _row(r) if r is not None else None

    def claim_next(
        self, staff_id: int, *, now: datetime, until: datetime, exclude_pos: int | None
    ) -> ReviewItemRow | None:
        now_utc = now.astimezone(UTC)
        free = or_(_ITEM.claimed_until.is_(None), _ITEM.claimed_until <= now_utc)
        where = [
            _ITEM.state == "pending",
            free,
            or_(_ITEM.submitted_by.is_(None), _ITEM.submitted_by != staff_id),
        ]
        if exclude_pos is not None:
            where.append(or_(_ITEM.point_of_sale_id.is_(None), _ITEM.point_of_sale_id != exclude_pos))
        oldest = select(_ITEM.id).where(*where).order_by(_ITEM.created_at, _ITEM.id)
        postgres = self._c.dialect.name == "postgresql"
        if postgres:
            ids = list(self._c.execute(oldest.limit(1).with_for_update(skip_locked=True)).scalars())
        else:
            ids = list(self._c.execute(oldest.limit(_CANDIDATES)).scalars())
        for item_id in ids:
            done = self._c.execute(
                update(review_items)
                .where(_ITEM.id == item_id, _ITEM.state == "pending", free)
                .values(claimed_by=staff_id, claimed_until=until.astimezone(UTC))
            )
            if done.rowcount == 1:
                return self.get(int(item_id))
        return None

    def decide(
        self, item_id: int, *, staff_id: int, decision: str, reason: str, note: str | None, now: datetime
    ) -> bool:
        done = self._c.execute(
            update(review_items)
            .where(_ITEM.id == item_id, _ITEM.state == "pending", _ITEM.claimed_by == staff_id)
            .values(
                state="decided",
                decision=decision,
                reason=reason,
                note=note,
                decided_by=staff_id,
                decided_at=now.astimezone(UTC),
                claimed_until=None,
            )
        )
        return done.rowcount == 1

    def latest_for(self, subscription_id: int) -> ReviewItemRow | None:
        r = self._c.execute(
            select(review_items).where(_ITEM.subscription_id == subscription_id).order_by(_ITEM.id.desc()).limit(1)
        ).first()
        return _row(r) if r is not None else None

    def latest_verdict(self, subscription_id: int) -> ReviewItemRow | None:
        r = self._c.execute(
            select(review_items)
            .where(
                _ITEM.subscription_id == subscription_id,
                _ITEM.state == "decided",
                _ITEM.decision.in_(("approved", "rejected")),
            )
            .order_by(_ITEM.decided_at.desc(), _ITEM.id.desc())
            .limit(1)
        ).first()
        return _row(r) if r is not None else None

    def pending_count(self) -> int:
        return int(self._c.execute(select(func.count()).where(_ITEM.state == "pending")).scalar_one())

    def list_pending(self, *, limit: int) -> list[ReviewItemRow]:
        q = select(review_items).where(_ITEM.state == "pending").order_by(_ITEM.created_at, _ITEM.id).limit(limit)
        return [_row(r) for r in self._c.execute(q)]

    def other_store_active(self, point_of_sale_id: int | None, *, since: datetime, now: datetime) -> bool:
        st, a = staff.c, auth_sessions.c
        since_utc, now_utc = since.astimezone(UTC), now.astimezone(UTC)
        open_session = exists().where(
            a.staff_id == st.id, a.revoked_at.is_(None), a.expires_at > now_utc,
            func.coalesce(a.last_seen_at, a.created_at) >= since_utc,
        )  # fmt: skip
        where = [st.role == "supervisor", st.active, st.point_of_sale_id.is_not(None),
                 or_(st.last_login_at >= since_utc, open_session)]  # fmt: skip
        if point_of_sale_id is not None:
            where.append(st.point_of_sale_id != point_of_sale_id)
        return self._c.execute(select(st.id).where(and_(*where)).limit(1)).first() is not None

    def person_activity(self, person_key: bytes, *, day: date) -> tuple[int, int]:
        s = subscriptions.c
        today = case((s.activated_on == day, s.point_of_sale_id), else_=None)
        r = self._c.execute(
            select(func.count(), func.count(func.distinct(today))).where(
                s.person_key == person_key, s.status != "terminated"
            )
        ).one()
        return int(r[0]), int(r[1])

    def line_version(self, subscription_id: int) -> int | None:
        v = self._c.execute(select(subscriptions.c.version).where(subscriptions.c.id == subscription_id)).first()
        return int(v[0]) if v is not None else None
