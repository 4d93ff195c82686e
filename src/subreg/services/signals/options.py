"""The signals' thresholds, built from settings by the wiring (`signal_*`; the use cases never read settings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from subreg.domain.signals.volume import VolumeRule

__all__ = ["COUNTER_CHANNELS", "SignalOptions"]

# The channels whose registrations are a point of sale's own work (the rule set's point-of-service channels).
COUNTER_CHANNELS: tuple[str, ...] = ("store", "agent", "authorized_point", "mobile_point")


@dataclass(frozen=True, slots=True)
class SignalOptions:
    tz: tzinfo  # the operator's time zone: a "day" is a local day
    over_limit_min: int = 4  # lines without a contract under one ID document (the 4th needs a contract)
    volume: VolumeRule = field(default_factory=VolumeRule)
    recent_days: int = 7  # days judged (today and the days before) for the per-day signals
    multi_pos_min_points: int = 2  # distinct points of sale one ID was registered at the same day
    multi_pos_min_registrations: int = 3  # registrations of one ID that day
    portrait_max_distance: int = 24  # Hamming distance (of `bits`) under which two portraits are the same
    portrait_batch: int = 200  # portraits decrypted per transaction by the backfill
    staff_days: int = 30  # the audit log's period for the staff signal
    staff_factor: float = 5.0  # x the peers' median reads (domain.privacy.anomalies.read_volume_outliers)
    staff_min_reads: int = 50
    limit: int = 500  # signals listed per kind at most
    channels: tuple[str, ...] = COUNTER_CHANNELS
