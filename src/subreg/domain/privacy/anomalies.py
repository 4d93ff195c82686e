"""Anomaly signals over staff activity: pure rules on counts and timestamps the caller aggregates.

A signal is a reason to look, not a verdict: each names the staff account, the observed value and
the threshold it crossed, so a reviewer can judge the margin. Group the input by peers (same role,
same kind of point of sale, same period) before calling: a busy flagship store is not an outlier
among kiosks, it is a different population.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import TypeVar

K = TypeVar("K", bound=Hashable)  # a staff id (int or str)

__all__ = [
    "MAD_TO_SIGMA",
    "Signal",
    "SignalKind",
    "after_hours_reads",
    "id_lookups_without_transaction",
    "is_open",
    "read_volume_outliers",
]

# 1.4826 x MAD estimates the standard deviation of normally distributed data (Rousseeuw & Croux).
MAD_TO_SIGMA = 1.4826


class SignalKind(StrEnum):
    """Which rule raised a signal."""

    READ_VOLUME = "read_volume"
    AFTER_HOURS = "after_hours"
    ID_LOOKUPS_WITHOUT_TRANSACTION = "id_lookups_without_transaction"


@dataclass(frozen=True, slots=True)
class Signal:
    """One staff account crossing one rule's threshold: the observed `value` and the `threshold`."""

    kind: SignalKind
    staff_id: Hashable
    value: float
    threshold: float


def _ordered(signals: list[Signal]) -> list[Signal]:
    # Worst first, then by staff id (as text, ids may be ints or strings) for a stable report.
    return sorted(signals, key=lambda s: (-s.value, str(s.staff_id)))


def read_volume_outliers(
    counts: Mapping[K, int],
    *,
    factor: float = 5.0,
    min_reads: int = 50,
    min_peers: int = 3,
) -> list[Signal]:
    """Staff whose record reads are far above their peers': robust to a few outliers in the group.

    Method: over all counts of the group, take the median m and the median absolute deviation MAD.
    A count c is flagged when it reaches all three of
      - `min_reads` (small numbers are never suspicious),
      - `factor` x m (it is many times what a typical colleague reads), and
      - m + `factor` x 1.4826 x MAD (it is `factor` robust standard deviations above the median),
    and exceeds m. The median and MAD ignore up to half the group being extreme, so one heavy
    reader cannot hide themselves by raising the bar the way a mean and standard deviation would.
    When more than half the group reads the same amount, MAD is 0 and the ratio rule decides alone.
    Groups smaller than `min_peers` give no signal: there is nobody to compare with.
    """
    if factor < 1:
        raise ValueError("factor: must_be_at_least_1")
    if len(counts) < max(min_peers, 1):
        return []
    values = list(counts.values())
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    threshold = max(float(min_reads), factor * median, median + factor * MAD_TO_SIGMA * mad)
    return _ordered(
        [
            Signal(SignalKind.READ_VOLUME, staff, float(n), threshold)
            for staff, n in counts.items()
            if n >= threshold and n > median
        ]
    )


def is_open(moment: time, opening: time, closing: time) -> bool:
    """Whether a wall-clock time falls in opening hours [opening, closing).

    Hours may run past midnight (opening 22:00, closing 06:00); opening == closing means always open.
    """
    moment = moment.replace(tzinfo=None)
    opening, closing = opening.replace(tzinfo=None), closing.replace(tzinfo=None)
    if opening == closing:
        return True
    if opening < closing:
        return opening <= moment < closing
    return moment >= opening or moment < closing


def after_hours_reads(
    events: Iterable[tuple[Hashable, datetime]],
    opening: time,
    closing: time,
    *,
    min_events: int = 1,
) -> list[Signal]:
    """Staff with at least `min_events` reads outside opening hours; `value` is how many.

    Timestamps must be the point of sale's local wall-clock time (convert before calling): opening
    hours are local, and a UTC timestamp would put every evening read in the morning.
    """
    outside: Counter[Hashable] = Counter()
    for staff, moment in events:
        if not is_open(moment.time(), opening, closing):
            outside[staff] += 1
    return _ordered(
        [
            Signal(SignalKind.AFTER_HOURS, staff, float(n), float(min_events))
            for staff, n in outside.items()
            if n >= min_events
        ]
    )


def id_lookups_without_transaction(
    lookups: Mapping[K, int],
    transactions: Mapping[K, int],
    *,
    ratio: float = 3.0,
    min_lookups: int = 20,
) -> list[Signal]:
    """Staff whose lookups by ID number far outnumber the transactions that would explain them.

    A lookup by ID is normal at a counter when a transaction follows (registering a 4th SIM, updating
    information). Flagged: at least `min_lookups` lookups, and more than `ratio` lookups per
    transaction (any lookups at all beyond `min_lookups` with no transaction). `value` is the lookup
    count; `threshold` is max(`min_lookups`, `ratio` x transactions).
    """
    signals = []
    for staff, n in lookups.items():
        done = transactions.get(staff, 0)
        if n >= min_lookups and n > ratio * done:
            signals.append(
                Signal(
                    SignalKind.ID_LOOKUPS_WITHOUT_TRANSACTION,
                    staff,
                    float(n),
                    max(float(min_lookups), ratio * done),
                )
            )
    return _ordered(signals)
