"""Missing items as a bitmask: statistics count lines per missing item with one GROUP BY, no text splitting.

Bit i stands for the rule set's `missing_items[i]` (an organization user's index dropped: see
`rules.base.missing_item`); items past the 63rd, and paths the rule set does not declare, share the last
bit, `other`. The order of `missing_items` is therefore part of the stored data: a rule set appends new
items, it never reorders them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from subreg.domain.compliance.rules.base import missing_item

__all__ = ["MAX_BITS", "OTHER", "bits_of", "mask_of", "missing_of"]

OTHER = "other"
MAX_BITS = 63  # a signed 64-bit column


@lru_cache(maxsize=16)
def bits_of(items: tuple[str, ...]) -> dict[str, int]:
    """item -> bit for a rule set's `missing_items` (the last bit is `other`)."""
    named = items[: MAX_BITS - 1]
    bits = {item: 1 << i for i, item in enumerate(named)}
    bits[OTHER] = 1 << (MAX_BITS - 1)
    return bits


def mask_of(missing: Iterable[str], items: Sequence[str]) -> int:
    """The bitmask of missing paths under these items."""
    bits = bits_of(tuple(items))
    other = bits[OTHER]
    mask = 0
    for path in missing:
        mask |= bits.get(missing_item(path), other)
    return mask


def missing_of(mask: int, items: Sequence[str]) -> list[str]:
    """The items a bitmask names, in the rule set's order (`other` last)."""
    return [item for item, bit in bits_of(tuple(items)).items() if mask & bit]
