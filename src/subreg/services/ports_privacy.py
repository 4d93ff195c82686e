"""Ports: Data-subject requests, consents, holder flags, crypto-shredding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

__all__ = ["ConsentRow", "DsrRow", "HolderFlags", "PrivacyRepository"]


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
    msisdn: int | None
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
