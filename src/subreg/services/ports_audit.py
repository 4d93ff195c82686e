"""Ports: The append-only, hash-chained audit log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from subreg.domain.privacy.audit_chain import AuditEntry, Checkpoint

__all__ = ["ActivityCounts", "AuditFilter", "AuditRepository"]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries `AuditRepository.search` returns; every criterion is optional (AND-ed).

    `since` and `until` are canonical audit timestamps (`domain.audit.utc_timestamp`): text that sorts
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
