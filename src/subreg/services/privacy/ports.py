"""Ports: Data-subject requests, consents, holder flags, crypto-shredding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from subreg.domain.access.permissions import Actor
from subreg.domain.privacy.audit_chain import Checkpoint
from subreg.services.registry.ports import RegistryUnitOfWork

__all__ = [
    "AuditHead",
    "ConsentRecorder",
    "ConsentRow",
    "DsrRow",
    "HolderFlags",
    "KeyRing",
    "PrivacyRepository",
    "PrivacyUnitOfWork",
]


@dataclass(frozen=True, slots=True)
class DsrRow:
    """A data-subject request: its kind, the holder it concerns, its deadline and outcome (a code)."""

    id: int
    kind: str
    holder_id: int | None
    status: str
    received_at: datetime
    due_on: date
    closed_at: datetime | None
    staff_id: int | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """The consent text (version and SHA-256) shown to a holder, and whether they accepted."""

    id: int
    holder_id: int
    subscription_id: int | None
    text_version: str
    text_sha256: str
    accepted: bool
    shown_at: datetime
    staff_id: int | None
    point_of_sale_id: int | None


@dataclass(frozen=True, slots=True)
class HolderFlags:
    """The data-subject flags of a holder, and when it was crypto-shredded (None: not)."""

    holder_id: int
    restricted: bool
    objected: bool
    erased_at: datetime | None


class PrivacyRepository(Protocol):
    """Implemented by `subreg.adapters.db.privacy_repo.SqlPrivacyRepository`."""

    def add_request(self, row: Mapping[str, Any]) -> int:
        """Insert a data-subject request; its id."""
        ...

    def get_request(self, request_id: int) -> DsrRow | None:
        """One request."""
        ...

    def list_requests(self, *, status: str | None = None, limit: int = 100) -> list[DsrRow]:
        """Requests, soonest deadline first."""
        ...

    def requests_of(self, holder_ids: Sequence[int]) -> list[DsrRow]:
        """Every request about these holders, oldest first."""
        ...

    def close_request(self, request_id: int, *, status: str, outcome: str, closed_at: datetime) -> None:
        """Mark a request done or refused, with an outcome code."""
        ...

    def flags(self, holder_id: int) -> HolderFlags | None:
        """A holder's flags."""
        ...

    def set_flags(self, holder_id: int, *, restricted: bool | None = None, objected: bool | None = None) -> None:
        """Set or clear the restriction / objection flags."""
        ...

    def add_consent(self, row: Mapping[str, Any]) -> int:
        """Insert a consent record; its id."""
        ...

    def consents_of(self, holder_ids: Sequence[int]) -> list[ConsentRow]:
        """Consent records of these holders, oldest first."""
        ...

    def shred(self, holder_id: int, *, erased_at: datetime) -> None:
        """Forget the wrapped DEK and stamp the erasure time."""
        ...

    def blob_keys_of(self, holder_id: int) -> list[str]:
        """Blob keys of every stored document of the holder's subscriptions."""
        ...

    def retention_candidates(
        self, *, terminated_before: datetime, limit: int, holder_ids: Sequence[int] | None = None
    ) -> list[int]:
        """Holders not yet shredded whose every subscription is terminated and unchanged since before
        `terminated_before` (one set-based query), optionally among `holder_ids` only."""
        ...


class PrivacyUnitOfWork(RegistryUnitOfWork, Protocol):
    """The registry's tables plus data-subject requests, consents and holder flags."""

    privacy: PrivacyRepository


class AuditHead(Protocol):
    """The audit chain's head checkpoint kept OUTSIDE the database (`adapters.files.audit_head.FileAuditHead`),
    so cutting off the newest entries is detected: `seq hash key-fingerprint`."""

    def read(self) -> tuple[Checkpoint, str] | None:
        """The stored checkpoint and key fingerprint, or None when there is none (or it is unreadable)."""
        ...

    def write(self, checkpoint: Checkpoint, fingerprint: str) -> None:
        """Replace the stored checkpoint durably (atomic replace, fsync)."""
        ...


class KeyRing(Protocol):
    """The master key as the deployment holds it (implemented by `adapters.crypto.vault.FileKeyRing`)."""

    @property
    def from_env(self) -> bool: ...

    def fingerprint(self, key: bytes | None = None) -> str: ...

    def read_key_file(self, path: Path) -> bytes: ...

    def stage(self, new_key: bytes) -> None: ...

    def rewrap(self, uow: Any, new_key: bytes) -> int: ...

    def kek_rows(self, uow: Any) -> list[dict[str, Any]]: ...

    def leftover_files(self) -> list[str]: ...

    def install(self, new_key: bytes, *, keep_old: bool, stamp: str) -> Path | None: ...

    def discard_staged(self) -> None: ...


class ConsentRecorder(Protocol):
    """Recording the consent text a holder was shown, in the caller's transaction (`consent.Consents`)."""

    def record(
        self,
        uow: PrivacyUnitOfWork,
        holder_id: int,
        subscription_id: int | None,
        text_version: str,
        accepted: bool,
        actor: Actor | None,
        *,
        text: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Store the consent shown and the answer (audited); its id."""
        ...
