# ruff: noqa: S608 - the SQL fragments below are this module's constants and integer bits; every value is a parameter
"""Set-based storage of population-database matching (services.verification.population_ports.PopulationBatchStore).

One raw connection (a `BulkSession`): pages of lines to match by id, answers upserted into
`population_matches`, then a handful of UPDATE ... WHERE id IN (SELECT ... FROM population_matches WHERE batch
= ?) statements apply a whole batch: no Python loop per line. The missing-item bit of each regime's tag is
set or cleared with integer bit operators, which SQLite and PostgreSQL both have.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from subreg.adapters.db.bulk import BulkSession

__all__ = ["PopulationStore", "open_population_store"]

_MATCHED = "id_number = 'match' AND full_name = 'match' AND date_of_birth = 'match'"
_LIVE = "s.status <> 'terminated'"


class PopulationStore(BulkSession):
    """The population-matching queries on one raw connection."""

    def _ts(self, at: datetime) -> Any:
        # SQLite keeps SQLAlchemy's DateTime text form (UTC, naive); PostgreSQL takes the aware value.
        return at if self.pg else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def lines_to_match(self, after: int, limit: int, *, rematch: bool) -> list[tuple[Any, ...]]:
        """(line id, kek_id, wrapped_dek, aad_ref, payload) of live lines after `after`, not yet verified unless
        `rematch`; by id."""
        todo = "" if rematch else "AND s.verified_method IS NULL "
        return self.execute(
            "SELECT s.id, h.kek_id, h.wrapped_dek, h.aad_ref, h.payload FROM subscriptions s "
            f"JOIN holders h ON h.id = s.holder_id WHERE s.id > ? AND {_LIVE} {todo}ORDER BY s.id LIMIT ?",
            [after, limit],
        )

    def store_answers(
        self, rows: Sequence[tuple[int, str, str, str]], *, batch: str, at: datetime, known_lines: bool = False
    ) -> int:
        """Upsert answer rows (of lines that exist) into `population_matches`; how many."""
        if not rows:
            return 0
        ts = self._ts(at)
        if known_lines:
            params: list[tuple[Any, ...]] = [(*r, batch, ts) for r in rows]
            where = ""
        else:
            params = [(*r, batch, ts, r[0]) for r in rows]
            where = " WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?)"
        cur = self.conn.cursor()
        try:
            cur.executemany(
                self._q(
                    "INSERT INTO population_matches "
                    "(subscription_id, id_number, full_name, date_of_birth, batch, matched_at) "
                    f"SELECT ?, ?, ?, ?, ?, ?{where} "
                    "ON CONFLICT (subscription_id) DO UPDATE SET id_number = excluded.id_number, "
                    "full_name = excluded.full_name, date_of_birth = excluded.date_of_birth, batch = excluded.batch, "
                    "matched_at = excluded.matched_at"
                ),
                params,
            )
            return int(cur.rowcount or 0)  # the sum over the rows: one per line stored
        finally:
            cur.close()

    def _update(self, sql: str, params: list[Any]) -> int:
        cur = self.conn.cursor()
        try:
            cur.execute(self._q(sql), params)
            return int(cur.rowcount or 0)
        finally:
            cur.close()

    def apply_batch(
        self, batch: str, *, regime: str, at: datetime, item_bits: dict[str, int], item: str
    ) -> dict[str, int]:
        """Apply the batch's answers to the lines, set-based (see the port); counts of what changed."""
        matched = f"SELECT subscription_id FROM population_matches WHERE batch = ? AND {_MATCHED}"
        failed = f"SELECT subscription_id FROM population_matches WHERE batch = ? AND NOT ({_MATCHED})"
        out: dict[str, int] = {}
        out["lines_verified"] = self._update(
            "UPDATE subscriptions SET verified_regime = ?, verified_method = 'population_db', verified_at = ? "
            f"WHERE id IN ({matched}) AND (verified_method IS NULL OR verified_method = 'population_db')",
            [regime, self._ts(at), batch],
        )
        out["verifications_withdrawn"] = self._update(
            "UPDATE subscriptions SET verified_regime = NULL, verified_method = NULL, verified_at = NULL "
            f"WHERE id IN ({failed}) AND verified_method = 'population_db'",
            [batch],
        )
        mask = "COALESCE(missing_mask, 0)"
        incomplete = cleared = 0
        groups: dict[int, list[str]] = {}
        for tag, bit in item_bits.items():  # every regime so far keeps the item at the same bit: one group
            groups.setdefault(int(bit), []).append(tag)
        for bit, tags in groups.items():
            b = f"CAST({bit} AS BIGINT)"
            among = f"rule_set IN ({', '.join('?' * len(tags))})"
            incomplete += self._update(
                f"UPDATE subscriptions SET missing_mask = {mask} | {b}, complete = ?, "
                "missing = CASE WHEN missing = '' THEN ? ELSE missing || ',' || ? END, "
                "verdict = CASE WHEN verdict = 0 THEN 1 ELSE verdict END "
                f"WHERE id IN ({failed}) AND {among} AND ({mask} & {b}) = 0 AND verified_method IS NULL "
                "AND COALESCE(channel, '') <> 'legacy_import'",
                [False, item, item, batch, *tags],
            )
            rest = f"({mask} & ~{b})"
            cleared += self._update(
                f"UPDATE subscriptions SET missing_mask = {rest}, "
                f"complete = CASE WHEN {rest} = 0 AND error_codes = '' THEN ? ELSE ? END, "
                "missing = CASE WHEN missing = ? THEN '' "
                "ELSE REPLACE(REPLACE(missing, ?, ''), ?, '') END, "
                f"verdict = CASE WHEN verdict = 1 AND {rest} = 0 THEN 0 ELSE verdict END "
                f"WHERE id IN ({matched}) AND {among} AND ({mask} & {b}) <> 0",
                [True, False, item, "," + item, item + ",", batch, *tags],
            )
        out["lines_incomplete"] = incomplete
        out["lines_completed_item"] = cleared
        for idr, name, born, n in self.execute(
            "SELECT id_number, full_name, date_of_birth, count(*) FROM population_matches WHERE batch = ? "
            "GROUP BY id_number, full_name, date_of_birth",
            [batch],
        ):
            if idr == "not_found":
                key = "not_found"
            elif idr == "match" and name == "match" and born == "match":
                key = "matched"
            else:
                key = "mismatched"
            out[key] = out.get(key, 0) + int(n)
            if name == "mismatch":
                out["name_mismatch"] = out.get("name_mismatch", 0) + int(n)
            if born == "mismatch":
                out["birth_mismatch"] = out.get("birth_mismatch", 0) + int(n)
        return out


def open_population_store(engine: Any) -> PopulationStore:
    """A population store on `engine` (close it when done)."""
    return PopulationStore(engine)
