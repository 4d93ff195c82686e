"""Segmentation: the exact UDH bytes, the single/concatenated boundaries, characters never cut, and join."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.sms.gsm import BASIC, EXTENSION
from subreg.domain.sms.segments import Segment, join, join_messages, read_header, split

EMOJI = "😀"  # outside the BMP: two UTF-16 code units


class TestSingleMessage:
    @pytest.mark.parametrize(("encoding", "text"), [("gsm7", "a" * 160), ("ucs2", "ệ" * 70), ("gsm7", "")])
    def test_up_to_the_limit_is_one_part_without_header(self, encoding, text):
        assert split(text, encoding, 1) == (Segment(b"", text),)

    def test_extension_characters_count_twice_toward_160(self):
        assert len(split("€" * 80, "gsm7", 1)) == 1
        assert len(split("€" * 80 + "a", "gsm7", 1)) == 2

    def test_surrogate_pairs_count_twice_toward_70(self):
        assert len(split(EMOJI * 35, "ucs2", 1)) == 1
        assert len(split(EMOJI * 35 + "a", "ucs2", 1)) == 2


class TestConcatenated:
    def test_161_septets_make_two_parts_with_their_exact_headers(self):
        text = "a" * 153 + "b" * 8
        assert split(text, "gsm7", 0x1234) == (
            Segment(bytes.fromhex("050003340201"), "a" * 153),
            Segment(bytes.fromhex("050003340202"), "b" * 8),
        )

    def test_three_gsm7_parts(self):
        text = "x" * 153 + "y" * 153 + "z"
        parts = split(text, "gsm7", 7)
        assert [p.udh for p in parts] == [bytes.fromhex(h) for h in ("050003070301", "050003070302", "050003070303")]
        assert [p.text for p in parts] == ["x" * 153, "y" * 153, "z"]

    def test_71_ucs2_units_make_two_parts_of_at_most_67(self):
        text = "ệ" * 71
        assert split(text, "ucs2", 255) == (
            Segment(bytes.fromhex("050003ff0201"), "ệ" * 67),
            Segment(bytes.fromhex("050003ff0202"), "ệ" * 4),
        )

    def test_the_reference_is_taken_modulo_256(self):
        assert split("a" * 161, "gsm7", 256 + 9)[0].udh[3] == 9

    def test_an_escape_pair_is_never_cut_at_the_153_boundary(self):
        parts = split("a" * 152 + "€" + "b" * 10, "gsm7", 1)  # the escape would be septet 153, its code 154
        assert [p.text for p in parts] == ["a" * 152, "€" + "b" * 10]

    def test_an_escape_pair_that_fits_exactly_stays(self):
        parts = split("a" * 151 + "€" + "b" * 10, "gsm7", 1)
        assert [p.text for p in parts] == ["a" * 151 + "€", "b" * 10]

    def test_a_surrogate_pair_is_never_cut_at_the_67_boundary(self):
        parts = split("a" * 66 + EMOJI + "b" * 10, "ucs2", 1)
        assert [p.text for p in parts] == ["a" * 66, EMOJI + "b" * 10]

    def test_255_parts_is_the_most(self):
        assert len(split("a" * 153 * 255, "gsm7", 1)) == 255
        with pytest.raises(ValueError, match="255"):
            split("a" * (153 * 255 + 1), "gsm7", 1)

    def test_gsm7_refuses_characters_it_cannot_carry(self):
        with pytest.raises(ValueError, match=r"GSM 03\.38"):
            split("Việt", "gsm7", 1)

    def test_an_unknown_encoding_is_refused(self):
        with pytest.raises(ValueError, match="encoding"):
            split("a", "latin1", 1)  # type: ignore[arg-type]


class TestJoin:
    def test_parts_in_any_order_make_the_message(self):
        parts = split("x" * 153 + "y" * 153 + "z", "gsm7", 7)
        assert join(reversed(parts)) == "x" * 153 + "y" * 153 + "z"

    def test_a_16_bit_reference_header_is_read(self):
        assert read_header(bytes.fromhex("060804123402 01")) == (0x1234, 2, 1)

    @pytest.mark.parametrize("udh", ["", "05000301", "0500030102", "0400020102", "052403010201"])
    def test_other_headers_are_not_concatenation(self, udh):
        assert read_header(bytes.fromhex(udh)) is None

    def test_a_missing_or_foreign_part_is_refused(self):
        a = split("a" * 400, "gsm7", 1)
        b = split("b" * 400, "gsm7", 2)
        with pytest.raises(ValueError, match="missing"):
            join(a[:2])
        with pytest.raises(ValueError, match="more than one"):
            join((*a[:2], b[2]))
        with pytest.raises(ValueError, match="without"):
            join((a[0], Segment(b"", "x")))

    def test_interleaved_messages_are_grouped_by_reference(self):
        a = split("a" * 200, "gsm7", 1)
        b = split("b" * 200, "ucs2", 2)
        stream = [a[0], b[0], *split("hi", "gsm7", 3), b[1], b[2], a[1]]
        assert join_messages(stream) == ("a" * 200, "b" * 200, "hi")

    gsm_chars = st.sampled_from(sorted(set(BASIC) | set(EXTENSION)))

    @given(st.text(alphabet=gsm_chars, max_size=1200), st.integers(0, 10_000))
    def test_join_undoes_split_in_gsm7(self, text, reference):
        parts = split(text, "gsm7", reference)
        assert join(parts) == text
        assert all(sum(2 if c in EXTENSION else 1 for c in p.text) <= (160 if len(parts) == 1 else 153) for p in parts)

    @given(st.text(max_size=600), st.integers(0, 10_000))
    def test_join_undoes_split_in_ucs2(self, text, reference):
        parts = split(text, "ucs2", reference)
        assert join(parts) == text
        assert all(
            len(p.text.encode("utf-16-le", "surrogatepass")) // 2 <= (70 if len(parts) == 1 else 67) for p in parts
        )
