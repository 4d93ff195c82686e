"""Vietnamese text: normalization for storage, folding for comparison, MRZ transliteration."""

from __future__ import annotations

import unicodedata

__all__ = ["fold", "nfc", "to_mrz_name"]

# Letters that carry no combining mark to drop, but have a conventional Latin spelling.
# Đ/đ matter most for Vietnamese; the others follow the ICAO 9303 transliteration table.
_LATIN_EXTRA = str.maketrans(
    {
        "Đ": "D",
        "đ": "d",
        "Ð": "D",
        "ð": "d",
        "Æ": "AE",
        "æ": "ae",
        "Ø": "OE",
        "ø": "oe",
        "Œ": "OE",
        "œ": "oe",
        "Þ": "TH",
        "þ": "th",
        "ß": "ss",
        "Ł": "L",
        "ł": "l",
        "ı": "i",
    }
)
# ICAO 9303 omits apostrophes in names rather than turning them into fillers.
_APOSTROPHES = str.maketrans("", "", "'’ʼ`")


def nfc(s: str) -> str:
    """`s` in Unicode NFC, stripped, with internal whitespace collapsed to single spaces."""
    return " ".join(unicodedata.normalize("NFC", s).split())


def _strip_marks(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


def fold(s: str) -> str:
    """A comparison key: no diacritics (Đ → D), case-folded, whitespace collapsed."""
    if s.isascii():
        return " ".join(s.lower().split())
    # NFD before and after casefold is Unicode's canonical caseless match (D145); it makes the key
    # independent of the input's normalization form, so fold(nfc(x)) == fold(x).
    s = unicodedata.normalize("NFD", s).casefold()
    return " ".join(_strip_marks(s).translate(_LATIN_EXTRA).split())


def to_mrz_name(s: str) -> str:
    """`s` transliterated to what an MRZ can hold: ASCII A-Z and single spaces."""
    s = _strip_marks(s.translate(_APOSTROPHES).translate(_LATIN_EXTRA).upper())
    # Anything that is still not A-Z (hyphens, digits, other scripts) separates name parts.
    return " ".join("".join(c if "A" <= c <= "Z" else " " for c in s).split())
