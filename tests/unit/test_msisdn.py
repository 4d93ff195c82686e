"""Vietnamese mobile numbers: every accepted form, the 2018 conversion, and phonenumbers agreement."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.common.errors import FieldValueError
from subreg.domain.common.msisdn import (
    GMOBILE,
    ITEL,
    MOBIFONE,
    MOBILE_PREFIXES,
    NETWORK_NAMES,
    OLD_TO_NEW_PREFIX,
    REDDI,
    VIETNAMOBILE,
    VIETTEL,
    VINAPHONE,
    msisdn_from_key,
    msisdn_key,
    network_of,
    normalize_msisdn,
    parse_msisdn,
)

# The allocation table, written out independently of the module under test.
EXPECTED_PREFIXES = {
    VIETTEL: ["032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"],
    VINAPHONE: ["081", "082", "083", "084", "085", "088", "091", "094"],
    MOBIFONE: ["070", "076", "077", "078", "079", "089", "090", "093"],
    VIETNAMOBILE: ["052", "056", "058", "092"],
    GMOBILE: ["059", "0993", "0994", "0995", "0996", "0997"],
    REDDI: ["055"],
    ITEL: ["087", "0998", "0999"],
}
EXPECTED_OLD = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035",
    "0166": "036", "0167": "037", "0168": "038", "0169": "039",
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0186": "056", "0188": "058", "0199": "059",
}  # fmt: skip


def national(prefix: str, rest: int = 1234567) -> str:
    """A 10-digit national number with this 3- or 4-digit prefix."""
    return prefix + f"{rest:07d}"[-(10 - len(prefix)) :]


# --- strategies -------------------------------------------------------------------------------

prefixes = st.sampled_from(sorted(MOBILE_PREFIXES))
valid_national = st.builds(national, prefixes, st.integers(0, 9_999_999))
separators = st.sampled_from(["", " ", ".", "-", "  ", " - ", "\t", "\u00a0"])


@st.composite
def formatted(draw: st.DrawFn, number: str) -> str:
    """`number` (10-digit national) written in any common form with random separators."""
    nsn = number[1:]
    head = draw(st.sampled_from(["0", "84", "+84", "0084", "+84 (0)", "(+84) ", "(0)"]))
    if head == "(0)":
        head = ""  # bare national significant number, as spreadsheets store it
    # Cut the digits into random groups joined by random separators.
    cuts = sorted(draw(st.sets(st.integers(1, len(nsn) - 1), max_size=4)))
    parts = [nsn[i:j] for i, j in zip([0, *cuts], [*cuts, len(nsn)], strict=True)]
    body = ""
    for part in parts:
        body += draw(separators) + part
    return draw(separators) + head + body + draw(separators)


# --- tests ------------------------------------------------------------------------------------


class TestPrefixTable:
    def test_the_table_is_exactly_the_documented_allocation(self):
        expected = {p: net for net, ps in EXPECTED_PREFIXES.items() for p in ps}
        assert expected == MOBILE_PREFIXES

    def test_the_conversion_table_is_exactly_the_2018_plan(self):
        assert EXPECTED_OLD == OLD_TO_NEW_PREFIX

    def test_every_converted_prefix_lands_on_a_current_mobile_prefix(self):
        assert set(OLD_TO_NEW_PREFIX.values()) <= set(MOBILE_PREFIXES)

    def test_every_network_has_a_display_name(self):
        assert set(MOBILE_PREFIXES.values()) == set(NETWORK_NAMES)


class TestParseMsisdnForms:
    @pytest.mark.parametrize(("prefix", "network"), sorted(MOBILE_PREFIXES.items()))
    @pytest.mark.parametrize(
        "form",
        ["{n}", "84{s}", "+84{s}", "0084{s}", "+84 {s3} {s7}", "{n3}.{n7}", "({n3}) {n7}", "{s}"],
    )
    def test_every_prefix_is_accepted_in_every_form(self, prefix, network, form):
        n = national(prefix)
        s = n[1:]
        raw = form.format(n=n, s=s, n3=n[:4], n7=n[4:], s3=s[:3], s7=s[3:])
        assert parse_msisdn(raw) == "+84" + s
        assert network_of(parse_msisdn(raw)) == network

    @pytest.mark.parametrize(
        "raw",
        [
            "0901234567",
            "84901234567",
            "+84901234567",
            "+84 90 123 4567",
            "0084 90 123 4567",
            "090.123.4567",
            "090-123-4567",
            "(090) 123 4567",
            "(+84) 90-123-4567",
            "+84 (0) 90 123 4567",
            "  0901234567  ",
            "090\t123\u00a04567",
            "901234567",
        ],
    )
    def test_common_forms_of_one_number_give_its_e164(self, raw):
        assert parse_msisdn(raw) == "+84901234567"

    @pytest.mark.parametrize(
        "raw",
        [
            "01201234567",
            "841201234567",
            "+841201234567",
            "+84 120 123 4567",
            "0084 120 123 4567",
            "0120.123.4567",
            "1201234567",
        ],
    )
    def test_old_eleven_digit_forms_are_converted(self, raw):
        assert parse_msisdn(raw) == "+84701234567"

    @pytest.mark.parametrize(("old", "new"), sorted(EXPECTED_OLD.items()))
    def test_each_old_prefix_maps_to_its_new_prefix(self, old, new):
        assert parse_msisdn(old + "9876543") == "+84" + new[1:] + "9876543"

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "   ",
            "0241234567",  # Hanoi landline, 10 digits
            "02412345678",  # Hanoi landline, 11 digits
            "+842412345678",
            "1900123456",  # service number
            "0951234567",  # defunct S-Fone range
            "0301234567",  # not allocated as mobile in our sources
            "0511234567",
            "0901234567" + "8",  # too long
            "090123456",  # too short
            "+1 650 253 0000",  # foreign
            "+8490123456",
            "00190123456789",
            "01301234567",  # 11 digits, but 0130 was never a mobile prefix
            "0161234567",
            "09012345a7",
            "abc",
            "+",
            "+84",
            "0",
            "٠٩٠١٢٣٤٥٦٧",  # Arabic-Indic digits are not ASCII digits
            "0901234567\n0911234567",
            "+84+901234567",
            "0990123456",  # 0990-0992 are not documented as mobile
            "0992123456",
        ],
    )
    def test_non_mobile_or_malformed_input_gives_none(self, raw):
        assert parse_msisdn(raw) is None

    def test_a_non_string_gives_none(self):
        assert parse_msisdn(None) is None  # type: ignore[arg-type]
        assert parse_msisdn(901234567) is None  # type: ignore[arg-type]


class TestParseMsisdnProperties:
    @given(valid_national, st.data())
    def test_any_form_of_a_valid_number_gives_the_same_e164(self, number, data):
        raw = data.draw(formatted(number))
        assert parse_msisdn(raw) == "+84" + number[1:]

    @given(st.one_of(valid_national, st.text(max_size=20), st.from_regex(r"\+?[0-9 .\-()]{0,16}")))
    def test_parsing_is_idempotent(self, raw):
        once = parse_msisdn(raw)
        if once is not None:
            assert parse_msisdn(once) == once

    @given(st.sampled_from(sorted(EXPECTED_OLD)), st.integers(0, 9_999_999))
    def test_an_old_number_keeps_its_last_seven_digits_under_the_new_prefix(self, old, rest):
        tail = f"{rest:07d}"
        assert parse_msisdn(old + tail) == "+84" + EXPECTED_OLD[old][1:] + tail
        assert parse_msisdn("+84" + old[1:] + tail) == "+84" + EXPECTED_OLD[old][1:] + tail

    @given(st.text(max_size=30))
    def test_any_text_gives_a_valid_e164_or_none(self, raw):
        result = parse_msisdn(raw)
        assert result is None or (len(result) == 12 and result.startswith("+84") and result[1:].isdigit())

    @given(st.from_regex(r"[+0-9 ()\-.]{0,20}", fullmatch=True))
    def test_digit_like_text_never_raises(self, raw):
        result = parse_msisdn(raw)
        assert result is None or network_of(result) is not None


class TestAgreementWithPhonenumbers:
    """phonenumbers is the reference for ranges it knows; our differences are listed and deliberate."""

    # 4-digit national blocks where we knowingly differ from phonenumbers 9.0.x.
    WE_ACCEPT_IT_REJECTS = frozenset(
        {f"089{d}" for d in range(6)}  # MobiFone 0890-0895: sold, but missing from libphonenumber
        | {f"052{d}" for d in range(10)}  # Vietnamobile 052: libphonenumber lists only 0522/0523/0528
        | {f"055{d}" for d in range(10)}  # Reddi 055: libphonenumber lists only 0559
        | {"0992"}
    )
    WE_REJECT_IT_ACCEPTS = frozenset(
        {f"030{d}" for d in range(10)}  # not a mobile allocation in our sources
        | {f"031{d}" for d in range(10)}
        | {f"051{d}" for d in range(10)}
        | {f"095{d}" for d in range(10)}  # defunct S-Fone range
        | {"0990", "0991"}
        # 10-digit numbers 0121x/0140/0160 that libphonenumber calls mobile (9-digit NSN starting
        # with 1); not in our sources, and easily confused with the old 11-digit 012x/016x numbers.
        | {"0121", "0140", "0160"}
    )

    @staticmethod
    def pn_says_mobile(national_number: str) -> bool:
        parsed = phonenumbers.parse(national_number, "VN")
        return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )

    def test_mobifone_0890_to_0895_is_accepted_although_phonenumbers_rejects_it(self):
        for block in range(890, 896):
            number = f"0{block}123456"
            assert parse_msisdn(number) == "+84" + number[1:]
            assert network_of(parse_msisdn(number)) == MOBIFONE
            assert not self.pn_says_mobile(number)

    def test_every_ten_digit_block_agrees_except_the_documented_differences(self):
        differences = set()
        for block in range(100, 1000):  # "00..." is an international prefix, not a national number
            prefix = f"0{block:03d}"
            for tail in ("000000", "123456", "999999"):
                number = prefix + tail
                ours = parse_msisdn(number) is not None
                theirs = self.pn_says_mobile(number)
                if ours != theirs:
                    differences.add((prefix, ours))
        accepted_only_by_us = {p for p, ours in differences if ours}
        rejected_only_by_us = {p for p, ours in differences if not ours}
        # Subset, not equality: a newer phonenumbers may fix its gaps without breaking this test.
        assert accepted_only_by_us <= self.WE_ACCEPT_IT_REJECTS
        assert rejected_only_by_us <= self.WE_REJECT_IT_ACCEPTS

    @given(valid_national)
    def test_phonenumbers_formats_accepted_numbers_to_the_same_e164(self, number):
        parsed = phonenumbers.parse(number, "VN")
        assert parse_msisdn(number) == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    def test_phonenumbers_rejects_every_old_eleven_digit_number_that_we_convert(self):
        for old in EXPECTED_OLD:
            number = old + "1234567"
            assert parse_msisdn(number) is not None
            assert not self.pn_says_mobile(number)


class TestNormalizeMsisdn:
    def test_a_valid_number_is_returned_in_e164(self):
        assert normalize_msisdn("090 123 4567") == "+84901234567"

    def test_an_invalid_number_raises_invalid_msisdn_at_the_msisdn_field(self):
        with pytest.raises(FieldValueError) as excinfo:
            normalize_msisdn("0241234567")
        assert excinfo.value.value_code == "invalid_msisdn"
        assert [(e.field, e.code) for e in excinfo.value.errors] == [("msisdn", "invalid_msisdn")]

    def test_the_error_message_does_not_contain_the_number(self):
        with pytest.raises(FieldValueError) as excinfo:
            normalize_msisdn("0241234567")
        assert "1234567" not in str(excinfo.value)


class TestMsisdnKey:
    def test_the_key_is_the_e164_digits_as_an_integer(self):
        assert msisdn_key("+84901234567") == 84901234567

    def test_the_key_converts_back_to_e164(self):
        assert msisdn_from_key(84901234567) == "+84901234567"

    @given(valid_national)
    def test_key_round_trips(self, number):
        e164 = parse_msisdn(number)
        assert msisdn_from_key(msisdn_key(e164)) == e164

    @pytest.mark.parametrize("bad", ["0901234567", "+8490123456", "+849012345678", "+1650253000", ""])
    def test_a_non_e164_string_has_no_key(self, bad):
        with pytest.raises(FieldValueError):
            msisdn_key(bad)

    @pytest.mark.parametrize("bad", [0, 901234567, 8490123456, 85_000_000_000, -84901234567])
    def test_an_out_of_range_key_has_no_number(self, bad):
        with pytest.raises(FieldValueError):
            msisdn_from_key(bad)


class TestNetworkOf:
    @pytest.mark.parametrize(
        ("raw", "network"),
        [
            ("+84321234567", VIETTEL),
            ("+84861234567", VIETTEL),
            ("+84911234567", VINAPHONE),
            ("+84871234567", ITEL),
            ("+84998123456", ITEL),
            ("+84993123456", GMOBILE),
            ("+84591234567", GMOBILE),
            ("+84891234567", MOBIFONE),
            ("+84551234567", REDDI),
            ("+84921234567", VIETNAMOBILE),
            ("01201234567", MOBIFONE),  # old MobiFone number, any form is accepted
        ],
    )
    def test_the_network_is_the_prefix_holder(self, raw, network):
        assert network_of(raw) == network

    @pytest.mark.parametrize("raw", ["+84241234567", "+84990123456", "", "x"])
    def test_a_non_mobile_number_has_no_network(self, raw):
        assert network_of(raw) is None
