"""Anomaly signals: heavy readers among peers, reads after hours, lookups by ID without transactions."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.privacy.anomalies import (
    Signal,
    SignalKind,
    after_hours_reads,
    id_lookups_without_transaction,
    is_open,
    read_volume_outliers,
)

PEERS = {"s1": 40, "s2": 45, "s3": 50, "s4": 55, "s5": 60, "s6": 48, "s7": 52}


class TestReadVolumeOutliers:
    def test_a_staff_reading_far_more_than_peers_is_flagged(self):
        signals = read_volume_outliers({**PEERS, "heavy": 2_000})
        assert [s.staff_id for s in signals] == ["heavy"]
        s = signals[0]
        assert s.kind is SignalKind.READ_VOLUME
        assert s.value == 2_000
        # Over all 8 counts: median 51, MAD 5 -> max(50, 5 x 51, 51 + 5 x 1.4826 x 5) = 255
        assert s.threshold == pytest.approx(255.0)

    def test_ordinary_spread_raises_nothing(self):
        assert read_volume_outliers(PEERS) == []

    def test_a_reader_just_under_the_threshold_is_not_flagged(self):
        assert read_volume_outliers({**PEERS, "busy": 254}) == []
        assert [s.staff_id for s in read_volume_outliers({**PEERS, "busy": 255})] == ["busy"]

    def test_small_numbers_are_never_suspicious(self):
        assert read_volume_outliers({"a": 0, "b": 0, "c": 1, "d": 49}) == []
        assert [s.staff_id for s in read_volume_outliers({"a": 0, "b": 0, "c": 1, "d": 50})] == ["d"]

    def test_a_widely_spread_group_needs_more_than_the_ratio(self):
        # With x: median 110, MAD 65. 5 x median = 550 is not enough; 110 + 5 x 1.4826 x 65 ~ 591.8 is.
        spread = {"a": 10, "b": 20, "c": 60, "d": 80, "e": 100, "f": 120, "g": 140, "h": 190, "i": 400}
        assert read_volume_outliers({**spread, "x": 570}) == []
        signals = read_volume_outliers({**spread, "x": 600})
        assert [s.staff_id for s in signals] == ["x"]
        assert signals[0].threshold == pytest.approx(110 + 5 * 1.4826 * 65)

    def test_one_heavy_reader_cannot_raise_the_bar_for_another(self):
        signals = read_volume_outliers({**PEERS, "h1": 5_000, "h2": 800})
        assert [s.staff_id for s in signals] == ["h1", "h2"]

    def test_too_few_peers_give_no_signal(self):
        assert read_volume_outliers({"a": 10, "b": 10_000}) == []
        assert [s.staff_id for s in read_volume_outliers({"a": 10, "b": 10, "c": 10_000})] == ["c"]

    def test_a_factor_below_one_is_refused(self):
        with pytest.raises(ValueError, match="factor"):
            read_volume_outliers(PEERS, factor=0.5)

    @given(st.dictionaries(st.integers(0, 50), st.integers(0, 10_000), max_size=30))
    def test_a_flagged_count_is_above_the_median_and_its_threshold(self, counts):
        for s in read_volume_outliers(counts):
            assert s.value >= s.threshold >= 50
            assert sum(v < s.value for v in counts.values()) > len(counts) / 2

    @given(st.integers(3, 20), st.integers(0, 10_000))
    def test_identical_readers_are_never_flagged(self, n, count):
        assert read_volume_outliers(dict.fromkeys(range(n), count)) == []


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, 1, hour, minute)  # the store's local wall-clock time


class TestAfterHours:
    def test_reads_outside_opening_hours_are_counted_per_staff(self):
        events = [("a", at(7, 59)), ("a", at(8)), ("a", at(20, 30)), ("b", at(12)), ("c", at(3))]
        signals = after_hours_reads(events, time(8), time(20))
        assert signals == [
            Signal(SignalKind.AFTER_HOURS, "a", 2.0, 1.0),
            Signal(SignalKind.AFTER_HOURS, "c", 1.0, 1.0),
        ]

    def test_closing_time_itself_is_after_hours(self):
        assert [s.staff_id for s in after_hours_reads([("a", at(20))], time(8), time(20))] == ["a"]

    def test_min_events_ignores_a_single_late_read(self):
        events = [("a", at(21)), ("b", at(21)), ("b", at(22))]
        assert [s.staff_id for s in after_hours_reads(events, time(8), time(20), min_events=2)] == ["b"]

    def test_no_events_no_signals(self):
        assert after_hours_reads([], time(8), time(20)) == []

    @pytest.mark.parametrize(
        ("moment", "inside"), [(time(23), True), (time(2), True), (time(6), False), (time(12), False)]
    )
    def test_hours_may_run_past_midnight(self, moment, inside):
        assert is_open(moment, time(22), time(6)) is inside

    def test_equal_opening_and_closing_means_always_open(self):
        assert is_open(time(3), time(0), time(0))

    @given(st.times(), st.times(), st.times())
    def test_open_and_closed_overnight_hours_are_complements(self, moment, opening, closing):
        if opening != closing:
            assert is_open(moment, opening, closing) != is_open(moment, closing, opening)


class TestIdLookupsWithoutTransaction:
    def test_many_lookups_without_transactions_are_flagged(self):
        signals = id_lookups_without_transaction({"a": 120, "b": 30, "c": 5}, {"b": 25})
        assert signals == [Signal(SignalKind.ID_LOOKUPS_WITHOUT_TRANSACTION, "a", 120.0, 20.0)]

    def test_lookups_explained_by_transactions_are_not_flagged(self):
        assert id_lookups_without_transaction({"a": 90}, {"a": 30}) == []

    def test_lookups_beyond_the_ratio_are_flagged_with_the_ratio_threshold(self):
        signals = id_lookups_without_transaction({"a": 91}, {"a": 30})
        assert signals == [Signal(SignalKind.ID_LOOKUPS_WITHOUT_TRANSACTION, "a", 91.0, 90.0)]

    def test_few_lookups_are_ignored(self):
        assert id_lookups_without_transaction({"a": 19}, {}) == []
        assert id_lookups_without_transaction({"a": 20}, {}) != []

    def test_worst_first(self):
        signals = id_lookups_without_transaction({"a": 30, "b": 300, "c": 40}, {}, min_lookups=10)
        assert [s.staff_id for s in signals] == ["b", "c", "a"]

    @given(
        st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 500)),
        st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 500)),
    )
    def test_every_signal_crosses_both_rules(self, lookups, transactions):
        for s in id_lookups_without_transaction(lookups, transactions):
            assert s.value >= 20
            assert s.value > 3.0 * transactions.get(s.staff_id, 0)
            assert s.value >= s.threshold
