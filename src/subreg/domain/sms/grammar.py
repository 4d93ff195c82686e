"""The grammar of messages to 1414: `TTTB` (what is registered for my number) and `TTTB <ID>`.

A message is read as a compact key, so that how people actually type does not matter:

1. NFKC (full-width `ＴＴＴＢ` and `０７９` become ASCII), Vietnamese diacritics dropped and `đ` read as
   `d` (`common.text.fold`), lower case.
2. Separators are deleted everywhere: white space (tabs, newlines), `. , - _ : ; ! ?` and typographic
   dashes. So `TT TB`, `Tttb.`, `TTTB.079203001234`, `TTTB079203001234` and `TTTB 0792 0300 1234` all read
   as `tttb` or `tttb079203001234`. Any other character stays and makes the message not parse.
3. The key must start with `tttb`. What follows is, in order:
   - nothing: `StatusQuery()`;
   - optionally the word `so` (`số`, "number": `TTTB số CCCD 0792...` is accepted, since it is how one
     says it aloud), then optionally a document word: `cccd`, `cc`, `can cuoc`, `can cuoc cong dan`
     (hint "cccd"); `cmnd`, `cmt`, `cmtnd` (hint "cmnd"); `hc`, `ho chieu`, `passport` (hint "passport");
   - the ID number, which must be *possible*: 12 digits with a known place code (a CCCD, or the late
     12-digit CMND of the same shape), 9 digits (CMND), or, when it holds a letter or the document word
     says passport, a passport number (letters and digits with at least one digit: 6-20 of them after
     `HC`/`PASSPORT` as in the registry, 6-9 without, the ICAO 9303 document number field, so that
     `TTTB 079203001234 cam on` is not read as passport `079203001234CAMON`). An all-digit number of any
     other length is a mistyped card number, not a foreign passport. Anything else is
     `Help("bad_id_number")`: the service answers with the help text, never "not found", so a typo is
     not taken for "nothing is registered under that number".
   Document words and numbers can be ambiguous once spaces are gone (`CC123456` could be the word `cc`
   then a number, or a passport): readings are tried from the longest word down to none, and the first
   possible number wins.
4. `HD`, `HELP`, `HUONG DAN`, `TRO GIUP` (alone or after `TTTB`) and a message of only `?` are
   `Help("help")`; an empty (or separators only) message is `Help("empty")`; a binary message (no text)
   is `Help("binary")`; a text longer than `MAX_TEXT_LENGTH` is `Help("too_long")` without being read;
   any other start is `Help("unknown_keyword")`.

The document word is kept as `id_type_hint` exactly as the sender said it; the number is validated
against every type (people call their card "CCCD" whatever it is), so the service decides what the hint
is worth. Every step is linear in the text, and the length cap bounds the work for any input.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from subreg.domain.common.text import fold
from subreg.domain.id_documents.numbers import check_id_number

__all__ = [
    "MAX_TEXT_LENGTH",
    "Command",
    "Help",
    "IdQuery",
    "StatusQuery",
    "parse",
]

# Ten concatenated GSM parts: far more than any command with generous spacing, and a bound on the work.
MAX_TEXT_LENGTH = 1600

KEYWORD = "tttb"
_SEPARATORS = re.compile(r"[\s.,\-_:;!?\u2010-\u2015\u2212]+")
_HELP_WORDS = frozenset({"hd", "help", "huongdan", "trogiup"})
_FILLER = "so"
_ICAO_NUMBER_LENGTH = 9  # the MRZ's document number field
# Longest first, so that `cmtnd` is not read as `cmt` + `nd...`; "cc" last among the CCCD words.
_DOCUMENT_WORDS: tuple[tuple[str, str], ...] = (
    ("cancuoccongdan", "cccd"),
    ("passport", "passport"),
    ("hochieu", "passport"),
    ("cancuoc", "cccd"),
    ("cmtnd", "cmnd"),
    ("cccd", "cccd"),
    ("cmnd", "cmnd"),
    ("cmt", "cmnd"),
    ("cc", "cccd"),
    ("hc", "passport"),
)


@dataclass(frozen=True, slots=True)
class StatusQuery:
    """`TTTB`: what is registered for the sending number."""


@dataclass(frozen=True, slots=True)
class IdQuery:
    """`TTTB <ID>`: the numbers registered under an ID (answered only to a number registered under it)."""

    id_number: str  # normalized: ASCII digits, passport letters upper case
    id_type_hint: str | None  # "cccd", "cmnd", "passport" when the sender named the document, else None


@dataclass(frozen=True, slots=True)
class Help:
    """Anything else: the service answers with the help text. `reason` is a stable code for statistics."""

    reason: str  # "binary", "empty", "too_long", "help", "unknown_keyword", "bad_id_number"


Command = StatusQuery | IdQuery | Help


def parse(text: str | None) -> Command:
    """The command a message to 1414 asks for; never raises (a bad message is a `Help`)."""
    if text is None:
        return Help("binary")
    if len(text) > MAX_TEXT_LENGTH:
        return Help("too_long")
    key = _compact(text)
    if not key:
        return Help("help") if "?" in text else Help("empty")
    if key in _HELP_WORDS:
        return Help("help")
    if not key.startswith(KEYWORD):
        return Help("unknown_keyword")
    rest = key[len(KEYWORD) :]
    if not rest:
        return StatusQuery()
    if rest in _HELP_WORDS:
        return Help("help")
    return _id_query(rest) or Help("bad_id_number")


def _compact(text: str) -> str:
    # NFKC first: fold() drops marks but leaves full-width letters and digits as they are.
    return _SEPARATORS.sub("", fold(unicodedata.normalize("NFKC", text)))


def _id_query(rest: str) -> IdQuery | None:
    """The first reading of `rest` (after the keyword) whose number is possible."""
    for body in (rest[len(_FILLER) :], rest) if rest.startswith(_FILLER) else (rest,):
        for word, hint in _DOCUMENT_WORDS:
            if body.startswith(word):
                number = _possible_number(body[len(word) :], hint)
                if number is not None:
                    return IdQuery(number, hint)
        number = _possible_number(body, None)
        if number is not None:
            return IdQuery(number, None)
    return None


def _possible_number(raw: str, hint: str | None) -> str | None:
    """`raw` as a normalized ID number if some document can carry it, else None."""
    if raw.isdigit() and raw.isascii() and hint != "passport":
        if len(raw) == 12:
            return raw if check_id_number("cccd", raw) is None else None
        return raw if len(raw) == 9 else None
    number = raw.upper()
    if hint != "passport" and len(number) > _ICAO_NUMBER_LENGTH:
        return None
    return number if check_id_number("passport", number) is None else None
