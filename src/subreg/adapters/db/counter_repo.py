"""SQL repository: Point of sale: serving visits, counter transactions, bill payments, network orders.

None of these tables holds personal data: subscriptions are named by their integer MSISDN key and
staff and points of sale by id. Times are passed in as timezone-aware UTC values (SQLite stores them
as text without the offset, so all of them must be UTC for comparisons to hold).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select

from subreg.adapters.db.tables import (
    bill_payments,
    counter_transactions,
    enforcement_recheck,
    enforcement_steps,
    network_orders,
    points_of_sale,
    serving_visits,
    subscriptions,
)
from subreg.domain.enforcement.machine import EnforcementState, LineEnforcement
from subreg.services.counter.ports import CounterTransactionRow, NetworkOrderRow

__all__ = ["SqlCounterRepository"]

# Built once (see repositories.py: a statement keeps its cache key).
_SERVING_POS_IDS = select(serving_visits.c.point_of_sale_id).where(
    serving_visits.c.subscription_id == bindparam("key"), serving_visits.c.expires_at > bindparam("now")
)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _transaction(row: Row[Any]) -> CounterTransactionRow:
    m = row._mapping
    return CounterTransactionRow(
        id=m["id"],
        subscription_id=m["subscription_id"],
        kind=m["kind"],
        outcome=m["outcome"],
        refusal_code=m["refusal_code"],
        at=_utc(m["at"]),
        staff_id=m["staff_id"],
        point_of_sale_id=m["point_of_sale_id"],
    )


def _order(row: Row[Any]) -> NetworkOrderRow:
    m = row._mapping
    return NetworkOrderRow(
        id=m["id"],
        subscription_id=m["subscription_id"],
        action=m["action"],
        status=m["status"],
        reason=m["reason"],
        created_by_staff_id=m["created_by_staff_id"],
        priority=m["priority"],
    )


class SqlCounterRepository:
    """Point of sale: serving visits, counter transactions, bill payments, network orders."""

    def __init__(self, connection: Connection, writer_gate: Callable[[], None] | None = None) -> None:
        self._c = connection
        self._writer_gate = writer_gate

    def lock_for_write(self) -> None:
        """Make this transaction a writer now (SQLite), before it reads anything.

        SQLite's deferred BEGIN takes a read snapshot at the first SELECT; a transaction that then writes
        after another writer committed fails at once with "database is locked" (the snapshot is stale and
        the busy timeout cannot help). Writing first (an UPDATE that matches no row) takes the write lock
        up front, waiting for it under the busy timeout. PostgreSQL locks rows: nothing to do.
        """
        if self._c.dialect.name == "sqlite":
            if self._writer_gate is not None:
                self._writer_gate()
            self._c.exec_driver_sql("UPDATE serving_visits SET id = id WHERE 0")

    def open_visit(
        self,
        subscription_id: int,
        *,
        point_of_sale_id: int,
        staff_id: int | None,
        opened_at: datetime,
        expires_at: datetime,
    ) -> int:
        """Record that a point of sale serves a subscription until `expires_at`; the visit id."""
        stmt = (
            insert(serving_visits)
            .values(
                subscription_id=subscription_id,
                point_of_sale_id=point_of_sale_id,
                staff_id=staff_id,
                opened_at=_utc(opened_at),
                expires_at=_utc(expires_at),
            )
            .returning(serving_visits.c.id)
        )
        return int(self._c.execute(stmt).scalar_one())

    def serving_pos_ids(self, subscription_id: int, *, now: datetime) -> set[int]:
        """Points of sale with an unexpired serving visit for this line."""
        return {int(r[0]) for r in self._c.execute(_SERVING_POS_IDS, {"key": subscription_id, "now": _utc(now)})}

    def add_transaction(self, row: Mapping[str, Any]) -> int:
        """Record a counter transaction (done or refused); its id."""
        values = dict(row)
        if values.get("at") is not None:
            values["at"] = _utc(values["at"])
        stmt = insert(counter_transactions).values(values).returning(counter_transactions.c.id)
        return int(self._c.execute(stmt).scalar_one())

    def list_transactions(self, subscription_id: int) -> list[CounterTransactionRow]:
        """Transactions of a line, oldest first."""
        stmt = (
            select(counter_transactions)
            .where(counter_transactions.c.subscription_id == subscription_id)
            .order_by(counter_transactions.c.id)
        )
        return [_transaction(r) for r in self._c.execute(stmt)]

    def add_payment(self, row: Mapping[str, Any]) -> int:
        """Record a bill payment; its id."""
        values = dict(row)
        if values.get("paid_at") is not None:
            values["paid_at"] = _utc(values["paid_at"])
        return int(self._c.execute(insert(bill_payments).values(values).returning(bill_payments.c.id)).scalar_one())

    def add_network_order(self, row: Mapping[str, Any]) -> int:
        """Queue a network order; its id."""
        stmt = insert(network_orders).values(dict(row)).returning(network_orders.c.id)
        return int(self._c.execute(stmt).scalar_one())

    def enforcement_of(self, subscription_id: int) -> tuple[LineEnforcement | None, list[tuple[str, date]]]:
        c, h = subscriptions.c, enforcement_steps.c
        row = self._c.execute(
            select(c.enf_state, c.enf_step_on, c.enf_notices, c.enf_last_notice_on).where(c.id == subscription_id)
        ).first()
        line = None
        if row is not None and row[0] is not None:
            line = LineEnforcement(EnforcementState(row[0]), row[1], int(row[2] or 0), row[3])
        steps = self._c.execute(
            select(h.action, h.on_date).where(h.subscription_id == subscription_id).order_by(h.id)
        ).all()
        return line, [(str(a), d) for a, d in steps]

    def request_restore(self, subscription_id: int, *, channel: str, now: datetime) -> None:
        t = enforcement_recheck
        if self._c.execute(select(t.c.subscription_id).where(t.c.subscription_id == subscription_id)).first() is None:
            self._c.execute(t.insert().values(subscription_id=subscription_id, channel=channel,
                                              created_at=now.astimezone(UTC)))  # fmt: skip

    def list_network_orders(self, subscription_id: int, *, status: str | None = None) -> list[NetworkOrderRow]:
        """Network orders of a line (optionally of one status), oldest first."""
        stmt = select(network_orders).where(network_orders.c.subscription_id == subscription_id)
        if status is not None:
            stmt = stmt.where(network_orders.c.status == status)
        return [_order(r) for r in self._c.execute(stmt.order_by(network_orders.c.id))]

    def point_of_sale_code(self, point_of_sale_id: int) -> str | None:
        """The code of a point of sale by id."""
        stmt = select(points_of_sale.c.code).where(points_of_sale.c.id == point_of_sale_id)
        value = self._c.execute(stmt).scalar_one_or_none()
        return None if value is None else str(value)
