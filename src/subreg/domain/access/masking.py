"""Masking of personal fields for display: enough to recognise a subscriber, not to copy their data.

Every masker keeps a value's rough shape (so a masked value still reads as an ID number, a name or a
date) and replaces the identifying part with `*`. Maskers are total: they accept any string and never
raise, because a response must not fail on one odd stored value. `mask_holder` and `mask_record`
apply an `access.FieldVisibility` to the data dictionary's shapes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from subreg.domain.access.permissions import FieldVisibility, Visibility
from subreg.domain.common.msisdn import parse_msisdn
from subreg.domain.common.text import nfc

__all__ = [
    "MASK",
    "mask_address",
    "mask_date",
    "mask_holder",
    "mask_id_number",
    "mask_msisdn",
    "mask_name",
    "mask_record",
    "mask_value",
]

MASK = "*"
# What a masked value with no specific masker becomes: says "there is a value" and nothing else.
_OPAQUE = "***"
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def mask_id_number(value: str) -> str:
    """`079212345656` -> `0792******56`: at most half the characters (and at most 4 + 2) stay visible.

    A 12-digit CCCD keeps its first 4 (province and century/gender digit) and last 2; shorter numbers
    (9-digit CMND, passports) keep fewer so that at least half is always masked. Length is kept.
    """
    s = "".join(nfc(value).split())
    n = len(s)
    reveal = min(6, n // 2)
    tail = reveal // 3
    head = reveal - tail
    return s[:head] + MASK * (n - reveal) + (s[n - tail :] if tail else "")


def _initial(word: str) -> str:
    # The first letter with its combining marks, in case a letter has no precomposed NFC form.
    end = 1
    while end < len(word) and unicodedata.combining(word[end]):
        end += 1
    return word[:end]


def mask_name(value: str, *, family_name_first: bool = True) -> str:
    """`Nguyễn Văn An` -> `Nguyễn V** A`: family name in full, middle names `X**`, given name's initial.

    The rule for a name of n words (NFC, white space collapsed): the family name is kept; the given
    name (the word one is called by) becomes its initial; every other word becomes its initial plus
    `**`. Vietnamese order is family-middle-given, so "Trần An" -> "Trần A" and a one-word name is
    treated as a given name, "An" -> "A**" (the stars mark it masked). With `family_name_first=False`
    (passport names in Western order: given-middle-family) "John Paul Smith" -> "J P** Smith".
    Compound family names ("Tôn Nữ") cannot be told from middle names and lose their second word.
    """
    words = nfc(value).split()
    if not words:
        return ""
    if len(words) == 1:
        return _initial(words[0]) + "**"
    if family_name_first:
        family, middle, given = words[0], words[1:-1], words[-1]
        return " ".join([family, *(_initial(w) + "**" for w in middle), _initial(given)])
    given, middle, family = words[0], words[1:-1], words[-1]
    return " ".join([_initial(given), *(_initial(w) + "**" for w in middle), family])


def mask_msisdn(value: str) -> str:
    """`+84901234567` -> `+84 90*****67`: country code, 2-digit network prefix, last 2 digits.

    Any form `parse_msisdn` accepts is shown in E.164; anything else is masked like an ID number.
    """
    e164 = parse_msisdn(value) if isinstance(value, str) else None
    if e164 is None:
        return mask_id_number(value)
    nsn = e164[3:]
    return f"+84 {nsn[:2]}{MASK * 5}{nsn[-2:]}"


def mask_date(value: str, *, keep: str = "day") -> str:
    """`1992-05-17` -> `****-**-17` (keep="day"), `1992-**-**` (keep="year") or `****-**-**` ("none")."""
    m = _DATE.fullmatch(nfc(value))
    if m is None:
        return "****-**-**"
    year, _month, day = m.groups()
    if keep == "year":
        return f"{year}-**-**"
    if keep == "day":
        return f"****-**-{day}"
    return "****-**-**"


_ADDRESS_SEPARATORS = re.compile(r"\s*(?:,|;|\s-\s)\s*")


def mask_address(value: str) -> str:
    """`Số 12 ngõ 34, Phường Dịch Vọng, Cầu Giấy, Hà Nội` -> `***, Hà Nội`: only the last part (province).

    Vietnamese addresses run from the house to the province, separated by commas (sometimes `;` or
    ` - `); an address with a single part cannot show where the province is, so it is masked whole.
    """
    parts = [p for p in _ADDRESS_SEPARATORS.split(nfc(value)) if p]
    if len(parts) < 2:
        return _OPAQUE
    return f"{_OPAQUE}, {parts[-1]}"


# How each person field is masked. Dates of birth keep the year (age checks); other dates too.
_MASKERS: dict[str, Callable[[str], str]] = {
    "full_name": mask_name,
    "id_number": mask_id_number,
    "date_of_birth": lambda v: mask_date(v, keep="year"),
    "id_issue_date": lambda v: mask_date(v, keep="year"),
    "id_expiry_date": lambda v: mask_date(v, keep="year"),
    "address": mask_address,
    "id_issue_place": mask_address,
}


def mask_value(name: str, value: Any) -> Any:
    """`value` of the person field `name` masked; None stays None, a non-string becomes `***`."""
    if value is None:
        return None
    masker = _MASKERS.get(name)
    if masker is None or not isinstance(value, str):
        return _OPAQUE
    return masker(value)


def mask_holder(holder: Mapping[str, Any], visibility: FieldVisibility) -> dict[str, Any]:
    """A holder (or guardian, or organization user) with `visibility` applied; hidden fields are left out."""
    out: dict[str, Any] = {}
    for name, value in holder.items():
        seen = visibility.of(name)
        if seen is Visibility.CLEAR:
            out[name] = value
        elif seen is Visibility.MASKED:
            if name == "full_name" and isinstance(value, str):
                # Passport names of foreigners are usually written given name first.
                vietnamese = holder.get("nationality") in (None, "", "VNM")
                out[name] = mask_name(value, family_name_first=vietnamese)
            else:
                out[name] = mask_value(name, value)
    return out


# Top-level fields that are not about a person: the subscription's own state. The MSISDN is the key
# the caller already used to find the record, so showing it reveals nothing new.
_SUBSCRIPTION_FIELDS = frozenset(
    {"msisdn", "subscriber_type", "payment_type", "activated_on", "channel", "point_of_sale", "purpose",
     "status", "contract_number"}
)  # fmt: skip


def mask_record(record: Mapping[str, Any], visibility: FieldVisibility) -> dict[str, Any]:
    """A subscription record (data dictionary shape) with `visibility` applied to every person in it.

    Document references are kept only when images are allowed; otherwise each present document
    shows as `***` so completeness stays visible. Unknown top-level keys are left out.
    """
    out: dict[str, Any] = {k: v for k, v in record.items() if k in _SUBSCRIPTION_FIELDS}
    for key in ("holder", "guardian"):
        person = record.get(key)
        if isinstance(person, Mapping):
            out[key] = mask_holder(person, visibility)
    org = record.get("organization")
    if isinstance(org, Mapping):
        # An organization is not a data subject; its users are.
        masked_org = {k: v for k, v in org.items() if k != "users"}
        users = org.get("users")
        if isinstance(users, list):
            masked_org["users"] = [mask_holder(u, visibility) for u in users if isinstance(u, Mapping)]
        out["organization"] = masked_org
    docs = record.get("documents")
    if isinstance(docs, Mapping):
        out["documents"] = dict(docs) if visibility.images else {k: _OPAQUE for k, v in docs.items() if v}
    return out
