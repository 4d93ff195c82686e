"""Unusual registration volume at a point of sale, judged against the point's OWN history.

A point of sale's registrations on a day are compared with the same point's previous `window` days (days
without any registration count as 0: a quiet point is part of its own history). The day is flagged when its
count reaches all of:

- `min_volume` (a handful of registrations is never suspicious, however quiet the point usually is);
- `ratio` x the trailing mean (many times what the point usually does); and
- median + `z` x 1.4826 x MAD of the trailing days (a robust z-score: the median and the median absolute
  deviation ignore a few extreme days, so one earlier burst does not hide the next the way a mean and a
  standard deviation would; 1.4826 x MAD estimates the standard deviation of normal data).

A new point (no history: every trailing day 0) is flagged as soon as it reaches `min_volume`: its history
does not vouch for it. The `score` is the robust z-score (None when MAD is 0) for ordering and display.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["MAD_TO_SIGMA", "VolumeRule", "VolumeSignal", "daily_series", "unusual_volumes"]

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class VolumeRule:
    """The thresholds (settings `signal_volume_*`)."""

    window: int = 28  # trailing days compared with
    min_volume: int = 20  # registrations a day below which nothing is flagged
    ratio: float = 3.0  # x the trailing mean
    z: float = 3.5  # robust z-score

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window: must_be_positive")
        if self.min_volume < 1:
            raise ValueError("min_volume: must_be_positive")
        if self.ratio < 1 or self.z < 0:
            raise ValueError("ratio: must_be_at_least_1")


@dataclass(frozen=True, slots=True)
class VolumeSignal:
    """One point of sale on one day: its count, its trailing median and mean, the threshold it reached."""

    point: str
    day: date
    count: int
    median: float
    mean: float
    threshold: float
    score: float | None  # robust z-score; None when the trailing days do not vary (MAD 0)


def judge(count: int, history: list[int], rule: VolumeRule) -> tuple[bool, float, float, float, float | None]:
    """(flagged, median, mean, threshold, score) of one day's `count` against its trailing `history`."""
    median = float(statistics.median(history)) if history else 0.0
    mean = float(statistics.fmean(history)) if history else 0.0
    mad = float(statistics.median(abs(v - median) for v in history)) if history else 0.0
    sigma = MAD_TO_SIGMA * mad
    threshold = max(float(rule.min_volume), rule.ratio * mean, median + rule.z * sigma)
    score = (count - median) / sigma if sigma > 0 else None
    return count >= threshold, median, mean, threshold, score


def daily_series(counts: Mapping[date, int], first: date, last: date) -> list[int]:
    """The counts of every day from `first` to `last` included, 0 for a day without registrations."""
    days = (last - first).days + 1
    return [int(counts.get(first + timedelta(days=i), 0)) for i in range(max(days, 0))]


def unusual_volumes(
    counts: Iterable[tuple[str, date, int]], *, days: Iterable[date], rule: VolumeRule
) -> list[VolumeSignal]:
    """The (point, day) pairs among `days` whose count is unusual for that point, worst first.

    `counts`: (point, day, registrations) for every point and day with any, covering each judged day and
    the `rule.window` days before it (what one GROUP BY returns; missing days are 0).
    """
    by_point: dict[str, dict[date, int]] = {}
    for point, day, n in counts:
        by_point.setdefault(point, {})[day] = by_point.get(point, {}).get(day, 0) + int(n)
    judged = sorted(set(days))
    out: list[VolumeSignal] = []
    for point, series in by_point.items():
        for day in judged:
            count = series.get(day, 0)
            if count < rule.min_volume:
                continue
            history = daily_series(series, day - timedelta(days=rule.window), day - timedelta(days=1))
            flagged, median, mean, threshold, score = judge(count, history, rule)
            if flagged:
                out.append(VolumeSignal(point, day, count, median, mean, threshold, score))
    return sorted(out, key=lambda s: (-(s.count / max(s.threshold, 1.0)), s.day, s.point))
