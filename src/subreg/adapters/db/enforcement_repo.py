# ruff: noqa: S608 - the SQL below is built from this module's constants; every value is a bound parameter.
"""Enforcement in SQL: a day's sweep over the whole base as a handful of set-based statements.

`plan` writes every line's move for the day into a temporary table (`enf_moves`, one row per line at
most: the states are disjoint, so one line matches one predicate); `counts` groups it; `apply` carries
it out with one statement per table (history, state, line status, network orders, notices). A dry run
plans and counts, then the caller rolls back: it answers exactly what the real run would do.
The predicates are `domain.enforcement.machine.advance` written as date comparisons (`sweep_plan`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Date, DateTime, bindparam, text, update
from sqlalchemy.sql.elements import TextClause

from subreg.adapters.db.tables import enforcement_recheck, network_orders
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.enforcement.machine import EnforcementState, LineEnforcement, SweepPlan
from subreg.services.enforcement.ports import NetworkOrder, PreparedNotice, StepCount

__all__ = ["SqlEnforcementRepository", "SqlOrderRepository"]

_DATES = ("as_of", "cutoff")


def _sql(sql: str) -> TextClause:
    """A statement whose date and time parameters are typed (SQLite stores them as ISO text)."""
    stmt = text(sql)
    names = set(stmt._bindparams)
    typed = [bindparam(n, type_=Date()) for n in _DATES if n in names]
    typed += [bindparam(n, type_=DateTime(timezone=True)) for n in ("now",) if n in names]
    return stmt.bindparams(*typed) if typed else stmt


_MOVES_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS enf_moves (subscription_id BIGINT PRIMARY KEY, action VARCHAR(16) NOT NULL, "
    "province VARCHAR(8) NOT NULL, state SMALLINT)"
)
_RECHECKS_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS enf_rechecks (subscription_id BIGINT PRIMARY KEY, channel VARCHAR(24) NOT NULL)"
)
_PROVINCE = "coalesce(p.province_code, 'unknown')"
_LINE = (
    "FROM enforcement e JOIN subscriptions s ON s.id = e.subscription_id "
    "LEFT JOIN points_of_sale p ON p.id = s.point_of_sale_id "
)
_INCOMPLETE = "(s.verdict <> 0 OR s.contract_needed)"
_COMPLETE = "(s.verdict = 0 AND NOT coalesce(s.contract_needed, false))"
_NOT_HELD = "NOT EXISTS (SELECT 1 FROM holders h WHERE h.id = s.holder_id AND h.restricted)"
_LIVE_STATES = f"e.state < {int(EnforcementState.TERMINATED)}"

_RESTORE = _sql(
    f"INSERT INTO enf_moves SELECT e.subscription_id, 'restore', {_PROVINCE}, e.state {_LINE}"
    f"WHERE {_LIVE_STATES} AND {_COMPLETE}"
)
_RESTORE_RECHECKS = _sql(
    f"INSERT INTO enf_moves SELECT e.subscription_id, 'restore', {_PROVINCE}, e.state {_LINE}"
    f"JOIN enf_rechecks r ON r.subscription_id = e.subscription_id WHERE {_LIVE_STATES} AND {_COMPLETE}"
)
_LOCK = _sql(
    f"INSERT INTO enf_moves SELECT e.subscription_id, :action, {_PROVINCE}, e.state {_LINE}"
    f"WHERE e.state = :from_state AND e.step_on <= :cutoff AND e.notices >= :notices AND {_INCOMPLETE} "
    f"AND {_NOT_HELD}"
)
_RENOTIFY = _sql(
    f"INSERT INTO enf_moves SELECT e.subscription_id, 'renotify', {_PROVINCE}, e.state {_LINE}"
    f"WHERE e.state = {int(EnforcementState.NOTIFIED)} AND e.notices < :notices "
    f"AND coalesce(e.last_notice_on, e.step_on) <= :cutoff AND {_INCOMPLETE} AND {_NOT_HELD}"
)
_NOTIFY = _sql(
    f"INSERT INTO enf_moves SELECT s.id, 'notify', {_PROVINCE}, NULL FROM subscriptions s "
    "LEFT JOIN points_of_sale p ON p.id = s.point_of_sale_id "
    f"WHERE s.status = 'active' AND {_INCOMPLETE} "
    "AND NOT EXISTS (SELECT 1 FROM enforcement e WHERE e.subscription_id = s.id) "
    f"AND {_NOT_HELD}"
)
_COUNTS = "SELECT action, province, count(*) FROM enf_moves GROUP BY action, province ORDER BY action, province"

_LOCKS = "('lock_one_way', 'lock_two_way', 'terminate')"
_HISTORY = _sql(
    "INSERT INTO enforcement_steps (subscription_id, action, on_date, regime, province_code, channel, created_at) "
    "SELECT m.subscription_id, m.action, :as_of, :regime, m.province, coalesce(r.channel, :channel), :now "
    "FROM enf_moves m LEFT JOIN enf_rechecks r ON r.subscription_id = m.subscription_id"
)
_STATUS = _sql(
    "UPDATE subscriptions SET status = (SELECT CASE m.action WHEN 'lock_one_way' THEN 'one_way_locked' "
    "WHEN 'lock_two_way' THEN 'two_way_locked' WHEN 'terminate' THEN 'terminated' ELSE 'active' END "
    "FROM enf_moves m WHERE m.subscription_id = subscriptions.id), version = version + 1, updated_at = :now "
    f"WHERE id IN (SELECT subscription_id FROM enf_moves WHERE action IN {_LOCKS} "
    f"OR (action = 'restore' AND state >= {int(EnforcementState.ONE_WAY)}))"
)
# An unlock goes ahead of locks (priority 1 < 5): a subscriber who did everything is not kept waiting.
_ORDERS = _sql(
    "INSERT INTO network_orders (subscription_id, action, status, reason, created_at, priority, order_key, "
    "attempts, next_attempt_at) "
    "SELECT subscription_id, CASE action WHEN 'restore' THEN 'unlock' ELSE action END, 'queued', "
    "CASE action WHEN 'restore' THEN 'information_complete' ELSE 'information_incomplete' END, :now, "
    "CASE action WHEN 'restore' THEN 1 ELSE 5 END, "
    "'enf:' || subscription_id || ':' || action || ':' || :day, 0, :now FROM enf_moves "
    f"WHERE action IN {_LOCKS} OR (action = 'restore' AND state >= {int(EnforcementState.ONE_WAY)} "
    # the counter queues its unlock with the completion itself: not a second one
    "AND NOT EXISTS (SELECT 1 FROM network_orders q WHERE q.subscription_id = enf_moves.subscription_id "
    "AND q.action = 'unlock' AND q.status IN ('queued', 'sent')))"
)
_NOTICES = _sql(
    "INSERT INTO sms_outbox (kind, priority, recipient, sender, encoding, part_count, state, attempts, "
    "next_attempt_at, kek_id, wrapped_dek, payload, created_at) "
    "SELECT 'notice', 1, s.msisdn, :sender, :encoding, :parts, 'pending', 0, :now, :kek_id, :wrapped_dek, "
    ":payload, :now FROM enf_moves m JOIN subscriptions s ON s.id = m.subscription_id WHERE m.action = :action"
)
_STATE_STEPS = _sql(
    "UPDATE enforcement SET state = state + 1, step_on = :as_of "
    f"WHERE subscription_id IN (SELECT subscription_id FROM enf_moves WHERE action IN {_LOCKS})"
)
_STATE_RENOTIFY = _sql(
    "UPDATE enforcement SET notices = notices + 1, last_notice_on = :as_of "
    "WHERE subscription_id IN (SELECT subscription_id FROM enf_moves WHERE action = 'renotify')"
)
_STATE_NOTIFY = _sql(
    "INSERT INTO enforcement (subscription_id, regime, state, step_on, notices, last_notice_on) "
    f"SELECT subscription_id, :regime, {int(EnforcementState.NOTIFIED)}, :as_of, 1, :as_of FROM enf_moves "
    "WHERE action = 'notify'"
)
_STATE_RESTORE = (
    "DELETE FROM enforcement WHERE subscription_id IN (SELECT subscription_id FROM enf_moves WHERE action = 'restore')"
)
# The rechecks read by this plan leave the queue, including lines that needed nothing (complete but not in
# enforcement, or incomplete again); one a channel added since then waits for the next call.
_RECHECKS_DONE = "DELETE FROM enforcement_recheck WHERE subscription_id IN (SELECT subscription_id FROM enf_rechecks)"

_REQUEST_RESTORES = _sql(
    "INSERT INTO enforcement_recheck (subscription_id, channel, created_at) "
    f"SELECT e.subscription_id, :channel, :now {_LINE}WHERE {_LIVE_STATES} AND {_COMPLETE} "
    "AND NOT EXISTS (SELECT 1 FROM enforcement_recheck r WHERE r.subscription_id = e.subscription_id)"
)
_HELD = (
    "SELECT s.id, s.msisdn FROM holders h JOIN subscriptions s ON s.holder_id = h.id "
    f"WHERE h.restricted AND s.status IN ('active', 'one_way_locked', 'two_way_locked') AND {_INCOMPLETE} "
    "ORDER BY s.id"
)


class SqlEnforcementRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def plan(self, plan: SweepPlan, *, only_rechecks: bool = False) -> None:
        c = self._c
        c.exec_driver_sql(_MOVES_TABLE)
        c.exec_driver_sql(_RECHECKS_TABLE)
        c.exec_driver_sql("DELETE FROM enf_moves")
        c.exec_driver_sql("DELETE FROM enf_rechecks")
        if only_rechecks:
            c.exec_driver_sql("INSERT INTO enf_rechecks SELECT subscription_id, channel FROM enforcement_recheck")
            c.execute(_RESTORE_RECHECKS)
            return
        c.execute(_RESTORE)
        for cut in plan.locks:
            notices = plan.notices if cut.from_state is EnforcementState.NOTIFIED else 0
            c.execute(_LOCK, {"action": cut.action, "from_state": int(cut.from_state), "cutoff": cut.cutoff,
                              "notices": notices})  # fmt: skip
        c.execute(_RENOTIFY, {"notices": plan.notices, "cutoff": plan.renotify_cutoff})
        if plan.notify:
            c.execute(_NOTIFY)

    def counts(self) -> list[StepCount]:
        return [StepCount(str(a), str(p), int(n)) for a, p, n in self._c.exec_driver_sql(_COUNTS)]

    def apply(self, *, plan: SweepPlan, now: datetime, notices: Mapping[str, PreparedNotice], channel: str) -> None:
        c = self._c
        now = now.astimezone(UTC)
        day = {"as_of": plan.as_of, "now": now}
        c.execute(_HISTORY, {**day, "regime": plan.regime, "channel": channel})
        c.execute(_STATUS, {"now": now})
        c.execute(_ORDERS, {"now": now, "day": plan.as_of.isoformat()})
        for action, notice in notices.items():
            c.execute(_NOTICES, {"now": now, "action": action, "sender": notice.sender, "encoding": notice.encoding,
                                 "parts": notice.part_count, **notice.sealed})  # fmt: skip
        c.execute(_STATE_STEPS, day)
        c.execute(_STATE_RENOTIFY, day)
        c.execute(_STATE_NOTIFY, {**day, "regime": plan.regime})
        c.exec_driver_sql(_STATE_RESTORE)
        c.exec_driver_sql(_RECHECKS_DONE)
        c.exec_driver_sql("DELETE FROM enf_moves")
        c.exec_driver_sql("DELETE FROM enf_rechecks")

    def held(self, *, limit: int) -> list[tuple[int, int]]:
        rows = self._c.exec_driver_sql(f"{_HELD} LIMIT {int(limit)}")
        return [(int(i), int(m)) for i, m in rows]

    def held_count(self) -> int:
        return int(self._c.exec_driver_sql(f"SELECT count(*) FROM ({_HELD}) AS held").scalar_one())

    def line(self, subscription_id: int) -> LineEnforcement | None:
        row = self._c.execute(
            text("SELECT state, step_on, notices, last_notice_on FROM enforcement WHERE subscription_id = :id"),
            {"id": subscription_id},
        ).first()
        if row is None:
            return None
        return LineEnforcement(EnforcementState(row[0]), _day(row[1]), int(row[2]), _day(row[3]) if row[3] else None)

    def steps(self, subscription_id: int) -> list[tuple[str, date]]:
        rows = self._c.execute(
            text("SELECT action, on_date FROM enforcement_steps WHERE subscription_id = :id ORDER BY id"),
            {"id": subscription_id},
        )
        return [(str(a), _day(d)) for a, d in rows]

    def request_restores(self, *, channel: str, now: datetime) -> int:
        result = self._c.execute(_REQUEST_RESTORES, {"channel": channel, "now": now.astimezone(UTC)})
        return int(result.rowcount or 0)

    def request_restore(self, subscription_id: int, *, channel: str, now: datetime) -> None:
        exists = self._c.execute(
            text("SELECT 1 FROM enforcement_recheck WHERE subscription_id = :id"), {"id": subscription_id}
        ).first()
        if exists is None:
            self._c.execute(
                enforcement_recheck.insert().values(
                    subscription_id=subscription_id, channel=channel, created_at=now.astimezone(UTC)
                )
            )


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


_CLAIM = (
    "SELECT o.id, o.order_key, o.subscription_id, o.action, o.attempts, s.msisdn FROM network_orders o "
    "JOIN subscriptions s ON s.id = o.subscription_id "
    "WHERE o.status IN ('queued', 'sent') AND coalesce(o.next_attempt_at, o.created_at) <= :now "
    "ORDER BY o.priority, o.id LIMIT :limit"
)


class SqlOrderRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def claim(self, *, now: datetime, lease_until: datetime, limit: int) -> list[NetworkOrder]:
        sql = _CLAIM + (" FOR UPDATE OF o SKIP LOCKED" if self._c.dialect.name == "postgresql" else "")
        rows = list(self._c.execute(_sql(sql), {"now": now.astimezone(UTC), "limit": limit}))
        if not rows:
            return []
        o = network_orders.c
        self._c.execute(
            update(network_orders)
            .where(o.id.in_(bindparam("ids", expanding=True)))
            .values(status="sent", next_attempt_at=lease_until.astimezone(UTC)),
            {"ids": [r[0] for r in rows]},
        )
        return [
            NetworkOrder(
                id=int(r[0]),
                key=r[1] or f"order:{r[0]}",
                msisdn=msisdn_from_key(int(r[5])).lstrip("+"),
                action=r[3],
                attempts=int(r[4]),
                line=int(r[2]),
            )
            for r in rows
        ]

    def settle(self, order_id: int, values: Mapping[str, Any]) -> None:
        row = {k: (v.astimezone(UTC) if isinstance(v, datetime) else v) for k, v in values.items()}
        self._c.execute(update(network_orders).where(network_orders.c.id == order_id).values(row))

    def failed(self, *, limit: int) -> list[Mapping[str, Any]]:
        o = network_orders.c
        stmt = (
            network_orders.select()
            .with_only_columns(
                o.id, o.subscription_id, o.action, o.attempts, o.last_error, o.processed_at, o.provisioner, o.created_at
            )
            .where(o.status == "failed")
            .order_by(o.id.desc())
            .limit(limit)
        )
        return [dict(r._mapping) for r in self._c.execute(stmt)]

    def retry(self, order_ids: Sequence[int], *, now: datetime) -> int:
        o = network_orders.c
        result = self._c.execute(
            update(network_orders)
            .where(o.id.in_(bindparam("ids", expanding=True)), o.status == "failed")
            .values(status="queued", attempts=0, next_attempt_at=now.astimezone(UTC), last_error=None),
            {"ids": list(order_ids)},
        )
        return int(result.rowcount or 0)
