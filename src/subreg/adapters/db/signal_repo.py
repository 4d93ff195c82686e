# ruff: noqa: S608 - the SQL below is built from this module's constants; every value is a bound parameter.
"""The signals in SQL: each list from one aggregate query (plus one to fetch the few lines it names).

Days are the operator's local days: `subscription_history.at` is stored in UTC, and the local day is computed
in the query from a fixed offset (Vietnam keeps no daylight saving time): `date(at, '+420 minutes')` on SQLite,
`CAST((at AT TIME ZONE 'UTC') + make_interval(mins => 420) AS DATE)` on PostgreSQL. The period is an index
range on `at` (0014's index). Look-alike portraits are an equality join of `portrait_bands` on its digest index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, insert, select, text
from sqlalchemy.sql.elements import TextClause

from subreg.adapters.db.tables import documents, portrait_bands, signal_reviews, staff, subscriptions
from subreg.services.signals.ports import DocumentLines, PersonDay, PortraitRef, StoredReview

__all__ = ["SqlSignalRepository"]

_CREATED = (
    "FROM subscription_history h JOIN subscriptions s ON s.id = h.subscription_id "
    "WHERE h.action = 'created' AND h.channel IN :channels AND h.at >= :lo AND h.at < :hi "
)
_WITHOUT_CONTRACT = "sum(CASE WHEN coalesce(s.has_contract, {false}) THEN 0 ELSE 1 END)"


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class SqlSignalRepository:
    """`SignalRepository` on SQLite and PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection
        self._pg = connection.dialect.name == "postgresql"

    # --- helpers --------------------------------------------------------------------------------------------

    def _local_day(self, offset: int) -> str:
        if self._pg:
            return f"CAST((h.at AT TIME ZONE 'UTC') + make_interval(mins => {int(offset)}) AS DATE)"
        return f"date(h.at, '{int(offset):+d} minutes')"

    def _period(self, sql: str) -> TextClause:
        return text(sql).bindparams(
            bindparam("channels", expanding=True),
            bindparam("lo", type_=DateTime(timezone=True)),
            bindparam("hi", type_=DateTime(timezone=True)),
        )

    # --- the lists ------------------------------------------------------------------------------------------

    def over_limit(self, *, minimum: int, limit: int) -> list[DocumentLines]:
        """ID documents with `minimum`+ active lines without a contract, the most first, with their lines."""
        without = _WITHOUT_CONTRACT.format(false="FALSE" if self._pg else "0")
        rows = self._c.execute(
            text(
                f"SELECT s.person_key, count(*), {without} FROM subscriptions s "
                "WHERE s.status <> 'terminated' AND s.person_key IS NOT NULL GROUP BY s.person_key "
                f"HAVING {without} >= :minimum ORDER BY 3 DESC, 2 DESC, 1 LIMIT :limit"
            ),
            {"minimum": int(minimum), "limit": int(limit)},
        ).all()
        lines = self._lines_of([bytes(r[0]) for r in rows])
        return [
            DocumentLines(bytes(k), int(n), int(w), *map(tuple, zip(*lines.get(bytes(k), []), strict=True)))
            if lines.get(bytes(k)) else DocumentLines(bytes(k), int(n), int(w))
            for k, n, w in rows
        ]  # fmt: skip

    def _lines_of(self, keys: list[bytes]) -> dict[bytes, list[tuple[int, int]]]:
        out: dict[bytes, list[tuple[int, int]]] = {}
        s = subscriptions.c
        for i in range(0, len(keys), 500):
            stmt = (
                select(s.person_key, s.id, s.msisdn)
                .where(s.person_key.in_(keys[i : i + 500]), s.status != "terminated")
                .order_by(s.id)
            )
            for key, line, number in self._c.execute(stmt):
                out.setdefault(bytes(key), []).append((int(line), int(number)))
        return out

    def daily_registrations(
        self, *, first: date, last: date, channels: Sequence[str], utc_offset_minutes: int
    ) -> list[tuple[str, date, int]]:
        """(point of sale code, local day, registrations) of lines created by `channels` in [first, last]."""
        lo, hi = _bounds(first, last, utc_offset_minutes)
        sql = (
            f"SELECT s.point_of_sale_code, {self._local_day(utc_offset_minutes)}, count(*) {_CREATED}"
            "AND s.point_of_sale_code IS NOT NULL GROUP BY 1, 2"
        )
        rows = self._c.execute(self._period(sql), {"channels": list(channels), "lo": lo, "hi": hi})
        return [(str(code), _day(day), int(n)) for code, day, n in rows]

    def same_day_registrations(
        self, *, first: date, last: date, channels: Sequence[str], utc_offset_minutes: int, min_points: int,
        min_registrations: int, limit: int,
    ) -> list[PersonDay]:  # fmt: skip
        """ID documents registered `min_registrations`+ times at `min_points`+ points of sale on one local day."""
        lo, hi = _bounds(first, last, utc_offset_minutes)
        day = self._local_day(utc_offset_minutes)
        params = {"channels": list(channels), "lo": lo, "hi": hi}
        sql = (
            f"SELECT s.person_key, {day}, count(DISTINCT s.point_of_sale_code), count(*) {_CREATED}"
            "AND s.person_key IS NOT NULL GROUP BY 1, 2 "
            "HAVING count(DISTINCT s.point_of_sale_code) >= :points AND count(*) >= :registrations "
            "ORDER BY 4 DESC, 3 DESC, 2 DESC, 1 LIMIT :limit"
        )
        rows = self._c.execute(
            self._period(sql),
            {**params, "points": int(min_points), "registrations": int(min_registrations), "limit": int(limit)},
        ).all()
        if not rows:
            return []
        keys = sorted({bytes(r[0]) for r in rows})
        detail = self._period(
            f"SELECT s.person_key, {day}, s.id, s.msisdn, s.point_of_sale_code {_CREATED}"
            "AND s.person_key IN :keys ORDER BY s.id"
        ).bindparams(bindparam("keys", expanding=True))
        lines: dict[tuple[bytes, date], list[tuple[int, int, str | None]]] = {}
        for key, d, line, number, code in self._c.execute(detail, {**params, "keys": keys}):
            lines.setdefault((bytes(key), _day(d)), []).append((int(line), int(number), code))
        out = []
        for key, d, points, n in rows:
            found = lines.get((bytes(key), _day(d)), [])
            out.append(PersonDay(
                bytes(key), _day(d), int(points), int(n), tuple(sorted({c for _, _, c in found if c})),
                tuple(i for i, _, _ in found), tuple(m for _, m, _ in found),
            ))  # fmt: skip
        return out

    # --- decisions ------------------------------------------------------------------------------------------

    def latest_reviews(self, kind: str) -> dict[str, StoredReview]:
        """The newest decision per key of `kind` (rows in id order: the last one wins)."""
        r = signal_reviews.c
        rows = self._c.execute(select(signal_reviews).where(r.kind == kind).order_by(r.id))
        return {row.signal_key: _review(row) for row in rows}

    def reviews_of(self, kind: str, key: str) -> list[StoredReview]:
        """Every decision on one signal, oldest first."""
        r = signal_reviews.c
        stmt = select(signal_reviews).where(r.kind == kind, r.signal_key == key).order_by(r.id)
        return [_review(row) for row in self._c.execute(stmt)]

    def add_review(self, review: StoredReview) -> None:
        """Append one decision."""
        self._c.execute(
            insert(signal_reviews).values(
                kind=review.kind,
                signal_key=review.key,
                decision=review.decision,
                reason=review.reason,
                note=review.note,
                staff_id=review.staff_id,
                at=review.at,
            )
        )

    # --- portraits ------------------------------------------------------------------------------------------

    def portraits_to_index(self, *, after: int, limit: int) -> list[int]:
        """Ids (ascending, above `after`) of stored portrait images that have no band digests yet."""
        d, b = documents.c, portrait_bands.c
        stmt = (
            select(d.id)
            .where(d.kind == "portrait", d.blob_key.is_not(None), d.id > after)
            .where(~select(b.document_id).where(b.document_id == d.id).exists())
            .order_by(d.id)
            .limit(limit)
        )
        return [int(i) for (i,) in self._c.execute(stmt)]

    def add_bands(self, document_id: int, digests: Sequence[bytes]) -> None:
        """Store a portrait's band digests (band i = digests[i])."""
        add_bands(self._c, document_id, digests)

    def band_candidates(self, *, limit: int) -> list[tuple[int, int]]:
        """Portrait pairs sharing a band digest, on lines of different holders and person keys."""
        sql = text(
            "SELECT DISTINCT a.document_id, b.document_id FROM portrait_bands a "
            "JOIN portrait_bands b ON b.digest = a.digest AND b.band = a.band AND b.document_id > a.document_id "
            "JOIN documents da ON da.id = a.document_id JOIN subscriptions sa ON sa.id = da.subscription_id "
            "JOIN documents db ON db.id = b.document_id JOIN subscriptions sb ON sb.id = db.subscription_id "
            "WHERE sa.holder_id <> sb.holder_id "
            "AND (sa.person_key IS NULL OR sb.person_key IS NULL OR sa.person_key <> sb.person_key) "
            "ORDER BY 1, 2 LIMIT :limit"
        )
        return [(int(a), int(b)) for a, b in self._c.execute(sql, {"limit": int(limit)})]

    def portraits(self, document_ids: Sequence[int]) -> dict[int, PortraitRef]:
        """The portraits named, with their lines."""
        d, s = documents.c, subscriptions.c
        out: dict[int, PortraitRef] = {}
        ids = [int(i) for i in document_ids]
        for i in range(0, len(ids), 500):
            stmt = (
                select(d.id, s.id, s.person_key, s.msisdn, s.point_of_sale_code)
                .select_from(documents.join(subscriptions, s.id == d.subscription_id))
                .where(d.id.in_(ids[i : i + 500]))
            )
            for doc, line, key, number, code in self._c.execute(stmt):
                out[int(doc)] = PortraitRef(int(doc), int(line), bytes(key) if key else None, int(number), code)
        return out

    # --- names and lines ------------------------------------------------------------------------------------

    def staff_names(self, staff_ids: Sequence[int]) -> dict[int, str]:
        """Usernames of staff accounts."""
        if not staff_ids:
            return {}
        stmt = select(staff.c.id, staff.c.username).where(staff.c.id.in_([int(i) for i in staff_ids]))
        return {int(i): str(u) for i, u in self._c.execute(stmt)}

    def line_number(self, line_id: int) -> int | None:
        """The number key of a line (None: no such line)."""
        s = subscriptions.c
        found = self._c.execute(select(s.msisdn).where(s.id == int(line_id))).scalar()
        return None if found is None else int(found)


def _bounds(first: date, last: date, offset: int) -> tuple[datetime, datetime]:
    """The UTC instants of the local midnights starting `first` and ending `last`."""
    shift = timedelta(minutes=offset)
    lo = datetime.combine(first, time(0), tzinfo=UTC) - shift
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC) - shift
    return lo, hi


def add_bands(connection: Connection, document_id: int, digests: Sequence[bytes]) -> None:
    """Insert one portrait's band digests (shared with the registry's document repository)."""
    if digests:
        connection.execute(
            insert(portrait_bands),
            [{"document_id": int(document_id), "band": i, "digest": bytes(g)} for i, g in enumerate(digests)],
        )


def _review(row: Any) -> StoredReview:
    return StoredReview(row.kind, row.signal_key, row.decision, row.reason, row.note, row.staff_id, _utc(row.at))
