"""Reminder campaigns, the pure part: cohorts, allowed hours, repeats, waves, the planned finish, the states."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from subreg.domain.campaigns.campaign import CampaignState, parse_definition, transition
from subreg.domain.campaigns.cohort import CRITERIA, STATES, Cohort, parse_cohort
from subreg.domain.campaigns.schedule import (
    MAX_WAVES,
    AllowedHours,
    Schedule,
    next_wave,
    parse_hours,
    parse_repeats,
    planned_finish,
)
from subreg.domain.common.errors import ConflictError, InputError
from subreg.domain.compliance.missing_mask import bits_of
from subreg.domain.compliance.rules import get_rule_set

ITEMS = get_rule_set("nd49-2017").missing_items
VN = ZoneInfo("Asia/Ho_Chi_Minh")
PLUS7 = timezone(timedelta(hours=7))
DAY = date(2026, 12, 10)


def codes(exc: InputError) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in exc.errors}


class TestCohort:
    def test_an_empty_cohort_takes_every_line_that_may_be_reminded(self):
        assert parse_cohort({}, missing_items=ITEMS) == Cohort()
        assert parse_cohort(None, missing_items=ITEMS).as_dict() == {key: [] for key in CRITERIA}

    def test_criteria_are_read_from_lists_or_comma_separated_text_and_normalised(self):
        cohort = parse_cohort(
            {"phases": "2, 1", "missing": ["holder.id_issue_place", "documents.portrait", "holder.id_issue_place"],
             "subscriber_types": "individual", "payment_types": ["prepaid"], "provinces": "079,001,unknown",
             "states": ["notified", "none"]},
            missing_items=ITEMS,
        )  # fmt: skip
        assert cohort.phases == (1, 2)
        assert cohort.missing == tuple(i for i in ITEMS if i in ("holder.id_issue_place", "documents.portrait"))
        assert cohort.provinces == ("001", "079", "unknown")
        assert cohort.states == ("none", "notified")
        assert parse_cohort(cohort.as_dict(), missing_items=ITEMS) == cohort

    def test_every_wrong_criterion_is_named_at_once(self):
        with pytest.raises(InputError) as caught:
            parse_cohort(
                {"phases": [3], "missing": ["holder.shoe_size"], "subscriber_types": ["robot"],
                 "payment_types": 5, "provinces": ["999"], "states": ["terminated"], "colour": ["red"]},
                missing_items=ITEMS,
            )  # fmt: skip
        assert codes(caught.value) == {
            ("cohort.phases", "invalid_choice"), ("cohort.missing", "invalid_choice"),
            ("cohort.subscriber_types", "invalid_choice"), ("cohort.payment_types", "invalid_format"),
            ("cohort.provinces", "invalid_choice"), ("cohort.states", "invalid_choice"),
            ("cohort.colour", "unknown_field"),
        }  # fmt: skip

    def test_a_terminated_line_cannot_be_asked_for(self):
        assert "terminated" not in STATES

    def test_the_missing_items_become_the_rule_sets_bits_or_nothing(self):
        bits = bits_of(tuple(ITEMS))
        cohort = parse_cohort({"missing": ["documents.portrait", "holder.id_issue_place"]}, missing_items=ITEMS)
        assert cohort.missing_mask(ITEMS) == bits["documents.portrait"] | bits["holder.id_issue_place"]
        assert Cohort().missing_mask(ITEMS) == 0

    @given(
        st.lists(st.sampled_from([1, 2, "1", "2"]), max_size=4),
        st.lists(st.sampled_from(ITEMS[:12]), max_size=6),
        st.lists(st.sampled_from(STATES), max_size=5),
        st.lists(st.sampled_from(["001", "079", "unknown", "048"]), max_size=5),
    )
    def test_any_order_and_repeats_give_the_same_cohort(self, phases, missing, states, provinces):
        raw = {"phases": phases, "missing": missing, "states": states, "provinces": provinces}
        cohort = parse_cohort(raw, missing_items=ITEMS)
        shuffled = {k: list(reversed(v)) + v for k, v in raw.items()}
        assert parse_cohort(shuffled, missing_items=ITEMS) == cohort
        assert parse_cohort(cohort.as_dict(), missing_items=ITEMS) == cohort
        assert set(cohort.phases) == {int(p) for p in phases}
        assert set(cohort.missing) == set(missing)


class TestAllowedHours:
    def test_a_day_window(self):
        hours = parse_hours("08:00-20:00")
        assert (hours.text, hours.seconds_per_day) == ("08:00-20:00", 12 * 3600)
        assert not hours.contains(time(7, 59, 59))
        assert hours.contains(time(8, 0))
        assert hours.contains(time(19, 59, 59))
        assert not hours.contains(time(20, 0))

    def test_the_whole_day_and_a_window_over_midnight(self):
        assert parse_hours("00:00-24:00").seconds_per_day == 86_400
        night = parse_hours("22:00-06:00")
        assert night.seconds_per_day == 8 * 3600
        assert night.contains(time(23, 0))
        assert night.contains(time(5, 59))
        assert not night.contains(time(6, 0))
        assert not night.contains(time(12, 0))

    @pytest.mark.parametrize("text", ["", "8-20", "08:00", "24:00-08:00", "08:60-20:00", "08:00-08:00",
                                      "08:00-24:30", None, 800])  # fmt: skip
    def test_anything_else_is_refused(self, text):
        with pytest.raises(InputError) as caught:
            parse_hours(text)
        assert codes(caught.value) == {("hours", "invalid_format")}


class TestRepeats:
    @pytest.mark.parametrize(
        ("text", "waves"),
        [("once", 1), ("daily for 5 days", 5), ("Daily for 1 day", 1), ("5 days", 5), ("7", 7), (3, 3)],
    )
    def test_forms(self, text, waves):
        assert parse_repeats(text) == waves

    @pytest.mark.parametrize(("text", "code"), [("weekly", "invalid_format"), ("0", "out_of_range"),
                                                (MAX_WAVES + 1, "out_of_range"), (True, "invalid_format")])  # fmt: skip
    def test_refusals(self, text, code):
        with pytest.raises(InputError) as caught:
            parse_repeats(text)
        assert codes(caught.value) == {("repeats", code)}


class TestWaves:
    S = Schedule(DAY, parse_hours("08:00-20:00"), waves=3)

    def test_the_first_wave_waits_for_the_start_date(self):
        assert next_wave(self.S, wave=0, finished_on=None, today=DAY - timedelta(days=1)) is None
        assert next_wave(self.S, wave=0, finished_on=None, today=DAY) == 1
        assert next_wave(self.S, wave=0, finished_on=None, today=DAY + timedelta(days=9)) == 1

    def test_the_next_wave_waits_for_the_current_one_and_for_the_next_day(self):
        assert next_wave(self.S, wave=1, finished_on=None, today=DAY + timedelta(days=4)) is None
        assert next_wave(self.S, wave=1, finished_on=DAY, today=DAY) is None
        assert next_wave(self.S, wave=1, finished_on=DAY, today=DAY + timedelta(days=1)) == 2
        assert next_wave(self.S, wave=3, finished_on=DAY, today=DAY + timedelta(days=5)) is None

    @given(st.integers(1, 6), st.lists(st.integers(0, 3), min_size=1, max_size=40))
    def test_never_two_waves_a_day_nor_more_than_the_schedule_says(self, waves, durations):
        """Days pass; each wave takes a random number of days to go out (0: it finishes the day it began)."""
        schedule = Schedule(DAY, parse_hours("08:00-20:00"), waves=waves)
        wave, finished_on, began, left = 0, None, [], iter(durations)
        for today in (DAY + timedelta(days=n) for n in range(60)):
            nxt = next_wave(schedule, wave=wave, finished_on=finished_on, today=today)
            if nxt is not None:
                assert nxt == wave + 1
                wave, finished_on, ends = nxt, None, today + timedelta(days=next(left, 0))
                began.append(today)
            if wave and finished_on is None and today >= ends:
                finished_on = today
        assert len(began) <= waves
        assert all(b > a for a, b in pairwise(began))
        if sum(durations[:waves]) + waves < 60:
            assert len(began) == waves


def _allowed_seconds(begin: datetime, end: datetime, hours: AllowedHours, tz) -> float:
    """Seconds of allowed hours between two instants, counted window by window (independently of the code)."""
    total = 0.0
    day = begin.astimezone(tz).date() - timedelta(days=1)
    while day <= end.astimezone(tz).date():
        opens = datetime.combine(day, time(0), tzinfo=tz) + timedelta(seconds=hours.opens)
        closes = datetime.combine(day, time(0), tzinfo=tz) + timedelta(
            seconds=hours.closes + (86_400 if hours.closes <= hours.opens else 0)
        )
        overlap = (min(closes, end) - max(opens, begin)).total_seconds()
        total += max(overlap, 0.0)
        day += timedelta(days=1)
    return total


class TestPlannedFinish:
    def test_34_million_lines_at_4_binds_of_40_a_second_take_five_days_not_hours(self):
        start = datetime(2026, 12, 10, 8, 0, tzinfo=VN)
        plan = planned_finish(34_000_000, 40, 4, start, parse_hours("08:00-20:00"), 1, VN)
        assert plan.rate == 160
        assert plan.seconds_per_wave == 212_500  # 59 h of sending
        assert plan.days(VN) == plan.wave_days(VN) == 5
        assert plan.finish.astimezone(VN) == datetime(2026, 12, 14, 19, 1, 40, tzinfo=VN)

    def test_a_start_outside_the_hours_waits_for_the_window(self):
        plan = planned_finish(3600, 1, 1, datetime(2026, 12, 10, 21, 0, tzinfo=VN), parse_hours("08:00-20:00"), 1, VN)
        assert plan.begin.astimezone(VN) == datetime(2026, 12, 11, 8, 0, tzinfo=VN)
        assert plan.finish.astimezone(VN) == datetime(2026, 12, 11, 9, 0, tzinfo=VN)

    def test_daily_waves_begin_on_the_days_after_each_other(self):
        start = datetime(2026, 12, 10, 9, 0, tzinfo=VN)
        plan = planned_finish(1000, 10, 1, start, parse_hours("08:00-20:00"), 5, VN)
        assert [b.astimezone(VN) for b, _ in plan.waves] == [
            start, *(datetime(2026, 12, 10 + n, 8, 0, tzinfo=VN) for n in range(1, 5))]  # fmt: skip
        assert plan.finish.astimezone(VN) == datetime(2026, 12, 14, 8, 1, 40, tzinfo=VN)
        assert (plan.days(VN), plan.wave_days(VN)) == (5, 1)  # the repeats make it last, not the rate

    def test_an_empty_cohort_is_planned_at_once_and_nonsense_is_refused(self):
        start = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
        assert planned_finish(0, 10, 1, start, parse_hours("00:00-24:00"), 1, VN).finish == start
        for args in ((10, 0, 1), (10, 5, 0), (-1, 5, 1)):
            with pytest.raises(ValueError, match="positive rate"):
                planned_finish(*args, start, parse_hours("00:00-24:00"), 1, VN)

    @settings(max_examples=300, deadline=None)
    @given(
        size=st.integers(0, 5_000_000),
        rate=st.integers(1, 200),
        binds=st.integers(1, 4),
        waves=st.integers(1, 4),
        offset=st.integers(0, 7 * 86_400),
        opens=st.integers(0, 23 * 60),
        closes=st.integers(1, 24 * 60),
        tz=st.sampled_from([VN, PLUS7, UTC]),
    )
    def test_each_wave_sends_its_messages_inside_the_allowed_hours_one_day_after_the_other(
        self, size, rate, binds, waves, offset, opens, closes, tz
    ):
        assume(opens != closes)  # minutes after midnight; a window closing before it opens runs over midnight
        hours = AllowedHours(opens * 60, closes * 60)
        start = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=offset)
        plan = planned_finish(size, rate, binds, start, hours, waves, tz)
        assert len(plan.waves) == waves
        assert plan.begin >= start
        if hours.contains(start.astimezone(tz).time()):
            assert plan.begin == start
        for begin, end in plan.waves:
            assert hours.contains(begin.astimezone(tz).time())
            # exactly the sending time of a wave passes inside the allowed hours between its begin and end
            assert _allowed_seconds(begin, end, hours, tz) == pytest.approx(size / (rate * binds), abs=1e-3)
        for (_, end), (begin, _) in pairwise(plan.waves):
            assert begin.astimezone(tz).date() > end.astimezone(tz).date()
        # more lines never finish sooner; a faster rate never later
        assert planned_finish(size + 1000, rate, binds, start, hours, waves, tz).finish >= plan.finish
        assert planned_finish(size, rate + 1, binds, start, hours, waves, tz).finish <= plan.finish


DEFAULTS = {"missing_items": ITEMS, "default_hours": "08:00-20:00", "default_binds": 2, "default_lang": "vi"}


class TestDefinitionAndStates:
    def test_a_definition_with_the_defaults(self):
        d = parse_definition({"name": " Nhắc đợt 1 ", "start_on": "2026-12-10", "rate_per_bind": "40",
                              "cohort": {"phases": [1]}}, **DEFAULTS)  # fmt: skip
        assert (d.name, d.template, d.lang, d.binds, d.rate, d.schedule.waves) == (
            "Nhắc đợt 1", "campaign_reminder", "vi", 2, 80, 1)  # fmt: skip
        assert d.schedule.hours.text == "08:00-20:00"
        assert d.schedule.repeats == "once"

    def test_every_problem_is_named_at_once(self):
        with pytest.raises(InputError) as caught:
            parse_definition({"name": "", "template": "../status", "lang": "fr", "start_on": "10/12/2026",
                              "rate_per_bind": 0, "binds": "x", "hours": "all day", "repeats": "weekly",
                              "cohort": {"phases": [9]}}, **DEFAULTS)  # fmt: skip
        assert codes(caught.value) == {
            ("name", "required"), ("template", "invalid_choice"), ("lang", "invalid_choice"),
            ("start_on", "invalid_format"), ("rate_per_bind", "out_of_range"), ("binds", "invalid_format"),
            ("hours", "invalid_format"), ("repeats", "invalid_format"), ("cohort.phases", "invalid_choice"),
        }  # fmt: skip
        with pytest.raises(InputError) as caught:
            parse_definition({}, **DEFAULTS)
        assert codes(caught.value) == {("name", "required"), ("start_on", "required"), ("rate_per_bind", "required")}

    @pytest.mark.parametrize(
        ("state", "action", "after"),
        [("draft", "start", "running"), ("running", "pause", "paused"), ("paused", "resume", "running")],
    )
    def test_staff_actions(self, state, action, after):
        assert transition(state, action) is CampaignState(after)

    @pytest.mark.parametrize(
        ("state", "action"),
        [("running", "start"), ("paused", "start"), ("done", "start"), ("draft", "pause"), ("paused", "pause"),
         ("done", "pause"), ("draft", "resume"), ("running", "resume"), ("done", "resume")],
    )  # fmt: skip
    def test_anything_else_is_a_conflict(self, state, action):
        with pytest.raises(ConflictError) as caught:
            transition(state, action)
        assert [(e.field, e.code) for e in caught.value.errors] == [("state", "invalid_state_change")]
