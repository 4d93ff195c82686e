"""The later regimes: population-db-2023, nd163-2024, circular-08-2026 beside nd49-2017, and their timelines."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.domain.common.errors import InputError
from subreg.domain.compliance.missing_mask import bits_of
from subreg.domain.compliance.rules import RULE_SETS, get_rule_set
from subreg.domain.compliance.timeline import (
    CIRCULAR_08_2026_TIMELINE,
    POPULATION_DB_2023_TIMELINE,
    Step,
    parse_regime_schedule,
)
from tests.records import FOREIGNER, complete_record, with_holder

AS_OF = date(2026, 7, 1)
PDB, ND163, C08 = "population-db-2023", "nd163-2024", "circular-08-2026"


def test_every_regime_is_registered_in_order() -> None:
    assert RULE_SETS == ("nd49-2017", PDB, ND163, C08)
    assert [get_rule_set(n).name for n in RULE_SETS] == list(RULE_SETS)


def test_later_regimes_append_missing_items_never_reorder() -> None:
    # Stored masks keep their meaning across regimes: each set's items start with the previous set's.
    items = [get_rule_set(n).missing_items for n in RULE_SETS]
    for earlier, later in itertools.pairwise(items):
        assert later[: len(earlier)] == earlier
    assert items[1][-1] == "verification.population_db"
    assert items[3][-1] == "verification.face"
    assert bits_of(items[0])["documents.portrait"] == bits_of(items[3])["documents.portrait"]


def test_nd49_ignores_verification() -> None:
    assert get_rule_set("nd49-2017").check(complete_record(), as_of=AS_OF).complete


@pytest.mark.parametrize("name", [PDB, ND163, C08])
def test_population_match_is_required(name: str) -> None:
    rules = get_rule_set(name)
    result = rules.check(complete_record(), as_of=AS_OF)
    assert result.valid
    assert not result.complete
    assert result.missing == ("verification.population_db",)
    for bad in ("mismatch", "not_found"):
        r = rules.check(complete_record(verification={"population_db": bad}), as_of=AS_OF)
        assert r.missing == ("verification.population_db",)
    ok = rules.check(complete_record(verification={"population_db": "match"}), as_of=AS_OF)
    assert ok.complete


@pytest.mark.parametrize("method", ["population_db", "chip", "vneid", "e_id", "face"])
def test_stronger_methods_prove_the_match(method: str) -> None:
    assert get_rule_set(PDB).check(complete_record(verification={"method": method}), as_of=AS_OF).complete


def test_passports_and_legacy_lines_are_not_matched() -> None:
    rules = get_rule_set(PDB)
    foreigner = complete_record(holder=dict(FOREIGNER))
    assert "verification.population_db" not in rules.check(foreigner, as_of=AS_OF).missing
    legacy = complete_record(channel="legacy_import")
    assert "verification.population_db" not in rules.check(legacy, as_of=AS_OF).missing


@pytest.mark.parametrize("id_type", ["can_cuoc", "e_id"])
def test_nd163_accepts_the_chip_card_and_e_id(id_type: str) -> None:
    record = with_holder(
        complete_record(verification={"method": "population_db"}),
        id_type=id_type,
        id_issue_date="2024-08-01",
        id_expiry_date=None,
    )
    assert not get_rule_set(PDB).check(record, as_of=AS_OF).valid  # unknown before Decree 163
    result = get_rule_set(ND163).check(record, as_of=AS_OF)
    assert result.valid, result.errors
    assert get_rule_set(ND163).document_key(record) == get_rule_set(ND163).document_key(complete_record())


def test_nd163_accepts_the_vneid_channel() -> None:
    record = complete_record(channel="vneid", activated_on="2025-02-01", verification={"method": "vneid"})
    assert get_rule_set(ND163).check(record, as_of=AS_OF).complete
    assert [e.code for e in get_rule_set(PDB).check(record, as_of=AS_OF).errors] == ["invalid_choice"]


def test_circular_08_requires_a_face_match_for_new_subscriptions() -> None:
    rules = get_rule_set(C08)
    new = complete_record(activated_on="2026-04-15", verification={"method": "population_db"})
    assert rules.check(new, as_of=AS_OF).missing == ("verification.face",)
    assert rules.check({**new, "verification": {"method": "face"}}, as_of=AS_OF).complete
    assert rules.check({**new, "verification": {"population_db": "match", "face": "match"}}, as_of=AS_OF).complete
    old = {**new, "activated_on": "2026-04-14"}
    assert rules.check(old, as_of=AS_OF).complete  # verified before, no device change: no redo
    neither = complete_record(activated_on="2026-05-01")
    assert rules.check(neither, as_of=AS_OF).missing == ("verification.population_db", "verification.face")


@settings(max_examples=200, deadline=None)
@given(
    activated=st.dates(min_value=date(2017, 4, 24), max_value=AS_OF),
    result=st.sampled_from([None, "match", "mismatch", "not_found"]),
    method=st.sampled_from([None, "population_db", "chip", "face", "vneid", "e_id"]),
)
def test_each_regime_asks_at_least_what_the_previous_asks(
    activated: date, result: str | None, method: str | None
) -> None:
    verification = {k: v for k, v in (("population_db", result), ("method", method)) if v is not None}
    record = complete_record(activated_on=activated.isoformat(), verification=verification)
    previous: set[str] = set()
    for name in RULE_SETS:
        r = get_rule_set(name).check(record, as_of=AS_OF)
        assert r.valid
        assert previous <= set(r.missing), name
        previous = set(r.missing)
    matched = result == "match" or (result is None and method is not None)
    assert ("verification.population_db" in previous) is (not matched)
    face = method in ("face", "vneid")
    assert ("verification.face" in previous) is (not face and activated >= date(2026, 4, 15))


def test_population_db_2023_timeline_keeps_the_fixed_dates() -> None:
    t = POPULATION_DB_2023_TIMELINE
    first_notice = t.starts_on
    one_way = t.rule(Step.LOCK_ONE_WAY).due(first_notice)
    two_way = t.rule(Step.LOCK_TWO_WAY).due(one_way)
    end = t.rule(Step.TERMINATE).due(two_way)
    assert (one_way, two_way, end) == (date(2023, 3, 31), date(2023, 4, 15), date(2023, 5, 15))
    # A sweep that starts late keeps the minimum gaps, it never skips a step.
    late = date(2023, 4, 20)
    assert t.rule(Step.LOCK_TWO_WAY).due(late) == late + timedelta(days=15)


@pytest.mark.parametrize("two_way_days", [30, 60])
def test_circular_08_two_way_is_a_setting(two_way_days: int) -> None:
    t = CIRCULAR_08_2026_TIMELINE.overridden({"lock_two_way_days": two_way_days})
    one_way = t.rule(Step.LOCK_ONE_WAY).due(t.starts_on)
    two_way = t.rule(Step.LOCK_TWO_WAY).due(one_way)
    assert one_way == date(2026, 6, 16)
    assert two_way == one_way + timedelta(days=two_way_days)
    assert t.rule(Step.TERMINATE).due(two_way) == two_way + timedelta(days=5)


@pytest.mark.parametrize("name", RULE_SETS)
def test_each_timeline_names_its_regime(name: str) -> None:
    t = get_rule_set(name).timeline
    assert t.regime == name
    assert [r.step for r in t.locks] == [Step.LOCK_ONE_WAY, Step.LOCK_TWO_WAY, Step.TERMINATE]


def test_regime_schedule_picks_the_regime_of_the_day() -> None:
    schedule = parse_regime_schedule(
        {"2017-04-24": "nd49-2017", "2022-08-01": PDB, "2024-12-24": ND163, "2026-04-15": C08}, RULE_SETS
    )
    assert schedule.regime_on(date(2020, 1, 1)) == "nd49-2017"
    assert schedule.regime_on(date(2023, 3, 31)) == PDB
    assert schedule.regime_on(date(2025, 1, 1)) == ND163
    assert schedule.regime_on(date(2026, 4, 15)) == C08
    with pytest.raises(InputError):
        parse_regime_schedule({"2023-01-01": "pdb-2022"}, RULE_SETS)
