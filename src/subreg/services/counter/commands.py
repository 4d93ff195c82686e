"""The counter's commands: what staff ask for, as typed values (entrypoints build them from forms or JSON).

`changes` and `record` stay in the data dictionary's shape (holder, guardian, organization as nested
mappings): the rule set, not these classes, decides what a valid record is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from subreg.domain.access.permissions import Purpose

__all__ = [
    "ChangeOwner",
    "LookUpIdDocument",
    "LookUpNumber",
    "OpenVisit",
    "ParseIdDocument",
    "PayBill",
    "RegisterSubscription",
    "SuggestPostpaid",
    "Transact",
    "UpdateSubscription",
    "ViewDocumentImage",
]


@dataclass(frozen=True, slots=True)
class LookUpNumber:
    """Show the subscription card of one number (masked per role and purpose)."""

    msisdn: str | int
    purpose: str | None


@dataclass(frozen=True, slots=True)
class LookUpIdDocument:
    """Show every subscription under one ID document."""

    id_type: str | None
    id_number: str
    purpose: str | None


@dataclass(frozen=True, slots=True)
class OpenVisit:
    """Prove the holder is at the counter (number + the ID document shown)."""

    msisdn: str | int
    id_number: str
    purpose: str | None = Purpose.TRANSACTION


@dataclass(frozen=True, slots=True)
class Transact:
    """A counter transaction of `kind` (through the gate)."""

    msisdn: str | int
    kind: str
    purpose: str | None = Purpose.TRANSACTION


@dataclass(frozen=True, slots=True)
class PayBill:
    """A bill payment (never gated)."""

    msisdn: str | int
    amount_vnd: int
    reference: str | None = None
    purpose: str | None = Purpose.TRANSACTION


@dataclass(frozen=True, slots=True)
class UpdateSubscription:
    """Field changes and images (portrait, ID card sides, passport page) for one subscription."""

    msisdn: str | int
    changes: Mapping[str, Any] = field(default_factory=dict)
    images: Mapping[str, bytes] = field(default_factory=dict)
    purpose: str | None = Purpose.UPDATE


@dataclass(frozen=True, slots=True)
class RegisterSubscription:
    """A new subscription at the caller's point of sale, with every document and the consent shown."""

    record: Mapping[str, Any]
    images: Mapping[str, bytes] = field(default_factory=dict)
    purpose: str | None = Purpose.REGISTRATION
    consent_accepted: bool = True
    consent_text: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeOwner:
    """Pass a line to a new owner: their sections (holder, guardian, organization, subscriber type, contract
    number) and papers' images, and the consent they were shown."""

    msisdn: str | int
    new_owner: Mapping[str, Any]
    images: Mapping[str, bytes] = field(default_factory=dict)
    purpose: str | None = Purpose.UPDATE
    consent_accepted: bool = True
    consent_text: str | None = None


@dataclass(frozen=True, slots=True)
class SuggestPostpaid:
    """What the papers on file let staff fill in for a (postpaid) subscription."""

    msisdn: str | int
    purpose: str | None = Purpose.UPDATE


@dataclass(frozen=True, slots=True)
class ViewDocumentImage:
    """One stored document image."""

    document_id: int
    purpose: str | None


@dataclass(frozen=True, slots=True)
class ParseIdDocument:
    """Read holder fields from a CCCD QR payload, a TD1 MRZ, or a photo of the card (`kind`: auto|qr|mrz)."""

    qr: str | None = None
    mrz: str | None = None
    image: bytes | None = None
    kind: str = "auto"
