"""Masking of personal fields: worked examples, the general rules, and what never leaks."""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.access.masking import (
    mask_address,
    mask_date,
    mask_holder,
    mask_id_number,
    mask_msisdn,
    mask_name,
    mask_record,
    mask_value,
)
from subreg.domain.access.permissions import FieldVisibility, Purpose, Role, Visibility, visible_fields

HOLDER = {
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "1992-05-17",
    "gender": "male",
    "nationality": "VNM",
    "id_type": "cccd",
    "id_number": "079092345656",
    "id_issue_date": "2021-03-04",
    "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
    "address": "Số 12 ngõ 34, Phường Dịch Vọng, Quận Cầu Giấy, Hà Nội",
}
vn_letters = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
word = st.text(alphabet=vn_letters, min_size=2, max_size=8).map(str.capitalize)
digits = st.text(alphabet="0123456789", min_size=1, max_size=20)
id_like = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=1, max_size=20)


class TestMaskIdNumber:
    def test_the_issue_example(self):
        assert mask_id_number("079212345656") == "0792******56"

    @pytest.mark.parametrize(
        ("raw", "masked"),
        [("123456789", "123*****9"), ("C1234567", "C12****7"), ("12", "1*"), ("7", "*"), ("", "")],
    )
    def test_shorter_numbers_reveal_less(self, raw, masked):
        assert mask_id_number(raw) == masked

    def test_spaces_inside_are_ignored(self):
        assert mask_id_number(" 0792 1234 5656 ") == "0792******56"

    @given(id_like)
    def test_length_is_kept_and_at_least_half_is_masked(self, raw):
        out = mask_id_number(raw)
        assert len(out) == len(raw)
        assert out.count("*") >= (len(raw) + 1) // 2
        assert sum(c != "*" for c in out) <= 6

    @given(id_like)
    def test_the_full_number_never_appears(self, raw):
        assert raw not in mask_id_number(raw)

    @given(st.text(alphabet="0123456789", min_size=12, max_size=12))
    def test_a_cccd_keeps_four_and_two(self, raw):
        out = mask_id_number(raw)
        assert out[:4] == raw[:4]
        assert out[-2:] == raw[-2:]
        assert out[4:10] == "******"


class TestMaskName:
    def test_the_issue_example(self):
        assert mask_name("Nguyễn Văn An") == "Nguyễn V** A"

    @pytest.mark.parametrize(
        ("raw", "masked"),
        [
            ("Trần An", "Trần A"),
            ("An", "A**"),
            ("Lê Thị Thu Hà", "Lê T** T** H"),
            ("  nguyễn   văn  an ", "nguyễn v** a"),
            ("Đặng Đình Đức", "Đặng Đ** Đ"),
            ("", ""),
        ],
    )
    def test_the_general_rule(self, raw, masked):
        assert mask_name(raw) == masked

    def test_western_order_keeps_the_last_word(self):
        assert mask_name("John Paul Smith", family_name_first=False) == "J P** Smith"

    def test_a_decomposed_name_is_masked_as_its_nfc_form(self):
        nfd = unicodedata.normalize("NFD", "Nguyễn Văn Ánh")
        assert mask_name(nfd) == "Nguyễn V** Á"
        assert unicodedata.is_normalized("NFC", mask_name(nfd))

    @given(word, st.lists(word, min_size=1, max_size=3), word)
    def test_middle_and_given_names_never_appear_in_full(self, family, middle, given_name):
        out = mask_name(" ".join([family, *middle, given_name]))
        masked_words = out.split()
        assert masked_words[0] == family
        assert len(masked_words) == len(middle) + 2
        for original, masked in zip(middle, masked_words[1:-1], strict=True):
            assert masked == original[0] + "**"
        assert masked_words[-1] == given_name[0]

    @given(st.lists(word, min_size=1, max_size=5))
    def test_word_count_is_kept(self, words):
        assert len(mask_name(" ".join(words)).split()) == len(words)


