"""Whether a number is this operator's: ranges from the settings, numbers ported in and out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.common.errors import FieldValueError
from subreg.domain.common.messages import CODES
from subreg.domain.common.msisdn import MOBILE_PREFIXES
from subreg.domain.common.operator_numbers import check_operator_number, operator_numbers, with_ported

# Any valid Vietnamese mobile number in E.164.
numbers = st.tuples(st.sampled_from(sorted(MOBILE_PREFIXES)), st.integers(0, 10**9)).map(
    lambda t: "+84" + (t[0][1:] + f"{t[1]:09d}")[:9]
)
MOBIFONE = ["070", "076", "077", "078", "079", "089", "090", "093"]


class TestRanges:
    def test_empty_ranges_accept_every_vietnamese_mobile_number(self):
        everyone = operator_numbers([])
        assert everyone.accepts_all
        assert everyone.owns("+84981234567")
        assert not everyone.owns("+842412345678")  # a landline
        assert not everyone.owns("0981234567")  # not E.164

    @given(number=numbers)
    def test_a_number_is_the_operators_exactly_when_a_prefix_starts_it(self, number):
        mobifone = operator_numbers(MOBIFONE)
        assert mobifone.owns(number) == any(number.startswith("+84" + p[1:]) for p in MOBIFONE)

    def test_prefixes_in_every_form_mean_the_same(self):
        forms = [["090"], ["+8490"], ["8490"], ["+84 90"]]
        assert len({operator_numbers(f).prefixes for f in forms}) == 1

    def test_a_pre_2018_prefix_means_its_new_form(self):
        assert operator_numbers(["0162"]).prefixes == ("8432",)
        assert operator_numbers(["0162"]).owns("+84321234567")

    @given(number=numbers)
    def test_an_inclusive_range_of_whole_numbers(self, number):
        own = operator_numbers(["0901000000-0901999999", "+84931000000-+84931000999"])
        digits = int(number[1:])
        expected = 84901000000 <= digits <= 84901999999 or 84931000000 <= digits <= 84931000999
        assert own.owns(number) == expected

    def test_overlapping_ranges_are_merged(self):
        own = operator_numbers(["0901000000-0901500000", "0901400000-0901999999"])
        assert (own.starts, own.ends) == (("84901000000",), ("84901999999",))
        assert own.owns("+84901450000")

    @pytest.mark.parametrize("bad", ["", "  ", "024", "1", "+1202", "090x", "0909999999-0901000000", "0901-abc"])
    def test_a_bad_setting_names_itself(self, bad):
        with pytest.raises(FieldValueError) as exc:
            operator_numbers([bad])
        assert (exc.value.errors[0].field, exc.value.errors[0].code) == ("operator_ranges", "invalid_format")


class TestPortability:
    def test_a_number_ported_in_is_the_operators_whatever_its_prefix(self):
        own = operator_numbers(MOBIFONE, ported_in=["0981234567"])
        assert own.owns("+84981234567")
        assert check_operator_number("+84981234567", own) is None

    def test_a_number_ported_out_is_not_even_in_its_own_range(self):
        own = operator_numbers(MOBIFONE, ported_out=["0901234567"])
        assert not own.owns("+84901234567")
        assert check_operator_number("+84901234567", own) == "not_operator_number"
        assert not operator_numbers([], ported_out=["0901234567"]).owns("+84901234567")

    def test_ported_numbers_must_be_numbers(self):
        with pytest.raises(FieldValueError) as exc:
            operator_numbers([], ported_in=["12345"])
        assert (exc.value.errors[0].field, exc.value.errors[0].code) == ("ported_in", "invalid_msisdn")

    @given(
        number=numbers,
        entries=st.dictionaries(numbers, st.sampled_from(["in", "out"]), max_size=5),
        direction=st.sampled_from([None, "in", "out"]),
        ranges=st.sampled_from([[], MOBIFONE, ["0981234567-0989999999"]]),
    )
    def test_a_batchs_look_up_decides_as_the_whole_list_would(self, number, entries, direction, ranges):
        # The ported list is looked up per batch: the batch's answer equals the one of the whole sets.
        if direction is not None:
            entries = {**entries, number: direction}
        ins = [n for n, d in entries.items() if d == "in"]
        outs = [n for n, d in entries.items() if d == "out"]
        whole = operator_numbers(ranges, ported_in=ins, ported_out=outs)
        batch = with_ported(operator_numbers(ranges), {number: entries[number]} if number in entries else {})
        assert batch.owns(number) == whole.owns(number)
        in_ranges = operator_numbers(ranges).owns(number)
        assert batch.owns(number) == (direction == "in" or (direction is None and in_ranges))

    def test_the_code_has_messages(self):
        assert "not_operator_number" in CODES
