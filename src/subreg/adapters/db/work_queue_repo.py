"""The back-office work queue (`backoffice_items`) and the provenance of filled values (`field_provenance`).

Filling is one INSERT ... SELECT over the clear compliance columns (nothing decrypted). Claiming is one
UPDATE of the oldest-deadline free item: on PostgreSQL its row is picked with `FOR UPDATE SKIP LOCKED`, so
20 staff asking at once lock 20 different rows without waiting on each other; on SQLite the unit of work is
the single writer (`lock_for_write` first), and the UPDATE's own WHERE (still free) decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, insert, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from subreg.adapters.db.tables import backoffice_items, documents, field_provenance, subscriptions
from subreg.services.backoffice.work_ports import FillPlan, QueueCounts, WorkItem

__all__ = ["SqlWorkQueueRepository"]

_items = backoffice_items


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (stored as UTC).
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _item(row: Any) -> WorkItem:
    m = row._mapping
    missing = tuple(p for p in (m["missing"] or "").split(",") if p)
    deadline = m["deadline"]
    if isinstance(deadline, str):
        deadline = date.fromisoformat(deadline)
    return WorkItem(
        id=int(m["id"]), subscription_id=int(m["subscription_id"]), missing=missing, deadline=deadline,
        state=m["state"], version_seen=int(m["version_seen"]), claimed_by=m["claimed_by"],
        claimed_until=_aware(m["claimed_until"]), outcome=m["outcome"], done_by=m["done_by"],
        done_at=_aware(m["done_at"]),
    )  # fmt: skip


class SqlWorkQueueRepository:
    """`services.backoffice.work_ports.WorkQueueRepository` on SQLAlchemy Core (SQLite and PostgreSQL)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    @property
    def _sqlite(self) -> bool:
        return self._c.dialect.name == "sqlite"

    def _plus_days(self, column: Any, days: int) -> ColumnElement[Any]:
        if self._sqlite:
            return func.date(column, f"+{int(days)} days")
        return column + literal(int(days))  # date + integer is a date in PostgreSQL

    def _deadline(self, plan: FillPlan) -> ColumnElement[Any]:
        s = subscriptions.c
        whens = []
        for rule in plan.deadlines:
            due = self._plus_days(s.enf_step_on, rule.after_days)
            if rule.on_date is not None:
                on = literal(rule.on_date, type_=_items.c.deadline.type)
                due = case((due < on, on), else_=due)
            whens.append((s.enf_state == rule.state, due))
        default = literal(plan.default_deadline, type_=_items.c.deadline.type)
        return case(*whens, else_=default) if whens else default

    def fill(self, plan: FillPlan, *, now: datetime) -> int:
        """Queue every selected line without an open item (or an item skipped at the line's current version)."""
        s = subscriptions.c
        i = _items.alias("held")
        d = documents.alias("scan")
        scans = exists().where(d.c.subscription_id == s.id, d.c.kind.in_(plan.scan_kinds), d.c.blob_key.is_not(None))
        queued = exists().where(
            i.c.subscription_id == s.id,
            or_(i.c.state == "open", and_(i.c.state == "skipped", i.c.version_seen == s.version)),
        )
        chosen = select(
            s.id,
            s.missing,
            self._deadline(plan),
            literal("open"),
            s.version,
            literal(_utc(now), type_=_items.c.created_at.type),
        ).where(
            s.complete.is_(False),
            s.error_codes == "",
            s.status != "terminated",
            s.missing_mask.is_not(None),
            s.missing_mask != 0,
            s.missing_mask.op("&")(plan.unreadable_mask) == 0,
            scans,
            ~queued,
        )
        stmt = insert(_items).from_select(
            ["subscription_id", "missing", "deadline", "state", "version_seen", "created_at"], chosen
        )
        if self._sqlite:
            return int(self._c.execute(stmt).rowcount or 0)
        # psycopg reports no row count for INSERT ... SELECT here: count the rows the CTE returns instead.
        inserted = stmt.returning(_items.c.id).cte("inserted")
        return int(self._c.execute(select(func.count()).select_from(inserted)).scalar_one())

    def _free(self, now: datetime, staff_id: int) -> ColumnElement[bool]:
        c = _items.c
        return and_(
            c.state == "open",
            or_(c.claimed_until.is_(None), c.claimed_until < _utc(now), c.claimed_by == staff_id),
        )

    def claim_next(self, staff_id: int, *, now: datetime, until: datetime) -> WorkItem | None:
        """Lease the oldest-deadline item that is free (or already the caller's) to `staff_id` (one statement).

        The pick walks the (state, deadline, id) index in order and stops at the first such row: the rows held by
        others that it steps over are the few at the head of the queue (one per member of staff at work).
        Deadlines are never NULL (`fill` gives every item one), so the index order is the queue's order.
        """
        c = _items.c
        pick = select(c.id).where(self._free(now, staff_id)).order_by(c.state, c.deadline, c.id).limit(1)
        if not self._sqlite:
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(_items)
            .where(c.id == pick.scalar_subquery(), self._free(now, staff_id))
            .values(claimed_by=staff_id, claimed_until=_utc(until))
            .returning(*_items.c)
        )
        row = self._c.execute(stmt).first()
        return None if row is None else _item(row)

    def get(self, item_id: int) -> WorkItem | None:
        """One item by id."""
        row = self._c.execute(select(_items).where(_items.c.id == item_id)).first()
        return None if row is None else _item(row)

    def finish(self, item_id: int, *, staff_id: int, state: str, outcome: str, now: datetime) -> bool:
        """Close an item the caller holds; False when it is not theirs (any more) or not open."""
        c = _items.c
        stmt = (
            update(_items)
            .where(c.id == item_id, c.state == "open", c.claimed_by == staff_id)
            .values(state=state, outcome=outcome, done_by=staff_id, done_at=_utc(now), claimed_until=None)
        )
        return bool(self._c.execute(stmt).rowcount)

    def add_provenance(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append provenance rows."""
        if rows:
            self._c.execute(insert(field_provenance), [dict(r) for r in rows])

    def counts(self, *, now: datetime) -> QueueCounts:
        """Open (held now), done, skipped."""
        c = _items.c
        held = case((and_(c.state == "open", c.claimed_until >= _utc(now)), 1), else_=0)
        stmt = select(c.state, func.count(), func.sum(held)).group_by(c.state)
        by_state = {row[0]: (int(row[1]), int(row[2] or 0)) for row in self._c.execute(stmt)}
        return QueueCounts(
            open=by_state.get("open", (0, 0))[0], held=by_state.get("open", (0, 0))[1],
            done=by_state.get("done", (0, 0))[0], skipped=by_state.get("skipped", (0, 0))[0],
        )  # fmt: skip
