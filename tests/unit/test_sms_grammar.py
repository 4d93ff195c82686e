"""The 1414 grammar: every way people type TTTB, what is refused, and that no text can break the parser."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.id_documents.numbers import PROVINCES, make_cccd
from subreg.domain.sms.grammar import MAX_TEXT_LENGTH, Help, IdQuery, StatusQuery, parse

CCCD = "079203001234"
CMND = "025123456"


class TestStatusQuery:
    @pytest.mark.parametrize(
        "text",
        ["TTTB", "tttb", "TTTB ", "Tttb.", " \tTTTB\n", "TT TB", "T.T.T.B", "ＴＴＴＢ", "TTTB?", "tttb,", "TTTB -"],
    )
    def test_the_keyword_alone_asks_for_the_sending_number(self, text):
        assert parse(text) == StatusQuery()


class TestIdQuery:
    @pytest.mark.parametrize(
        ("text", "number", "hint"),
        [
            (f"TTTB {CCCD}", CCCD, None),
            (f"TTTB  {CCCD}", CCCD, None),
            (f"TTTB.{CCCD}", CCCD, None),
            (f"TTTB{CCCD}", CCCD, None),
            (f"tttb {CCCD}.", CCCD, None),
            (f"TT TB {CCCD}", CCCD, None),
            ("TTTB 0792 0300 1234", CCCD, None),
            ("TTTB 0792-0300-1234", CCCD, None),
            ("TTTB ０７９２０３００１２３４", CCCD, None),
            (f"TTTB\t{CCCD}\n", CCCD, None),
            (f"TTTB cccd {CCCD}", CCCD, "cccd"),
            (f"TTTB CCCD:{CCCD}", CCCD, "cccd"),
            (f"TTTB CC {CCCD}", CCCD, "cccd"),
            (f"TTTB căn cước {CCCD}", CCCD, "cccd"),
            (f"TTTB số CCCD {CCCD}", CCCD, "cccd"),
            (f"TTTB so {CCCD}", CCCD, None),
            (f"TTTB CMND {CMND}", CMND, "cmnd"),
            (f"TTTB CMT {CMND}", CMND, "cmnd"),
            (f"TTTB cmtnd {CMND}", CMND, "cmnd"),
            (f"TTTB {CMND}", CMND, None),
            (f"TTTB,{CMND}", CMND, None),
            ("TTTB HC B1234567", "B1234567", "passport"),
            ("TTTB hc b1234567", "B1234567", "passport"),
            ("TTTB HO CHIEU B1234567", "B1234567", "passport"),
            ("TTTB hộ chiếu B1234567", "B1234567", "passport"),
            ("TTTB PASSPORT B1234567", "B1234567", "passport"),
            ("TTTB B1234567", "B1234567", None),
            ("TTTB HC 123456789", "123456789", "passport"),
            ("TTTB HC 1234567", "1234567", "passport"),
            ("TTTB HC AB1234567890", "AB1234567890", "passport"),  # HC allows the registry's 20 characters
            ("TTTB CC1234567", "CC1234567", None),  # no 7-digit card: the letters are the passport's
            ("TTTB SO1234567", "SO1234567", None),
            (f"TTTB CCCD {CMND}", CMND, "cccd"),  # the hint is what the sender said
        ],
    )
    def test_an_id_number_in_any_usual_spelling(self, text, number, hint):
        assert parse(text) == IdQuery(number, hint)

    def test_a_cccd_from_a_birth_registered_abroad_is_possible(self):
        assert parse("TTTB 100203001234") == IdQuery("100203001234", None)


class TestHelp:
    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            (None, "binary"),
            ("", "empty"),
            ("   \t\n", "empty"),
            ("...", "empty"),
            ("HD", "help"),
            ("hd.", "help"),
            ("HELP", "help"),
            ("Hướng dẫn", "help"),
            ("tro giup", "help"),
            ("?", "help"),
            (" ?? ", "help"),
            ("TTTB HD", "help"),
            ("TTTB help", "help"),
            ("XYZ", "unknown_keyword"),
            (CCCD, "unknown_keyword"),
            ("TTB 079203001234", "unknown_keyword"),
            ("DK TTTB", "unknown_keyword"),
            ("TTTB 12345", "bad_id_number"),
            ("TTTB 0792030012", "bad_id_number"),  # 10 digits
            ("TTTB 0792030012345", "bad_id_number"),  # 13 digits
            ("TTTB 000203001234", "bad_id_number"),  # place code 000 does not exist
            ("TTTB 1234567", "bad_id_number"),  # 7 digits, no passport word
            ("TTTB CCCD", "bad_id_number"),
            ("TTTB ABCDEFG", "bad_id_number"),  # a passport number has a digit
            ("TTTB HC B12", "bad_id_number"),
            ("TTTB 079203001234 cam on", "bad_id_number"),
            ("TTTB B1234567 ok", "bad_id_number"),  # 10 characters: too long for a passport without HC
            ("TTTB 0792#03001234", "bad_id_number"),
            ("TTTB ٠٧٩٢٠٣٠٠١٢٣٤", "bad_id_number"),  # Arabic-Indic digits are not ID digits
            ("TTTB TTTB", "bad_id_number"),
        ],
    )
    def test_anything_else_is_answered_with_help(self, text, reason):
        assert parse(text) == Help(reason)

    def test_a_text_over_the_cap_is_not_read(self):
        assert parse("TTTB" + " " * MAX_TEXT_LENGTH) == Help("too_long")

    @pytest.mark.parametrize(
        "text", ["TTTB " + "9" * 995, "T" * 1000, "TTTB " + "ệ" * 995, "TTTB" + ". " * 498, "😀" * 1000]
    )
    def test_a_long_text_is_refused_quickly(self, text):
        start = time.perf_counter()
        assert isinstance(parse(text), Help | StatusQuery)
        assert time.perf_counter() - start < 0.05


# Strategies: the documented forms, and the noise people add to them.
provinces = st.sampled_from(sorted(PROVINCES))
cccds = st.builds(
    make_cccd,
    province_code=provinces | st.from_regex(r"[1-9][0-9]{2}", fullmatch=True),
    gender=st.sampled_from(["male", "female"]),
    birth_year=st.integers(1900, 2099),
    serial=st.integers(0, 999_999),
)
commands = st.sampled_from(["TTTB", f"TTTB {CCCD}", f"TTTB CMND {CMND}", "TTTB HC B1234567", "HD", "TTTB 12"])
noise = st.text(alphabet=" .,-\t\n", max_size=3)


def _recase(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, flips + [False] * len(text), strict=False))


class TestProperties:
    @given(st.text(max_size=300))
    def test_parse_never_raises(self, text):
        assert isinstance(parse(text), StatusQuery | IdQuery | Help)

    @given(st.text(alphabet=st.characters(codec="utf-8"), max_size=50).map(lambda s: "TTTB " + s))
    def test_anything_after_the_keyword_is_a_command(self, text):
        assert isinstance(parse(text), StatusQuery | IdQuery | Help)

    @given(commands, st.data())
    def test_spaces_dots_and_case_do_not_change_the_command(self, command, data):
        noisy = "".join(c + data.draw(noise) for c in command)
        noisy = data.draw(noise) + _recase(noisy, data.draw(st.lists(st.booleans(), max_size=len(noisy))))
        assert parse(noisy) == parse(command)

    @given(cccds, noise, noise)
    def test_any_valid_cccd_after_the_keyword_is_asked_for(self, number, before, after):
        assert parse(f"TTTB{before}{number}{after}") == IdQuery(number, None)
        assert parse(f"TTTB CCCD {number}") == IdQuery(number, "cccd")
