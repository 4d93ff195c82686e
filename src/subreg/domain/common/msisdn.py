"""Vietnamese mobile numbers (MSISDN): parsing to E.164, integer keys and the prefix table.

subreg keeps its OWN prefix table instead of asking `phonenumbers` at run time:
the library rejects MobiFone's 0890-0895, knows nothing of the pre-2018 11-digit numbers, and is far
too slow for checking 100,000 records a second. `parse_msisdn` is a handful of slicing and dict
look-ups, with no exception on any path.

Known, deliberate differences from phonenumbers 9.0.x (tests/unit/test_msisdn.py asserts them):
we accept 0890-0895 (MobiFone), all of 052x (Vietnamobile), all of 055x (Reddi) and 0992;
we reject 030, 031, 051, 095 (not allocated to a mobile operator in our sources), 0990-0991 and
the 9-digit "0121x/0140/0160" M2M-style ranges.
"""

from __future__ import annotations

from subreg.domain.common.errors import FieldValueError

__all__ = [
    "GMOBILE",
    "ITEL",
    "MOBIFONE",
    "MOBILE_PREFIXES",
    "NETWORK_NAMES",
    "OLD_TO_NEW_PREFIX",
    "REDDI",
    "VIETNAMOBILE",
    "VIETTEL",
    "VINAPHONE",
    "msisdn_from_key",
    "msisdn_key",
    "network_of",
    "normalize_msisdn",
    "parse_msisdn",
]

# Network identifiers: stable lowercase slugs (safe for JSON and DB columns).
VIETTEL = "viettel"
VINAPHONE = "vinaphone"
MOBIFONE = "mobifone"
VIETNAMOBILE = "vietnamobile"
GMOBILE = "gmobile"
REDDI = "reddi"
ITEL = "itel"

NETWORK_NAMES: dict[str, str] = {
    VIETTEL: "Viettel",
    VINAPHONE: "VinaPhone",
    MOBIFONE: "MobiFone",
    VIETNAMOBILE: "Vietnamobile",
    GMOBILE: "Gmobile",
    REDDI: "Reddi (Wintel)",
    ITEL: "Indochina Telecom (iTel)",
}


def _block(network: str, *prefixes: str) -> dict[str, str]:
    return dict.fromkeys(prefixes, network)


# National prefix (with trunk 0; 3 or 4 digits) -> network, as allocated to the mobile operators.
# Longest prefix wins; 099 is split per 4-digit block, 0990-0992 are not documented as mobile.
MOBILE_PREFIXES: dict[str, str] = {
    **_block(VIETTEL, "032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"),
    **_block(VINAPHONE, "081", "082", "083", "084", "085", "088", "091", "094"),
    # 087 is listed under VinaPhone by libphonenumber; it is the iTel MVNO's range (hosted on VinaPhone).
    **_block(ITEL, "087", "0998", "0999"),
    # 089 includes 0890-0895, which libphonenumber rejects but MobiFone sells.
    **_block(MOBIFONE, "070", "076", "077", "078", "079", "089", "090", "093"),
    **_block(VIETNAMOBILE, "052", "056", "058", "092"),
    **_block(GMOBILE, "059", "0993", "0994", "0995", "0996", "0997"),
    **_block(REDDI, "055"),
}

# The 2018 conversion of 11-digit numbers (15/9/2018): only the prefix changed, the last 7 digits stayed.
OLD_TO_NEW_PREFIX: dict[str, str] = {
    # Viettel
    "0162": "032", "0163": "033", "0164": "034", "0165": "035",
    "0166": "036", "0167": "037", "0168": "038", "0169": "039",
    # MobiFone
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    # VinaPhone
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    # Vietnamobile
    "0186": "056", "0188": "058",
    # Gmobile
    "0199": "059",
}  # fmt: skip

# The same tables keyed by the national significant number (no trunk 0), for slicing without copies.
_NSN_PREFIX2: dict[str, str] = {p[1:]: n for p, n in MOBILE_PREFIXES.items() if len(p) == 3}
_NSN_PREFIX3: dict[str, str] = {p[1:]: n for p, n in MOBILE_PREFIXES.items() if len(p) == 4}
_OLD_NSN: dict[str, str] = {o[1:]: n[1:] for o, n in OLD_TO_NEW_PREFIX.items()}


