# ruff: noqa: S608 - the SQL below is built from this module's constants; every value is a bound parameter.
"""Enforcement in SQL: a day's sweep over the whole base as a handful of set-based statements.

`plan` decides every line's move for the day in ONE pass over `subscriptions` (the state is on the line,
`enf_*`): a CASE over the line's state, completeness and dates (`domain.enforcement.machine.advance` as date
comparisons, `sweep_plan`) writes the lines that move into a temporary table (`enf_moves`); the lines of holders
who restricted processing are then taken out (held: restored, never moved on; found through a small partial
index). `counts` groups the moves; `apply` carries them out with one statement per table (history, the line,
network orders, notices). A dry run plans and counts, then the caller rolls back: it answers exactly what the
real run would do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Date, DateTime, bindparam, text, update
from sqlalchemy.sql.elements import TextClause

from subreg.adapters.db.tables import network_orders
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.enforcement.machine import EnforcementState, SweepPlan
from subreg.services.enforcement.ports import NetworkOrder, PreparedNotice, StepCount

__all__ = ["SqlEnforcementRepository", "SqlOrderRepository"]

_DATES = ("as_of", "one_way", "two_way", "terminate", "renotify")
_NEVER = date(1, 1, 1)  # the cut-off of a step that may not happen today (a fixed date not reached yet)


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
_INCOMPLETE = "(s.verdict <> 0 OR s.contract_needed)"
_COMPLETE = "(s.verdict = 0 AND NOT coalesce(s.contract_needed, false))"
_NOTIFIED, _ONE_WAY, _TWO_WAY, _TERMINATED = (int(s) for s in EnforcementState)
_PROVINCE = "coalesce((SELECT p.province_code FROM points_of_sale p WHERE p.id = m.point_of_sale_id), 'unknown')"
# Every line's move, from its own row only. The WHERE keeps the lines that can move at all (in enforcement, or
# live and incomplete) so that the CASE runs on those only; restoration comes first (a completed line leaves).
_PLAN = _sql(
    f"INSERT INTO enf_moves SELECT m.id, m.action, {_PROVINCE}, m.enf_state FROM (SELECT s.id, s.point_of_sale_id, "
    "s.enf_state, CASE "
    f"WHEN s.enf_state < {_TERMINATED} AND {_COMPLETE} THEN 'restore' "
    f"WHEN s.enf_state = {_NOTIFIED} AND s.enf_notices >= :notices AND s.enf_step_on <= :one_way "
    f"AND {_INCOMPLETE} THEN 'lock_one_way' "
    f"WHEN s.enf_state = {_ONE_WAY} AND s.enf_step_on <= :two_way AND {_INCOMPLETE} THEN 'lock_two_way' "
    f"WHEN s.enf_state = {_TWO_WAY} AND s.enf_step_on <= :terminate AND {_INCOMPLETE} THEN 'terminate' "
    f"WHEN s.enf_state = {_NOTIFIED} AND s.enf_notices < :notices AND s.enf_last_notice_on <= :renotify "
    f"AND {_INCOMPLETE} THEN 'renotify' "
    f"WHEN s.enf_state IS NULL AND :notify = 1 AND s.status = 'active' AND {_INCOMPLETE} THEN 'notify' "
    f"END AS action FROM subscriptions s WHERE s.enf_state IS NOT NULL OR (s.status = 'active' AND {_INCOMPLETE})"
    ") AS m WHERE m.action IS NOT NULL"
)
_PLAN_RECHECKS = _sql(
    f"INSERT INTO enf_moves SELECT s.id, 'restore', coalesce(p.province_code, 'unknown'), s.enf_state "
    "FROM enf_rechecks r JOIN subscriptions s ON s.id = r.subscription_id "
    "LEFT JOIN points_of_sale p ON p.id = s.point_of_sale_id "
    f"WHERE s.enf_state < {_TERMINATED} AND {_COMPLETE}"
)
# Held lines (a holder who restricted processing) keep their state: only a restoration goes through.
_HELD_MOVES = (
    "DELETE FROM enf_moves WHERE action <> 'restore' AND subscription_id IN (SELECT s.id FROM holders h "
    "JOIN subscriptions s ON s.holder_id = h.id WHERE h.restricted)"
)
_COUNTS = "SELECT action, province, count(*) FROM enf_moves GROUP BY action, province ORDER BY action, province"

_LOCKS = "('lock_one_way', 'lock_two_way', 'terminate')"
_HISTORY = _sql(
    "INSERT INTO enforcement_steps (subscription_id, action, on_date, regime, province_code, channel, created_at) "
    "SELECT m.subscription_id, m.action, :as_of, :regime, m.province, coalesce(r.channel, :channel), :now "
    "FROM enf_moves m LEFT JOIN enf_rechecks r ON r.subscription_id = m.subscription_id"
)
# One UPDATE per kind of move; the line's status follows its state (the counter gate and 1414 read it).
_STEP = _sql(
    "UPDATE subscriptions SET enf_state = enf_state + 1, enf_step_on = :as_of, status = CASE enf_state "
    f"WHEN {_NOTIFIED} THEN 'one_way_locked' WHEN {_ONE_WAY} THEN 'two_way_locked' ELSE 'terminated' END, "
    "version = version + 1, updated_at = :now "
    f"WHERE id IN (SELECT subscription_id FROM enf_moves WHERE action IN {_LOCKS})"
)
_RENOTIFY = _sql(
    "UPDATE subscriptions SET enf_notices = enf_notices + 1, enf_last_notice_on = :as_of "
    "WHERE id IN (SELECT subscription_id FROM enf_moves WHERE action = 'renotify')"
)
_NOTIFY = _sql(
    f"UPDATE subscriptions SET enf_state = {_NOTIFIED}, enf_step_on = :as_of, enf_notices = 1, "
    "enf_last_notice_on = :as_of, enf_regime = :regime "
    "WHERE id IN (SELECT subscription_id FROM enf_moves WHERE action = 'notify')"
)
_RESTORE = _sql(
    "UPDATE subscriptions SET enf_state = NULL, enf_step_on = NULL, enf_notices = NULL, enf_last_notice_on = NULL, "
    f"enf_regime = NULL, status = CASE WHEN enf_state >= {_ONE_WAY} THEN 'active' ELSE status END, "
    "version = version + 1, updated_at = :now "
    "WHERE id IN (SELECT subscription_id FROM enf_moves WHERE action = 'restore')"
)
# An unlock goes ahead of locks (priority 1 < 5): a subscriber who did everything is not kept waiting.
_ORDERS = _sql(
    "INSERT INTO network_orders (subscription_id, action, status, reason, created_at, priority, order_key, "
    "attempts, next_attempt_at) "
    "SELECT subscription_id, CASE action WHEN 'restore' THEN 'unlock' ELSE action END, 'queued', "
    "CASE action WHEN 'restore' THEN 'information_complete' ELSE 'information_incomplete' END, :now, "
    "CASE action WHEN 'restore' THEN 1 ELSE 5 END, "
    "'enf:' || subscription_id || ':' || action || ':' || :day, 0, :now FROM enf_moves "
    f"WHERE action IN {_LOCKS} OR (action = 'restore' AND state >= {_ONE_WAY} "
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
# The rechecks read by this plan leave the queue, including lines that needed nothing (complete but not in
# enforcement, or incomplete again); one a channel added since then waits for the next call.
_RECHECKS_DONE = "DELETE FROM enforcement_recheck WHERE subscription_id IN (SELECT subscription_id FROM enf_rechecks)"
_REQUEST_RESTORES = _sql(
    "INSERT INTO enforcement_recheck (subscription_id, channel, created_at) "
    f"SELECT s.id, :channel, :now FROM subscriptions s WHERE s.enf_state < {_TERMINATED} AND {_COMPLETE} "
    "AND NOT EXISTS (SELECT 1 FROM enforcement_recheck r WHERE r.subscription_id = s.id)"
)
# Few holders restrict processing: found through the partial index on `holders.restricted`, then their lines by
# holder (no ORDER BY here: SQLite would walk `subscriptions` in id order to honour it).
_HELD = (
    "SELECT s.id, s.msisdn FROM holders h JOIN subscriptions s ON s.holder_id = h.id "
    f"WHERE h.restricted AND s.status IN ('active', 'one_way_locked', 'two_way_locked') AND {_INCOMPLETE}"
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
            c.execute(_PLAN_RECHECKS)
            return
        cuts = {cut.action: cut.cutoff for cut in plan.locks}
        c.execute(_PLAN, {
            "notices": plan.notices, "renotify": plan.renotify_cutoff, "notify": int(plan.notify),
            "one_way": cuts.get("lock_one_way", _NEVER), "two_way": cuts.get("lock_two_way", _NEVER),
            "terminate": cuts.get("terminate", _NEVER),
        })  # fmt: skip
        c.exec_driver_sql(_HELD_MOVES)

    def counts(self) -> list[StepCount]:
        return [StepCount(str(a), str(p), int(n)) for a, p, n in self._c.exec_driver_sql(_COUNTS)]

    def apply(self, *, plan: SweepPlan, now: datetime, notices: Mapping[str, PreparedNotice], channel: str) -> None:
        c = self._c
        now = now.astimezone(UTC)
        day = {"as_of": plan.as_of, "now": now}
        c.execute(_HISTORY, {**day, "regime": plan.regime, "channel": channel})
        c.execute(_ORDERS, {"now": now, "day": plan.as_of.isoformat()})
        for action, notice in notices.items():
            c.execute(_NOTICES, {"now": now, "action": action, "sender": notice.sender, "encoding": notice.encoding,
                                 "parts": notice.part_count, **notice.sealed})  # fmt: skip
        c.execute(_STEP, day)
        c.execute(_RENOTIFY, day)
        c.execute(_NOTIFY, {**day, "regime": plan.regime})
        c.execute(_RESTORE, day)
        c.exec_driver_sql(_RECHECKS_DONE)
        c.exec_driver_sql("DELETE FROM enf_moves")
        c.exec_driver_sql("DELETE FROM enf_rechecks")

    def held(self, *, limit: int) -> list[tuple[int, int]]:
        return sorted((int(i), int(m)) for i, m in self._c.exec_driver_sql(_HELD))[:limit]

    def held_count(self) -> int:
        return int(self._c.exec_driver_sql(f"SELECT count(*) FROM ({_HELD}) AS held").scalar_one())

    def request_restores(self, *, channel: str, now: datetime) -> int:
        result = self._c.execute(_REQUEST_RESTORES, {"channel": channel, "now": now.astimezone(UTC)})
        return int(result.rowcount or 0)


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
