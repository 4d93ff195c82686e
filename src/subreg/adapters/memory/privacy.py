"""In-memory `PrivacyRepository`: data-subject requests, consents, holder flags, crypto-shredding, retention
(as `adapters.db.privacy_repo`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from subreg.adapters.memory._store import Row, Transaction
from subreg.services.privacy.ports import ConsentRow, DsrRow, HolderFlags

__all__ = ["MemoryPrivacyRepository"]


def _dsr(m: Row) -> DsrRow:
    return DsrRow(**{k: m[k] for k in DsrRow.__slots__})


def _consent(m: Row) -> ConsentRow:
    return ConsentRow(**{k: m[k] for k in ConsentRow.__slots__})


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MemoryPrivacyRepository:
    """Data-subject requests, consents, holder flags, crypto-shredding."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    def add_request(self, row: Mapping[str, Any]) -> int:
        """Insert a data-subject request; its id."""
        return int(self._tx().insert("dsr_requests", dict(row)))

    def get_request(self, request_id: int) -> DsrRow | None:
        """One request."""
        row = self._tx().get("dsr_requests", request_id)
        return None if row is None else _dsr(row)

    def list_requests(self, *, status: str | None = None, limit: int = 100) -> list[DsrRow]:
        """Requests, soonest deadline first."""
        rows = self._tx().scan("dsr_requests", lambda r: status is None or r["status"] == status)
        return [_dsr(r) for r in sorted(rows, key=lambda r: (r["due_on"], r["id"]))[: max(0, limit)]]

    def requests_of(self, holder_ids: Sequence[int]) -> list[DsrRow]:
        """Every request about these holders, oldest first."""
        wanted = set(holder_ids)
        return [_dsr(r) for r in self._tx().scan("dsr_requests", lambda r: r["holder_id"] in wanted)]

    def close_request(self, request_id: int, *, status: str, outcome: str, closed_at: datetime) -> None:
        """Mark a request done or refused, with an outcome code."""
        self._tx().update("dsr_requests", request_id, {"status": status, "outcome": outcome, "closed_at": closed_at})

    def flags(self, holder_id: int) -> HolderFlags | None:
        """A holder's flags."""
        row = self._tx().get("holders", holder_id)
        if row is None:
            return None
        return HolderFlags(int(row["id"]), bool(row["restricted"]), bool(row["objected"]), row["erased_at"])

    def set_flags(self, holder_id: int, *, restricted: bool | None = None, objected: bool | None = None) -> None:
        """Set or clear the restriction / objection flags."""
        values: dict[str, Any] = {}
        if restricted is not None:
            values["restricted"] = restricted
        if objected is not None:
            values["objected"] = objected
        if values:
            tx = self._tx()
            tx.update("holders", holder_id, {**values, "updated_at": tx.db.now()})

    def add_consent(self, row: Mapping[str, Any]) -> int:
        """Insert a consent record; its id."""
        return int(self._tx().insert("consents", dict(row)))

    def consents_of(self, holder_ids: Sequence[int]) -> list[ConsentRow]:
        """Consent records of these holders, oldest first."""
        wanted = set(holder_ids)
        return [_consent(r) for r in self._tx().scan("consents", lambda r: r["holder_id"] in wanted)]

    def shred(self, holder_id: int, *, erased_at: datetime) -> None:
        """Forget the wrapped DEK (payload and images become unreadable) and stamp the erasure time."""
        tx = self._tx()
        tx.update("holders", holder_id, {"wrapped_dek": None, "erased_at": erased_at, "updated_at": tx.db.now()})
        for row in list(tx.scan("biometric_templates", lambda r: r["holder_id"] == holder_id)):
            tx.delete("biometric_templates", row["id"])

    def blob_keys_of(self, holder_id: int) -> list[str]:
        """Blob keys of every stored document of the holder's subscriptions."""
        tx = self._tx()
        lines = {r["id"] for r in tx.scan("subscriptions", lambda r: r["holder_id"] == holder_id)}
        docs = tx.scan("documents", lambda r: r["subscription_id"] in lines and r["blob_key"] is not None)
        return [r["blob_key"] for r in docs]

    def retention_candidates(
        self, *, terminated_before: datetime, limit: int, holder_ids: Sequence[int] | None = None
    ) -> list[int]:
        """Holders not yet shredded, with subscriptions, every one terminated and none changed since
        `terminated_before` (its `updated_at`)."""
        tx = self._tx()
        cutoff = _utc(terminated_before)
        wanted = None if holder_ids is None else set(holder_ids)
        lines: dict[int, list[Row]] = {}
        for line in tx.scan("subscriptions"):
            lines.setdefault(line["holder_id"], []).append(line)
        found = []
        for holder in tx.scan("holders"):
            subs = lines.get(holder["id"])
            if not subs or holder["wrapped_dek"] is None or holder["erased_at"] is not None:
                continue
            if wanted is not None and holder["id"] not in wanted:
                continue
            if all(s["status"] == "terminated" for s in subs) and max(_utc(s["updated_at"]) for s in subs) < cutoff:
                found.append(int(holder["id"]))
        return found[: max(0, limit)]
