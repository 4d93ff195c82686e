# ruff: noqa: S608 - table and column names below come from this module and the ports' constants; every value is
# a bound parameter.
"""Set-based SQL of bulk derivation (`services.backoffice.derive_ports.DeriveStore`), SQLite and PostgreSQL.

Candidates are chosen on clear columns only, so that nothing is decrypted for a line no derivation can touch:
a live line (not terminated) of a holder not crypto-shredded, and one of

- `subscriptions.subscriber_type` NULL (derived from the record's shape), or `purpose` NULL on an individual's
  line (personal_use);
- `holders.id_type` one of the types the rule set derives from (`cmnd`, `cccd`: nationality; `cccd`: gender,
  birth year), or NULL on a person (a child without papers: its guardian's may be one), or an organization
  (its listed users' papers).

`subscriptions.missing` / `missing_mask` cannot narrow this further: the rule set counts a derivable value as
present when it checks a record (`_require_person`), so a derivable path is never listed as missing; which of
these records still lack the value is known only inside the payload.

Pages are keyed by holder id (the index on `subscriptions.holder_id`), every line of a holder in one page. The
run's progress reuses `import_runs` (fingerprint `derive:<rule set>:<date>`, `next_offset` = the last holder id
done, `counts`): it is the table of resumable bulk runs, and no migration is needed for a second kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from subreg.adapters.db.bulk import BulkSession
from subreg.services.backoffice.derive_ports import PAGE_COLUMNS, DeriveRun, LineWrite

__all__ = ["SqlDeriveStore"]

_SELECT = (
    f"SELECT s.id, s.holder_id, s.version, {', '.join(f's.{c}' for c in PAGE_COLUMNS)}, "
    "h.kek_id, h.wrapped_dek, h.aad_ref, h.payload FROM subscriptions s JOIN holders h ON h.id = s.holder_id "
)
_LIVE = "s.status <> 'terminated' AND h.wrapped_dek IS NOT NULL"
_LINE_UPDATE = (
    "UPDATE subscriptions SET subscriber_type = ?, purpose = ?, complete = ?, missing = ?, error_codes = ?, "
    "verdict = ?, missing_mask = ?, valid_until = ?, rule_set = ?, evaluated_on = ?, version = version + 1, "
    "updated_at = CURRENT_TIMESTAMP WHERE id = ?"
)
# A line whose stored verdict holds: only what was filled, and the version. `subscriber_type` is set only when
# it was filled: naming it in SET makes SQLite rewrite the entry of the index on `stats_key` (a generated
# column computed from it) of every row, which doubles the cost of the common statement (`purpose` only).
_FILL_UPDATE = (
    "UPDATE subscriptions SET subscriber_type = ?, purpose = ?, version = version + 1, "
    "updated_at = CURRENT_TIMESTAMP WHERE id = ?"
)
_PURPOSE_UPDATE = (
    "UPDATE subscriptions SET purpose = ?, version = version + 1, updated_at = CURRENT_TIMESTAMP WHERE id = ?"
)


class SqlDeriveStore:
    """The derivation's storage on one raw connection (a `BulkSession`'s)."""

    def __init__(self, session: BulkSession) -> None:
        self.session = session
        self._reader: BulkSession | None = None  # the reading thread's connection (`candidates`)

    # -- transactions ---------------------------------------------------------------------------

    def begin(self) -> None:
        self.session.begin()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def close(self) -> None:
        try:
            self.end_reading()  # read in this thread (a caller without a reading thread)
        finally:
            self.session.close()

    # -- reading --------------------------------------------------------------------------------

    def last_holder_id(self) -> int:
        return int(self.session.execute("SELECT coalesce(max(id), 0) FROM holders")[0][0])

    def end_reading(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def _read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self._reader is None:
            self._reader = BulkSession(self.session.engine)
            if not self._reader.pg:  # a forward scan: the writer's large page cache would only add memory
                self._reader.conn.execute("PRAGMA cache_size=-16384")
        rows = self._reader.execute(sql, params)
        if self._reader.pg:
            self._reader.conn.rollback()  # no transaction left open between pages
        return rows

    def candidates(self, after_holder: int, limit: int, id_types: Sequence[str]) -> list[tuple[Any, ...]]:
        types = list(id_types) or ["-"]
        marks = ", ".join("?" * len(types))
        where = (
            f"{_LIVE} AND (s.subscriber_type IS NULL OR (s.purpose IS NULL AND s.subscriber_type = 'individual') "
            f"OR h.id_type IN ({marks}) OR (h.id_type IS NULL AND h.kind = 'person') OR h.kind = 'organization')"
        )
        rows = self._read(
            f"{_SELECT} WHERE s.holder_id > ? AND {where} ORDER BY s.holder_id, s.id LIMIT ?",
            [after_holder, *types, limit],
        )
        if len(rows) < limit:
            return rows
        last = rows[-1][1]
        if rows[0][1] != last:
            return [r for r in rows if r[1] != last]  # the last holder's lines all come in the next page
        # One holder with more lines than a page (an organization): all of them, in one page.
        return self._read(f"{_SELECT} WHERE s.holder_id = ? AND {where} ORDER BY s.id", [last, *types])

    def current(self, line_ids: Sequence[int], holder_ids: Sequence[int]) -> tuple[dict[int, int], dict[int, bytes]]:
        if not line_ids:
            return {}, {}
        lock = " FOR UPDATE" if self.session.pg else ""  # SQLite: the writer already holds the write lock
        clause, params = self.session._keys_clause(sorted(set(holder_ids)))
        found = self.session.execute(f"SELECT id, payload FROM holders WHERE id {clause}{lock}", params)
        payloads = {int(i): bytes(p) for i, p in found}
        clause, params = self.session._keys_clause(sorted(set(line_ids)))
        versions = {
            int(i): int(v)
            for i, v in self.session.execute(f"SELECT id, version FROM subscriptions WHERE id {clause}{lock}", params)
        }
        return versions, payloads

    # -- writing --------------------------------------------------------------------------------

    def write(self, holders: Sequence[tuple[bytes, int]], lines: Sequence[LineWrite], *, channel: str) -> None:
        s = self.session
        s.executemany("UPDATE holders SET payload = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?", holders)
        if not lines:
            return
        rechecked = [_line_row(w) for w in lines if w.compliance is not None]
        if rechecked:
            s.executemany(_LINE_UPDATE, rechecked)
        kept = [w for w in lines if w.compliance is None]
        typed = [(w.subscriber_type, w.purpose, w.line_id) for w in kept if _fills_type(w)]
        if typed:
            s.executemany(_FILL_UPDATE, typed)
        if len(typed) < len(kept):
            s.executemany(_PURPOSE_UPDATE, [(w.purpose, w.line_id) for w in kept if not _fills_type(w)])
        s.insert(
            "subscription_history",
            ("subscription_id", "actor_staff_id", "channel", "action", "changes"),
            [
                (w.line_id, None, channel, "updated", orjson.dumps({"fields": [p for p, _r, _s in w.paths]}).decode())
                for w in lines
            ],
        )
        s.insert(
            "field_provenance",
            ("subscription_id", "path", "method", "rule", "source"),
            [(w.line_id, path, "derived", rule, source) for w in lines for path, rule, source in w.paths],
        )
        s.mark_dirty([w.person_key for w in lines if w.person_key is not None])

    # -- the run's progress ---------------------------------------------------------------------

    def find_run(self, key: str) -> DeriveRun | None:
        found = self.session.find_run(key)
        if found is None:
            return None
        return DeriveRun(int(found["id"]), int(found["next_offset"]), dict(found["counts"]))

    def create_run(self, key: str) -> int:
        return self.session.create_run(key, "derivation", "derive")

    def save_run(self, run_id: int, after_holder: int, counts: dict[str, Any], *, done: bool) -> None:
        self.session.save_run(run_id, after_holder, 0, 0, counts, done)


def _fills_type(w: LineWrite) -> bool:
    return any(path == "subscriber_type" for path, _rule, _source in w.paths)


def _line_row(w: LineWrite) -> tuple[Any, ...]:
    c = w.compliance
    assert c is not None
    until = c["valid_until"]
    return (
        w.subscriber_type, w.purpose, bool(c["complete"]), c["missing"], c["error_codes"], int(c["verdict"]),
        int(c["missing_mask"]), None if until is None else until.isoformat(), c["rule_set"],
        c["evaluated_on"].isoformat(), w.line_id,
    )  # fmt: skip