class TestOtherMaskers:
    def test_msisdn_keeps_network_prefix_and_last_two(self):
        assert mask_msisdn("+84901234567") == "+84 90*****67"

    def test_a_national_form_is_shown_in_e164(self):
        assert mask_msisdn("090 123 4567") == "+84 90*****67"

    def test_something_that_is_not_a_vietnamese_number_is_masked_like_an_id(self):
        assert mask_msisdn("+4420794601") == "+442******1"

    @given(
        st.sampled_from(["90", "91", "32", "86", "70"]),
        st.text(alphabet="0123456789", min_size=7, max_size=7),
    )
    def test_msisdn_never_shows_the_middle_five(self, prefix, rest):
        nsn = prefix + rest
        out = mask_msisdn("+84" + nsn)
        assert out.startswith("+84 " + prefix)
        assert nsn not in out.replace(" ", "")
        assert out.endswith(nsn[-2:])

    @pytest.mark.parametrize(
        ("keep", "masked"), [("day", "****-**-17"), ("year", "1992-**-**"), ("none", "****-**-**")]
    )
    def test_date_variants(self, keep, masked):
        assert mask_date("1992-05-17", keep=keep) == masked

    def test_a_malformed_date_is_masked_whole(self):
        assert mask_date("17/05/1992") == "****-**-**"

    def test_address_keeps_only_the_province(self):
        assert mask_address(HOLDER["address"]) == "***, Hà Nội"
        assert mask_address("Ấp 3 - Xã Tân Phú - Đồng Nai") == "***, Đồng Nai"

    def test_an_address_in_one_part_is_masked_whole(self):
        assert mask_address("Hà Nội") == "***"

    def test_a_non_string_value_is_opaque_and_none_stays_none(self):
        assert mask_value("birth_year", 1992) == "***"
        assert mask_value("full_name", None) is None


class TestMaskHolder:
    def test_masked_view_of_a_routine_transaction(self):
        out = mask_holder(HOLDER, visible_fields(Role.STORE_STAFF, Purpose.TRANSACTION))
        assert out == {
            "full_name": "Nguyễn V** A",
            "date_of_birth": "1992-**-**",
            "gender": "male",
            "nationality": "VNM",
            "id_type": "cccd",
            "id_number": "0790******56",
            "id_issue_date": "2021-**-**",
            "id_issue_place": "***",
            "address": "***, Hà Nội",
        }

    def test_clear_view_returns_the_values(self):
        assert mask_holder(HOLDER, visible_fields(Role.STORE_STAFF, Purpose.UPDATE)) == HOLDER

    def test_compliance_view_hides_what_it_does_not_mask(self):
        out = mask_holder(HOLDER, visible_fields(Role.COMPLIANCE_OFFICER, Purpose.ENFORCEMENT))
        assert set(out) == {"full_name", "id_number", "nationality", "id_type"}

    def test_nothing_visible_gives_an_empty_holder(self):
        assert mask_holder(HOLDER, visible_fields(Role.ADMIN, None)) == {}

    def test_unknown_fields_are_dropped(self):
        out = mask_holder({**HOLDER, "face_template": "..."}, visible_fields(Role.DPO, Purpose.DSR))
        assert "face_template" not in out

    def test_a_foreigners_name_is_masked_in_western_order(self):
        holder = {"full_name": "John Paul Smith", "nationality": "GBR"}
        out = mask_holder(holder, FieldVisibility(masked=frozenset({"full_name"})))
        assert out == {"full_name": "J P** Smith"}

    @given(st.sampled_from(list(Role)), st.sampled_from(list(Purpose)))
    def test_without_clear_visibility_the_id_number_and_middle_name_never_leak(self, role, purpose):
        v = visible_fields(role, purpose)
        out = repr(mask_holder(HOLDER, v))
        if v.of("id_number") is not Visibility.CLEAR:
            assert HOLDER["id_number"] not in out
        if v.of("full_name") is not Visibility.CLEAR:
            assert "Văn" not in out


class TestMaskRecord:
    RECORD: ClassVar[dict[str, Any]] = {
        "msisdn": "+84901234567",
        "status": "active",
        "holder": HOLDER,
        "guardian": {**HOLDER, "relationship": "mother"},
        "organization": {"name": "Công ty ABC", "users": [HOLDER]},
        "documents": {"portrait": "blob:abc", "id_front": "blob:def", "contract": None},
        "internal_note": "x",
    }

    def test_people_are_masked_and_documents_hidden_without_images(self):
        v = visible_fields(Role.COMPLIANCE_OFFICER, Purpose.ENFORCEMENT)
        out = mask_record(self.RECORD, v)
        assert out["msisdn"] == "+84901234567"
        assert out["holder"]["id_number"] == "0790******56"
        assert out["guardian"]["full_name"] == "Nguyễn V** A"
        assert out["organization"]["users"][0]["id_number"] == "0790******56"
        assert out["organization"]["name"] == "Công ty ABC"
        assert out["documents"] == {"portrait": "***", "id_front": "***"}
        assert "internal_note" not in out

    def test_document_references_are_kept_when_images_are_allowed(self):
        out = mask_record(self.RECORD, visible_fields(Role.STORE_STAFF, Purpose.TRANSACTION))
        assert out["documents"]["portrait"] == "blob:abc"
