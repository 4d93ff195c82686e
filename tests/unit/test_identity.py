"""ID-number rules: CCCD structure, province codes, CMND and passport formats."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.common.errors import FieldValueError
from subreg.domain.id_documents.numbers import (
    ID_TYPES,
    PROVINCES,
    CccdInfo,
    cccd_consistency,
    check_id_number,
    is_known_place_code,
    make_cccd,
    normalize_id_number,
    parse_cccd,
)

# The 63 province codes, written out independently of the module under test.
DOCUMENTED_CODES = [
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020", "022",
    "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040", "042",
    "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060", "062", "064", "066",
    "067", "068", "070", "072", "074", "075", "077", "079", "080", "082", "083", "084", "086", "087",
    "089", "091", "092", "093", "094", "095", "096",
]  # fmt: skip

# G digit -> (gender, first year of the century)
CENTURY_DIGIT = {
    0: ("male", 1900),
    1: ("female", 1900),
    2: ("male", 2000),
    3: ("female", 2000),
    4: ("male", 2100),
    5: ("female", 2100),
    6: ("male", 2200),
    7: ("female", 2200),
    8: ("male", 2300),
    9: ("female", 2300),
}

province_codes = st.sampled_from(sorted(PROVINCES))
genders = st.sampled_from(["male", "female"])
birth_years = st.integers(1900, 2399)
serials = st.integers(0, 999_999)
# A first digit other than 0 is a foreign-country code (birth registered abroad): only 0xx can be unknown.
unknown_codes = st.integers(0, 99).map(lambda i: f"{i:03d}").filter(lambda c: c not in PROVINCES)
country_codes = st.integers(100, 999).map(str)


def error_code(excinfo: pytest.ExceptionInfo[FieldValueError]) -> str:
    return excinfo.value.value_code


class TestProvinces:
    def test_there_are_exactly_the_63_documented_codes(self):
        assert len(DOCUMENTED_CODES) == 63
        assert sorted(PROVINCES) == DOCUMENTED_CODES

    @pytest.mark.parametrize(
        ("code", "name"),
        [("001", "Hà Nội"), ("079", "TP Hồ Chí Minh"), ("048", "Đà Nẵng"), ("031", "Hải Phòng"),
         ("092", "Cần Thơ"), ("096", "Cà Mau")],
    )  # fmt: skip
    def test_well_known_codes_name_the_right_province(self, code, name):
        assert PROVINCES[code] == name

    def test_names_are_nfc_and_unique(self):
        assert all(unicodedata.is_normalized("NFC", n) for n in PROVINCES.values())
        assert len(set(PROVINCES.values())) == 63


class TestParseCccd:
    @pytest.mark.parametrize("province", DOCUMENTED_CODES)
    def test_every_province_code_is_accepted(self, province):
        assert parse_cccd(province + "200123456").province_code == province

    @pytest.mark.parametrize(("g", "expected"), sorted(CENTURY_DIGIT.items()))
    def test_every_century_digit_gives_its_gender_and_century(self, g, expected):
        gender, century = expected
        assert parse_cccd(f"079{g}85123456") == CccdInfo("079", gender, century + 85)

    def test_year_digits_00_and_99_are_the_ends_of_the_century(self):
        assert parse_cccd("001000000000").birth_year == 1900
        assert parse_cccd("001199000000").birth_year == 1999
        assert parse_cccd("001900000000").birth_year == 2300
        assert parse_cccd("001999000000").birth_year == 2399

    @pytest.mark.parametrize(
        "bad",
        ["", "07920012345", "0792001234567", "07920012345a", "079 200 123456", "０７９２００１２３４５６",
         "٠٧٩٢٠٠١٢٣٤٥٦", "+79200123456"],
    )  # fmt: skip
    def test_wrong_length_or_characters_raise_invalid_id_number(self, bad):
        with pytest.raises(FieldValueError) as excinfo:
            parse_cccd(bad)
        assert error_code(excinfo) == "invalid_id_number"

    @pytest.mark.parametrize("code", ["000", "003", "099", "097"])
    def test_an_unknown_province_raises_unknown_province_code(self, code):
        with pytest.raises(FieldValueError) as excinfo:
            parse_cccd(code + "200123456")
        assert error_code(excinfo) == "unknown_province_code"

    @given(country_codes, st.integers(0, 9), st.integers(0, 99), serials)
    def test_a_foreign_country_code_is_a_birth_registered_abroad(self, code, g, yy, serial):
        # Decree 137/2015 Art. 13: PPP is the province OR the country of birth registration; the 63
        # province codes all start with 0 (Circular 07/2016), so 1xx-9xx are country codes.
        info = parse_cccd(f"{code}{g}{yy:02d}{serial:06d}")
        assert info.province_code == code
        assert is_known_place_code(code)

    def test_the_error_message_does_not_contain_the_number(self):
        with pytest.raises(FieldValueError) as excinfo:
            parse_cccd("003200123456")
        assert "123456" not in str(excinfo.value)

    def test_cccd_info_is_immutable(self):
        info = parse_cccd("079200123456")
        with pytest.raises(AttributeError):
            info.birth_year = 1999  # type: ignore[misc]


class TestMakeCccd:
    def test_the_digits_follow_ppp_g_yy_rrrrrr(self):
        assert make_cccd("079", "female", 2001, 42) == "079301000042"
        assert make_cccd("001", "male", 1985, 123456) == "001085123456"

    @given(province_codes, genders, birth_years, serials)
    def test_parse_inverts_make(self, province, gender, year, serial):
        number = make_cccd(province, gender, year, serial)
        assert len(number) == 12
        assert number.endswith(f"{serial:06d}")
        assert parse_cccd(number) == CccdInfo(province, gender, year)

    @given(province_codes, st.integers(0, 9), st.integers(0, 99), serials)
    def test_make_inverts_parse(self, province, g, yy, serial):
        number = f"{province}{g}{yy:02d}{serial:06d}"
        info = parse_cccd(number)
        assert make_cccd(info.province_code, info.gender, info.birth_year, serial) == number

    def test_an_unknown_province_can_be_made_on_purpose(self):
        assert check_id_number("cccd", make_cccd("003", "male", 1990, 1)) == "unknown_province_code"

    @pytest.mark.parametrize(
        "args",
        [("79", "male", 1990, 1), ("079", "other", 1990, 1), ("079", "male", 1899, 1),
         ("079", "male", 2400, 1), ("079", "male", 1990, -1), ("079", "male", 1990, 1_000_000)],
    )  # fmt: skip
    def test_impossible_arguments_raise_value_error(self, args):
        with pytest.raises(ValueError, match="must"):
            make_cccd(*args)


class TestCheckIdNumber:
    def test_id_types_are_the_three_documented(self):
        assert ID_TYPES == ("cmnd", "cccd", "passport")

    @pytest.mark.parametrize(
        ("id_type", "number"),
        [("cccd", "079200123456"), ("cmnd", "123456789"), ("cmnd", "079200123456"),
         ("cmnd", "999999999999"), ("passport", "B1234567"), ("passport", "C12345"),
         ("passport", "123456"), ("passport", "AB12345678901234567Z")],
    )  # fmt: skip
    def test_well_formed_numbers_pass(self, id_type, number):
        assert check_id_number(id_type, number) is None

    @pytest.mark.parametrize(
        ("id_type", "number", "code"),
        [
            ("cccd", "07920012345", "invalid_id_number"),
            ("cccd", "0792001234567", "invalid_id_number"),
            ("cccd", "07920012345X", "invalid_id_number"),
            ("cccd", "", "invalid_id_number"),
            ("cccd", "003200123456", "unknown_province_code"),
            ("cccd", "097200123456", "unknown_province_code"),
            ("cmnd", "12345678", "invalid_id_number"),
            ("cmnd", "1234567890", "invalid_id_number"),
            ("cmnd", "12345678X", "invalid_id_number"),
            ("cmnd", "١٢٣٤٥٦٧٨٩", "invalid_id_number"),
            ("passport", "B1234", "invalid_id_number"),
            ("passport", "ABCDEFGH", "invalid_id_number"),
            ("passport", "b1234567", "invalid_id_number"),
            ("passport", "B-1234567", "invalid_id_number"),
            ("passport", "A" * 20 + "1", "invalid_id_number"),
            ("id_card", "079200123456", "invalid_choice"),
            ("", "079200123456", "invalid_choice"),
        ],
    )
    def test_each_bad_format_gives_its_code(self, id_type, number, code):
        assert check_id_number(id_type, number) == code

    @given(province_codes, genders, birth_years, serials)
    def test_any_made_cccd_passes(self, province, gender, year, serial):
        assert check_id_number("cccd", make_cccd(province, gender, year, serial)) is None

    @given(unknown_codes, st.from_regex(r"[0-9]{9}", fullmatch=True))
    def test_any_unknown_province_is_reported(self, code, rest):
        assert check_id_number("cccd", code + rest) == "unknown_province_code"

    @given(country_codes, st.from_regex(r"[0-9]{9}", fullmatch=True))
    def test_any_foreign_country_code_is_accepted(self, code, rest):
        assert check_id_number("cccd", code + rest) is None

    @pytest.mark.parametrize("code", sorted(PROVINCES))
    def test_every_province_code_starts_with_0_so_country_codes_cannot_clash(self, code):
        assert code[0] == "0"

    @given(st.sampled_from(ID_TYPES), st.text(max_size=25))
    def test_any_text_gives_none_or_a_known_code(self, id_type, number):
        assert check_id_number(id_type, number) in (None, "invalid_id_number", "unknown_province_code")


class TestNormalizeIdNumber:
    @pytest.mark.parametrize(
        ("id_type", "raw", "expected"),
        [
            ("cccd", " 079 200 123 456 ", "079200123456"),
            ("cccd", "079.200.123.456", "079200123456"),
            ("cmnd", "123-456-789", "123456789"),
            ("passport", "b 123 4567", "B1234567"),
            ("passport", "c1234567", "C1234567"),
            ("cmnd", "12345678x", "12345678x"),  # only passports are uppercased
        ],
    )
    def test_separators_are_removed_and_passports_uppercased(self, id_type, raw, expected):
        assert normalize_id_number(id_type, raw) == expected

    @given(st.sampled_from(ID_TYPES), st.text(max_size=25))
    def test_normalizing_is_idempotent(self, id_type, raw):
        once = normalize_id_number(id_type, raw)
        assert normalize_id_number(id_type, once) == once

    @given(province_codes, genders, birth_years, serials, st.sampled_from([" ", ".", "-", "  "]))
    def test_a_formatted_cccd_checks_clean_after_normalizing(self, province, gender, year, serial, sep):
        number = make_cccd(province, gender, year, serial)
        raw = sep.join([number[:3], number[3:6], number[6:]])
        assert check_id_number("cccd", normalize_id_number("cccd", raw)) is None


class TestCccdConsistency:
    def test_matching_fields_give_no_codes(self):
        assert cccd_consistency("079301000042", gender="female", birth_year=2001) == []

    def test_a_wrong_gender_is_reported(self):
        assert cccd_consistency("079301000042", gender="male", birth_year=2001) == ["id_gender_mismatch"]

    def test_a_wrong_year_is_reported(self):
        assert cccd_consistency("079301000042", gender="female", birth_year=1901) == ["id_birth_year_mismatch"]

    def test_both_mismatches_are_reported_in_order(self):
        assert cccd_consistency("079301000042", gender="male", birth_year=2002) == [
            "id_gender_mismatch",
            "id_birth_year_mismatch",
        ]

    def test_missing_fields_are_skipped(self):
        assert cccd_consistency("079301000042", gender=None, birth_year=None) == []
        assert cccd_consistency("079301000042", gender=None, birth_year=1999) == ["id_birth_year_mismatch"]
        assert cccd_consistency("079301000042", gender="male", birth_year=None) == ["id_gender_mismatch"]

    def test_a_malformed_number_gives_no_codes_because_the_format_check_reports_it(self):
        assert cccd_consistency("07930100004", gender="male", birth_year=1900) == []

    def test_an_unknown_province_does_not_stop_the_checks(self):
        assert cccd_consistency("999301000042", gender="male", birth_year=2001) == ["id_gender_mismatch"]

    @given(province_codes, genders, birth_years, serials, genders, birth_years)
    def test_codes_appear_exactly_when_fields_differ(self, province, gender, year, serial, g2, y2):
        number = make_cccd(province, gender, year, serial)
        codes = cccd_consistency(number, gender=g2, birth_year=y2)
        assert ("id_gender_mismatch" in codes) == (g2 != gender)
        assert ("id_birth_year_mismatch" in codes) == (y2 != year)
