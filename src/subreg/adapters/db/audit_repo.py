"""SQL repository: The append-only, hash-chained audit log.

Appending is serialised so that two writers can never both chain onto the same head (a fork):

- PostgreSQL: `pg_advisory_xact_lock(AUDIT_LOCK_ID)`, released when the transaction ends;
- SQLite: a write that touches no row (`UPDATE audit_log SET seq = seq WHERE 0`) takes the database's
  single write lock for the rest of the transaction; a second appender waits (busy_timeout) until the
  first commits or rolls back, and only then reads the head.

The head is read after the lock, in the same transaction, so the entry commits or rolls back with the
caller's work. `seq` is also the primary key: even a writer that bypassed the lock could not fork the
chain, it would fail on the duplicate number.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, func, insert, select, text
from sqlalchemy.exc import OperationalError

from subreg.adapters.db.tables import audit_log
from subreg.domain.common.errors import BusyError, CryptoError
from subreg.domain.privacy.audit_chain import START, AuditEntry, Checkpoint
from subreg.services.common.ports import ActivityCounts, AuditFilter

__all__ = ["AUDIT_LOCK_ID", "SqlAuditRepository"]

# Any constant unique to this lock within the database; "subr" "audi" as two 32-bit words.
AUDIT_LOCK_ID = 0x73756272_61756469 & 0x7FFF_FFFF_FFFF_FFFF

_COLUMNS = (
    audit_log.c.seq,
    audit_log.c.at,
    audit_log.c.actor_staff_id,
    audit_log.c.actor_role,
    audit_log.c.point_of_sale_id,
    audit_log.c.action,
    audit_log.c.subject,
    audit_log.c.fields,
    audit_log.c.purpose,
    audit_log.c.request_id,
    audit_log.c.details,
    audit_log.c.prev_hash,
    audit_log.c.hash,
)

# Built once: every audited request appends, and building a statement (and its cache key) per call
# costs more than running it.
_HEAD = select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
_INSERT = insert(audit_log)
_SQLITE_WRITE_LOCK = text("UPDATE audit_log SET seq = seq WHERE 0")
_PG_LOCK = text(f"SELECT pg_advisory_xact_lock({AUDIT_LOCK_ID})")


def _entry(row: Any) -> AuditEntry:
    # Whatever the table holds is handed to verification as is: a value that no longer parses is
    # kept as text so that the chain check (not this reader) reports the entry as edited.
    try:
        fields = tuple(orjson.loads(row.fields))
    except (orjson.JSONDecodeError, TypeError):
        fields = (str(row.fields),)
    try:
        details = orjson.loads(row.details)
    except (orjson.JSONDecodeError, TypeError):
        details = {"unparseable": str(row.details)}
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor_staff_id=row.actor_staff_id,
        actor_role=row.actor_role,
        point_of_sale_id=row.point_of_sale_id,
        action=row.action,
        subject=row.subject,
        fields=fields,
        purpose=row.purpose,
        request_id=row.request_id,
        details=details if isinstance(details, dict) else {"unparseable": str(row.details)},
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlAuditRepository:
    """The append-only, hash-chained audit log."""

    def __init__(self, connection: Connection, key: bytes | None = None) -> None:
        self._c = connection
        self._key = key
        # The head while this transaction holds the appenders' lock: nobody else can append until it ends,
        # so a batch appending many entries (1414 look-ups) reads the head once, not once per entry.
        self._held: Checkpoint | None = None

    def release(self) -> None:
        """The transaction ended (commit or rollback): the lock is gone, the head must be read again."""
        self._held = None

    @property
    def chain_key(self) -> bytes:
        """The HMAC key of the chain; CryptoError when this unit of work was built without one."""
        if not self._key:
            raise CryptoError("audit chain key not configured")
        return self._key

    def lock_head(self) -> Checkpoint:
        """Take the appenders' lock for the rest of the transaction, then read the newest (seq, hash)."""
        if self._held is not None and self._c.in_transaction():
            return self._held
        if self._c.dialect.name == "postgresql":
            self._c.execute(_PG_LOCK)
            self._held = self.head()
            return self._held
        try:
            self._c.execute(_SQLITE_WRITE_LOCK)
        except OperationalError:
            # SQLite WAL: a transaction that has read, and then finds that another writer committed
            # since, cannot become a writer (SQLITE_BUSY_SNAPSHOT); the whole unit must start again.
            raise BusyError("audit log busy, retry") from None
        self._held = self.head()
        return self._held

    def head(self) -> Checkpoint:
        """The newest (seq, hash), START when empty."""
        row = self._c.execute(_HEAD).first()
        return START if row is None else Checkpoint(int(row.seq), row.hash)

    def insert(self, entry: AuditEntry) -> None:
        """Append one sealed entry."""
        self._c.execute(
            _INSERT,
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
        if self._held is not None:
            self._held = Checkpoint(entry.seq, entry.hash)

    def iter_entries(self, *, after_seq: int = 0, batch_size: int = 1000) -> Iterator[AuditEntry]:
        """Entries after `after_seq` in seq order, by keyset pages of `batch_size` (constant memory)."""
        last = after_seq
        while True:
            rows = self._c.execute(
                select(*_COLUMNS).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch_size)
            ).all()
            for row in rows:
                yield _entry(row)
            if len(rows) < batch_size:
                return
            last = int(rows[-1].seq)

    def find_by_hash(self, hash_: str) -> AuditEntry | None:
        """The entry whose stored hash is `hash_` (a scan; used only to diagnose a broken chain)."""
        row = self._c.execute(select(*_COLUMNS).where(audit_log.c.hash == hash_).limit(1)).first()
        return None if row is None else _entry(row)

    def get(self, seq: int) -> AuditEntry | None:
        """One entry by seq."""
        row = self._c.execute(select(*_COLUMNS).where(audit_log.c.seq == seq)).first()
        return None if row is None else _entry(row)

    def search(self, criteria: AuditFilter) -> list[AuditEntry]:
        """Entries matching every given criterion, newest first, at most `limit`."""
        conditions = []
        if criteria.staff_id is not None:
            conditions.append(audit_log.c.actor_staff_id == criteria.staff_id)
        if criteria.subjects:
            conditions.append(audit_log.c.subject.in_(criteria.subjects))
        if criteria.since is not None:
            conditions.append(audit_log.c.at >= criteria.since)
        if criteria.until is not None:
            conditions.append(audit_log.c.at < criteria.until)
        if criteria.purpose is not None:
            conditions.append(audit_log.c.purpose == criteria.purpose)
        if criteria.action is not None:
            conditions.append(audit_log.c.action == criteria.action)
        if criteria.before_seq is not None:
            conditions.append(audit_log.c.seq < criteria.before_seq)
        query = select(*_COLUMNS).order_by(audit_log.c.seq.desc()).limit(max(1, criteria.limit))
        if conditions:
            query = query.where(and_(*conditions))
        return [_entry(row) for row in self._c.execute(query)]

    def _period(self, since: str | None, until: str | None) -> list[Any]:
        conditions: list[Any] = [audit_log.c.actor_staff_id.is_not(None)]
        if since is not None:
            conditions.append(audit_log.c.at >= since)
        if until is not None:
            conditions.append(audit_log.c.at < until)
        return conditions

    def activity(
        self, *, since: str | None, until: str | None, read_actions: Sequence[str],
        lookup_actions: Sequence[str], transaction_actions: Sequence[str],
    ) -> ActivityCounts:  # fmt: skip
        """Per-staff counts in one GROUP BY over the period (the database does the counting)."""

        def count_of(actions: Sequence[str]) -> Any:
            return func.sum(case((audit_log.c.action.in_(list(actions)), 1), else_=0))

        rows = self._c.execute(
            select(
                audit_log.c.actor_staff_id,
                func.max(audit_log.c.actor_role).label("role"),
                count_of(read_actions).label("reads"),
                count_of(lookup_actions).label("lookups"),
                count_of(transaction_actions).label("transactions"),
            )
            .where(and_(*self._period(since, until)))
            .group_by(audit_log.c.actor_staff_id)
        ).all()
        counts = ActivityCounts({}, {}, {}, {})
        for row in rows:
            staff = int(row.actor_staff_id)
            counts.reads[staff] = int(row.reads or 0)
            counts.id_lookups[staff] = int(row.lookups or 0)
            counts.transactions[staff] = int(row.transactions or 0)
            counts.roles[staff] = row.role or ""
        return counts

    def read_times(
        self, *, since: str | None, until: str | None, read_actions: Sequence[str]
    ) -> Iterator[tuple[int, int | None, str]]:
        """(staff, point of sale, timestamp) of every read in the period, streamed from the cursor."""
        query = select(audit_log.c.actor_staff_id, audit_log.c.point_of_sale_id, audit_log.c.at).where(
            and_(*self._period(since, until), audit_log.c.action.in_(list(read_actions)))
        )
        # A server-side cursor for this statement only (Connection.execution_options would change
        # the whole connection); closed even when the consumer stops early.
        with self._c.execute(query, execution_options={"yield_per": 5000}) as result:
            for row in result:
                yield int(row.actor_staff_id), row.point_of_sale_id, row.at
