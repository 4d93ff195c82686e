"""GSM 03.38: the alphabet, septet counts, Vietnamese made GSM-safe, and the choice of encoding."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.sms.gsm import BASIC, EXTENSION, choose_encoding, is_gsm7, septet_cost, septets, unaccent

# Every Vietnamese vowel with every tone, and the letter marks, in both cases.
VN_LOWER = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
VN_PLAIN = "a" * 18 + "e" * 12 + "i" * 6 + "o" * 18 + "u" * 12 + "y" * 6 + "d"


class TestAlphabet:
    def test_the_tables_have_the_standard_sizes_and_codes(self):
        assert len(BASIC) == 127  # 128 codes, one of which is the escape
        assert (BASIC["@"], BASIC["$"], BASIC["¤"], BASIC["¡"], BASIC["à"]) == (0x00, 0x02, 0x24, 0x40, 0x7F)
        assert set(EXTENSION) == set("^{}\\[~]|€\f")
        assert EXTENSION["€"] == 0x65

    @pytest.mark.parametrize(("text", "expected"), [("Hello @£$", True), ("a€[]", True), ("ê", False), ("\t", False)])
    def test_is_gsm7(self, text, expected):
        assert is_gsm7(text) is expected

    @pytest.mark.parametrize(("text", "count"), [("", 0), ("abc", 3), ("^{}\\[~]|€", 18), ("a€b", 4), ("\n", 1)])
    def test_extension_characters_cost_two_septets(self, text, count):
        assert septets(text) == count

    def test_a_character_outside_the_alphabet_has_no_septet_count(self):
        with pytest.raises(ValueError, match=r"GSM 03\.38"):
            septets("Việt")
        with pytest.raises(ValueError, match=r"GSM 03\.38"):
            septet_cost("\x1b")


class TestUnaccent:
    def test_every_vietnamese_letter_loses_its_marks(self):
        assert unaccent(VN_LOWER) == VN_PLAIN
        assert unaccent(VN_LOWER.upper()) == VN_PLAIN.upper()

    def test_decomposed_input_is_the_same_as_precomposed(self):
        assert unaccent(unicodedata.normalize("NFD", VN_LOWER)) == VN_PLAIN
        assert unaccent("Nguye\u0323\u0302n") == "Nguyen"  # marks in a non-canonical order

    @pytest.mark.parametrize(
        ("text", "plain"),
        [
            ("Nguyễn Văn Đức, Hà Nội", "Nguyen Van Duc, Ha Noi"),
            ("Thừa Thiên Huế", "Thua Thien Hue"),
            ("É è à", "E e a"),  # GSM has them, but a text is never half accented
            ("Äñ Ø ß €", "Äñ Ø ß €"),  # other GSM letters stay
            ("ç ō", "c o"),
            ("ＴＴＴＢ ０９", "TTTB 09"),
            ("“Số” – 1\t2", '"So" - 1 2'),
            ("😀 中", "? ?"),
        ],
    )
    def test_examples(self, text, plain):
        assert unaccent(text) == plain

    @given(st.text())
    def test_the_result_always_fits_gsm7(self, text):
        assert is_gsm7(unaccent(text))

    @given(st.text(alphabet=st.characters(codec="ascii")).filter(is_gsm7))
    def test_gsm_ascii_is_left_alone(self, text):
        assert unaccent(text) == text


class TestChooseEncoding:
    def test_vietnamese_goes_unaccented_in_gsm7_by_default(self):
        assert choose_encoding("Họ tên: Lê Văn An", allow_ucs2=False) == ("gsm7", "Ho ten: Le Van An")

    def test_vietnamese_keeps_its_accents_in_ucs2_when_allowed(self):
        assert choose_encoding("Họ tên", allow_ucs2=True) == ("ucs2", "Họ tên")

    def test_ucs2_text_is_precomposed(self):
        assert choose_encoding("Nguye\u0302\u0303n", allow_ucs2=True) == ("ucs2", "Nguyễn")

    def test_gsm_text_stays_gsm7_even_when_ucs2_is_allowed(self):
        assert choose_encoding("So TB: 0901234567 €", allow_ucs2=True) == ("gsm7", "So TB: 0901234567 €")
        assert choose_encoding("Cafe\u0301", allow_ucs2=True) == ("gsm7", "Café")
