"""Ports: what services need from the outside world, as Protocols (adapters implement them).

Rows read from the database come back as the frozen dataclasses below; rows to write are plain
mappings keyed by the same field names (cheap to build by the hundred thousand in bulk loads).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from subreg.services.ports_audit import AuditRepository
from subreg.services.ports_auth import AuthRepository
from subreg.services.ports_pos import CounterRepository
from subreg.services.ports_privacy import PrivacyRepository

__all__ = [
    "BlobStore",
    "DocumentRepository",
    "DocumentRow",
    "HistoryRepository",
    "HistoryRow",
    "HolderRepository",
    "HolderRow",
    "PointOfSaleRepository",
    "PointOfSaleRow",
    "StaffRepository",
    "StaffRow",
    "SubscriptionRepository",
    "SubscriptionRow",
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


@dataclass(frozen=True, slots=True)
class HolderRow:
    """A holder as stored: personal data only inside the encrypted `payload`."""

    id: int
    kind: str
    id_type: str | None
    id_blind: bytes | None
    province_code: str | None
    aad_ref: bytes
    kek_id: int
    wrapped_dek: bytes | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """A subscription with its compliance columns (`msisdn` is the integer key)."""

    msisdn: int
    holder_id: int
    subscriber_type: str | None
    payment_type: str | None
    activated_on: date | None
    channel: str | None
    point_of_sale_id: int | None
    point_of_sale_code: str | None
    contract_number: str | None
    purpose: str | None
    status: str
    complete: bool
    missing: tuple[str, ...]
    error_codes: tuple[str, ...]
    rule_set: str
    evaluated_on: date
    version: int


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """Metadata of a stored document (bytes in the blob store) or of an external reference."""

    id: int
    msisdn: int
    kind: str
    blob_key: str | None
    external_ref: str | None
    content_type: str | None
    size: int | None
    created_by_staff_id: int | None
    point_of_sale_id: int | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One append-only history entry."""

    id: int
    msisdn: int
    at: datetime
    actor_staff_id: int | None
    channel: str | None
    action: str
    changes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PointOfSaleRow:
    """A store, agent or authorized point."""

    id: int
    code: str
    kind: str
    name: str
    province_code: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class StaffRow:
    """A staff account (the password hash never leaves the adapter layer except for login)."""

    id: int
    username: str
    display_name: str
    role: str
    point_of_sale_id: int | None
    password_hash: str
    active: bool


class SubscriptionRepository(Protocol):
    def get(self, msisdn: int) -> SubscriptionRow | None:
        """The subscription for an integer MSISDN key."""
        ...

    def list_by_holder(self, holder_id: int) -> list[SubscriptionRow]:
        """Subscriptions of one holder, by MSISDN."""
        ...

    def list_by_holders(self, holder_ids: Sequence[int]) -> list[SubscriptionRow]:
        """Subscriptions of several holders (one ID document may map to several holder rows)."""
        ...

    def existing(self, msisdns: Iterable[int]) -> set[int]:
        """Which of these keys are already stored."""
        ...

    def add(self, row: Mapping[str, Any]) -> None:
        """Insert one subscription."""
        ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many in one batched statement."""
        ...

    def update(self, msisdn: int, values: Mapping[str, Any], *, expected_version: int) -> None:
        """Update and bump `version`; ConflictError when someone else changed it first."""
        ...

    def count(self) -> int:
        """How many subscriptions are stored."""
        ...


class HolderRepository(Protocol):
    def get(self, holder_id: int) -> HolderRow | None:
        """One holder."""
        ...

    def find_by_blind(self, id_blind: bytes) -> list[HolderRow]:
        """Holders whose ID number has this blind index (oldest first)."""
        ...

    def find_many_by_blind(self, blinds: Sequence[bytes]) -> list[HolderRow]:
        """Holders for several blind indexes at once."""
        ...

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one holder; its id."""
        ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many; their ids in the same order."""
        ...

    def update_payload(self, holder_id: int, payload: bytes, *, province_code: str | None) -> None:
        """Replace the encrypted payload."""
        ...

    def shred(self, holder_id: int) -> None:
        """Crypto-shred: forget the wrapped DEK so the payload and images can never be read."""
        ...


class DocumentRepository(Protocol):
    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one document row; its id."""
        ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many."""
        ...

    def get(self, document_id: int) -> DocumentRow | None:
        """One document row."""
        ...

    def list_for(self, msisdn: int) -> list[DocumentRow]:
        """Documents of a subscription, oldest first."""
        ...

    def blob_keys_with_prefix(self, prefix: str) -> set[str]:
        """The blob keys documents reference that start with `prefix`."""
        ...


class HistoryRepository(Protocol):
    def append(self, row: Mapping[str, Any]) -> None:
        """Append one entry (`changes` is a dict, stored as JSON)."""
        ...

    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append many."""
        ...

    def list_for(self, msisdn: int) -> list[HistoryRow]:
        """Entries of a subscription, oldest first."""
        ...


class PointOfSaleRepository(Protocol):
    def add(self, row: Mapping[str, Any]) -> int:
        """Insert; the id."""
        ...

    def get_by_code(self, code: str) -> PointOfSaleRow | None:
        """By code."""
        ...

    def list_all(self) -> list[PointOfSaleRow]:
        """All, by code."""
        ...


class StaffRepository(Protocol):
    def add(self, row: Mapping[str, Any]) -> int:
        """Insert; the id."""
        ...

    def get_by_username(self, username: str) -> StaffRow | None:
        """By username."""
        ...

    def list_all(self) -> list[StaffRow]:
        """All, by username."""
        ...


class UnitOfWork(Protocol):
    """One database transaction: `with uow: ...; uow.commit()`; leaving without commit rolls back."""

    subscriptions: SubscriptionRepository
    holders: HolderRepository
    documents: DocumentRepository
    history: HistoryRepository
    points_of_sale: PointOfSaleRepository
    staff: StaffRepository
    auth: AuthRepository
    audit: AuditRepository
    privacy: PrivacyRepository
    counter: CounterRepository

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
