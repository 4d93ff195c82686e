"""The signals' pure rules: review decisions and reason codes, the unusual-volume test against a point's own
history, the band splitting of a perceptual hash and the look-alike confirmation."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.common.errors import InputError
from subreg.domain.signals.keys import over_limit_key, portrait_key
from subreg.domain.signals.portraits import close_pairs, groups, hamming, split_bands
from subreg.domain.signals.review import REASONS, Decision, is_open, parse_decision
from subreg.domain.signals.volume import VolumeRule, unusual_volumes

DAY = date(2026, 11, 28)


class TestDecisions:
    def test_a_valid_decision_is_parsed(self):
        d = parse_decision({"kind": "pos_volume", "key": "Q-1:2026-11-28:60", "decision": "escalated",
                            "reason": "suspected_fraud", "note": "  gọi cửa hàng  "})  # fmt: skip
        assert (d.kind, d.decision, d.reason, d.note) == ("pos_volume", Decision.ESCALATED, "suspected_fraud",
                                                          "gọi cửa hàng")  # fmt: skip

    def test_every_bad_field_is_named_at_once(self):
        with pytest.raises(InputError) as raised:
            parse_decision({"kind": "x", "key": "", "decision": "maybe", "reason": "nope", "note": "n" * 501})
        assert {(e.field, e.code) for e in raised.value.errors} == {
            ("kind", "invalid_choice"), ("key", "required"), ("decision", "invalid_choice"),
            ("reason", "invalid_choice"), ("note", "too_long"),
        }  # fmt: skip

    def test_the_reason_other_needs_a_note(self):
        with pytest.raises(InputError) as raised:
            parse_decision({"kind": "over_limit", "key": "k", "decision": "reviewed", "reason": "other"})
        assert [(e.field, e.code) for e in raised.value.errors] == [("note", "required")]

    def test_reviewed_and_dismissed_close_a_signal_escalated_keeps_it_open(self):
        assert is_open(None)
        assert is_open("escalated")
        assert not is_open("reviewed")
        assert not is_open("dismissed")
        assert "other" in REASONS

    def test_keys_carry_the_facts_so_a_change_opens_the_signal_again(self):
        person = bytes(range(32))
        assert over_limit_key(person, 4, 4) != over_limit_key(person, 5, 5)
        assert over_limit_key(person, 4, 4).startswith(person.hex()[:32])
        assert portrait_key(9, 3) == portrait_key(3, 9) == "3:9"


def _series(point: str, counts: list[int], last: date = DAY) -> list[tuple[str, date, int]]:
    """counts[i] registrations on last - (len - 1 - i) days."""
    first = last - timedelta(days=len(counts) - 1)
    return [(point, first + timedelta(days=i), n) for i, n in enumerate(counts) if n]


class TestUnusualVolume:
    RULE = VolumeRule(window=28, min_volume=20, ratio=3.0, z=3.5)

    def test_a_spike_over_a_quiet_history_is_flagged(self):
        got = unusual_volumes(_series("Q", [5] * 28 + [60]), days=[DAY], rule=self.RULE)
        assert [(s.point, s.day, s.count) for s in got] == [("Q", DAY, 60)]
        assert got[0].median == 5

    def test_a_point_that_is_always_busy_is_not_flagged(self):
        assert unusual_volumes(_series("B", [80] * 29), days=[DAY], rule=self.RULE) == []

    def test_small_numbers_are_never_suspicious(self):
        assert unusual_volumes(_series("Q", [0] * 28 + [19]), days=[DAY], rule=self.RULE) == []

    def test_a_new_point_is_flagged_from_the_minimum_volume(self):
        assert [s.count for s in unusual_volumes(_series("N", [20]), days=[DAY], rule=self.RULE)] == [20]

    def test_one_earlier_burst_does_not_hide_the_next(self):
        history = [4] * 27 + [200]  # the burst raises the mean a lot, the median not at all
        got = unusual_volumes(_series("Q", [*history, 70]), days=[DAY], rule=self.RULE)
        assert [s.count for s in got] == [70]

    @given(
        history=st.lists(st.integers(0, 200), min_size=28, max_size=28),
        today=st.integers(0, 1000),
    )
    def test_the_rule_is_the_documented_threshold(self, history, today):
        got = unusual_volumes(_series("P", [*history, today]), days=[DAY], rule=self.RULE)
        median = statistics.median(history)
        mad = statistics.median(abs(h - median) for h in history)
        bar = max(20, 3 * statistics.fmean(history), median + 3.5 * 1.4826 * mad)
        assert bool(got) == (today >= bar)

    @given(history=st.lists(st.integers(0, 100), min_size=28, max_size=28), today=st.integers(0, 500),
           more=st.integers(1, 500))  # fmt: skip
    def test_more_registrations_the_same_day_never_unflag_a_point(self, history, today, more):
        before = unusual_volumes(_series("P", [*history, today]), days=[DAY], rule=self.RULE)
        after = unusual_volumes(_series("P", [*history, today + more]), days=[DAY], rule=self.RULE)
        assert not before or after


class TestBands:
    @given(value=st.integers(0, 2**256 - 1), bands=st.sampled_from([2, 4, 8, 16, 32]))
    def test_the_bands_put_together_are_the_hash(self, value, bands):
        parts = split_bands(value, bits=256, bands=bands)
        width = 256 // bands
        assert len(parts) == bands
        assert all(0 <= p < 2**width for p in parts)
        rebuilt = 0
        for p in parts:
            rebuilt = (rebuilt << width) | p
        assert rebuilt == value

    @given(value=st.integers(0, 2**256 - 1), flips=st.sets(st.integers(0, 255), max_size=7))
    def test_hashes_closer_than_the_number_of_bands_share_a_band(self, value, flips):
        other = value
        for bit in flips:
            other ^= 1 << bit
        assert hamming(value, other) == len(flips)
        a, b = split_bands(value, bits=256, bands=8), split_bands(other, bits=256, bands=8)
        assert any(x == y for x, y in zip(a, b, strict=True))

    def test_bands_must_divide_the_bits_and_the_value_must_fit(self):
        with pytest.raises(ValueError, match="bands"):
            split_bands(0, bits=256, bands=7)
        with pytest.raises(ValueError, match="value"):
            split_bands(2**256, bits=256, bands=8)

    def test_close_pairs_are_confirmed_by_the_full_hash(self):
        hashes = {1: 0b1111, 2: 0b1110, 3: 0b0000}
        assert close_pairs(hashes, [(1, 2), (1, 3), (2, 9)], max_distance=1) == [(1, 2, 1)]
        assert groups([(1, 2), (2, 5), (7, 8)]) == [[1, 2, 5], [7, 8]]
