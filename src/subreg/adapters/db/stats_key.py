"""The statistics key (SQLite): a line's statistics dimensions packed into one integer.

`subreg stats` counts lines by verdict, subscriber type, payment type, channel, phase, province and missing
items in one GROUP BY. On SQLite, grouping 10 M rows by seven columns compares seven values per row
(1.8 s on the CI machine, 3x the bare `GROUP BY verdict`); grouping by one integer and the missing-items
mask takes about as long as the bare query. `subscriptions.stats_key` is a VIRTUAL generated column with
this expression (migration 0010): no writer computes it, the index `ix_subscriptions_stats_key` stores it.

Bits: verdict 0-2 (7: none), subscriber type 3-4, payment type 5-6, channel 7-10, phase 11-12 (3: none),
province 13-22 (the CCCD's 3-digit code as a number; 1023: none). A value outside the lists below is 0 and
reads back as unknown; the writers only store the domain's values, and a new one is appended to its list
(with a migration that redefines the column), so that existing keys keep their meaning.
PostgreSQL groups by the columns themselves (a parallel hash aggregate) and has no such column.
"""

from __future__ import annotations

__all__ = ["SQL", "unpack"]

# Frozen: positions are stored in keys (append only; tests/unit/test_stats_key.py checks the domain's lists).
SUBSCRIBER_TYPES = ("individual", "organization")
PAYMENT_TYPES = ("prepaid", "postpaid")
CHANNELS = ("store", "agent", "authorized_point", "mobile_point", "self_service", "legacy_import")

_NO_VERDICT, _NO_PHASE, _NO_PROVINCE = 7, 3, 1023


def _case(column: str, values: tuple[str, ...]) -> str:
    return f"CASE {column} " + " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(values, 1)) + " ELSE 0 END"


SQL = (
    f"coalesce(verdict, {_NO_VERDICT}) + 8 * ({_case('subscriber_type', SUBSCRIBER_TYPES)}) "
    f"+ 32 * ({_case('payment_type', PAYMENT_TYPES)}) + 128 * ({_case('channel', CHANNELS)}) "
    f"+ 2048 * coalesce(phase, {_NO_PHASE}) + 8192 * coalesce(CAST(province_code AS INTEGER), {_NO_PROVINCE})"
)


def _name(values: tuple[str, ...], code: int) -> str | None:
    return values[code - 1] if 0 < code <= len(values) else None


def unpack(key: int) -> tuple[int | None, int | None, str | None, str | None, str | None, str | None]:
    """(verdict, phase, subscriber type, payment type, channel, province code) of a key; None where unknown."""
    verdict, phase, province = key & 7, (key >> 11) & 3, (key >> 13) & 1023
    return (
        None if verdict == _NO_VERDICT else verdict,
        None if phase == _NO_PHASE else phase,
        _name(SUBSCRIBER_TYPES, (key >> 3) & 3),
        _name(PAYMENT_TYPES, (key >> 5) & 3),
        _name(CHANNELS, (key >> 7) & 15),
        None if province == _NO_PROVINCE else f"{province:03d}",
    )
