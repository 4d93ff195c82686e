"""The in-memory database the fakes share: tables of row dicts, id sequences, and transactions on them.

The tables mirror `adapters.db.tables` where the repositories can see it: the same column names, the same
defaults (`server_default`), NOT NULL columns, UNIQUE constraints and foreign keys, so a fake refuses what
the database refuses (`ConstraintError` where SQLAlchemy raises `IntegrityError`); `tests/unit/test_memory_store.py`
compares them with the real tables. Only the tables and columns the repositories read or write are declared
(not the import's and evaluation's own tables); an unknown column is a programming error (`ValueError`), as
the SQL statements refuse it.

Transactions work on a copy of each table taken when they first touch it (copy-on-read): rows are never
changed in place but replaced, so copying a table is copying its dict of rows. Commit writes the rows the
transaction inserted or updated back to the shared tables, row by row (two units writing different rows keep
each other's work); rollback forgets the copies. An UPDATE by version (`Transaction.latest`) sees the
committed row, so a version another unit committed meanwhile conflicts as on PostgreSQL; constraints are
checked against the transaction's own view only (tests run one unit at a time). Ids come from
sequences outside the transactions, as PostgreSQL's do: an id is never handed out twice, even after a
rollback (SQLite may reuse the ids of rolled-back rows; nothing relies on either).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from subreg.services.common.ports import Clock

__all__ = ["TABLES", "ConstraintError", "MemoryDatabase", "Transaction", "key_of", "same_columns"]


class ConstraintError(Exception):
    """A write the database would refuse: NOT NULL, UNIQUE or a foreign key (SQLAlchemy's IntegrityError)."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


class _Now:
    def __repr__(self) -> str:
        return "NOW"


REQUIRED: Any = _Required()  # NOT NULL without a default: the insert must give it
NOW: Any = _Now()  # server_default=func.now(): the database clock at the insert


@dataclass(frozen=True, slots=True)
class Column:
    default: Any = None
    nullable: bool = True


def _c(default: Any = None, *, null: bool = True) -> Column:
    return Column(default, null and default is not REQUIRED)


def _nn(default: Any = REQUIRED) -> Column:
    return Column(default, False)


@dataclass(frozen=True, slots=True)
class Table:
    """What the fake enforces of one table."""

    name: str
    columns: Mapping[str, Column]
    key: str | tuple[str, ...] = "id"  # a tuple: a composite primary key (never auto-assigned)
    auto_key: bool = True
    unique: tuple[tuple[str, ...], ...] = ()
    references: Mapping[str, str] = field(default_factory=dict)  # column -> referenced table (its key)


_ID = _nn(None)  # assigned by the sequence when not given

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "points_of_sale",
            {"id": _ID, "code": _nn(), "kind": _nn(), "name": _nn(), "province_code": _c(), "active": _nn(True)},
            unique=(("code",),),
        ),
        Table(
            "staff",
            {
                "id": _ID, "username": _nn(), "display_name": _nn(), "role": _nn(), "point_of_sale_id": _c(),
                "password_hash": _nn(), "active": _nn(True), "created_at": _nn(NOW), "failed_logins": _nn(0),
                "locked_until": _c(), "totp_secret": _c(), "password_changed_at": _c(),
                "must_change_password": _nn(False), "last_login_at": _c(),
            },
            unique=(("username",),),
            references={"point_of_sale_id": "points_of_sale"},
        ),
        Table(
            "holders",
            {
                "id": _ID, "kind": _nn(), "id_type": _c(), "id_blind": _c(), "province_code": _c(), "aad_ref": _nn(),
                "kek_id": _nn(), "wrapped_dek": _c(), "payload": _nn(), "created_at": _nn(NOW),
                "updated_at": _nn(NOW), "restricted": _nn(False), "objected": _nn(False), "erased_at": _c(),
            },
        ),
        Table(
            "subscriptions",
            {
                "id": _ID, "msisdn": _nn(), "generation": _nn(1), "holder_id": _nn(), "subscriber_type": _c(),
                "payment_type": _c(), "activated_on": _c(), "channel": _c(), "point_of_sale_id": _c(),
                "point_of_sale_code": _c(), "contract_number": _c(), "purpose": _c(), "status": _nn("active"),
                "complete": _nn(), "missing": _nn(""), "error_codes": _nn(""), "rule_set": _nn(),
                "evaluated_on": _nn(), "version": _nn(1), "created_at": _nn(NOW), "updated_at": _nn(NOW),
                "verdict": _c(), "phase": _c(), "missing_mask": _c(), "has_contract": _c(), "contract_needed": _c(),
                "province_code": _c(), "source_hash": _c(), "document_refs": _c(), "valid_until": _c(),
                "person_key": _c(), "enf_state": _c(), "enf_step_on": _c(), "enf_notices": _c(),
                "enf_last_notice_on": _c(), "enf_regime": _c(),
            },
            unique=(("msisdn", "generation"),),
            references={"holder_id": "holders", "point_of_sale_id": "points_of_sale"},
        ),
        Table("document_links", {"document_key": _nn(), "person_key": _nn()}, key="document_key", auto_key=False),
        Table("evaluation_dirty", {"person_key": _nn()}, key="person_key", auto_key=False),
        Table(
            "signal_reviews",
            {
                "id": _ID, "kind": _nn(), "signal_key": _nn(), "decision": _nn(), "reason": _nn(), "note": _c(),
                "staff_id": _c(), "at": _nn(NOW),
            },
        ),
        Table(
            "ported_numbers", {"msisdn": _nn(), "direction": _nn(), "loaded_at": _nn(NOW)}, key="msisdn", auto_key=False
        ),
        Table(
            "verifications",  # the verification trail (migration 0016)
            {
                "id": _ID, "subscription_id": _c(), "holder_id": _c(), "regime": _nn(), "method": _nn(),
                "decision": _nn(), "reason": _c(), "score": _c(), "model": _c(), "channel": _nn(), "staff_id": _c(),
                "at": _nn(NOW),
            },
        ),
        Table(
            "biometric_templates",  # sealed under the holder's DEK; deleted when the holder is shredded
            {
                "id": _ID, "holder_id": _nn(), "kind": _nn(), "model": _nn(), "kek_id": _nn(), "wrapped_dek": _c(),
                "payload": _nn(), "expires_on": _c(), "created_at": _nn(NOW),
            },
        ),
        Table(
            "review_items",
            {
                "id": _ID, "subscription_id": _nn(), "kind": _nn(), "flags": _nn(""), "state": _nn("pending"),
                "version_seen": _nn(), "point_of_sale_id": _c(), "submitted_by": _c(), "claimed_by": _c(),
                "claimed_until": _c(), "decision": _c(), "reason": _c(), "note": _c(), "decided_by": _c(),
                "decided_at": _c(), "created_at": _nn(NOW),
            },
        ),
        Table(
            "documents",
            {
                "id": _ID, "subscription_id": _nn(), "kind": _nn(), "blob_key": _c(), "external_ref": _c(),
                "content_type": _c(), "size": _c(), "created_at": _nn(NOW), "created_by_staff_id": _c(),
                "point_of_sale_id": _c(),
            },
            unique=(("blob_key",),),
            references={
                "subscription_id": "subscriptions", "created_by_staff_id": "staff", "point_of_sale_id": "points_of_sale"
            },
        ),
        Table(
            "subscription_history",  # no foreign key: history outlives the line (holder erased)
            {
                "id": _ID, "subscription_id": _nn(), "at": _nn(NOW), "actor_staff_id": _c(), "channel": _c(),
                "action": _nn(), "changes": _nn("{}"),
            },
        ),
        Table(
            "sms_inbound",
            {
                "id": _ID, "received_at": _nn(), "transport": _nn(), "gateway_id": _c(), "sender": _c(),
                "recipient": _nn(), "coding": _nn(), "kek_id": _nn(), "wrapped_dek": _c(), "payload": _nn(),
                "state": _nn("received"), "answered_at": _c(),
            },
            unique=(("transport", "gateway_id"),),
        ),
        Table(
            "sms_outbox",
            {
                "id": _ID, "created_at": _nn(NOW), "kind": _nn(), "priority": _nn(), "recipient": _nn(),
                "sender": _nn(), "encoding": _nn(), "part_count": _nn(), "state": _nn("pending"), "attempts": _nn(0),
                "next_attempt_at": _nn(), "kek_id": _nn(), "wrapped_dek": _c(), "payload": _nn(), "inbound_id": _c(),
                "transport": _c(), "accepted_at": _c(), "final_at": _c(), "last_error": _c(),
            },
            references={"inbound_id": "sms_inbound"},
        ),
        Table(
            "sms_submits",
            {
                "transport": _nn(), "message_id": _nn(), "outbox_id": _nn(), "part": _nn(), "state": _nn("accepted"),
                "receipt_at": _c(),
            },
            key="message_id", auto_key=False, references={"outbox_id": "sms_outbox"},
        ),
        Table(
            "enforcement_steps",
            {"id": _ID, "subscription_id": _nn(), "action": _nn(), "on_date": _nn(), "regime": _nn(),
             "province_code": _nn(), "channel": _nn(), "created_at": _nn(NOW)},
        ),
        Table(
            "enforcement_recheck",
            {"subscription_id": _nn(), "channel": _nn(), "created_at": _nn(NOW)},
            key="subscription_id", auto_key=False,
        ),
        Table(
            "sms_senders",
            {"sender": _nn(), "window_start": _nn(), "count": _nn(), "refused": _nn(False)},
            key="sender", auto_key=False,
        ),
        Table(
            "auth_sessions",
            {
                "id": _ID, "token_hash": _nn(), "staff_id": _nn(), "kind": _nn(), "csrf_hash": _c(),
                "second_factor": _nn(False), "created_at": _nn(NOW), "expires_at": _nn(), "last_seen_at": _c(),
                "revoked_at": _c(),
            },
            unique=(("token_hash",),),
            references={"staff_id": "staff"},
        ),
        Table(
            "login_attempts",
            {
                "id": _ID, "at": _nn(NOW), "username": _nn(), "staff_id": _c(), "success": _nn(), "reason": _nn(),
                "source_hash": _c(),
            },
        ),
        Table(
            "audit_log",
            {
                "seq": _nn(), "at": _nn(), "actor_staff_id": _c(), "actor_role": _c(), "point_of_sale_id": _c(),
                "action": _nn(), "subject": _c(), "fields": _nn("[]"), "purpose": _c(), "request_id": _c(),
                "details": _nn("{}"), "prev_hash": _nn(), "hash": _nn(),
            },
            key="seq",
            auto_key=False,
        ),
        Table(
            "dsr_requests",
            {
                "id": _ID, "kind": _nn(), "holder_id": _c(), "status": _nn("open"), "received_at": _nn(NOW),
                "due_on": _nn(), "closed_at": _c(), "staff_id": _c(), "outcome": _c(),
            },
            references={"holder_id": "holders", "staff_id": "staff"},
        ),
        Table(
            "consents",
            {
                "id": _ID, "holder_id": _nn(), "subscription_id": _c(), "text_version": _nn(), "text_sha256": _nn(),
                "accepted": _nn(), "shown_at": _nn(NOW), "staff_id": _c(), "point_of_sale_id": _c(),
            },
            references={"holder_id": "holders"},
        ),
        Table(
            "counter_transactions",
            {
                "id": _ID, "subscription_id": _nn(), "kind": _nn(), "outcome": _nn(), "refusal_code": _c(),
                "at": _nn(NOW), "staff_id": _c(), "point_of_sale_id": _c(),
            },
        ),
        Table(
            "bill_payments",
            {
                "id": _ID, "subscription_id": _nn(), "amount_vnd": _nn(), "reference": _c(), "paid_at": _nn(NOW),
                "staff_id": _c(), "point_of_sale_id": _c(),
            },
        ),
        Table(
            "serving_visits",
            {
                "id": _ID, "subscription_id": _nn(), "point_of_sale_id": _nn(), "staff_id": _c(),
                "opened_at": _nn(NOW), "expires_at": _nn(),
            },
        ),
        Table(
            "report_snapshots",
            {"id": _ID, "as_of": _nn(), "rule_set": _nn(), "taken_at": _nn(), "figures": _nn(0)},
            unique=(("as_of",),),
        ),
        Table(
            "snapshot_figures",
            {"snapshot_id": _nn(), "dimension": _nn(), "province": _nn(), "key": _nn(), "n": _nn()},
            key=("snapshot_id", "dimension", "province", "key"), auto_key=False,
            references={"snapshot_id": "report_snapshots"},
        ),
        Table(
            "staff_provinces",
            {"staff_id": _nn(), "province_code": _nn()},
            key=("staff_id", "province_code"), auto_key=False, references={"staff_id": "staff"},
        ),
        Table(
            "network_orders",
            {
                "id": _ID, "subscription_id": _nn(), "action": _nn(), "status": _nn("queued"), "reason": _nn(),
                "created_at": _nn(NOW), "created_by_staff_id": _c(), "processed_at": _c(), "priority": _nn(5),
                "order_key": _c(), "attempts": _nn(0), "next_attempt_at": _c(), "last_error": _c(), "applied": _c(),
                "provisioner": _c(),
            },
            unique=(("order_key",),),
        ),
    )
}  # fmt: skip


