"""GSM 03.38 text: which characters a 7-bit SMS can carry, what they cost, and Vietnamese made to fit.

An SMS in the GSM 7-bit default alphabet holds 160 septets; in UCS-2 only 70 characters. Vietnamese
needs UCS-2 for its accents, so replies go out unaccented in GSM 7-bit unless the operator allows UCS-2
(more parts, so more cost). The extension table's characters (`^{}\\[~]|€` and form feed) are sent as
ESC + a code, so they cost two septets and must never be split from their escape across parts.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

__all__ = [
    "BASIC",
    "EXTENSION",
    "SUBSTITUTE",
    "Encoding",
    "choose_encoding",
    "is_gsm7",
    "septet_cost",
    "septets",
    "unaccent",
]

Encoding = Literal["gsm7", "ucs2"]

# The default alphabet in code order (3GPP TS 23.038 §6.2.1); 0x1B is the escape to the extension table.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
BASIC: dict[str, int] = {c: i for i, c in enumerate(_BASIC_TABLE) if c != "\x1b"}
EXTENSION: dict[str, int] = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
                             "]": 0x3E, "|": 0x40, "€": 0x65}  # fmt: skip
SUBSTITUTE = "?"

# The marks Vietnamese puts on vowels: the five tones (grave, acute, tilde, hook above, dot below) and
# the letter marks (circumflex, breve, horn). In NFD they follow the base vowel in any order.
_VIETNAMESE_MARKS = re.compile(r"(?<=[AEIOUYaeiouy])[\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b]+")
# Letters without a combining mark to drop, and typography with a plain GSM spelling.
_PLAIN = str.maketrans(
    {
        "Đ": "D",
        "đ": "d",
        "Ð": "D",  # the Icelandic eth, often typed for Đ
        "\t": " ",
        "\u00a0": " ",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "−": "-",
        "•": "-",
    }
)


def septet_cost(char: str) -> int:
    """Septets one character takes in GSM 7-bit: 1 (basic), 2 (extension, ESC + code); ValueError otherwise."""
    if char in BASIC:
        return 1
    if char in EXTENSION:
        return 2
    # The position is not known here and the character itself may be personal data: say only what.
    raise ValueError("character outside the GSM 03.38 alphabet")


def is_gsm7(text: str) -> bool:
    """Whether every character of `text` is in the GSM 7-bit alphabet (basic or extension table)."""
    return all(c in BASIC or c in EXTENSION for c in text)


def septets(text: str) -> int:
    """The septets `text` takes in GSM 7-bit (extension characters count 2); ValueError if it does not fit."""
    return sum(septet_cost(c) for c in text)


def unaccent(text: str) -> str:
    """`text` in the GSM 7-bit alphabet: Vietnamese without accents, anything else unsendable as `?`.

    Every Vietnamese vowel loses its tone and letter marks, precomposed or decomposed (`Nguyễn` ->
    `Nguyen`, `Đ` -> `D`), including those GSM could carry (`à`, `é`), so a text never comes out half
    accented. Other characters are kept when GSM has them (`Ä`, `ñ`, `€`), else replaced by their
    compatibility form (full-width letters), by their base letter (`ç` -> `c`) or by `?`.
    """
    s = _VIETNAMESE_MARKS.sub("", unicodedata.normalize("NFD", text))
    s = unicodedata.normalize("NFC", s).translate(_PLAIN)
    if is_gsm7(s):
        return s
    return "".join(c if c in BASIC or c in EXTENSION else _substitute(c) for c in s)


def _substitute(char: str) -> str:
    for candidate in (
        unicodedata.normalize("NFKC", char),
        "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)),
    ):
        if candidate and is_gsm7(candidate):
            return candidate
    return SUBSTITUTE


def choose_encoding(text: str, allow_ucs2: bool) -> tuple[Encoding, str]:
    """How to send `text`: GSM 7-bit when it fits as is; else UCS-2 if allowed; else GSM 7-bit unaccented.

    The text is taken in NFC first, so a decomposed accent GSM has (`e` + U+0301 = `é`) still fits, and a
    UCS-2 text spends one code unit per accented letter rather than two or three.
    """
    s = unicodedata.normalize("NFC", text)
    if is_gsm7(s):
        return "gsm7", s
    if allow_ucs2:
        return "ucs2", s
    return "gsm7", unaccent(s)
