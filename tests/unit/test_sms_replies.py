"""What a 1414 reply shows (masking) and the per-sender rate decision."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.sms.replies import (
    Masking,
    RateWindow,
    mask_birth,
    mask_id_number,
    mask_msisdn,
    mask_name,
    rate_decision,
)


class TestMaskIdNumber:
    @pytest.mark.parametrize(
        ("raw", "keep", "masked"),
        [
            ("079203001234", 4, "********1234"),
            ("025123456", 4, "*****3456"),
            ("B1234567", 4, "****4567"),
            ("079203001234", 0, "************"),
            ("079203001234", 2, "**********34"),
            ("123456", 4, "***456"),  # never more than half
            (" 0792 0300 1234 ", 4, "********1234"),
            ("", 4, ""),
        ],
    )
    def test_examples(self, raw, keep, masked):
        assert mask_id_number(raw, keep) == masked

    @given(st.text(alphabet="0123456789ABC", max_size=20), st.integers(0, 30))
    def test_length_kept_and_at_most_half_shown(self, raw, keep):
        out = mask_id_number(raw, keep)
        assert len(out) == len(raw)
        assert sum(c != "*" for c in out) <= min(keep, len(raw) // 2)


class TestMaskName:
    @pytest.mark.parametrize(("mode", "shown"), [("full", "Nguyễn Văn An"), ("initials", "N.V.A."), ("hidden", "***")])
    def test_modes(self, mode, shown):
        assert mask_name("  Nguyễn  Văn An ", mode) == shown

    def test_initials_keep_the_letter_whole(self):
        assert mask_name("Đỗ Ánh", "initials") == "Đ.Á."

    def test_an_unknown_mode_is_refused(self):
        with pytest.raises(ValueError, match="mode"):
            mask_name("An", "last")  # type: ignore[arg-type]


class TestMaskBirth:
    @pytest.mark.parametrize(
        ("value", "mode", "shown"),
        [
            (date(1992, 5, 17), "full", "17/05/1992"),
            (date(1992, 5, 17), "year", "1992"),
            (date(1992, 5, 17), "hidden", "***"),
            ("1992-05-17", "full", "17/05/1992"),
            ("1992-05-17", "year", "1992"),
            (1975, "full", "1975"),
            (1975, "year", "1975"),
            ("1975", "full", "1975"),
            ("17.5.92", "full", "17.5.92"),
            ("17.5.92", "year", "***"),
            (0, "year", "***"),
        ],
    )
    def test_modes(self, value, mode, shown):
        assert mask_birth(value, mode) == shown

    def test_an_unknown_mode_is_refused(self):
        with pytest.raises(ValueError, match="mode"):
            mask_birth(1975, "month")  # type: ignore[arg-type]


class TestMaskMsisdn:
    @pytest.mark.parametrize("raw", ["+84901234567", "84901234567", "0901234567"])
    def test_a_vietnamese_number_in_national_form(self, raw):
        assert mask_msisdn(raw) == "0*****4567"

    def test_keep_last(self):
        assert mask_msisdn("+84901234567", keep_last=2) == "0*******67"

    def test_anything_else_is_masked_like_an_id(self):
        assert mask_msisdn("+4412345678") == "*******5678"


class TestMasking:
    def test_the_defaults_show_name_year_last_four_and_place(self):
        assert Masking() == Masking(name="full", birth="year", id_keep_last=4, show_issue_place=True)

    @pytest.mark.parametrize("kwargs", [{"name": "last"}, {"birth": "day"}, {"id_keep_last": -1}])
    def test_impossible_settings_are_refused(self, kwargs):
        with pytest.raises(ValueError):  # noqa: PT011 - the message is not the point
            Masking(**kwargs)


T0 = datetime(2026, 1, 1, 8, 0)
HOUR = timedelta(hours=1)


def _run(times: list[datetime], limit: int = 3) -> list[str]:
    decisions, state = [], None
    for now in times:
        start, count, refused = (state.window_start, state.count, state.refused) if state else (None, 0, False)
        decision, state = rate_decision(start, count, refused, now, limit, HOUR)
        decisions.append(decision)
    return decisions


class TestRateDecision:
    def test_a_first_message_opens_a_window(self):
        assert rate_decision(None, 0, False, T0, 3, HOUR) == ("answer", RateWindow(T0, 1, False))

    def test_the_limit_is_answered_then_one_refusal_then_silence(self):
        times = [T0 + timedelta(minutes=i) for i in range(6)]
        assert _run(times) == ["answer", "answer", "answer", "refuse", "drop", "drop"]

    def test_the_window_resets_after_its_length_from_its_start(self):
        times = [T0, T0, T0, T0, T0 + HOUR - timedelta(seconds=1), T0 + HOUR, T0 + HOUR]
        assert _run(times) == ["answer", "answer", "answer", "refuse", "drop", "answer", "answer"]

    def test_a_window_from_the_future_is_replaced(self):
        decision, window = rate_decision(T0 + HOUR, 9, True, T0, 3, HOUR)
        assert (decision, window) == ("answer", RateWindow(T0, 1, False))

    def test_the_refusal_goes_out_once_per_window(self):
        assert rate_decision(T0, 3, False, T0, 3, HOUR) == ("refuse", RateWindow(T0, 4, True))
        assert rate_decision(T0, 4, True, T0, 3, HOUR) == ("drop", RateWindow(T0, 5, True))

    @pytest.mark.parametrize(("limit", "window"), [(0, HOUR), (3, timedelta(0))])
    def test_impossible_limits_are_refused(self, limit, window):
        with pytest.raises(ValueError, match="positive"):
            rate_decision(None, 0, False, T0, limit, window)

    @given(st.lists(st.integers(0, 7200), max_size=40), st.integers(1, 5))
    def test_at_most_limit_answers_and_one_refusal_per_window(self, offsets, limit):
        times = [T0 + timedelta(seconds=s) for s in sorted(offsets)]
        decisions = _run(times, limit)
        assert decisions.count("refuse") <= decisions.count("answer") // limit
        for i, d in enumerate(decisions):
            if d == "drop":
                assert "refuse" in decisions[:i]
