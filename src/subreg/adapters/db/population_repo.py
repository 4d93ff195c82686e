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
        """Apply the batch's answers to the lines, set-based (see the port): ONE pass over the matched lines and
        one over the others (each UPDATE writes only the lines it changes); counts of what changed."""
        matched = f"SELECT subscription_id FROM population_matches WHERE batch = ? AND {_MATCHED}"
        failed = f"SELECT subscription_id FROM population_matches WHERE batch = ? AND NOT ({_MATCHED})"
        groups: dict[int, list[str]] = {}
        for tag, bit in item_bits.items():  # every regime so far keeps the item at the same bit: one group
            groups.setdefault(int(bit), []).append(tag)
        if len(groups) > 1:  # a later regime that moved the item would need one pass per bit
            raise ValueError("population item at different bits")
        ((bit, tags),) = groups.items() if groups else ((0, [""]),)
        mask, b = "COALESCE(missing_mask, 0)", f"CAST({bit} AS BIGINT)"
        rest = f"({mask} & ~{b})"
        among = f"rule_set IN ({', '.join('?' * len(tags))})"
        ours = "(verified_method IS NULL OR verified_method = 'population_db')"
        has_item = f"({among} AND ({mask} & {b}) <> 0)"
        out: dict[str, int] = {}
        # Matched: verified now (unless a stronger method verified the line), and the item no longer missing.
        out["matched_lines_updated"] = self._update(
            "UPDATE subscriptions SET "
            f"verified_regime = CASE WHEN {ours} THEN ? ELSE verified_regime END, "
            f"verified_at = CASE WHEN {ours} THEN ? ELSE verified_at END, "
            f"verified_method = CASE WHEN {ours} THEN 'population_db' ELSE verified_method END, "
            f"missing_mask = CASE WHEN {has_item} THEN {rest} ELSE missing_mask END, "
            f"complete = CASE WHEN {has_item} THEN (CASE WHEN {rest} = 0 AND error_codes = '' THEN ? ELSE ? END) "
            "ELSE complete END, "
            f"missing = CASE WHEN {has_item} THEN (CASE WHEN missing = ? THEN '' "
            "ELSE REPLACE(REPLACE(missing, ?, ''), ?, '') END) ELSE missing END, "
            f"verdict = CASE WHEN {has_item} AND verdict = 1 AND {rest} = 0 THEN 0 ELSE verdict END "
            f"WHERE id IN ({matched}) AND ({ours} OR {has_item})",
            [regime, self._ts(at), *tags, *tags, True, False, *tags, item, "," + item, item + ",", *tags, batch,
             *tags],
        )  # fmt: skip
        # Mismatched or unknown: a population_db verification withdrawn; the item missing under the regimes that
        # require it (a line a stronger method verified keeps its evidence; legacy imports are not judged).
        needs = f"({among} AND ({mask} & {b}) = 0 AND COALESCE(channel, '') <> 'legacy_import' AND {ours})"
        out["mismatched_lines_updated"] = self._update(
            "UPDATE subscriptions SET verified_regime = NULL, verified_method = NULL, verified_at = NULL, "
            f"missing_mask = CASE WHEN {needs} THEN {mask} | {b} ELSE missing_mask END, "
            f"complete = CASE WHEN {needs} THEN ? ELSE complete END, "
            f"missing = CASE WHEN {needs} THEN (CASE WHEN missing = '' THEN ? ELSE missing || ',' || ? END) "
            "ELSE missing END, "
            f"verdict = CASE WHEN {needs} AND verdict = 0 THEN 1 ELSE verdict END "
            f"WHERE id IN ({failed}) AND (verified_method = 'population_db' OR {needs})",
            [*tags, *tags, False, *tags, item, item, *tags, batch, *tags],
        )  # fmt: skip
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
