"""Ports every capability shares: the unit of work, encryption, the blob store, the clock, the audit log.

A capability's own ports (its repositories, the adapters only it uses) live in its `ports.py`; its
unit-of-work protocol extends `UnitOfWork` below with the repositories it may touch, so a use case's
signature says what it can read and write.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from subreg.domain.privacy.audit_chain import AuditEntry, Checkpoint

__all__ = [
    "ActivityCounts",
    "AuditFilter",
    "AuditRepository",
    "BlobStore",
    "Clock",
    "UnitOfWork",
    "Vault",
]


class Vault(Protocol):
    """Envelope encryption (AES-256-GCM) and the keyed blind index of ID numbers."""

    def new_data_key(self) -> tuple[bytes, int, bytes]:
        """A fresh DEK, the id of the KEK that wraps it, and the wrapped DEK to store."""
        ...

    def unwrap(self, kek_id: int, wrapped_dek: bytes | None) -> bytes:
        """The DEK; CryptoError when shredded, unknown or tampered."""
        ...

    def seal(self, dek: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt under `dek`, bound to `aad`."""
        ...

    def open(self, dek: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Decrypt; CryptoError on a wrong key, AAD or tampering."""
        ...

    def blind(self, id_number: str) -> bytes:
        """Keyed blind index of a normalized ID number."""
        ...


class BlobStore(Protocol):
    """Opaque bytes under random keys (callers pass ciphertext)."""

    def put(self, key: str, data: bytes) -> None:
        """Store atomically."""
        ...

    def put_many(self, items: Mapping[str, bytes]) -> None:
        """Store each atomically (a store may make them durable together: fewer flushes)."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes; NotFoundError when absent."""
        ...

    def delete(self, key: str) -> None:
        """Remove (idempotent)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the key is stored."""
        ...

    def scan(self) -> Iterator[tuple[str, datetime]]:
        """Every stored key with when it was written, in key order."""
        ...

    def remove_stale_temporaries(self, before: datetime) -> int:
        """Remove what interrupted writes left behind, older than `before`; how many."""
        ...


class Clock(Protocol):
    """The time, read at the edge and passed inwards (the domain never reads a clock)."""

    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...

    def today(self) -> date:
        """The current date in the operator's time zone (Decree 49 deadlines are counted in it)."""
        ...


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries `AuditRepository.search` returns; every criterion is optional (AND-ed).

    `since` and `until` are canonical audit timestamps (`domain.privacy.audit_chain.utc_timestamp`): text that sorts
    like time, so the filter is a plain index range. `subject` is already a subject key (never a
    phone number).
    """

    staff_id: int | None = None
    subject: str | None = None
    since: str | None = None
    until: str | None = None
    purpose: str | None = None
    action: str | None = None
    limit: int = 100
    before_seq: int | None = None  # page backwards from here (newest first)


@dataclass(frozen=True, slots=True)
class ActivityCounts:
    """Per-staff aggregates over a period, for the anomaly rules (computed by the database)."""

    reads: dict[int, int]
    id_lookups: dict[int, int]
    transactions: dict[int, int]
    roles: dict[int, str]


class AuditRepository(Protocol):
    """Implemented by `subreg.adapters.db.audit_repo.SqlAuditRepository`."""

    @property
    def chain_key(self) -> bytes:
        """The HMAC key of the chain (CryptoError when the unit of work was built without one)."""
        ...

    def lock_head(self) -> Checkpoint:
        """Take the appenders' lock for the rest of the transaction, then the newest (seq, hash)."""
        ...

    def insert(self, entry: AuditEntry) -> None:
        """Append one sealed entry (after `lock_head` in the same transaction)."""
        ...

    def head(self) -> Checkpoint:
        """The newest (seq, hash) without locking (START when the log is empty)."""
        ...

    def iter_entries(self, *, after_seq: int = 0, batch_size: int = 1000) -> Iterator[AuditEntry]:
        """Every entry after `after_seq` in seq order, fetched in batches (constant memory)."""
        ...

    def find_by_hash(self, hash_: str) -> AuditEntry | None:
        """The entry whose stored hash is `hash_` (diagnosis of a broken chain only: a table scan)."""
        ...

    def get(self, seq: int) -> AuditEntry | None:
        """One entry by seq."""
        ...

    def search(self, criteria: AuditFilter) -> list[AuditEntry]:
        """Entries matching `criteria`, newest first."""
        ...

    def activity(
        self, *, since: str | None, until: str | None, read_actions: Sequence[str],
        lookup_actions: Sequence[str], transaction_actions: Sequence[str],
    ) -> ActivityCounts:  # fmt: skip
        """Per-staff counts of reads, ID lookups and transactions between `since` and `until`."""
        ...

    def read_times(
        self, *, since: str | None, until: str | None, read_actions: Sequence[str]
    ) -> Iterator[tuple[int, int | None, str]]:
        """(staff id, point of sale id, canonical timestamp) of every read in the period, streamed."""
        ...


class UnitOfWork(Protocol):
    """One database transaction: `with uow: ...; uow.commit()`; leaving without commit rolls back.

    Every capability writes its audit entries in the same transaction as the change they describe,
    so the audit log is part of every unit of work.
    """

    audit: AuditRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None:
        """Make the work durable; the unit stays usable for more work."""
        ...

    def lock_for_write(self) -> None:
        """Make the transaction a writer now, before it reads (SQLite queues writers; PostgreSQL: no-op)."""
        ...

    def rollback(self) -> None:
        """Discard the work done since the last commit."""
        ...