Row = dict[str, Any]


class MemoryDatabase:
    """The committed state every `MemoryUnitOfWork` on it shares (the fakes' engine).

    `clock` stamps what the SQL database stamps with its own clock (`server_default=func.now()`,
    `updated_at`): a fixed clock lets a test say when a line was last changed.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self._tables: dict[str, dict[Any, Row]] = {name: {} for name in TABLES}
        self._sequences: dict[str, int] = dict.fromkeys(TABLES, 0)

    def now(self) -> datetime:
        """The database's clock (the system's when none was given), timezone-aware."""
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def next_id(self, table: str, given: Any = None) -> int:
        """The next id of `table`'s sequence (past `given` when the insert named its id)."""
        if given is not None:
            self._sequences[table] = max(self._sequences[table], int(given))
            return int(given)
        self._sequences[table] += 1
        return self._sequences[table]

    def rows(self, table: str) -> list[Row]:
        """Copies of the committed rows of `table`, in key order: what a test reads where it would query SQL."""
        return [dict(self._tables[table][key]) for key in sorted(self._tables[table])]

    def committed(self, table: str) -> dict[Any, Row]:
        """The committed rows of `table` (read-only by convention: rows are replaced, never changed)."""
        return self._tables[table]

    def publish(self, table: str, key: Any, row: Row | None) -> None:
        """Make one row committed (a transaction's commit); None: the row was deleted."""
        if row is None:
            self._tables[table].pop(key, None)
        else:
            self._tables[table][key] = row


