"""In-memory `AuditRepository`: the append-only, hash-chained audit log (as `adapters.db.audit_repo`).

Entries are kept as the table keeps them (fields and details as JSON text) and read back through the same
parsing, so what a service appends comes back exactly as it would from the database. There is no appenders'
lock to take: `lock_head` only reads the head. A duplicate `seq` is refused, as the primary key refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from subreg.adapters.memory._store import Row, Transaction
from subreg.domain.common.errors import CryptoError
from subreg.domain.privacy.audit_chain import START, AuditEntry, Checkpoint
from subreg.services.common.ports import ActivityCounts, AuditFilter

__all__ = ["MemoryAuditRepository"]


def _entry(m: Row) -> AuditEntry:
    try:
        fields = tuple(orjson.loads(m["fields"]))
    except (orjson.JSONDecodeError, TypeError):
        fields = (str(m["fields"]),)
    try:
        details = orjson.loads(m["details"])
    except (orjson.JSONDecodeError, TypeError):
        details = {"unparseable": str(m["details"])}
    return AuditEntry(
        seq=m["seq"],
        at=m["at"],
        actor_staff_id=m["actor_staff_id"],
        actor_role=m["actor_role"],
        point_of_sale_id=m["point_of_sale_id"],
        action=m["action"],
        subject=m["subject"],
        fields=fields,
        purpose=m["purpose"],
        request_id=m["request_id"],
        details=details if isinstance(details, dict) else {"unparseable": str(m["details"])},
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


class MemoryAuditRepository:
    """The append-only, hash-chained audit log."""

    def __init__(self, tx: Callable[[], Transaction], key: bytes | None = None) -> None:
        self._tx = tx
        self._key = key

    @property
    def chain_key(self) -> bytes:
        """The HMAC key of the chain; CryptoError when this unit of work was built without one."""
        if not self._key:
            raise CryptoError("audit chain key not configured")
        return self._key

    def lock_head(self) -> Checkpoint:
        """The newest (seq, hash): one thread at a time, nothing to lock."""
        return self.head()

    def head(self) -> Checkpoint:
        """The newest (seq, hash), START when empty."""
        rows = self._tx().rows("audit_log")
        if not rows:
            return START
        row = rows[max(rows)]
        return Checkpoint(int(row["seq"]), row["hash"])

    def insert(self, entry: AuditEntry) -> None:
        """Append one sealed entry."""
        self._tx().insert(
            "audit_log",
            {
                "seq": entry.seq,
                "at": entry.at,
                "actor_staff_id": entry.actor_staff_id,
                "actor_role": entry.actor_role,
                "point_of_sale_id": entry.point_of_sale_id,
                "action": str(entry.action),
                "subject": entry.subject,
                "fields": orjson.dumps(list(entry.fields)).decode(),
                "purpose": entry.purpose,
                "request_id": entry.request_id,
                "details": orjson.dumps(dict(entry.details), option=orjson.OPT_SORT_KEYS).decode(),
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
            },
        )

    def iter_entries(self, *, after_seq: int = 0, batch_size: int = 1000) -> Iterator[AuditEntry]:
        """Entries after `after_seq` in seq order."""
        for row in list(self._tx().scan("audit_log", lambda r: r["seq"] > after_seq)):
            yield _entry(row)

    def find_by_hash(self, hash_: str) -> AuditEntry | None:
        """The entry whose stored hash is `hash_`."""
        for row in self._tx().scan("audit_log", lambda r: r["hash"] == hash_):
            return _entry(row)
        return None

    def get(self, seq: int) -> AuditEntry | None:
        """One entry by seq."""
        row = self._tx().get("audit_log", seq)
        return None if row is None else _entry(row)

    def search(self, criteria: AuditFilter) -> list[AuditEntry]:
        """Entries matching every given criterion, newest first, at most `limit`."""
        c = criteria
        subjects = set(c.subjects)

        def matches(r: Row) -> bool:
            return (
                (c.staff_id is None or r["actor_staff_id"] == c.staff_id)
                and (not subjects or r["subject"] in subjects)
                and (c.since is None or r["at"] >= c.since)
                and (c.until is None or r["at"] < c.until)
                and (c.purpose is None or r["purpose"] == c.purpose)
                and (c.action is None or r["action"] == c.action)
                and (c.before_seq is None or r["seq"] < c.before_seq)
            )

        rows = list(self._tx().scan("audit_log", matches))
        return [_entry(r) for r in reversed(rows[-max(1, c.limit) :])]

    def _period(self, since: str | None, until: str | None) -> Callable[[Row], bool]:
        def within(r: Row) -> bool:
            return (
                r["actor_staff_id"] is not None
                and (since is None or r["at"] >= since)
                and (until is None or r["at"] < until)
            )

        return within

    def activity(
        self, *, since: str | None, until: str | None, read_actions: Sequence[str],
        lookup_actions: Sequence[str], transaction_actions: Sequence[str],
    ) -> ActivityCounts:  # fmt: skip
        """Per-staff counts of reads, ID lookups and transactions in the period."""
        counts = ActivityCounts({}, {}, {}, {})
        roles: dict[int, list[str]] = {}
        for row in self._tx().scan("audit_log", self._period(since, until)):
            staff = int(row["actor_staff_id"])
            action: Any = row["action"]
            counts.reads[staff] = counts.reads.get(staff, 0) + (action in read_actions)
            counts.id_lookups[staff] = counts.id_lookups.get(staff, 0) + (action in lookup_actions)
            counts.transactions[staff] = counts.transactions.get(staff, 0) + (action in transaction_actions)
            roles.setdefault(staff, [])
            if row["actor_role"] is not None:
                roles[staff].append(row["actor_role"])
        for staff, seen in roles.items():
            counts.roles[staff] = max(seen) if seen else ""  # SQL: MAX(actor_role), NULLs left out
        return counts

    def read_times(
        self, *, since: str | None, until: str | None, read_actions: Sequence[str]
    ) -> Iterator[tuple[int, int | None, str]]:
        """(staff, point of sale, timestamp) of every read in the period."""
        within = self._period(since, until)
        reads = set(read_actions)
        for row in list(self._tx().scan("audit_log", lambda r: within(r) and r["action"] in reads)):
            yield int(row["actor_staff_id"]), row["point_of_sale_id"], row["at"]
