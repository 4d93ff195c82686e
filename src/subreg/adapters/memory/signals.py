"""In-memory `SignalRepository`: the lists computed in Python over the fake tables (as `adapters.db.signal_repo`).

Decisions are rows of the fake `signal_reviews` table (transactional like the others). Portrait band digests
are kept beside the tables, on the database object, outside transactions: their table's key is composite,
which the fake's tables do not model, and the service tests never roll back an indexing batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from subreg.adapters.memory._store import Transaction
from subreg.services.signals.ports import DocumentLines, PersonDay, PortraitRef, StoredReview

__all__ = ["MemorySignalRepository", "bands_of"]


def bands_of(tx: Transaction) -> dict[int, list[bytes]]:
    """The band digests by document id (kept on the database object; see the module docstring)."""
    db: Any = tx.db
    if not hasattr(db, "portrait_bands"):
        db.portrait_bands = {}
    bands: dict[int, list[bytes]] = db.portrait_bands
    return bands


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MemorySignalRepository:
    """The signals' queries over the fake tables."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    def over_limit(self, *, minimum: int, limit: int) -> list[DocumentLines]:
        by_person: dict[bytes, list[dict[str, Any]]] = defaultdict(list)
        for row in self._tx().scan("subscriptions", lambda r: r["status"] != "terminated" and r["person_key"]):
            by_person[bytes(row["person_key"])].append(row)
        found = []
        for key, rows in by_person.items():
            without = sum(1 for r in rows if not r["has_contract"])
            if without >= minimum:
                rows.sort(key=lambda r: r["id"])
                found.append(DocumentLines(key, len(rows), without, tuple(r["id"] for r in rows),
                                           tuple(r["msisdn"] for r in rows)))  # fmt: skip
        found.sort(key=lambda d: (-d.without_contract, -d.lines, d.person_key))
        return found[:limit]

    def _created(self, first: date, last: date, channels: Sequence[str], offset: int) -> list[tuple[date, Any]]:
        tx, shift = self._tx(), timedelta(minutes=offset)
        lines = tx.rows("subscriptions")
        out = []
        for h in tx.scan("subscription_history", lambda r: r["action"] == "created" and r["channel"] in channels):
            day = (_utc(h["at"]) + shift).date()
            line = lines.get(h["subscription_id"])
            if first <= day <= last and line is not None:
                out.append((day, line))
        return out

    def daily_registrations(
        self, *, first: date, last: date, channels: Sequence[str], utc_offset_minutes: int
    ) -> list[tuple[str, date, int]]:
        counts: dict[tuple[str, date], int] = defaultdict(int)
        for day, line in self._created(first, last, channels, utc_offset_minutes):
            if line["point_of_sale_code"]:
                counts[(line["point_of_sale_code"], day)] += 1
        return [(code, day, n) for (code, day), n in sorted(counts.items())]

    def same_day_registrations(
        self, *, first: date, last: date, channels: Sequence[str], utc_offset_minutes: int, min_points: int,
        min_registrations: int, limit: int,
    ) -> list[PersonDay]:  # fmt: skip
        groups: dict[tuple[bytes, date], list[Any]] = defaultdict(list)
        for day, line in self._created(first, last, channels, utc_offset_minutes):
            if line["person_key"]:
                groups[(bytes(line["person_key"]), day)].append(line)
        out = []
        for (key, day), lines in groups.items():
            codes = {ln["point_of_sale_code"] for ln in lines if ln["point_of_sale_code"]}
            if len(codes) >= min_points and len(lines) >= min_registrations:
                lines.sort(key=lambda r: r["id"])
                out.append(PersonDay(key, day, len(codes), len(lines), tuple(sorted(codes)),
                                     tuple(r["id"] for r in lines), tuple(r["msisdn"] for r in lines)))  # fmt: skip
        out.sort(key=lambda p: (-p.registrations, -p.points, -p.day.toordinal(), p.person_key))
        return out[:limit]

    def latest_reviews(self, kind: str) -> dict[str, StoredReview]:
        return {r.key: r for r in self._reviews(lambda row: row["kind"] == kind)}

    def reviews_of(self, kind: str, key: str) -> list[StoredReview]:
        return self._reviews(lambda row: row["kind"] == kind and row["signal_key"] == key)

    def _reviews(self, where: Callable[[dict[str, Any]], bool]) -> list[StoredReview]:
        return [
            StoredReview(
                r["kind"], r["signal_key"], r["decision"], r["reason"], r["note"], r["staff_id"], _utc(r["at"])
            )
            for r in self._tx().scan("signal_reviews", where)
        ]

    def add_review(self, review: StoredReview) -> None:
        self._tx().insert("signal_reviews", {
            "kind": review.kind, "signal_key": review.key, "decision": review.decision, "reason": review.reason,
            "note": review.note, "staff_id": review.staff_id, "at": _utc(review.at),
        })  # fmt: skip

    def portraits_to_index(self, *, after: int, limit: int) -> list[int]:
        bands = bands_of(self._tx())
        rows = self._tx().scan(
            "documents",
            lambda r: r["kind"] == "portrait" and r["blob_key"] and r["id"] > after and r["id"] not in bands,
        )
        return [r["id"] for r in rows][:limit]

    def add_bands(self, document_id: int, digests: Sequence[bytes]) -> None:
        bands_of(self._tx())[int(document_id)] = [bytes(d) for d in digests]

    def band_candidates(self, *, limit: int) -> list[tuple[int, int]]:
        tx = self._tx()
        by_digest: dict[tuple[int, bytes], list[int]] = defaultdict(list)
        for doc, digests in bands_of(tx).items():
            for band, digest in enumerate(digests):
                by_digest[(band, digest)].append(doc)
        refs = self.portraits(sorted(bands_of(tx)))
        holders = {d: tx.rows("subscriptions")[r.line_id]["holder_id"] for d, r in refs.items()}
        pairs = set()
        for docs in by_digest.values():
            for a in docs:
                for b in docs:
                    ra, rb = refs.get(a), refs.get(b)
                    if (
                        a < b
                        and ra
                        and rb
                        and holders[a] != holders[b]
                        and (ra.person_key is None or rb.person_key is None or ra.person_key != rb.person_key)
                    ):
                        pairs.add((a, b))
        return sorted(pairs)[:limit]

    def portraits(self, document_ids: Sequence[int]) -> dict[int, PortraitRef]:
        tx, out = self._tx(), {}
        for doc in document_ids:
            d = tx.get("documents", int(doc))
            line = tx.get("subscriptions", d["subscription_id"]) if d else None
            if d is not None and line is not None:
                key = bytes(line["person_key"]) if line["person_key"] else None
                out[int(doc)] = PortraitRef(int(doc), line["id"], key, line["msisdn"], line["point_of_sale_code"])
        return out

    def staff_names(self, staff_ids: Sequence[int]) -> dict[int, str]:
        tx = self._tx()
        return {int(i): tx.get("staff", int(i))["username"] for i in staff_ids if tx.get("staff", int(i))}

    def line_number(self, line_id: int) -> int | None:
        line = self._tx().get("subscriptions", int(line_id))
        return None if line is None else int(line["msisdn"])
