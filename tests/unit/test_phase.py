"""Update phases from tenure at a reference date (domain.compliance.phase)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.compliance.phase import (
    DECREE_EFFECTIVE,
    DEFAULT_REFERENCE,
    PHASE_LONG,
    PHASE_SHORT,
    cutoff,
    phase_of,
)

REF = date(2018, 4, 24)


@pytest.mark.parametrize(
    ("activated", "expected"),
    [
        (date(2018, 4, 24), PHASE_SHORT),
        (date(2013, 4, 25), PHASE_SHORT),  # one day short of 5 years
        (date(2013, 4, 24), PHASE_LONG),  # exactly 5 years: the longer-tenure group
        (date(2001, 1, 1), PHASE_LONG),
    ],
)
def test_phase_boundary_is_the_fifth_anniversary(activated: date, expected: int) -> None:
    assert phase_of(activated, REF) == expected


def test_without_activation_date_the_phase_is_unknown() -> None:
    assert phase_of(None, REF) is None


def test_29_february_reference_uses_28_february() -> None:
    assert cutoff(date(2024, 2, 29)) == date(2019, 2, 28)
    assert phase_of(date(2019, 2, 28), date(2024, 2, 29)) == PHASE_LONG
    assert phase_of(date(2019, 3, 1), date(2024, 2, 29)) == PHASE_SHORT


def test_sql_cutoff_agrees_with_phase_of() -> None:
    c = cutoff(REF)
    for d in (date(2013, 4, 23), date(2013, 4, 24), date(2013, 4, 25)):
        assert phase_of(d, REF) == (PHASE_SHORT if d > c else PHASE_LONG)


@given(activated=st.dates(DECREE_EFFECTIVE, date(2030, 12, 31)))
def test_a_line_activated_under_the_decree_is_invited_first_at_the_default_reference(activated: date) -> None:
    assert phase_of(activated, DEFAULT_REFERENCE) == PHASE_SHORT
