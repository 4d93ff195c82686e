"""In-memory fakes of the SMS channel's repositories (`services.sms.ports`), on the shared `MemoryDatabase`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from subreg.adapters.memory._store import Transaction
from subreg.services.sms.ports import OutboxRow, Receipt, ReceiptMatch, SenderWindow

__all__ = ["MemoryInboundRepository", "MemoryOutboxRepository", "MemoryRateRepository"]

Tx = Callable[[], Transaction]
_FINAL_PART_STATES = ("delivered", "failed", "expired", "rejected")
_OUTBOX_FIELDS = OutboxRow.__slots__


def _utc(values: Mapping[str, Any]) -> dict[str, Any]:
    # As the SQL adapter: every time is kept in UTC (SQLite keeps no offset) and handed back timezone-aware.
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}


class MemoryInboundRepository:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, row: Mapping[str, Any]) -> int | None:
        tx = self._tx()
        gateway_id = row.get("gateway_id")
        if gateway_id is not None and any(
            tx.scan("sms_inbound", lambda r: r["transport"] == row["transport"] and r["gateway_id"] == gateway_id)
        ):
            return None
        return int(tx.insert("sms_inbound", _utc(row)))

    def mark(self, inbound_id: int, *, state: str, at: datetime) -> None:
        self._tx().update("sms_inbound", inbound_id, _utc({"state": state, "answered_at": at}))

    def unanswered(self, *, limit: int) -> list[Mapping[str, Any]]:
        rows = sorted(self._tx().scan("sms_inbound", lambda r: r["state"] == "received"), key=lambda r: r["id"])
        return [dict(r) for r in rows[:limit]]

    def sent_by(self, sender: int, *, limit: int) -> list[Mapping[str, Any]]:
        rows = sorted(self._tx().scan("sms_inbound", lambda r: r["sender"] == sender), key=lambda r: -r["id"])
        return [dict(r) for r in rows[:limit]]


def _outbox_row(row: Mapping[str, Any]) -> OutboxRow:
    return OutboxRow(**{name: row[name] for name in _OUTBOX_FIELDS})


class MemoryOutboxRepository:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def add(self, row: Mapping[str, Any]) -> int:
        return int(self._tx().insert("sms_outbox", _utc(row)))

    def claim(self, *, now: datetime, lease_until: datetime, limit: int) -> list[OutboxRow]:
        tx = self._tx()
        due = sorted(
            tx.scan("sms_outbox", lambda r: r["state"] in ("pending", "sending") and r["next_attempt_at"] <= now),
            key=lambda r: (r["priority"], r["next_attempt_at"], r["id"]),
        )[:limit]
        rows = [_outbox_row(r) for r in due]
        for r in rows:
            tx.update("sms_outbox", r.id, {"state": "sending", "next_attempt_at": lease_until.astimezone(UTC)})
        return rows

    def settle(self, outbox_id: int, values: Mapping[str, Any]) -> None:
        self._tx().update("sms_outbox", outbox_id, _utc(values))

    def add_submits(self, outbox_id: int, transport: str, message_ids: Sequence[str]) -> None:
        tx = self._tx()
        if not message_ids:
            return
        keys = {f"{transport}:{mid}" for mid in message_ids}
        for old in [r["message_id"] for r in tx.scan("sms_submits", lambda r: r["outbox_id"] == outbox_id)]:
            if old not in keys:
                tx.delete("sms_submits", old)
        for n, mid in enumerate(message_ids, 1):
            key = f"{transport}:{mid}"
            if tx.get("sms_submits", key) is None:
                tx.insert("sms_submits", {"transport": transport, "message_id": key, "outbox_id": outbox_id, "part": n})

    def apply_receipt(self, receipt: Receipt) -> ReceiptMatch | None:
        tx = self._tx()
        key = f"{receipt.transport}:{receipt.message_id}"
        row = tx.get("sms_submits", key)
        if row is None:
            return None
        tx.update("sms_submits", key, {"state": receipt.state, "receipt_at": receipt.at.astimezone(UTC)})
        parts = sorted(tx.scan("sms_submits", lambda r: r["outbox_id"] == row["outbox_id"]), key=lambda r: r["part"])
        states = tuple(str(r["state"]) for r in parts)
        return ReceiptMatch(int(row["outbox_id"]), all(s in _FINAL_PART_STATES for s in states), states)

    def settle_many(self, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        for outbox_id, values in rows:
            self.settle(outbox_id, values)

    def add_submits_many(self, items: Sequence[tuple[int, str, Sequence[str]]]) -> None:
        for outbox_id, transport, message_ids in items:
            self.add_submits(outbox_id, transport, message_ids)

    def apply_receipts(self, receipts: Sequence[Receipt]) -> list[ReceiptMatch | None]:
        for r in receipts:  # every receipt first: each match then shows the batch's outcome, as in SQL
            self.apply_receipt(r)
        return [self.apply_receipt(r) for r in receipts]

    def get(self, outbox_id: int) -> OutboxRow | None:
        row = self._tx().get("sms_outbox", outbox_id)
        return None if row is None else _outbox_row(row)

    def for_recipient(self, recipient: int, *, limit: int) -> list[OutboxRow]:
        rows = sorted(self._tx().scan("sms_outbox", lambda r: r["recipient"] == recipient), key=lambda r: -r["id"])
        return [_outbox_row(r) for r in rows[:limit]]


class MemoryRateRepository:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def window(self, sender: int) -> SenderWindow | None:
        row = self._tx().get("sms_senders", sender)
        if row is None:
            return None
        return SenderWindow(row["sender"], row["window_start"], row["count"], bool(row["refused"]))

    def put(self, window: SenderWindow) -> None:
        tx = self._tx()
        values = {"window_start": window.window_start.astimezone(UTC), "count": window.count, "refused": window.refused}
        if not tx.update("sms_senders", window.sender, values):
            tx.insert("sms_senders", {"sender": window.sender, **values})
