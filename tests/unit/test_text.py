"""Vietnamese text: NFC storage form, folded comparison key, MRZ transliteration."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.common.text import fold, nfc, to_mrz_name

# Decomposed (NFD) spelling of "Nguyễn Văn Ánh", as some keyboards and macOS file names produce it.
NFD_NAME = unicodedata.normalize("NFD", "Nguyễn Văn Ánh")
vietnamese_text = st.text(
    # Letters, odd whitespace, and the five combining tone marks on their own.
    alphabet=st.sampled_from(
        [*"aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXY \t\u00a0\u0300\u0301\u0303\u0309\u0323"]
    ),
    max_size=30,
)
any_text = st.one_of(st.text(max_size=30), vietnamese_text)


class TestNfc:
    def test_a_decomposed_name_is_composed(self):
        assert NFD_NAME != "Nguyễn Văn Ánh"
        assert nfc(NFD_NAME) == "Nguyễn Văn Ánh"

    def test_whitespace_is_stripped_and_collapsed(self):
        assert nfc("  Nguyễn \t Văn\u00a0\u00a0Ánh \n") == "Nguyễn Văn Ánh"

    def test_case_and_diacritics_are_kept(self):
        assert nfc("NGUYỄN văn ánh") == "NGUYỄN văn ánh"

    @given(any_text)
    def test_the_result_is_nfc_and_has_no_double_spaces(self, s):
        out = nfc(s)
        assert unicodedata.is_normalized("NFC", out)
        assert out == out.strip()
        assert "  " not in out

    @given(any_text)
    def test_nfc_is_idempotent(self, s):
        assert nfc(nfc(s)) == nfc(s)


class TestFold:
    @pytest.mark.parametrize(
        "variant",
        ["Nguyễn Văn  Ánh", "NGUYEN VAN ANH", "nguyen van anh", " Nguyễn\tVăn Ánh ", NFD_NAME,
         "NGUYỄN VĂN ÁNH"],
    )  # fmt: skip
    def test_spellings_of_one_name_fold_equal(self, variant):
        assert fold(variant) == "nguyen van anh"

    def test_d_with_stroke_folds_to_d(self):
        assert fold("Đặng Đình Đức") == "dang dinh duc"
        assert fold("đ") == fold("Đ") == fold("D") == "d"

    def test_different_names_stay_different(self):
        assert fold("Nguyễn Văn Anh") != fold("Nguyễn Văn Ân Ba")
        assert fold("Lê") != fold("Lý")

    @given(any_text)
    def test_fold_is_idempotent(self, s):
        assert fold(fold(s)) == fold(s)

    @given(any_text)
    def test_fold_ignores_the_normalization_form(self, s):
        assert fold(nfc(s)) == fold(s)
        assert fold(unicodedata.normalize("NFD", s)) == fold(s)

    @given(vietnamese_text)
    def test_vietnamese_text_folds_to_lowercase_ascii(self, s):
        assert re.fullmatch(r"[a-z]*( [a-z]+)*", fold(s))

    @given(vietnamese_text)
    def test_case_does_not_matter(self, s):
        assert fold(s.upper()) == fold(s.lower()) == fold(s)


class TestToMrzName:
    @pytest.mark.parametrize(
        ("name", "mrz"),
        [
            ("Nguyễn Văn Ánh", "NGUYEN VAN ANH"),
            ("Đặng  Thị Ngọc-Hà", "DANG THI NGOC HA"),
            (NFD_NAME, "NGUYEN VAN ANH"),
            ("O'Brien", "OBRIEN"),
            ("Müller Straße", "MULLER STRASSE"),
            ("Øster Ærø", "OESTER AEROE"),
            ("Trần 3", "TRAN"),
            ("", ""),
        ],
    )
    def test_names_are_transliterated_to_uppercase_ascii(self, name, mrz):
        assert to_mrz_name(name) == mrz

    @given(any_text)
    def test_the_result_holds_only_a_to_z_and_single_spaces(self, s):
        assert re.fullmatch(r"[A-Z]*( [A-Z]+)*", to_mrz_name(s))

    @given(vietnamese_text)
    def test_the_mrz_name_agrees_with_the_folded_name(self, s):
        assert to_mrz_name(s).lower() == fold(s)