class Transaction:
    """One transaction's view: copies of the tables it touched, and the rows it wrote."""

    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db
        self._tables: dict[str, dict[Any, Row]] = {}
        self._written: set[tuple[str, Any]] = set()

    @property
    def db(self) -> MemoryDatabase:
        return self._db

    def rows(self, table: str) -> dict[Any, Row]:
        """The table as this transaction sees it, by key (insertion order = key order for sequences)."""
        rows = self._tables.get(table)
        if rows is None:
            rows = self._tables[table] = dict(self._db.committed(table))
        return rows

    def scan(self, table: str, where: Callable[[Row], bool] | None = None) -> Iterator[Row]:
        """The rows of `table` in key order, optionally filtered."""
        rows = self.rows(table)
        for key in sorted(rows):
            row = rows[key]
            if where is None or where(row):
                yield row

    def get(self, table: str, key: Any) -> Row | None:
        """One row by its key."""
        return self.rows(table).get(key)

    def latest(self, table: str, key: Any) -> Row | None:
        """One row as an UPDATE sees it: this transaction's version if it wrote the row, else the committed one
        (PostgreSQL's READ COMMITTED: a row changed by a transaction committed since is seen changed)."""
        if (table, key) in self._written:
            return self.rows(table).get(key)
        return self._db.committed(table).get(key, self.rows(table).get(key))

    def insert(self, table: str, values: Mapping[str, Any]) -> Any:
        """Insert one row (defaults filled, constraints checked); its key."""
        spec = TABLES[table]
        _known(spec, values)
        row: Row = {}
        now = self._db.now()
        for name, column in spec.columns.items():
            if name in values:
                row[name] = values[name]
            elif column.default is REQUIRED:
                raise ConstraintError(f"NOT NULL: {table}.{name}")
            else:
                row[name] = now if column.default is NOW else column.default
        if spec.auto_key and isinstance(spec.key, str):
            row[spec.key] = self._db.next_id(table, values.get(spec.key))
        key = key_of(spec, row)
        rows = self.rows(table)
        if key in rows:
            raise ConstraintError(f"UNIQUE: {table}.{spec.key}")
        self._check(spec, row, None)
        rows[key] = row
        self._written.add((table, key))
        return key

    def update(self, table: str, key: Any, values: Mapping[str, Any]) -> bool:
        """Change columns of one row (constraints checked); whether the row exists."""
        spec = TABLES[table]
        _known(spec, values)
        rows = self.rows(table)
        old = rows.get(key)
        if old is None:
            return False
        row = {**old, **values}
        self._check(spec, row, key)
        rows[key] = row
        self._written.add((table, key))
        return True

    def delete(self, table: str, key: Any) -> bool:
        """Delete one row by its key; whether it existed. (No table a fake deletes from is referenced.)"""
        if self.rows(table).pop(key, None) is None:
            return False
        self._written.add((table, key))
        return True

    def commit(self) -> None:
        """Publish the rows written (and deleted), then see the committed state afresh."""
        for table, key in sorted(self._written, key=lambda tk: (tk[0], tk[1])):
            self._db.publish(table, key, self._tables[table].get(key))
        self.rollback()

    def rollback(self) -> None:
        """Forget everything since the last commit."""
        self._tables.clear()
        self._written.clear()

    def _check(self, spec: Table, row: Row, key: Any) -> None:
        for name, column in spec.columns.items():
            if not column.nullable and row.get(name) is None and name != spec.key:  # an auto key: assigned
                raise ConstraintError(f"NOT NULL: {spec.name}.{name}")
        for columns in spec.unique:
            values = tuple(row[c] for c in columns)
            if any(v is None for v in values):
                continue  # SQL: NULLs never collide
            for other_key, other in self.rows(spec.name).items():
                if other_key != key and other_key != key_of(spec, row) and tuple(other[c] for c in columns) == values:
                    raise ConstraintError(f"UNIQUE: {spec.name}.{','.join(columns)}")
        for name, target in spec.references.items():
            value = row.get(name)
            if value is not None and value not in self.rows(target):
                raise ConstraintError(f"FOREIGN KEY: {spec.name}.{name}")


def key_of(spec: Table, row: Mapping[str, Any]) -> Any:
    """A row's key in its table: the key column's value, or the tuple of a composite key's values."""
    return tuple(row[c] for c in spec.key) if isinstance(spec.key, tuple) else row[spec.key]


def same_columns(rows: Sequence[Mapping[str, Any]]) -> None:
    """Refuse a batch whose rows name different columns.

    The SQL adapters insert a batch as one executemany, whose columns are the first row's: a later row with a
    column the first lacks loses it silently, one lacking a column of the first fails. The fake refuses both.
    """
    if rows and any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError("the rows of one batch must name the same columns")


def _known(spec: Table, values: Iterable[str]) -> None:
    unknown = [name for name in values if name not in spec.columns]
    if unknown:
        raise ValueError(f"unknown column(s) of {spec.name}: {', '.join(sorted(unknown))}")
