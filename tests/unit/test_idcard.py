"""Chip-CCCD QR payloads and TD1 MRZs: parsing, building, and every way they can be wrong."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mrz.base.functions import hash_string

from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.id_documents.card_codes import build_cccd_qr, build_td1_mrz, mrz_name, parse_cccd_qr, parse_td1_mrz
from tests.fixtures.idcards import HOLDER, cccd_number, holders, mrz_ascii_name

ADDRESS = "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh"
QR7 = f"079190123456|123456789|Nguyễn Thị Ánh Đào|17051990|Nữ|{ADDRESS}|01062021"
QR6 = f"079190123456|Nguyễn Thị Ánh Đào|17051990|Nữ|{ADDRESS}|01062021"
EXPIRY = date(2030, 5, 17)


def errors_of(exc: pytest.ExceptionInfo[InputError]) -> list[FieldError]:
    return exc.value.errors


def qr_with(index: int, value: str) -> str:
    parts = QR7.split("|")
    parts[index] = value
    return "|".join(parts)


def resign(lines: list[str]) -> str:
    """Recompute every check digit of a (possibly wrong in content) Vietnamese TD1 MRZ."""
    l1, l2, l3 = lines
    l1 = l1[:14] + hash_string(l1[5:14]) + l1[15:29] + hash_string(l1[15:27])
    l2 = l2[:6] + hash_string(l2[0:6]) + l2[7:14] + hash_string(l2[8:14]) + l2[15:29]
    l2 += hash_string(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    return "\n".join((l1, l2, l3))


def mrz_lines(holder: dict[str, object] = HOLDER, expiry: date | None = EXPIRY) -> list[str]:
    return build_td1_mrz(holder, expiry=expiry).split("\n")


class TestParseCccdQr:
    def test_reads_the_seven_field_layout_with_the_old_cmnd_number(self) -> None:
        assert parse_cccd_qr(QR7) == {
            "id_type": "cccd",
            "id_number": "079190123456",
            "previous_id_number": "123456789",
            "full_name": "Nguyễn Thị Ánh Đào",
            "date_of_birth": "1990-05-17",
            "gender": "female",
            "nationality": "VNM",
            "address": "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
            "id_issue_date": "2021-06-01",
        }

    def test_reads_the_six_field_layout_without_the_old_number(self) -> None:
        holder = parse_cccd_qr(QR6)
        assert "previous_id_number" not in holder
        assert holder["full_name"] == "Nguyễn Thị Ánh Đào"
        assert holder["id_issue_date"] == "2021-06-01"

    def test_an_empty_old_number_field_is_not_reported(self) -> None:
        assert "previous_id_number" not in parse_cccd_qr(qr_with(1, ""))

    def test_accepts_a_twelve_digit_old_number(self) -> None:
        assert parse_cccd_qr(qr_with(1, "001088001234"))["previous_id_number"] == "001088001234"

    @pytest.mark.parametrize(("word", "gender"), [("Nam", "male"), ("Nữ", "female"), ("NAM", "male"), ("nữ", "female")])
    def test_reads_the_gender_word(self, word: str, gender: str) -> None:
        assert parse_cccd_qr(qr_with(4, word))["gender"] == gender

    def test_normalizes_decomposed_unicode_to_nfc(self) -> None:
        holder = parse_cccd_qr(unicodedata.normalize("NFD", QR7))
        assert holder["full_name"] == unicodedata.normalize("NFC", "Nguyễn Thị Ánh Đào")
        assert holder["gender"] == "female"
        assert unicodedata.is_normalized("NFC", holder["address"])

    @pytest.mark.parametrize("suffix", ["\n", "\r\n", "  \n", "|", "|\n", "|\r\n "])
    def test_tolerates_trailing_whitespace_and_a_trailing_pipe(self, suffix: str) -> None:
        assert parse_cccd_qr(QR7 + suffix) == parse_cccd_qr(QR7)
        assert parse_cccd_qr(QR6 + suffix) == parse_cccd_qr(QR6)

    @pytest.mark.parametrize(
        "payload",
        [
            "",
            "079190123456",
            "079190123456|Nguyễn Thị Ánh|17051990|Nữ|01062021",
            QR7 + "|extra",
            QR7 + "||",
            "https://example.org/not-a-cccd",
        ],
    )
    def test_rejects_wrong_field_counts_as_not_a_cccd_payload(self, payload: str) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(payload)
        assert errors_of(exc) == [FieldError("qr", "invalid_qr")]

    @pytest.mark.parametrize("payload", [None, b"079190123456", "|" * 3000])
    def test_rejects_non_text_and_oversized_input(self, payload: object) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(payload)  # type: ignore[arg-type]
        assert errors_of(exc) == [FieldError("qr", "invalid_qr")]

    @pytest.mark.parametrize("value", ["31022000", "1705199", "170519900", "17/05/1990", "1990-05-17", "00001990"])
    def test_rejects_an_impossible_or_misshapen_birth_date(self, value: str) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(qr_with(3, value))
        assert errors_of(exc) == [FieldError("qr.date_of_birth", "invalid_format")]

    def test_rejects_a_misshapen_issue_date(self) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(qr_with(6, "01132021"))
        assert errors_of(exc) == [FieldError("qr.id_issue_date", "invalid_format")]

    @pytest.mark.parametrize("number", ["07919012345", "0791901234567", "07919012345A", "٠٧٩١٩٠١٢٣٤٥٦", ""])
    def test_rejects_an_id_number_that_is_not_twelve_ascii_digits(self, number: str) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(qr_with(0, number))
        assert errors_of(exc) == [FieldError("qr.id_number", "invalid_id_number")]

    @pytest.mark.parametrize("number", ["003190123456", "000190123456", "099190123456", "097190123456"])
    def test_rejects_an_unknown_province_code(self, number: str) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(qr_with(0, number))
        assert errors_of(exc) == [FieldError("qr.id_number", "unknown_province_code")]

    @pytest.mark.parametrize("old", ["12345678", "12345678X", "1234567890"])
    def test_rejects_a_malformed_old_number(self, old: str) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(qr_with(1, old))
        assert errors_of(exc) == [FieldError("qr.previous_id_number", "invalid_id_number")]

    @pytest.mark.parametrize("word", ["Nu", "Male", "", "F"])
    def test_rejects_an_unknown_gender_word(self, word: str) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(qr_with(4, word))
        assert errors_of(exc) == [FieldError("qr.gender", "invalid_format")]

    def test_requires_a_name_and_an_address(self) -> None:
        parts = QR7.split("|")
        parts[2], parts[5] = " ", ""
        with pytest.raises(InputError) as exc:
            parse_cccd_qr("|".join(parts))
        assert errors_of(exc) == [
            FieldError("qr.full_name", "required"),
            FieldError("qr.address", "required"),
        ]

    def test_rejects_control_characters_inside_a_name(self) -> None:
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(qr_with(2, "Nguyễn\x00Văn A"))
        assert errors_of(exc) == [FieldError("qr.full_name", "invalid_format")]

    def test_reports_every_bad_field_at_once_without_their_values(self) -> None:
        payload = "079190123456|123456789|Nguyễn Thị Ánh Đào|32131990|X|Hà Nội|99999999"
        with pytest.raises(InputError) as exc:
            parse_cccd_qr(payload)
        assert [e.field for e in errors_of(exc)] == ["qr.date_of_birth", "qr.gender", "qr.id_issue_date"]
        for secret in ("079190123456", "Nguyễn", "32131990", "Hà Nội"):
            assert secret not in str(exc.value)

    def test_collapses_runs_of_spaces_in_the_name(self) -> None:
        assert parse_cccd_qr(qr_with(2, "  Nguyễn   Thị  Ánh "))["full_name"] == "Nguyễn Thị Ánh"


class TestBuildCccdQr:
    def test_builds_the_seven_field_layout(self) -> None:
        assert build_cccd_qr(HOLDER, old_id="123456789") == QR7
        assert build_cccd_qr(HOLDER, old_id=None).split("|")[1] == ""

    @settings(max_examples=60, deadline=None)
    @given(holder=holders(), old_id=st.one_of(st.none(), st.from_regex(r"\A[0-9]{9}\Z")))
    def test_round_trips_through_the_parser_with_diacritics_intact(
        self, holder: dict[str, str], old_id: str | None
    ) -> None:
        parsed = parse_cccd_qr(build_cccd_qr(holder, old_id=old_id))
        expected = dict(holder, **({"previous_id_number": old_id} if old_id else {}))
        assert parsed == expected


class TestMrzName:
    @pytest.mark.parametrize(
        ("name", "mrz"),
        [
            ("Nguyễn Văn A", "NGUYEN<<VAN<A"),
            ("Đặng Thị Ưng Ơn", "DANG<<THI<UNG<ON"),
            ("đỗ  quốc-bảo", "DO<<QUOC<BAO"),
            ("Hồ", "HO"),
            ("", ""),
        ],
    )
    def test_transliterates_vietnamese_names(self, name: str, mrz: str) -> None:
        assert mrz_name(name) == mrz


class TestBuildTd1Mrz:
    def test_matches_the_documented_line_one_layout(self) -> None:
        holder = dict(HOLDER, id_number="079200123456", date_of_birth="2000-01-01")
        assert mrz_lines(holder)[0] == "IDVNM2001234569079200123456<<9"

    def test_writes_dates_sex_nationality_and_filler_on_line_two(self) -> None:
        line2 = mrz_lines()[1]
        assert line2[0:6] == "900517"
        assert line2[7] == "F"
        assert line2[8:14] == "300517"
        assert line2[15:29] == "VNM" + "<" * 11

    def test_truncates_a_long_name_to_thirty_characters(self) -> None:
        holder = dict(HOLDER, full_name="Nguyễn Phương Hoàng Thuỷ Ngọc Khải Trâm Hằng")
        line3 = mrz_lines(holder)[2]
        assert line3 == "NGUYEN<<PHUONG<HOANG<THUY<NGOC"

    def test_refuses_an_id_number_that_is_not_twelve_digits(self) -> None:
        with pytest.raises(InputError):
            build_td1_mrz(dict(HOLDER, id_number="123456789"), expiry=EXPIRY)


class TestParseTd1Mrz:
    def test_reads_every_field(self) -> None:
        assert parse_td1_mrz(build_td1_mrz(HOLDER, expiry=EXPIRY)) == {
            "id_type": "cccd",
            "id_number": "079190123456",
            "full_name": "NGUYEN THI ANH DAO",
            "date_of_birth": "1990-05-17",
            "gender": "female",
            "nationality": "VNM",
            "id_expiry_date": "2030-05-17",
        }

    @pytest.mark.parametrize(
        "reshape",
        [
            pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
            pytest.param(lambda t: t.lower(), id="lowercase"),
            pytest.param(lambda t: t.replace("\n", ""), id="joined-90"),
            pytest.param(lambda t: " " + t.replace("<<", "< <").replace("\n", " \n\n") + "\n\n", id="spaces-blank"),
        ],
    )
    def test_accepts_reshaped_text(self, reshape) -> None:  # type: ignore[no-untyped-def]
        text = build_td1_mrz(HOLDER, expiry=EXPIRY)
        assert parse_td1_mrz(reshape(text)) == parse_td1_mrz(text)

    @settings(max_examples=80, deadline=None)
    @given(holder=holders(), years=st.sampled_from([5, 10, 25, 40, 60]))
    def test_round_trips_any_holder(self, holder: dict[str, str], years: int) -> None:
        born = date.fromisoformat(holder["date_of_birth"])
        expiry = date(born.year + years, born.month, 28 if born.day > 28 else born.day)
        text = build_td1_mrz(holder, expiry=expiry)
        assert all(len(line) == 30 for line in text.split("\n"))
        parsed = parse_td1_mrz(text)
        assert parsed["id_number"] == holder["id_number"]
        assert parsed["date_of_birth"] == holder["date_of_birth"]
        assert parsed["gender"] == holder["gender"]
        assert parsed["id_expiry_date"] == expiry.isoformat()
        assert parsed["nationality"] == "VNM"
        ascii_name = mrz_ascii_name(holder["full_name"])
        if len(mrz_name(holder["full_name"])) <= 30:
            assert parsed["full_name"] == ascii_name
        else:
            assert ascii_name.startswith(parsed["full_name"])

    @pytest.mark.parametrize(
        ("line", "position", "field"),
        [
            (0, 14, "mrz.document_number"),
            (0, 29, "mrz.id_number"),
            (1, 6, "mrz.date_of_birth"),
            (1, 14, "mrz.expiry_date"),
            (1, 29, "mrz.composite"),
        ],
    )
    @settings(max_examples=10, deadline=None)
    @given(shift=st.integers(min_value=1, max_value=9))
    def test_a_wrong_check_digit_names_its_field(self, line: int, position: int, field: str, shift: int) -> None:
        lines = mrz_lines()
        wrong = str((int(lines[line][position]) + shift) % 10)
        lines[line] = lines[line][:position] + wrong + lines[line][position + 1 :]
        with pytest.raises(InputError) as exc:
            parse_td1_mrz("\n".join(lines))
        assert FieldError(field, "mrz_check_digit") in errors_of(exc)
        assert {e.code for e in errors_of(exc)} == {"mrz_check_digit"}
        if field == "mrz.composite":
            assert errors_of(exc) == [FieldError(field, "mrz_check_digit")]

    @pytest.mark.parametrize(
        ("line", "position", "fields"),
        [
            (1, 2, ["mrz.date_of_birth", "mrz.composite"]),
            (1, 10, ["mrz.expiry_date", "mrz.composite"]),
            (0, 20, ["mrz.composite", "mrz.id_number"]),
        ],
    )
    def test_a_misread_data_digit_fails_the_check_digits_covering_it(
        self, line: int, position: int, fields: list[str]
    ) -> None:
        lines = mrz_lines()
        lines[line] = lines[line][:position] + str((int(lines[line][position]) + 3) % 10) + lines[line][position + 1 :]
        with pytest.raises(InputError) as exc:
            parse_td1_mrz("\n".join(lines))
        assert errors_of(exc) == [FieldError(f, "mrz_check_digit") for f in fields]

    def test_errors_never_contain_the_id_number_or_name(self) -> None:
        lines = mrz_lines()
        lines[1] = lines[1][:29] + str((int(lines[1][29]) + 1) % 10)
        with pytest.raises(InputError) as exc:
            parse_td1_mrz("\n".join(lines))
        assert "079190123456" not in str(exc.value)
        assert "NGUYEN" not in str(exc.value)

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "IDVNM1901234569079190123456<<9\n9005178F3005176VNM<<<<<<<<<<<0",
            "IDVNM1901234569079190123456<<9\n9005178F3005176VNM<<<<<<<<<<0\nNGUYEN<<THI<ANH<DAO<<<<<<<<<<<",
            "IDVNM1901234569079190123456<<9\n9005178F3005176VNM<<<<<<<<<<<0\nNGUYỄN<<THI<ANH<DAO<<<<<<<<<<<",
            "IDVNM1901234569079190123456<<9\n9005178F3005176VNM<<<<<<<<<<<0\nNGUYEN<<THI<ANH<DAO<<<<<<<<<<<\nX",
            "<" * 3000,
        ],
    )
    def test_rejects_text_that_is_not_three_lines_of_thirty(self, text: str) -> None:
        with pytest.raises(InputError) as exc:
            parse_td1_mrz(text)
        assert errors_of(exc) == [FieldError("mrz", "invalid_mrz")]

    def test_rejects_non_text(self) -> None:
        with pytest.raises(InputError) as exc:
            parse_td1_mrz(None)  # type: ignore[arg-type]
        assert errors_of(exc) == [FieldError("mrz", "invalid_mrz")]

    @pytest.mark.parametrize(("start", "replacement"), [(0, "P<"), (2, "FRA"), (0, "<<")])
    def test_rejects_a_document_that_is_not_a_vietnamese_id_card(self, start: int, replacement: str) -> None:
        lines = mrz_lines()
        lines[0] = lines[0][:start] + replacement + lines[0][start + len(replacement) :]
        with pytest.raises(InputError) as exc:
            parse_td1_mrz(resign(lines))
        assert errors_of(exc) == [FieldError("mrz", "invalid_mrz")]

    def test_rejects_a_document_number_that_is_not_the_tail_of_the_id_number(self) -> None:
        lines = mrz_lines()
        lines[0] = lines[0][:5] + "190123457" + lines[0][14:]
        with pytest.raises(InputError) as exc:
            parse_td1_mrz(resign(lines))
        assert errors_of(exc) == [FieldError("mrz.document_number", "invalid_mrz")]

    @pytest.mark.parametrize("optional", ["07919012345<<<", "079190123456<A", "079190123456AB"])
    def test_rejects_an_optional_data_field_without_the_twelve_digit_number(self, optional: str) -> None:
        lines = mrz_lines()
        lines[0] = lines[0][:15] + optional + "0"
        with pytest.raises(InputError) as exc:
            parse_td1_mrz("\n".join(lines))
        assert errors_of(exc) == [FieldError("mrz.id_number", "invalid_mrz")]

    def test_reports_an_unknown_province_in_a_well_signed_mrz(self) -> None:
        lines = mrz_lines(dict(HOLDER, id_number="003190123456"))
        with pytest.raises(InputError) as exc:
            parse_td1_mrz("\n".join(lines))
        assert errors_of(exc) == [FieldError("mrz.id_number", "unknown_province_code")]

    @pytest.mark.parametrize(
        ("position", "value", "field"),
        [(0, "901317", "mrz.date_of_birth"), (8, "300230", "mrz.expiry_date"), (7, "<", "mrz.gender")],
    )
    def test_reports_impossible_values_with_valid_check_digits(self, position: int, value: str, field: str) -> None:
        lines = mrz_lines()
        lines[1] = lines[1][:position] + value + lines[1][position + len(value) :]
        with pytest.raises(InputError) as exc:
            parse_td1_mrz(resign(lines))
        assert errors_of(exc) == [FieldError(field, "invalid_format")]

    def test_reads_a_card_without_expiry(self) -> None:
        holder = parse_td1_mrz(build_td1_mrz(HOLDER, expiry=None))
        assert "id_expiry_date" not in holder
        assert holder["date_of_birth"] == "1990-05-17"


class TestMrzCenturies:
    @pytest.mark.parametrize(
        ("born", "expiry"),
        [
            (date(1920, 2, 29), date(1980, 2, 29)),
            (date(1999, 12, 31), date(2024, 12, 31)),
            (date(2005, 7, 1), date(2030, 7, 1)),
            (date(2010, 3, 9), date(2035, 3, 9)),
            (date(1965, 1, 15), date(2025, 1, 15)),
        ],
    )
    def test_take_the_birth_century_from_the_cccd_number(self, born: date, expiry: date) -> None:
        holder = dict(HOLDER, date_of_birth=born.isoformat(), id_number=cccd_number(born, "female"))
        parsed = parse_td1_mrz(build_td1_mrz(holder, expiry=expiry), as_of=date(2025, 1, 1))
        assert parsed["date_of_birth"] == born.isoformat()
        assert parsed["id_expiry_date"] == expiry.isoformat()

    def test_pivot_on_as_of_when_the_number_disagrees_with_the_birth_year(self) -> None:
        # A number saying born 19x05 on a card whose MRZ says born in '23: the century digit is not
        # trusted; the latest date not after as_of wins.
        holder = dict(HOLDER, id_number="079005123456", date_of_birth="2023-04-01")
        text = build_td1_mrz(holder, expiry=date(2048, 4, 1))
        assert parse_td1_mrz(text, as_of=date(2025, 1, 1))["date_of_birth"] == "2023-04-01"
        assert parse_td1_mrz(text, as_of=date(2023, 3, 1))["date_of_birth"] == "1923-04-01"
        assert parse_td1_mrz(text)["date_of_birth"] == "1923-04-01"
