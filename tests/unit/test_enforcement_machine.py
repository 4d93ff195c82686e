"""The enforcement state machine for one line (pure): transitions, catch-up, restoration, held lines, settings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.domain.common.errors import InputError
from subreg.domain.compliance.rules import get_rule_set
from subreg.domain.compliance.timeline import ND49_2017_TIMELINE, Step, StepRule, Timeline, parse_regime_schedule
from subreg.domain.enforcement.machine import EnforcementState, LineEnforcement, advance, next_due

T = ND49_2017_TIMELINE
DAY0 = date(2018, 4, 25)
N, ONE, TWO, TERM = (EnforcementState.NOTIFIED, EnforcementState.ONE_WAY, EnforcementState.TWO_WAY,
                     EnforcementState.TERMINATED)  # fmt: skip


def run(line, day, *, complete=False, held=False, live=True, timeline=T):
    return advance(line, complete=complete, held=held, live=live, as_of=day, timeline=timeline)


def test_the_rule_set_carries_the_reported_nd49_timeline():
    tl = get_rule_set("nd49-2017").timeline
    assert tl is T
    assert (tl.starts_on, tl.notices, tl.notice_every_days) == (date(2018, 4, 25), 5, 1)
    assert [(r.step, r.after_days) for r in tl.locks] == [
        (Step.LOCK_ONE_WAY, 15), (Step.LOCK_TWO_WAY, 15), (Step.TERMINATE, 30)]  # fmt: skip
    assert "emergency_calls" in tl.keeps(Step.LOCK_ONE_WAY)
    assert "incoming_calls" in tl.keeps(Step.LOCK_ONE_WAY)
    assert "emergency_calls" in tl.keeps(Step.LOCK_TWO_WAY)
    assert "incoming_calls" not in tl.keeps(Step.LOCK_TWO_WAY)
    assert "sms_1414" in tl.keeps(Step.LOCK_TWO_WAY)


@pytest.mark.parametrize(
    ("line", "day", "kw", "action", "state"),
    [
        (None, DAY0 - timedelta(days=1), {}, None, None),  # before the deadline: nothing
        (None, DAY0, {}, "notify", N),
        (None, DAY0, {"complete": True}, None, None),
        (None, DAY0, {"held": True}, None, None),
        (None, DAY0, {"live": False}, None, None),
        (LineEnforcement(N, DAY0, 1, DAY0), DAY0, {}, None, N),  # a second sweep the same day: nothing
        (LineEnforcement(N, DAY0, 1, DAY0), DAY0 + timedelta(days=1), {}, "renotify", N),
        (LineEnforcement(N, DAY0, 5, DAY0 + timedelta(days=4)), DAY0 + timedelta(days=14), {}, None, N),
        (LineEnforcement(N, DAY0, 5, DAY0 + timedelta(days=4)), DAY0 + timedelta(days=15), {}, "lock_one_way", ONE),
        (LineEnforcement(ONE, DAY0, 5), DAY0 + timedelta(days=14), {}, None, ONE),
        (LineEnforcement(ONE, DAY0, 5), DAY0 + timedelta(days=15), {}, "lock_two_way", TWO),
        (LineEnforcement(TWO, DAY0, 5), DAY0 + timedelta(days=29), {}, None, TWO),
        (LineEnforcement(TWO, DAY0, 5), DAY0 + timedelta(days=30), {}, "terminate", TERM),
        (LineEnforcement(TERM, DAY0, 5), DAY0 + timedelta(days=300), {}, None, TERM),
        (LineEnforcement(TERM, DAY0, 5), DAY0 + timedelta(days=1), {"complete": True}, None, TERM),  # no way back
        (LineEnforcement(TWO, DAY0, 5), DAY0 + timedelta(days=99), {"held": True}, None, TWO),
    ],
)
def test_transitions(line, day, kw, action, state):
    move = run(line, day, **kw)
    assert (move.action if move else None) == action
    if move is not None and move.after is not None:
        assert move.after.state is state
        assert move.after.step_on == day or action == "renotify"


@pytest.mark.parametrize("state", [N, ONE, TWO])
def test_completion_restores_from_every_live_state(state):
    move = run(LineEnforcement(state, DAY0, 5), DAY0 + timedelta(days=1), complete=True)
    assert move is not None
    assert move.action == "restore"
    assert move.after is None


def test_a_held_line_is_restored_when_complete_but_never_moves_on():
    line = LineEnforcement(ONE, DAY0, 5)
    assert run(line, DAY0 + timedelta(days=400), held=True) is None
    assert run(line, DAY0 + timedelta(days=400), held=True, complete=True).action == "restore"


def test_a_week_without_sweeps_catches_up_one_step_not_all():
    line = LineEnforcement(N, DAY0, 1, DAY0)
    move = run(line, DAY0 + timedelta(days=60))
    assert move.action == "renotify"
    assert move.after.notices == 2
    line = LineEnforcement(ONE, DAY0, 5)
    move = run(line, DAY0 + timedelta(days=200))
    assert move.action == "lock_two_way"
    assert move.after.step_on == DAY0 + timedelta(days=200)
    assert run(move.after, DAY0 + timedelta(days=201)) is None  # termination waits its full 30 days from here


def test_fixed_dates_with_a_minimum_gap():
    tl = Timeline("fixed", date(2023, 3, 1), 1, 1, (
        StepRule(Step.LOCK_ONE_WAY, 1, date(2023, 3, 31)), StepRule(Step.LOCK_TWO_WAY, 7, date(2023, 4, 15)),
        StepRule(Step.TERMINATE, 7, date(2023, 5, 15))))  # fmt: skip
    line = LineEnforcement(N, date(2023, 3, 1), 1)
    assert run(line, date(2023, 3, 30), timeline=tl) is None
    one = run(line, date(2023, 3, 31), timeline=tl).after
    assert run(one, date(2023, 4, 14), timeline=tl) is None
    late = LineEnforcement(ONE, date(2023, 4, 12), 1)  # locked late: the gap holds it past the fixed date
    assert run(late, date(2023, 4, 15), timeline=tl) is None
    assert run(late, date(2023, 4, 19), timeline=tl).action == "lock_two_way"


def test_next_due_for_the_counter_card():
    assert next_due(LineEnforcement(N, DAY0, 2, DAY0 + timedelta(days=1)), T) == ("renotify", DAY0 + timedelta(days=2))
    assert next_due(LineEnforcement(N, DAY0, 5, DAY0 + timedelta(days=4)), T) == ("lock_one_way", DAY0 + timedelta(15))
    assert next_due(LineEnforcement(TWO, DAY0, 5), T) == ("terminate", DAY0 + timedelta(days=30))
    assert next_due(LineEnforcement(TERM, DAY0, 5), T) is None


def test_settings_override_the_reported_values():
    tl = T.overridden({"notices": 3, "lock_one_way_days": 7, "terminate_on": "2018-07-01", "starts_on": "2018-05-01"})
    assert (tl.notices, tl.rule(Step.LOCK_ONE_WAY).after_days, tl.starts_on) == (3, 7, date(2018, 5, 1))
    assert tl.rule(Step.TERMINATE).on_date == date(2018, 7, 1)
    assert T.notices == 5
    with pytest.raises(InputError) as err:
        T.overridden({"lock_sideways_days": 3, "notices": 0, "lock_two_way_days": "x"})
    assert sorted(e.field for e in err.value.errors) == [
        "enforcement_timeline.nd49-2017.lock_sideways_days", "enforcement_timeline.nd49-2017.lock_two_way_days",
        "enforcement_timeline.nd49-2017.notices"]  # fmt: skip


def test_regime_schedule():
    s = parse_regime_schedule({"2017-04-24": "nd49-2017"}, ["nd49-2017"])
    assert s.regime_on(date(2017, 4, 23)) is None
    assert s.regime_on(date(2020, 1, 1)) == "nd49-2017"
    with pytest.raises(InputError) as err:
        parse_regime_schedule({"2017-13-01": "nd49-2017", "2023-01-01": "nope"}, ["nd49-2017"])
    assert {e.code for e in err.value.errors} == {"invalid_format", "unknown_rule_set"}


ORDER = ["notify", "renotify", "lock_one_way", "lock_two_way", "terminate"]


@settings(max_examples=200, deadline=None)
@given(gaps=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=40),
       notices=st.integers(1, 6), one=st.integers(0, 20), two=st.integers(0, 20), term=st.integers(0, 40))  # fmt: skip
def test_any_sweep_calendar_walks_the_steps_in_order_and_waits_each_period(gaps, notices, one, two, term):
    tl = T.overridden({"notices": notices, "lock_one_way_days": one, "lock_two_way_days": two, "terminate_days": term})
    line, day, seen = None, DAY0, []
    for gap in gaps:
        move = run(line, day, timeline=tl)
        if move is not None:
            previous = line
            line = move.after
            seen.append((move.action, day))
            if move.action in ("lock_one_way", "lock_two_way", "terminate"):
                assert (day - previous.step_on).days >= tl.rule(Step(move.action)).after_days
                assert previous.notices == notices  # every notice went before the first lock
        day += timedelta(days=gap)
    actions = [a for a, _ in seen]
    assert actions == sorted(actions, key=ORDER.index)  # never backwards, never out of order
    assert actions.count("renotify") <= notices - 1
    assert len({d for _, d in seen}) == len(seen)  # one step per sweep
