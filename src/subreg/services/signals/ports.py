"""Ports of the signals: the set-based queries behind each list, the review decisions, the portrait bands.

Every list comes from one or two aggregate queries (`GROUP BY` over subscriptions, their history, the band
digests); nothing personal leaves the repository but line ids and integer number keys, which the use cases
mask before anyone sees them. Portraits are decrypted only to compute their perceptual hash (the backfill)
and to confirm a look-alike pair, through the registry's own reader (`SubscriptionWriter.read_document`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from subreg.services.backoffice.review_ports import ReviewRepository
from subreg.services.registry.ports import RegistryUnitOfWork

__all__ = [
    "DocumentLines",
    "PersonDay",
    "PortraitHasher",
    "PortraitRef",
    "SignalRepository",
    "SignalUnitOfWork",
    "StoredReview",
]


@dataclass(frozen=True, slots=True)
class DocumentLines:
    """An ID document (its person key) with its active lines counted, and those lines (ids, number keys)."""

    person_key: bytes
    lines: int
    without_contract: int
    line_ids: tuple[int, ...] = ()
    numbers: tuple[int, ...] = ()  # MSISDN keys, in line order (masked before display)


@dataclass(frozen=True, slots=True)
class PersonDay:
    """One ID document's registrations on one (local) day, at how many points of sale, and where."""

    person_key: bytes
    day: date
    points: int
    registrations: int
    point_codes: tuple[str, ...] = ()
    line_ids: tuple[int, ...] = ()
    numbers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PortraitRef:
    """A stored portrait: its document, its line, the line's person key, number key and point of sale."""

    document_id: int
    line_id: int
    person_key: bytes | None
    number: int
    point_code: str | None


@dataclass(frozen=True, slots=True)
class StoredReview:
    """One decision as stored (`signal_reviews`)."""

    kind: str
    key: str
    decision: str
    reason: str
    note: str | None
    staff_id: int | None
    at: datetime


class PortraitHasher(Protocol):
    """The perceptual hash of a portrait and the keyed digests of its bands (`adapters.images.portrait_hash`)."""

    @property
    def bits(self) -> int: ...

    @property
    def bands(self) -> int: ...

    def perceptual_hash(self, image: bytes) -> int | None:
        """The image's perceptual hash (`bits` bits); None when it cannot be decoded as an image."""
        ...

    def band_digests(self, image: bytes) -> list[bytes] | None:
        """The keyed digest of each band of the image's hash, band 0 first; None when it is not an image."""
        ...


class SignalRepository(Protocol):
    """The lists' queries, the decisions and the band digests (`adapters.db.signal_repo`)."""

    def over_limit(self, *, minimum: int, limit: int) -> list[DocumentLines]:
        """ID documents with `minimum`+ active lines without a contract, the most first, with their lines."""
        ...

    def daily_registrations(
        self, *, first: date, last: date, channels: Sequence[str], utc_offset_minutes: int
    ) -> list[tuple[str, date, int]]:
        """(point of sale code, local day, registrations) of lines created by `channels` in [first, last]."""
        ...

    def same_day_registrations(
        self, *, first: date, last: date, channels: Sequence[str], utc_offset_minutes: int, min_points: int,
        min_registrations: int, limit: int,
    ) -> list[PersonDay]:  # fmt: skip
        """ID documents registered `min_registrations`+ times at `min_points`+ points of sale on one local day."""
        ...

    def latest_reviews(self, kind: str) -> dict[str, StoredReview]:
        """The newest decision per key of `kind`."""
        ...

    def reviews_of(self, kind: str, key: str) -> list[StoredReview]:
        """Every decision on one signal, oldest first."""
        ...

    def add_review(self, review: StoredReview) -> None:
        """Append one decision."""
        ...

    def portraits_to_index(self, *, after: int, limit: int) -> list[int]:
        """Ids (ascending, above `after`) of stored portrait images that have no band digests yet."""
        ...

    def add_bands(self, document_id: int, digests: Sequence[bytes]) -> None:
        """Store a portrait's band digests (band i = digests[i])."""
        ...

    def band_candidates(self, *, limit: int) -> list[tuple[int, int]]:
        """Pairs of portraits (document ids, smaller first) sharing a band digest whose lines count towards
        different person keys (different ID documents)."""
        ...

    def portraits(self, document_ids: Sequence[int]) -> dict[int, PortraitRef]:
        """The portraits named, with their lines."""
        ...

    def staff_names(self, staff_ids: Sequence[int]) -> dict[int, str]:
        """Usernames of staff accounts."""
        ...

    def line_number(self, line_id: int) -> int | None:
        """The number key of a line (None: no such line)."""
        ...


class SignalUnitOfWork(RegistryUnitOfWork, Protocol):
    signals: SignalRepository
    reviews: ReviewRepository  # an escalated signal's lines go to the supervisor's review queue
