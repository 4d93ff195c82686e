"""Images at the counter: quality checks, the card's readability, and filling the signer's fields from the card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.records import DOCUMENT_KINDS, is_absent
from subreg.domain.counter.image_rules import CARD_KINDS, needs_readable_card
from subreg.services.counter.context import CounterContext
from subreg.services.counter.ports import ImageCheck

__all__ = ["check_images", "fill_from_card", "require_readable_card", "signer_of"]


def check_images(images: Mapping[str, bytes], *, ctx: CounterContext, id_type: str | None) -> ImageCheck:
    """Quality checks of uploaded images by document kind; InputError lists every problem.

    The update and registration use cases call it before they open the unit of work (it is CPU-bound).
    """
    unknown = [FieldError(f"documents.{k}", "invalid_choice") for k in images if k not in DOCUMENT_KINDS]
    if unknown:
        raise InputError(unknown)
    if not images:
        return ImageCheck()
    if ctx.images is None:
        raise InputError([FieldError(f"documents.{k}", "image_not_supported") for k in images])
    result = ctx.images.check(images, id_type=id_type)
    if result.errors:
        raise InputError(result.errors)
    return result


def signer_of(record: Mapping[str, Any]) -> str | None:
    """Who signs and shows their card: the guardian of an under-14, else the holder (an organization's legal
    representative); None for a person the organization authorized, who is not in the record: their card
    photos and the authorization letter are kept as documents, nothing of the representative is checked
    against that card or filled from it."""
    guardian = record.get("guardian")
    if isinstance(guardian, Mapping) and guardian:
        return "guardian"
    organization = record.get("organization")
    if isinstance(organization, Mapping) and organization.get("signer_is_representative") is False:
        return None
    return "holder"


def require_readable_card(images: Mapping[str, bytes], check: ImageCheck, record: Mapping[str, Any]) -> None:
    """A chip CCCD must be readable from the card photos (checked once the signer's ID type is known)."""
    who = signer_of(record)
    signer = record.get(who) if who else None
    id_type = signer.get("id_type") if isinstance(signer, Mapping) else None
    cards = [k for k in CARD_KINDS if k in images]
    if cards and check.card_source is None and needs_readable_card(id_type):
        raise InputError([FieldError(f"documents.{k}", "id_unreadable") for k in cards])


def fill_from_card(record: dict[str, Any], check: ImageCheck) -> list[str]:
    """Fill the signer's absent fields from the card's QR/MRZ; refuse a card of another person."""
    who = signer_of(record)
    if not check.card_fields or who is None:
        return []
    person = dict(record.get(who) or {})
    given = person.get("id_number")
    read = check.card_fields.get("id_number")
    if not is_absent(given) and read and "".join(str(given).split()) != read:
        raise InputError([FieldError("documents.id_front", "id_card_mismatch")])
    filled = []
    for name, value in check.card_fields.items():
        if is_absent(person.get(name)) and not is_absent(value):
            person[name] = value
            filled.append(f"{who}.{name}")
    record[who] = person
    return sorted(filled)
