"""What the update and the registration share: the edited fields, sealing images ahead, saving the record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldError, InputError, SubregError
from subreg.domain.compliance.rules.base import CheckResult
from subreg.services.counter._shared import PERSON_SECTIONS, channel_of
from subreg.services.counter.context import CounterContext
from subreg.services.counter.images import fill_from_card, require_readable_card
from subreg.services.counter.ports import CounterUnitOfWork, ImageCheck
from subreg.services.registry.ports import SealedImages, SubscriptionRow

__all__ = ["EDITABLE_FIELDS", "Saved", "editable", "merge", "save", "seal_ahead"]

# What the counter may send in an update or a registration (documents come as images, not references).
EDITABLE_FIELDS = frozenset(
    {"subscriber_type", "payment_type", "contract_number", "purpose", "holder", "guardian", "organization"}
)


def editable(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes, refused field by field when a key is not editable at the counter or a section is malformed."""
    bad = [FieldError(str(k), "unknown_field") for k in changes if k not in EDITABLE_FIELDS]
    bad += [
        FieldError(str(k), "invalid_format")
        for k in PERSON_SECTIONS
        if k in changes and changes[k] is not None and not isinstance(changes[k], Mapping)
    ]
    if bad:
        raise InputError(bad)
    return dict(changes)


def merge(record: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with `changes` applied (person sections merged field by field; None removes)."""
    out = dict(record)
    for key, value in changes.items():
        if key in PERSON_SECTIONS and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            merged = {**out[key], **value}
            out[key] = {k: v for k, v in merged.items() if v is not None}
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@dataclass(slots=True)
class Saved:
    """The rule set's verdict on the saved record and the fields filled from the card."""

    result: CheckResult
    filled: list[str] = field(default_factory=list)


def seal_ahead(
    uow: CounterUnitOfWork, ctx: CounterContext, images: Mapping[str, bytes], record: Callable[[], dict[str, Any]]
) -> SealedImages | None:
    """Encrypt and store the images before the write lock is taken, so that their fsyncs run in parallel.

    Only reads, then ends its snapshot. Whatever would refuse the request (`record()` raising, a card of
    someone else) is left to the locked phase, which checks and reports it again: here it only means
    that nothing is sealed ahead.
    """
    if not images:
        return None
    try:
        return ctx.registry.seal_images(record(), images, uow=uow)
    except SubregError:
        return None
    finally:
        uow.rollback()


def save(
    record: dict[str, Any],
    images: Mapping[str, bytes],
    check: ImageCheck,
    *,
    uow: CounterUnitOfWork,
    ctx: CounterContext,
    actor: Actor,
    sealed: SealedImages | None = None,
    stored: SubscriptionRow | None = None,
) -> Saved:
    """Fill from the card, require a readable chip card, and store through the registry's writer."""
    filled = fill_from_card(record, check)
    require_readable_card(images, check, record)
    result = ctx.registry.store(
        record, uow=uow, as_of=ctx.today, actor=actor.staff_id, channel=channel_of(actor),
        images=images, sealed=sealed, stored=stored,
    )  # fmt: skip
    return Saved(result, filled)