def _strip_separators(raw: str) -> str:
    # Chained str.replace is ~4x faster than str.translate or re.sub on such short strings.
    s = raw.replace(" ", "").replace(".", "").replace("-", "").replace("(", "").replace(")", "")
    if not (s[1:] if s[:1] == "+" else s).isdigit():
        s = "".join(s.split())  # rarer whitespace: tabs, no-break spaces, newlines
    return s


def parse_msisdn(raw: str) -> str | None:
    """The E.164 form `+84xxxxxxxxx` of a Vietnamese mobile number in any common form, else None."""
    if not isinstance(raw, str):
        return None
    if raw.isdigit():
        # Fast path for the two forms bulk files mostly hold: 0901234567 and 84901234567.
        if len(raw) == 10 and raw[0] == "0" and raw.isascii():
            if raw[1:3] in _NSN_PREFIX2 or raw[1:4] in _NSN_PREFIX3:
                return "+84" + raw[1:]
            return None
        if len(raw) == 11 and raw[:2] == "84" and raw.isascii():
            if raw[2:4] in _NSN_PREFIX2 or raw[2:5] in _NSN_PREFIX3:
                return "+" + raw
            return None
        s = raw
    elif len(raw) == 12 and raw[:3] == "+84" and raw[3:].isdigit() and raw.isascii():
        # Fast path for E.164 itself (re-checking stored data).
        if raw[3:5] in _NSN_PREFIX2 or raw[3:6] in _NSN_PREFIX3:
            return raw
        return None
    else:
        s = _strip_separators(raw)
    after_country_code = True
    if s[:1] == "+":
        if s[1:3] != "84":
            return None
        nsn = s[3:]
    elif s[:4] == "0084":
        nsn = s[4:]
    elif s[:1] == "0":
        nsn = s[1:]
        after_country_code = False
    elif s[:2] == "84" and (len(s) == 11 or len(s) == 12):
        nsn = s[2:]
    else:
        # A national number that lost its trunk 0 (spreadsheets store numbers as integers).
        nsn = s
        after_country_code = False
    if after_country_code and nsn[:1] == "0":
        nsn = nsn[1:]  # "+84 (0)90 ..." writes the trunk 0 after the country code
    if not (nsn.isdigit() and nsn.isascii()):
        return None
    n = len(nsn)
    if n == 10:
        new = _OLD_NSN.get(nsn[:3])
        if new is None:
            return None
        nsn = new + nsn[3:]
    elif n != 9:
        return None
    if nsn[:2] in _NSN_PREFIX2 or nsn[:3] in _NSN_PREFIX3:
        return "+84" + nsn
    return None


def normalize_msisdn(raw: str) -> str:
    """The E.164 form of a Vietnamese mobile number; raises FieldValueError("invalid_msisdn")."""
    e164 = parse_msisdn(raw)
    if e164 is None:
        raise FieldValueError("invalid_msisdn", "msisdn")
    return e164


def _is_e164(e164: str) -> bool:
    return isinstance(e164, str) and len(e164) == 12 and e164[:3] == "+84" and e164[3:].isdigit()


def msisdn_key(e164: str) -> int:
    """The integer database key of an E.164 number, e.g. +84901234567 -> 84901234567."""
    if not (_is_e164(e164) and e164.isascii()):
        raise FieldValueError("invalid_msisdn", "msisdn")
    return int(e164[1:])


def msisdn_from_key(key: int) -> str:
    """The E.164 number of an integer database key (inverse of `msisdn_key`)."""
    if not (isinstance(key, int) and 84_000_000_000 <= key <= 84_999_999_999):
        raise FieldValueError("invalid_msisdn", "msisdn")
    return "+" + str(key)


def network_of(e164: str) -> str | None:
    """The network that was allocated the number's prefix (a slug of NETWORK_NAMES), or None.

    Informational only: mobile number portability (since 16/11/2018) lets a subscriber keep the
    number when moving to another operator, so the prefix does not prove the current operator;
    ask the MNP database for that.
    """
    e = e164 if _is_e164(e164) else parse_msisdn(e164)
    if e is None:
        return None
    nsn = e[3:]
    return _NSN_PREFIX3.get(nsn[:3]) or _NSN_PREFIX2.get(nsn[:2])
