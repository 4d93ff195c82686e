# ruff: noqa: S608 - table and column names below come from this module and the importer's constants;
# every value is a bound parameter.
"""Set-based SQL for bulk import, evaluation and statistics (SQLite and PostgreSQL, raw DBAPI).

Everything here works on whole batches: one `executemany` (SQLite) or one `COPY` (PostgreSQL) per
table per batch, look-ups of a batch's keys in ONE query (`json_each` on SQLite, `= ANY(array)` on
PostgreSQL), and evaluation as a handful of UPDATEs over the whole table. There is no per-row round
trip. The caller owns the transaction: `begin()` ... `commit()`; the import's progress row is written
inside the same transaction as the batch it describes.

Holder ids are reserved before the insert (rows are encrypted first, the subscription row needs the
id): `nextval` of the sequence on PostgreSQL; `max(id)` under the write lock (`BEGIN IMMEDIATE`) on
SQLite, where writers are serialized anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Engine

from subreg.adapters.db.stats_key import unpack as unpack_stats_key
from subreg.services.registry.ports import CurrentLine, EvaluationRun

# The dirty set's mark for "every person" (no blind index is this short).
EVERYONE = b"*"

__all__ = ["DEFERRABLE_SQLITE_INDEXES", "BulkSession", "ensure_indexes", "open_bulk_session"]


# PostgreSQL types COPY ... (FORMAT BINARY) is given as Python values directly: bool, bytea, int8, int2,
# int4, text, varchar, date (others, e.g. timestamps or json, go by text COPY).
_DATE_OID = 1082
_BINARY_COPY_OIDS = frozenset({16, 17, 20, 21, 23, 25, 1043, _DATE_OID})


def _placeholders(n: int, pg: bool) -> str:
    return ", ".join(["%s" if pg else "?"] * n)


# Secondary indexes over random keys that a first load into SQLite builds after its rows rather than row by
# row: once such a B-tree outgrows the page cache every insert dirties a page of its own (the load slows
# down as it grows), while CREATE INDEX sorts once. Definitions as the migrations create them (0001, 0007, 0010).
# `ix_subscriptions_holder_id` stays: holder ids only grow (appends), and updates count holders with it.
DEFERRABLE_SQLITE_INDEXES = {
    "ix_holders_id_blind": "CREATE INDEX IF NOT EXISTS ix_holders_id_blind ON holders (id_blind)",
    "ix_subscriptions_stats_key": (
        "CREATE INDEX IF NOT EXISTS ix_subscriptions_stats_key ON subscriptions (stats_key, missing_mask, activated_on)"
    ),
    "ix_subscriptions_person_key": (
        "CREATE INDEX IF NOT EXISTS ix_subscriptions_person_key ON subscriptions (person_key)"
    ),
}


def ensure_indexes(engine: Engine) -> list[str]:
    """Rebuild the secondary indexes a first load left out (killed and never resumed); the names rebuilt."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.begin() as c:
        present = {r[0] for r in c.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
        missing = [name for name in DEFERRABLE_SQLITE_INDEXES if name not in present]
        for name in missing:
            c.exec_driver_sql(DEFERRABLE_SQLITE_INDEXES[name])
    return missing


class BulkSession:
    """One raw DBAPI connection used by one writer (the importer's main process, or evaluation)."""

    def __init__(self, engine: Engine, *, within: Any = None) -> None:
        """`within`: the driver connection of a transaction someone else owns (a dry run's unit of work): the
        session's work joins it, and `begin`, `commit`, `rollback` and `close` leave it to its owner."""
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self._nested = within is not None
        self._proxy = None if self._nested else engine.raw_connection()
        self.conn: Any = within if self._nested else self._proxy.driver_connection  # type: ignore[union-attr]
        self._types: dict[tuple[str, tuple[str, ...]], list[int] | None] = {}
        if not self.pg:
            self.conn.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache for the bulk writer

    # -- indexes deferred during a first load (SQLite) ------------------------------------------

    def defer_indexes(self) -> bool:
        """Drop the deferrable indexes when this is a first load (no subscription yet) or the resume of one
        (they are already gone); True when `ensure_indexes` must build them at the end."""
        if self.pg:
            return False
        present = {r[0] for r in self.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        resumed = any(name not in present for name in DEFERRABLE_SQLITE_INDEXES)
        if not resumed and self.execute("SELECT 1 FROM subscriptions LIMIT 1"):
            return False
        self.begin()
        for name in DEFERRABLE_SQLITE_INDEXES:
            self.conn.execute(f"DROP INDEX IF EXISTS {name}")
        self.commit()
        return True

    def ensure_indexes(self) -> list[str]:
        """`ensure_indexes` on this session's engine (its own transaction)."""
        return ensure_indexes(self.engine)

    # -- transactions -------------------------------------------------------------------------

    def begin(self) -> None:
        if not self.pg and not self._nested:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self._nested:
            return
        self.conn.commit() if self.pg else self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._nested:
            return
        if self.pg:
            self.conn.rollback()
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        if self._proxy is None:
            return
        try:
            self.rollback()
        finally:
            self._proxy.close()

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.pg else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(self._q(sql), params)
            return list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cur = self.conn.cursor()
        try:
            cur.executemany(self._q(sql), rows)
        finally:
            cur.close()

    # -- import -------------------------------------------------------------------------------

    def _keys_clause(self, keys: Sequence[int]) -> tuple[str, list[Any]]:
        if self.pg:
            return "= ANY(%s)", [list(keys)]
        return "IN (SELECT value FROM json_each(?))", [orjson.dumps(list(keys)).decode()]

    def existing(self, keys: Sequence[int]) -> dict[int, CurrentLine]:
        """msisdn -> the current line (latest generation) of each number among `keys` that has one."""
        if not keys:
            return {}
        clause, params = self._keys_clause(keys)
        rows = self.execute(
            "SELECT msisdn, id, generation, status, source_hash, holder_id, person_key FROM subscriptions "
            f"WHERE msisdn {clause} ORDER BY generation",
            params,
        )
        # Later generations overwrite earlier ones: the current line wins.
        return {
            int(m): CurrentLine(int(i), int(g), str(s), _opt_bytes(h), int(hid), _opt_bytes(pk))
            for m, i, g, s, h, hid, pk in rows
        }

    def old_rows(self, line_ids: Sequence[int], columns: Sequence[str]) -> dict[int, dict[str, Any]]:
        """Stored line `columns` (by line id) plus the holder's key material and how many lines share it."""
        if not line_ids:
            return {}
        clause, params = self._keys_clause(line_ids)
        cols = ", ".join(f"s.{c}" for c in columns)
        rows = self.execute(
            f"SELECT s.id, {cols}, h.id, h.kek_id, h.wrapped_dek, h.aad_ref, h.payload, "
            "(SELECT count(*) FROM subscriptions o WHERE o.holder_id = h.id) "
            f"FROM subscriptions s JOIN holders h ON h.id = s.holder_id WHERE s.id {clause}",
            params,
        )
        out: dict[int, dict[str, Any]] = {}
        n = len(columns)
        for row in rows:
            values = dict(zip(columns, row[1 : 1 + n], strict=True))
            hid, kek, wrapped, aad, payload, shared = row[1 + n :]
            values["_holder"] = (int(hid), kek, None if wrapped is None else bytes(wrapped), bytes(aad), bytes(payload))
            values["_shared"] = int(shared) > 1
            out[int(row[0])] = values
        return out

    def holder_ids(self, n: int) -> list[int]:
        """`n` fresh holder ids (inside the write transaction)."""
        return self._fresh_ids("holders", n)

    def subscription_ids(self, n: int) -> list[int]:
        """`n` fresh line ids (inside the write transaction)."""
        return self._fresh_ids("subscriptions", n)

    def _fresh_ids(self, table: str, n: int) -> list[int]:
        # The rows are encrypted before they are inserted, and other rows need their ids: reserve them.
        if n == 0:
            return []
        if self.pg:
            rows = self.execute(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [n]
            )
            return [int(r[0]) for r in rows]
        # SQLite: the writer holds the write lock (BEGIN IMMEDIATE), so max(id) cannot move meanwhile.
        top = self.execute(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0]
        return list(range(int(top) + 1, int(top) + 1 + n))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows: COPY on PostgreSQL, one executemany on SQLite."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.pg:
            types = self._copy_types(table, columns)
            cur = self.conn.cursor()
            try:
                if types is None:
                    with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    self._copy_binary(cur, f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)", types, rows)
            finally:
                cur.close()
        else:
            self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({_placeholders(len(columns), False)})", rows)

    def _copy_types(self, table: str, columns: Sequence[str]) -> list[int] | None:
        """The columns' type OIDs when all of them have a plain binary form, else None (text COPY)."""
        key = (table, tuple(columns))
        if key not in self._types:
            cur = self.conn.cursor()
            try:
                cur.execute(f"SELECT {', '.join(columns)} FROM {table} LIMIT 0")
                oids = [int(d.type_code) for d in cur.description or ()]
            finally:
                cur.close()
            self._types[key] = oids if oids and set(oids) <= _BINARY_COPY_OIDS else None
        return self._types[key]

    @staticmethod
    def _copy_binary(cur: Any, sql: str, types: list[int], rows: Sequence[Sequence[Any]]) -> None:
        # Binary COPY: bytea travels as bytes, not as hex text the server parses back (measured on holder
        # rows: half the client CPU, a third of the wall time). Dates arrive as ISO text (SQLite's form).
        dates = [i for i, oid in enumerate(types) if oid == _DATE_OID]
        with cur.copy(sql) as copy:
            copy.set_types(types)
            if not dates:
                for row in rows:
                    copy.write_row(row)
                return
            for row in rows:
                values = list(row)
                for i in dates:
                    if values[i].__class__ is str:
                        values[i] = date.fromisoformat(values[i])
                copy.write_row(values)

    def update(self, table: str, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """UPDATE by `key` (the LAST value of each row), all rows in one executemany."""
        sets = ", ".join(f"{c} = ?" for c in columns)
        self.executemany(f"UPDATE {table} SET {sets}, updated_at = CURRENT_TIMESTAMP WHERE {key} = ?", rows)

    def points_of_sale(self) -> dict[str, int]:
        return {str(code): int(pid) for pid, code in self.execute("SELECT id, code FROM points_of_sale")}

    def ported_directions(self, keys: Sequence[int]) -> dict[int, str]:
        """msisdn -> `in` | `out` for the numbers among `keys` on the MNP list (one query per batch)."""
        if not keys:
            return {}
        clause, params = self._keys_clause(sorted(set(keys)))
        rows = self.execute(f"SELECT msisdn, direction FROM ported_numbers WHERE msisdn {clause}", params)
        return {int(m): str(d) for m, d in rows}

    # -- import runs --------------------------------------------------------------------------

    def find_run(self, fingerprint: str) -> dict[str, Any] | None:
        rows = self.execute(
            "SELECT id, next_offset, next_line, reject_bytes, counts FROM import_runs "
            "WHERE fingerprint = ? AND status = 'running' ORDER BY id DESC LIMIT 1",
            [fingerprint],
        )
        if not rows:
            return None
        rid, offset, line, reject, counts = rows[0]
        return {
            "id": int(rid),
            "next_offset": int(offset),
            "next_line": int(line),
            "reject_bytes": int(reject),
            "counts": orjson.loads(counts),
        }

    def create_run(self, fingerprint: str, source: str, fmt: str) -> int:
        self.begin()
        rows = self.execute(
            "INSERT INTO import_runs (fingerprint, source, format, status, next_offset, next_line, reject_bytes, "
            "counts) VALUES (?, ?, ?, 'running', 0, 0, 0, '{}') RETURNING id",
            [fingerprint, source[:255], fmt],
        )
        self.commit()
        return int(rows[0][0])

    def save_run(
        self, run_id: int, offset: int, line: int, reject_bytes: int, counts: dict[str, int], done: bool
    ) -> None:
        """Record progress (inside the batch's transaction)."""
        self.execute(
            "UPDATE import_runs SET next_offset = ?, next_line = ?, reject_bytes = ?, counts = ?, status = ?, "
            "finished_at = CASE WHEN ? THEN CURRENT_TIMESTAMP ELSE NULL END WHERE id = ?",
            [offset, line, reject_bytes, orjson.dumps(counts).decode(), "done" if done else "running", done, run_id],
        )

    # -- people: links between documents, the evaluation's dirty set -----------------------------

    def persons_of_documents(self, document_keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """document key -> person key, for the linked ones among `document_keys` (one query)."""
        keys = sorted({bytes(k) for k in document_keys})
        if not keys:
            return {}
        found: dict[bytes, bytes] = {}
        for i in range(0, len(keys), 5000):
            chunk = keys[i : i + 5000]
            marks = _placeholders(len(chunk), self.pg)
            rows = self.execute(
                f"SELECT document_key, person_key FROM document_links WHERE document_key IN ({marks})", chunk
            )
            found.update((bytes(d), bytes(p)) for d, p in rows)
        return found

    def link_documents(self, links: Mapping[bytes, bytes]) -> None:
        """Record document -> person links (replacing older ones) and move the documents' lines."""
        if not links:
            return
        pairs = [(bytes(d), bytes(p)) for d, p in links.items()]
        upsert = "ON CONFLICT (document_key) DO UPDATE SET person_key = excluded.person_key"
        self.executemany(f"INSERT INTO document_links (document_key, person_key) VALUES (?, ?) {upsert}", pairs)
        self.executemany("UPDATE subscriptions SET person_key = ? WHERE person_key = ?", [(p, d) for d, p in pairs])

    def mark_dirty(self, person_keys: Iterable[bytes | None]) -> None:
        """Add people to the evaluation's dirty set (once each)."""
        keys = sorted({bytes(k) for k in person_keys if k is not None})
        if keys:
            self.executemany(
                "INSERT INTO evaluation_dirty (person_key) VALUES (?) ON CONFLICT (person_key) DO NOTHING",
                [(k,) for k in keys],
            )

    def mark_everyone_dirty(self) -> None:
        """Ask the next evaluation to re-rank every person (a first load: cheaper than naming them all)."""
        self.mark_dirty([EVERYONE])

    # -- evaluation ---------------------------------------------------------------------------

    def last_run(self) -> EvaluationRun | None:
        """The latest evaluation's dates and rule set, or None before the first."""
        rows = self.execute("SELECT as_of, phase_reference, rule_set FROM evaluation_runs ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        as_of, reference, rule_set = rows[0]
        return EvaluationRun(_day(as_of), _day(reference), str(rule_set))

    def record_run(self, run: EvaluationRun, *, full: bool, report: Mapping[str, Any]) -> None:
        """Remember this evaluation (inside its transaction)."""
        self.execute(
            'INSERT INTO evaluation_runs (as_of, phase_reference, rule_set, "full", report, finished_at) '
            "VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
            [run.as_of.isoformat(), run.phase_reference.isoformat(), run.rule_set, full, orjson.dumps(report).decode()],
        )

    def everyone_dirty(self) -> bool:
        """Whether the next evaluation must re-rank every person."""
        return bool(self.execute("SELECT 1 FROM evaluation_dirty WHERE person_key = ?", [EVERYONE]))

    def dirty_count(self) -> int:
        """How many people are marked."""
        return int(self.execute("SELECT count(*) FROM evaluation_dirty")[0][0])

    def clear_dirty(self) -> None:
        """Empty the dirty set (in the transaction that re-ranked them)."""
        self.execute("DELETE FROM evaluation_dirty")

    def due_for_recheck(
        self, after: int, limit: int, columns: Sequence[str], *, as_of: date, rule_tag: str, scan: str
    ) -> list[tuple[Any, ...]]:
        """A keyset page (by line id) of the lines whose stored verdict may no longer hold at `as_of`, with
        their holder's key material and payload: `valid_until` reached (an index range), plus, when `scan`
        says so, every line of another rule-set revision (`rule_set`) or evaluated after `as_of` (`earlier`)."""
        cols = ", ".join(f"s.{c}" for c in columns)
        where, params = "s.valid_until <= ?", [as_of.isoformat()]
        # Only the dates reached (the daily case): `+s.id` keeps the planners off the primary key, which
        # they would walk in id order for the ORDER BY ... LIMIT, filtering all 10 M rows (1.5 s) to find
        # none; the valid_until index finds the few due and they are sorted. Otherwise most lines qualify
        # and the primary-key walk is the right plan.
        line_id = "+s.id" if scan == "none" else "s.id"
        if scan == "rule_set":
            where, params = f"({where} OR s.rule_set <> ?)", [*params, rule_tag]
        elif scan == "earlier":
            where, params = f"({where} OR s.evaluated_on > ?)", [*params, as_of.isoformat()]
        return self.execute(
            f"SELECT s.id, {cols}, h.kek_id, h.wrapped_dek, h.aad_ref, h.payload "
            f"FROM subscriptions s JOIN holders h ON h.id = s.holder_id WHERE {line_id} > ? AND {where} "
            f"ORDER BY {line_id} LIMIT ?",
            [after, *params, limit],
        )

    def write_verdicts(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write re-checked verdicts: (complete, missing, error_codes, verdict, missing_mask, valid_until, rule_set,
        evaluated_on, line id) rows."""
        self.executemany(
            "UPDATE subscriptions SET complete = ?, missing = ?, error_codes = ?, verdict = ?, missing_mask = ?, "
            "valid_until = ?, rule_set = ?, evaluated_on = ? WHERE id = ?",
            rows,
        )

    def evaluate_phase(self, cutoff: date) -> int:
        """Set `phase` from `activated_on` (1 after `cutoff`, 2 on or before, NULL without); rows changed."""
        expr = "CASE WHEN activated_on IS NULL THEN NULL WHEN activated_on > ? THEN 1 ELSE 2 END"
        op = "IS DISTINCT FROM" if self.pg else "IS NOT"
        cur = self.conn.cursor()
        try:
            c = cutoff.isoformat()
            cur.execute(self._q(f"UPDATE subscriptions SET phase = {expr} WHERE phase {op} ({expr})"), [c, c])
            return int(cur.rowcount)
        finally:
            cur.close()

    def evaluate_contracts(self, from_ordinal: int, *, everyone: bool) -> int:
        """The 4th-subscription rule, set-based (`services.registry.lines` defines it): rank each person's
        active lines (not terminated) by activation date (none first), then number; an individual's line
        from `from_ordinal` on without a contract needs one. Every person when `everyone`, else the dirty
        ones. Only lines whose value changes are written; rows changed."""
        self.execute("DROP TABLE IF EXISTS tmp_people")
        self.execute("DROP TABLE IF EXISTS tmp_need")
        if everyone:
            # Candidates from the person-key index alone: a person with `from_ordinal` lines, any status.
            self.execute(
                "CREATE TEMPORARY TABLE tmp_people AS SELECT person_key FROM subscriptions "
                f"WHERE person_key IS NOT NULL GROUP BY person_key HAVING count(*) >= {int(from_ordinal)}"
            )
        else:
            self.execute(
                "CREATE TEMPORARY TABLE tmp_people AS SELECT person_key FROM evaluation_dirty WHERE person_key <> ?",
                [EVERYONE],
            )
        false, true = ("FALSE", "TRUE") if self.pg else ("0", "1")
        self.execute(
            "CREATE TEMPORARY TABLE tmp_need AS SELECT id FROM (SELECT s.id, s.subscriber_type, s.has_contract, "
            "  ROW_NUMBER() OVER (PARTITION BY s.person_key ORDER BY s.activated_on NULLS FIRST, s.msisdn) AS ordinal "
            "  FROM subscriptions s WHERE s.status <> 'terminated' "
            "  AND s.person_key IN (SELECT person_key FROM tmp_people)) ranked "
            f"WHERE ordinal >= {int(from_ordinal)} AND subscriber_type = 'individual' "
            f"AND NOT coalesce(has_contract, {false})"
        )
        self.execute("CREATE INDEX tmp_need_id ON tmp_need (id)")
        changed = 0
        cur = self.conn.cursor()
        try:
            cur.execute(
                f"UPDATE subscriptions SET contract_needed = {true} "
                f"WHERE id IN (SELECT id FROM tmp_need) AND NOT coalesce(contract_needed, {false})"
            )
            changed += int(cur.rowcount)
            scope = "" if everyone else "AND person_key IN (SELECT person_key FROM tmp_people) "
            cur.execute(
                f"UPDATE subscriptions SET contract_needed = {false} WHERE contract_needed {scope}"
                "AND id NOT IN (SELECT id FROM tmp_need)"
            )
            changed += int(cur.rowcount)
        finally:
            cur.close()
        self.execute("DROP TABLE tmp_need")
        self.execute("DROP TABLE tmp_people")
        return changed

    # -- statistics ---------------------------------------------------------------------------

    def stats_groups(self, cutoff: date | None) -> list[tuple[Any, ...]]:
        """(verdict, phase, subscriber_type, payment_type, channel, province_code, missing_mask, count)."""
        if not self.pg:
            return self._stats_groups_sqlite(cutoff)
        dims = "verdict, subscriber_type, payment_type, channel, province_code, missing_mask"
        if cutoff is None:
            rows = self.execute(f"SELECT {dims}, phase, count(*) FROM subscriptions GROUP BY {dims}, phase")
            return [(r[0], r[6], *r[1:6], r[7]) for r in rows]
        # The phase for another reference date is counted with conditional sums, not grouped by: the
        # GROUP BY then follows the covering index's order (no sort of 10 M computed keys on SQLite).
        rows = self.execute(
            f"SELECT {dims}, count(*), sum(CASE WHEN activated_on > ? THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN activated_on IS NULL THEN 1 ELSE 0 END) FROM subscriptions GROUP BY {dims}",
            [cutoff.isoformat()],
        )
        out: list[tuple[Any, ...]] = []
        for *group, total, recent, undated in rows:
            recent, undated = int(recent or 0), int(undated or 0)
            for phase, n in ((1, recent), (2, int(total) - recent - undated), (None, undated)):
                if n:
                    out.append((group[0], phase, *group[1:], n))
        return out

    def _stats_groups_sqlite(self, cutoff: date | None) -> list[tuple[Any, ...]]:
        # One integer and the mask per row (`stats_key`, its index covers the query); the key unpacked here.
        if cutoff is None:
            rows = self.execute("SELECT stats_key, missing_mask, count(*) FROM subscriptions GROUP BY 1, 2")
            return [(*unpack_stats_key(int(key)), mask, n) for key, mask, n in rows]
        # Another reference date: the key's stored phase is ignored, the phase counted from activated_on.
        rows = self.execute(
            "SELECT stats_key, missing_mask, count(*), sum(CASE WHEN activated_on > ? THEN 1 ELSE 0 END), "
            "sum(CASE WHEN activated_on IS NULL THEN 1 ELSE 0 END) FROM subscriptions GROUP BY 1, 2",
            [cutoff.isoformat()],
        )
        out: list[tuple[Any, ...]] = []
        for key, mask, total, recent, undated in rows:
            verdict, _stored, *dims = unpack_stats_key(int(key))
            recent, undated = int(recent or 0), int(undated or 0)
            for phase, n in ((1, recent), (2, int(total) - recent - undated), (None, undated)):
                if n:
                    out.append((verdict, phase, *dims, mask, n))
        return out

    def contract_needed_by_verdict(self) -> dict[int | None, int]:
        """How many lines need their 4th-subscription contract, per verdict (a small partial index)."""
        rows = self.execute("SELECT verdict, count(*) FROM subscriptions WHERE contract_needed GROUP BY verdict")
        return {(None if v is None else int(v)): int(n) for v, n in rows}

    def over_limit(self, minimum: int, limit: int) -> list[tuple[bytes, int, int, int]]:
        """(person key, active lines, without contract, contract needed) of the people over the limit."""
        false = "FALSE" if self.pg else "0"
        self.execute("DROP TABLE IF EXISTS tmp_people")
        self.execute(
            "CREATE TEMPORARY TABLE tmp_people AS SELECT person_key FROM subscriptions "
            f"WHERE person_key IS NOT NULL GROUP BY person_key HAVING count(*) >= {int(minimum)}"
        )
        rows = self.execute(
            "SELECT s.person_key, count(*), "
            f"sum(CASE WHEN coalesce(s.has_contract, {false}) THEN 0 ELSE 1 END), "
            "sum(CASE WHEN s.contract_needed THEN 1 ELSE 0 END) "
            "FROM subscriptions s WHERE s.status <> 'terminated' "
            "AND s.person_key IN (SELECT person_key FROM tmp_people) GROUP BY s.person_key "
            f"HAVING sum(CASE WHEN coalesce(s.has_contract, {false}) THEN 0 ELSE 1 END) >= ? "
            "ORDER BY 3 DESC, 1 LIMIT ?",
            [minimum, limit],
        )
        self.execute("DROP TABLE tmp_people")
        return [(bytes(b), int(n), int(w), int(c or 0)) for b, n, w, c in rows]


def _opt_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def open_bulk_session(engine: Engine) -> BulkSession:
    """A bulk session on `engine` (close it when done)."""
    return BulkSession(engine)


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    """Lists of at most `size` items."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
