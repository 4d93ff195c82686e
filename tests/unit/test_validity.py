"""ID-document validity: the law's expiry of a CMND / CCCD, the 2024 transition, issue-age limits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.id_documents.numbers import ID_TYPES
from subreg.domain.id_documents.types import CCCD, CMND, ND49_ID_TYPE_SPECS, PASSPORT
from subreg.domain.id_documents.validity import (
    CARD_RENEWAL_AGES,
    EXTENSION_FROM,
    EXTENSION_UNTIL,
    anniversary,
    card_expiry,
    effective_expiry,
    issued_underage,
)

days = st.dates(date(1900, 1, 1), date(2100, 12, 31))


class TestDeclarations:
    def test_the_decree_49_types_are_declared_once_each(self):
        assert tuple(s.name for s in ND49_ID_TYPE_SPECS) == ID_TYPES

    def test_only_the_passport_key_carries_its_type(self):
        assert (CMND.key_prefix, CCCD.key_prefix, PASSPORT.key_prefix) == ("", "", "passport:")


class TestAnniversary:
    def test_29_february_is_reached_on_1_march_in_a_common_year(self):
        assert anniversary(date(2008, 2, 29), 14) == date(2022, 3, 1)
        assert anniversary(date(2008, 2, 29), 16) == date(2024, 2, 29)

    def test_past_the_calendar_it_is_date_max_not_an_exception(self):
        assert anniversary(date(9990, 1, 1), 14) == date.max


class TestCardExpiry:
    BORN = date(1990, 5, 17)

    @pytest.mark.parametrize(
        ("issued", "expiry"),
        [
            (date(2012, 5, 16), date(2015, 5, 17)),  # at 21: runs to 25
            (date(2013, 5, 17), date(2030, 5, 17)),  # at 23, within 2 years before 25: runs to 40
            (date(2016, 6, 1), date(2030, 5, 17)),  # at 26: runs to 40
            (date(2028, 5, 16), date(2030, 5, 17)),  # the day before 38
            (date(2028, 5, 17), date(2050, 5, 17)),  # at 38: runs to 60
            (date(2048, 5, 17), None),  # at 58: never expires
            (date(2051, 1, 1), None),  # after 60: never expires
        ],
    )
    def test_the_renewal_birthdays_and_the_two_year_rule(self, issued, expiry):
        assert card_expiry(self.BORN, issued) == expiry

    def test_a_childs_card_runs_to_14_unless_issued_within_two_years_before(self):
        born = date(2015, 3, 1)
        assert card_expiry(born, date(2024, 7, 1)) == date(2029, 3, 1)
        assert card_expiry(born, date(2027, 3, 1)) == date(2040, 3, 1)

    @given(born=st.dates(date(1900, 1, 1), date(2030, 12, 31)), age_days=st.integers(0, 80 * 366))
    def test_the_expiry_is_the_first_renewal_birthday_not_within_two_years(self, born, age_days):
        issued = born + timedelta(days=age_days)
        expiry = card_expiry(born, issued)
        later = [a for a in CARD_RENEWAL_AGES if anniversary(born, a - 2) > issued]
        if not later:
            assert expiry is None
        else:
            assert expiry == anniversary(born, later[0])
            assert expiry - issued > timedelta(days=2 * 365)


class TestEffectiveExpiry:
    def test_a_cmnd_lasts_15_years_from_issue(self):
        assert effective_expiry(CMND, issued=date(2000, 3, 1), born=None, given=None) == date(2015, 3, 1)

    def test_a_cmnd_issued_in_2000_is_expired_in_2018(self):
        assert effective_expiry(CMND, issued=date(2000, 7, 1), born=None, given=None) < date(2018, 1, 1)

    def test_no_cmnd_runs_past_31_december_2024_whatever_it_says(self):
        assert effective_expiry(CMND, issued=date(2015, 6, 1), born=None, given=None) == date(2024, 12, 31)
        assert effective_expiry(CMND, issued=date(2015, 6, 1), born=None, given=date(2030, 6, 1)) == date(2024, 12, 31)
        assert effective_expiry(CMND, issued=None, born=None, given=None) == date(2024, 12, 31)

    def test_a_typed_cmnd_expiry_cannot_lengthen_its_15_years(self):
        assert effective_expiry(CMND, issued=date(2000, 3, 1), born=None, given=date(2020, 1, 1)) == date(2015, 3, 1)
        assert effective_expiry(CMND, issued=date(2000, 3, 1), born=None, given=date(2010, 1, 1)) == date(2010, 1, 1)

    def test_a_cccd_without_its_expiry_follows_the_renewal_birthdays(self):
        born = date(1990, 5, 17)
        assert effective_expiry(CCCD, issued=date(2016, 6, 1), born=born, given=None) == date(2030, 5, 17)
        assert effective_expiry(CCCD, issued=date(2016, 6, 1), born=None, given=None) is None  # a year is not enough

    def test_a_printed_cccd_expiry_wins(self):
        born = date(1990, 5, 17)
        assert effective_expiry(CCCD, issued=date(2016, 6, 1), born=born, given=date(2031, 1, 1)) == date(2031, 1, 1)

    def test_a_passport_is_known_only_from_its_printed_date(self):
        assert effective_expiry(PASSPORT, issued=date(2016, 6, 1), born=date(1990, 1, 1), given=None) is None
        assert effective_expiry(PASSPORT, issued=None, born=None, given=date(2024, 2, 1)) == date(2024, 2, 1)

    @given(expiry=st.dates(date(2023, 12, 1), date(2024, 8, 1)))
    def test_the_2024_transition_extends_cmnd_and_cccd_only(self, expiry):
        # Law 26/2023 Art. 46(2): expiring from 15/1/2024 to before 30/6/2024 -> valid until 30/6/2024.
        in_window = EXTENSION_FROM <= expiry < EXTENSION_UNTIL
        cccd = effective_expiry(CCCD, issued=date(2016, 1, 1), born=None, given=expiry)
        assert cccd == (EXTENSION_UNTIL if in_window else expiry)
        assert effective_expiry(CMND, issued=date(2012, 1, 1), born=None, given=expiry) == cccd
        assert effective_expiry(PASSPORT, issued=None, born=None, given=expiry) == expiry

    @given(issued=days, given_=st.none() | days)
    def test_a_cmnd_never_outlives_its_15_years_nor_the_cut_off(self, issued, given_):
        expiry = effective_expiry(CMND, issued=issued, born=None, given=given_)
        assert expiry <= date(2024, 12, 31)
        assert expiry <= max(anniversary(issued, 15), EXTENSION_UNTIL)


class TestIssuedUnderage:
    def test_a_cccd_before_1_july_2024_needs_14_years(self):
        born = date(2008, 3, 1)
        assert issued_underage(CCCD, date(2022, 2, 28), born, None)
        assert not issued_underage(CCCD, date(2022, 3, 1), born, None)

    def test_from_1_july_2024_a_card_can_be_issued_at_any_age(self):
        assert not issued_underage(CCCD, date(2024, 7, 1), date(2020, 1, 1), None)
        assert issued_underage(CCCD, date(2024, 6, 30), date(2020, 1, 1), None)

    def test_a_cmnd_always_needs_14_years_and_a_passport_never(self):
        assert issued_underage(CMND, date(2010, 1, 1), date(2000, 1, 2), None)
        assert not issued_underage(PASSPORT, date(2010, 1, 1), date(2009, 1, 1), None)

    @given(year=st.integers(1950, 2020), issued=st.dates(date(1960, 1, 1), date(2024, 6, 30)))
    def test_with_a_year_only_it_is_true_only_when_true_for_every_day_of_that_year(self, year, issued):
        every_day = all(issued_underage(CMND, issued, date(year, m, d), None) for m, d in ((1, 1), (6, 30), (12, 31)))
        assert issued_underage(CMND, issued, None, year) == every_day
