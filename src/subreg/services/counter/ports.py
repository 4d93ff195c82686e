"""Ports: Point of sale: serving visits, counter transactions, bill payments, network orders; image checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from subreg.domain.common.errors import FieldError
from subreg.domain.enforcement.machine import LineEnforcement
from subreg.services.backoffice.review_ports import ReviewRepository
from subreg.services.privacy.ports import PrivacyRepository
from subreg.services.registry.ports import RegistryUnitOfWork

__all__ = [
    "CardReader",
    "CounterRepository",
    "CounterTransactionRow",
    "CounterUnitOfWork",
    "ImageCheck",
    "ImageInspector",
    "NetworkOrderRow",
]


@dataclass(frozen=True, slots=True)
class CounterTransactionRow:
    """One counter transaction, done or refused by the gate."""

    id: int
    subscription_id: int
    kind: str
    outcome: str
    refusal_code: str | None
    at: datetime
    staff_id: int | None
    point_of_sale_id: int | None


@dataclass(frozen=True, slots=True)
class NetworkOrderRow:
    """An order for the HLR/HSS (unlock, lock, terminate), queued for the network (no sender exists yet)."""

    id: int
    subscription_id: int
    action: str
    status: str
    reason: str
    created_by_staff_id: int | None
    priority: int


class CounterRepository(Protocol):
    """Implemented by `subreg.adapters.db.counter_repo.SqlCounterRepository`."""

    def lock_for_write(self) -> None:
        """Become a writer before the first read (SQLite's single writer); a no-op elsewhere."""
        ...

    def open_visit(
        self,
        subscription_id: int,
        *,
        point_of_sale_id: int,
        staff_id: int | None,
        opened_at: datetime,
        expires_at: datetime,
    ) -> int:
        """Record that a point of sale serves a line until `expires_at`; the visit id."""
        ...

    def serving_pos_ids(self, subscription_id: int, *, now: datetime) -> set[int]:
        """Points of sale with an unexpired serving visit for this subscription."""
        ...

    def add_transaction(self, row: Mapping[str, Any]) -> int:
        """Record a counter transaction (done or refused); its id."""
        ...

    def list_transactions(self, subscription_id: int) -> list[CounterTransactionRow]:
        """Transactions of a subscription, oldest first."""
        ...

    def add_payment(self, row: Mapping[str, Any]) -> int:
        """Record a bill payment; its id."""
        ...

    def add_network_order(self, row: Mapping[str, Any]) -> int:
        """Queue a network order; its id."""
        ...

    def enforcement_of(self, subscription_id: int) -> tuple[LineEnforcement | None, list[tuple[str, date]]]:
        """Where the line stands in enforcement (None: not in it) and its dated steps, oldest first."""
        ...

    def request_restore(self, subscription_id: int, *, channel: str, now: datetime) -> None:
        """Ask enforcement to restore the line now that its information is complete (clears its state, lifts
        its locks, tells the subscriber; the worker does it within seconds); idempotent."""
        ...

    def list_network_orders(self, subscription_id: int, *, status: str | None = None) -> list[NetworkOrderRow]:
        """Network orders of a subscription (optionally of one status), oldest first."""
        ...

    def point_of_sale_code(self, point_of_sale_id: int) -> str | None:
        """The code of a point of sale by id."""
        ...


@dataclass(slots=True)
class ImageCheck:
    """The verdict on the images of one request, and the holder fields read from the card, if any."""

    errors: list[FieldError] = field(default_factory=list)
    card_fields: dict[str, Any] = field(default_factory=dict)
    card_source: str | None = None  # qr | mrz
    # Images that passed a check only within the review margin (`documents.<kind>:<measure>`): flagged for review.
    narrow: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImageInspector(Protocol):
    """Quality checks of uploaded images (implemented by `adapters.images.quality.OpenCvImageInspector`)."""

    def check(self, images: Mapping[str, bytes], *, id_type: str | None) -> ImageCheck:
        """Check `images` by kind (portrait, id_front, id_back); errors at `documents.<kind>`."""
        ...

    def read_card(self, data: bytes) -> tuple[dict[str, Any], str | None]:
        """Holder fields from a card photo (QR, then MRZ) and their source; ({}, None) when unreadable."""
        ...


class CounterUnitOfWork(RegistryUnitOfWork, Protocol):
    """The registry's tables plus the counter's own (visits, transactions, payments, network orders), the
    holders' data-subject flags (a restricted holder is not shown nor changed at the counter) and the
    supervisor's review items (a flagged save is queued in its own transaction)."""

    counter: CounterRepository
    privacy: PrivacyRepository
    reviews: ReviewRepository


class CardReader(Protocol):
    """Reading an ID card's codes from a photo (implemented by `adapters.images.card_reader.CardImageReader`)."""

    def decode_qr(self, data: bytes) -> str:
        """The QR payload (InputError `no_code_found` when none, `not_an_image`, `image_too_large`)."""
        ...

    def read_mrz(self, data: bytes) -> str:
        """The 3 TD1 MRZ lines (InputError `no_code_found` when none)."""
        ...

    def read_id_image(self, data: bytes, *, as_of: date | None = None) -> dict[str, str]:
        """Holder fields from the QR code, else the MRZ, with `source` (`qr` | `mrz`)."""
        ...
