"""In-memory `CounterRepository`: serving visits, counter transactions, bill payments, network orders
(as `adapters.db.counter_repo`; times are kept in UTC and handed back timezone-aware)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from subreg.adapters.memory._store import Row, Transaction
from subreg.domain.enforcement.machine import EnforcementState, LineEnforcement
from subreg.services.counter.ports import CounterTransactionRow, NetworkOrderRow

__all__ = ["MemoryCounterRepository"]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _order(m: Row) -> NetworkOrderRow:
    return NetworkOrderRow(
        id=m["id"],
        subscription_id=m["subscription_id"],
        action=m["action"],
        status=m["status"],
        reason=m["reason"],
        created_by_staff_id=m["created_by_staff_id"],
        priority=m["priority"],
    )


class MemoryCounterRepository:
    """Point of sale: serving visits, counter transactions, bill payments, network orders."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    def lock_for_write(self) -> None:
        """Nothing to lock: one process, one thread at a time (the SQLite writer lock has no equivalent here)."""
        self._tx()

    def open_visit(
        self,
        subscription_id: int,
        *,
        point_of_sale_id: int,
        staff_id: int | None,
        opened_at: datetime,
        expires_at: datetime,
    ) -> int:
        """Record that a point of sale serves a line until `expires_at`; the visit id."""
        row = {
            "subscription_id": subscription_id,
            "point_of_sale_id": point_of_sale_id,
            "staff_id": staff_id,
            "opened_at": _utc(opened_at),
            "expires_at": _utc(expires_at),
        }
        return int(self._tx().insert("serving_visits", row))

    def serving_pos_ids(self, subscription_id: int, *, now: datetime) -> set[int]:
        """Points of sale with an unexpired serving visit for this line."""
        at = _utc(now)
        visits = self._tx().scan(
            "serving_visits", lambda r: r["subscription_id"] == subscription_id and r["expires_at"] > at
        )
        return {int(r["point_of_sale_id"]) for r in visits}

    def add_transaction(self, row: Mapping[str, Any]) -> int:
        """Record a counter transaction (done or refused); its id."""
        values = dict(row)
        if values.get("at") is not None:
            values["at"] = _utc(values["at"])
        return int(self._tx().insert("counter_transactions", values))

    def list_transactions(self, subscription_id: int) -> list[CounterTransactionRow]:
        """Transactions of a line, oldest first."""
        return [
            CounterTransactionRow(
                id=m["id"],
                subscription_id=m["subscription_id"],
                kind=m["kind"],
                outcome=m["outcome"],
                refusal_code=m["refusal_code"],
                at=_utc(m["at"]),
                staff_id=m["staff_id"],
                point_of_sale_id=m["point_of_sale_id"],
            )
            for m in self._tx().scan("counter_transactions", lambda r: r["subscription_id"] == subscription_id)
        ]

    def add_payment(self, row: Mapping[str, Any]) -> int:
        """Record a bill payment; its id."""
        values = dict(row)
        if values.get("paid_at") is not None:
            values["paid_at"] = _utc(values["paid_at"])
        return int(self._tx().insert("bill_payments", values))

    def add_network_order(self, row: Mapping[str, Any]) -> int:
        """Queue a network order; its id."""
        return int(self._tx().insert("network_orders", dict(row)))

    def enforcement_of(self, subscription_id: int) -> tuple[LineEnforcement | None, list[tuple[str, date]]]:
        tx = self._tx()
        row = tx.get("subscriptions", subscription_id)
        line = None
        if row is not None and row.get("enf_state") is not None:
            line = LineEnforcement(EnforcementState(row["enf_state"]), row["enf_step_on"], int(row["enf_notices"] or 0),
                                   row["enf_last_notice_on"])  # fmt: skip
        steps = tx.scan("enforcement_steps", lambda r: r["subscription_id"] == subscription_id)
        return line, [(r["action"], r["on_date"]) for r in steps]

    def request_restore(self, subscription_id: int, *, channel: str, now: datetime) -> None:
        tx = self._tx()
        if tx.get("enforcement_recheck", subscription_id) is None:
            tx.insert("enforcement_recheck", {"subscription_id": subscription_id, "channel": channel,
                                              "created_at": _utc(now)})  # fmt: skip

    def list_network_orders(self, subscription_id: int, *, status: str | None = None) -> list[NetworkOrderRow]:
        """Network orders of a line (optionally of one status), oldest first."""

        def wanted(r: Row) -> bool:
            return r["subscription_id"] == subscription_id and (status is None or r["status"] == status)

        return [_order(m) for m in self._tx().scan("network_orders", wanted)]

    def point_of_sale_code(self, point_of_sale_id: int) -> str | None:
        """The code of a point of sale by id."""
        row = self._tx().get("points_of_sale", point_of_sale_id)
        return None if row is None else str(row["code"])
