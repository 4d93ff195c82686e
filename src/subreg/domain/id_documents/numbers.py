"""Identity-document numbers: CMND, CCCD (personal identification number) and passports.

Format rules only. A CCCD number is `PPP G YY RRRRRR`: PPP the province where the
birth was registered, G century and gender (even = male, odd = female; 0/1 = 1900s ... 8/9 = 2300s),
YY the last two digits of the birth year, RRRRRR random. PPP is "the code of the province OR of the
country where the birth was registered" (Decree 137/2015/ND-CP Art. 13): the 63 province codes
all start with 0, and a PPP whose first digit is not 0 is a foreign-country code (Circular
07/2016/TT-BCA, docs/domain-facts.md §5), given to citizens whose birth was registered abroad. We do not
hold the country table, so any such code is accepted; a code starting with 0 must be one of the 63
(`unknown_province_code` otherwise). Numbers are assigned for life, so the 2025 province merger
does not change them (the 63 codes stay valid).

`check_id_number` runs for every record of a bulk check, so it uses slicing and dict look-ups only
and raises nothing; error codes are returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from subreg.domain.common.errors import FieldValueError
from subreg.domain.id_documents.types import ND49_ID_TYPE_SPECS

__all__ = [
    "ID_TYPES",
    "PROVINCES",
    "CccdInfo",
    "cccd_consistency",
    "check_id_number",
    "is_known_place_code",
    "make_cccd",
    "normalize_id_number",
    "parse_cccd",
]

# The names of the Decree 49/2017 ID types, declared with their rules in `types.py`.
ID_TYPES: tuple[str, ...] = tuple(spec.name for spec in ND49_ID_TYPE_SPECS)

# Province of birth registration -> name: the 63 provinces before the 2025 merger
# (the same list as `vn-provinces.json` in the public repository hongquan/vietnam-personal-id).
PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hoà Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa–Vũng Tàu",
    "079": "TP Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

MALE = "male"
FEMALE = "female"

_PASSPORT = re.compile(r"[A-Z0-9]{6,20}")
_HAS_DIGIT = re.compile(r"[0-9]")
# Separators people type inside ID numbers; everything else is kept so that bad input stays bad.
_ID_SEPARATORS = re.compile(r"[\s.\-]+")


@dataclass(frozen=True, slots=True)
class CccdInfo:
    """What a CCCD number says about its holder."""

    province_code: str
    gender: str  # "male" / "female"
    birth_year: int


def _is_digits(s: str, n: int) -> bool:
    # str.isdigit alone accepts non-ASCII digits such as "٣" or "²".
    return len(s) == n and s.isdigit() and s.isascii()


def is_known_place_code(code: str) -> bool:
    """Whether a CCCD's first 3 digits can be a birth-registration place: one of the 63 province codes,
    or a foreign-country code (first digit not 0)."""
    return code in PROVINCES or code[:1] != "0"


def parse_cccd(number: str) -> CccdInfo:
    """Place code, gender and birth year encoded in a 12-digit CCCD number; raises FieldValueError.

    `province_code` is a foreign-country code when its first digit is not 0 (birth registered abroad).
    """
    if not (isinstance(number, str) and _is_digits(number, 12)):
        raise FieldValueError("invalid_id_number")
    province = number[:3]
    if not is_known_place_code(province):
        raise FieldValueError("unknown_province_code")
    g = ord(number[3]) - 48
    return CccdInfo(
        province_code=province,
        gender=FEMALE if g & 1 else MALE,
        birth_year=(g // 2 + 19) * 100 + int(number[4:6]),
    )


def normalize_id_number(id_type: str, raw: str) -> str:
    """The ID number without spaces, dots and dashes; passport numbers uppercased."""
    s = _ID_SEPARATORS.sub("", raw)
    return s.upper() if id_type == "passport" else s


def check_id_number(id_type: str, number: str) -> str | None:
    """The error code for a (normalized) ID number of `id_type`, or None when its format is valid."""
    if id_type == "cccd":
        if not _is_digits(number, 12):
            return "invalid_id_number"
        return None if number[:3] in PROVINCES or number[0] != "0" else "unknown_province_code"
    if id_type == "cmnd":
        # 9 digits (old card) or 12 digits (late CMND variant, same length as a CCCD).
        n = len(number)
        if (n == 9 or n == 12) and number.isdigit() and number.isascii():
            return None
        return "invalid_id_number"
    if id_type == "passport":
        if _PASSPORT.fullmatch(number) and _HAS_DIGIT.search(number):
            return None
        return "invalid_id_number"
    return "invalid_choice"


def cccd_consistency(number: str, *, gender: str | None, birth_year: int | None) -> list[str]:
    """Codes for the given fields that disagree with the CCCD number (skips fields that are None).

    A number that is not 12 ASCII digits yields no codes: `check_id_number` reports it already.
    An unknown province does not stop these checks, since G and YY are still readable.
    """
    if not (isinstance(number, str) and _is_digits(number, 12)):
        return []
    g = ord(number[3]) - 48
    codes: list[str] = []
    if gender is not None and gender != (FEMALE if g & 1 else MALE):
        codes.append("id_gender_mismatch")
    if birth_year is not None and birth_year != (g // 2 + 19) * 100 + int(number[4:6]):
        codes.append("id_birth_year_mismatch")
    return codes


def make_cccd(province_code: str, gender: str, birth_year: int, serial: int) -> str:
    """The CCCD number for these facts (inverse of `parse_cccd`), e.g. for synthetic data.

    Any 3-digit province code is accepted, so that generators can also make numbers with an
    unknown province on purpose; raises ValueError for impossible arguments.
    """
    if not _is_digits(province_code, 3):
        raise ValueError("province_code must be 3 digits")
    if gender not in (MALE, FEMALE):
        raise ValueError("gender must be 'male' or 'female'")
    if not 1900 <= birth_year <= 2399:
        raise ValueError("birth_year must be within 1900-2399")
    if not 0 <= serial <= 999_999:
        raise ValueError("serial must be within 0-999999")
    g = (birth_year // 100 - 19) * 2 + (gender == FEMALE)
    return f"{province_code}{g}{birth_year % 100:02d}{serial:06d}"
