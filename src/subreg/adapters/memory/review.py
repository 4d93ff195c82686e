"""In-memory `ReviewRepository` over the fake `review_items` table (as `adapters.db.review_repo`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from subreg.adapters.memory._store import Transaction
from subreg.services.backoffice.review_ports import ReviewItemRow

__all__ = ["MemoryReviewRepository"]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _item(r: dict[str, Any]) -> ReviewItemRow:
    return ReviewItemRow(
        id=r["id"], subscription_id=r["subscription_id"], kind=r["kind"],
        flags=tuple(f for f in (r["flags"] or "").split(",") if f), state=r["state"], version_seen=r["version_seen"],
        point_of_sale_id=r["point_of_sale_id"], submitted_by=r["submitted_by"], claimed_by=r["claimed_by"],
        claimed_until=_utc(r["claimed_until"]), decision=r["decision"], reason=r["reason"], note=r["note"],
        decided_by=r["decided_by"], decided_at=_utc(r["decided_at"]), created_at=_utc(r["created_at"]),
    )  # fmt: skip


class MemoryReviewRepository:
    """The review items in the fake database; one thread at a time, so a claim is a plain update."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    def _items(self, where: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return sorted(self._tx().scan("review_items", where), key=lambda r: r["id"])

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
        pending = self._items(lambda r: r["subscription_id"] == subscription_id and r["state"] == "pending")
        if pending:
            row = pending[0]
            joined = ",".join(f for f in dict.fromkeys([*row["flags"].split(","), *flags.split(",")]) if f)
            self._tx().update("review_items", row["id"], {"flags": joined, "version_seen": version,
                                                          "submitted_by": submitted_by,
                                                          "point_of_sale_id": point_of_sale_id})  # fmt: skip
            return int(row["id"])
        return int(
            self._tx().insert(
                "review_items",
                {
                    "subscription_id": subscription_id,
                    "kind": kind,
                    "flags": flags,
                    "state": "pending",
                    "version_seen": version,
                    "point_of_sale_id": point_of_sale_id,
                    "submitted_by": submitted_by,
                    "created_at": now,
                },
            )
        )

    def get(self, item_id: int) -> ReviewItemRow | None:
        row = self._tx().get("review_items", item_id)
        return _item(row) if row is not None else None

    def held_by(self, staff_id: int, *, now: datetime) -> ReviewItemRow | None:
        rows = self._items(
            lambda r: r["state"] == "pending" and r["claimed_by"] == staff_id and _utc(r["claimed_until"]) > now  # type: ignore[operator]
        )
        return _item(rows[0]) if rows else None

    def claim_next(
        self, staff_id: int, *, now: datetime, until: datetime, exclude_pos: int | None
    ) -> ReviewItemRow | None:
        def claimable(r: dict[str, Any]) -> bool:
            lease = _utc(r["claimed_until"])
            return (
                r["state"] == "pending"
                and (lease is None or lease <= now)
                and r["submitted_by"] != staff_id
                and (exclude_pos is None or r["point_of_sale_id"] != exclude_pos)
            )

        rows = sorted(self._items(claimable), key=lambda r: (_utc(r["created_at"]), r["id"]))
        if not rows:
            return None
        self._tx().update("review_items", rows[0]["id"], {"claimed_by": staff_id, "claimed_until": until})
        return self.get(rows[0]["id"])

    def decide(
        self, item_id: int, *, staff_id: int, decision: str, reason: str, note: str | None, now: datetime
    ) -> bool:
        row = self._tx().get("review_items", item_id)
        if row is None or row["state"] != "pending" or row["claimed_by"] != staff_id:
            return False
        self._tx().update("review_items", item_id, {"state": "decided", "decision": decision, "reason": reason,
                                                    "note": note, "decided_by": staff_id, "decided_at": now,
                                                    "claimed_until": None})  # fmt: skip
        return True

    def latest_for(self, subscription_id: int) -> ReviewItemRow | None:
        rows = self._items(lambda r: r["subscription_id"] == subscription_id)
        return _item(rows[-1]) if rows else None

    def latest_verdict(self, subscription_id: int) -> ReviewItemRow | None:
        rows = self._items(
            lambda r: r["subscription_id"] == subscription_id and r["decision"] in ("approved", "rejected")
        )
        rows.sort(key=lambda r: (_utc(r["decided_at"]), r["id"]))
        return _item(rows[-1]) if rows else None

    def pending_count(self) -> int:
        return len(self._items(lambda r: r["state"] == "pending"))

    def list_pending(self, *, limit: int) -> list[ReviewItemRow]:
        rows = sorted(self._items(lambda r: r["state"] == "pending"), key=lambda r: (_utc(r["created_at"]), r["id"]))
        return [_item(r) for r in rows[:limit]]

    def other_store_active(self, point_of_sale_id: int | None, *, since: datetime, now: datetime) -> bool:
        tx = self._tx()
        for st in tx.scan("staff", lambda r: r["role"] == "supervisor" and r["active"]):
            pos = st["point_of_sale_id"]
            if pos is None or (point_of_sale_id is not None and pos == point_of_sale_id):
                continue
            login = _utc(st["last_login_at"])
            if login is not None and login >= since:
                return True
            for a in tx.scan("auth_sessions", lambda r, sid=st["id"]: r["staff_id"] == sid):
                seen = _utc(a["last_seen_at"] or a["created_at"])
                if a["revoked_at"] is None and _utc(a["expires_at"]) > now and seen is not None and seen >= since:  # type: ignore[operator]
                    return True
        return False

    def person_activity(self, person_key: bytes, *, day: date) -> tuple[int, int]:
        rows = list(
            self._tx().scan("subscriptions", lambda r: r["person_key"] == person_key and r["status"] != "terminated")
        )
        points = {r["point_of_sale_id"] for r in rows if r["activated_on"] == day and r["point_of_sale_id"] is not None}
        return len(rows), len(points)

    def line_version(self, subscription_id: int) -> int | None:
        row = self._tx().get("subscriptions", subscription_id)
        return int(row["version"]) if row is not None else None
