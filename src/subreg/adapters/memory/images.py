"""`FakeImageInspector`: the counter's `ImageInspector` without OpenCV (the real checks are tested on real images).

Every image passes unless the test names a refusal for it (a `FieldError` at `documents.<kind>`, as the real
checks report); a card photo reads as the holder fields
the test configured (`card_fields`, read from the QR code by default), or as unreadable when there are none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from subreg.domain.common.errors import FieldError
from subreg.domain.counter.image_rules import CARD_KINDS, needs_readable_card
from subreg.services.counter.ports import ImageCheck

__all__ = ["FakeImageInspector"]


class FakeImageInspector:
    """Accepts every image; reads `card_fields` from card photos; records what it was asked to check."""

    def __init__(
        self,
        card_fields: Mapping[str, Any] | None = None,
        *,
        card_source: str = "qr",
        refuse: Sequence[FieldError] = (),
    ) -> None:
        self.card_fields: dict[str, Any] = dict(card_fields or {})
        self.card_source = card_source
        self.refuse: list[FieldError] = list(refuse)  # at documents.<kind>: reported when that image is given
        self.checked: list[tuple[str, ...]] = []
        self.narrow: list[str] = []  # `documents.<kind>:<measure>` reported as passing narrowly (when given)

    def check(self, images: Mapping[str, bytes], *, id_type: str | None) -> ImageCheck:
        """Report the refusals of the images given; read the card (as the real inspector: only from card photos)."""
        self.checked.append(tuple(sorted(images)))
        result = ImageCheck()
        given = {f"documents.{k}": k for k in images}
        result.errors.extend(e for e in self.refuse if e.field in given)
        refused = {given[e.field] for e in result.errors}
        result.narrow.extend(n for n in self.narrow if n.split(":")[0] in given)
        cards = [k for k in CARD_KINDS if k in images and k not in refused]
        if cards:
            result.card_fields, result.card_source = self.read_card(images[cards[0]])
            if result.card_source is None and needs_readable_card(id_type):
                result.errors.extend(FieldError(f"documents.{k}", "id_unreadable") for k in cards)
        return result

    def read_card(self, data: bytes) -> tuple[dict[str, Any], str | None]:
        """The configured fields and source; ({}, None) when none are configured (an unreadable card)."""
        if not self.card_fields:
            return {}, None
        return dict(self.card_fields), self.card_source
