"""The storage form of a record: known fields only, canonical values, absent values dropped.

Only normalizations that cannot change a check's verdict are applied (NFC and white space in free
text, separators in ID numbers, case of enum values and nationality, E.164 for a valid msisdn).
Malformed values are kept as given so that a re-check reports the same errors; dates stay the
strings they were (a `date` object becomes its ISO string). Unknown keys are dropped: storage keeps
only what the data dictionary names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from subreg.domain.common.msisdn import parse_msisdn
from subreg.domain.common.text import nfc
from subreg.domain.compliance.records import (
    CHANNELS,
    DOCUMENT_KINDS,
    GENDERS,
    GUARDIAN_FIELDS,
    HOLDER_FIELDS,
    MAX_ADDRESS,
    MAX_CODE,
    MAX_NAME,
    MAX_REF,
    PAYMENT_TYPES,
    PURPOSES,
    STATUSES,
    SUBSCRIBER_TYPES,
    is_absent,
)
from subreg.domain.id_documents.numbers import normalize_id_number

__all__ = ["normalize_record"]


# A value over its length limit is kept as given: shortening it here would turn a `too_long` error
# into a valid value behind the user's back.


def _name(v: Any) -> Any:
    return nfc(v) if isinstance(v, str) and len(v) <= MAX_NAME else v


def _address(v: Any) -> Any:
    return nfc(v) if isinstance(v, str) and len(v) <= MAX_ADDRESS else v


def _code(v: Any) -> Any:
    return v.strip() if isinstance(v, str) and len(v) <= MAX_CODE else v


def _ref(v: Any) -> Any:
    return v.strip() if isinstance(v, str) and len(v) <= MAX_REF else v


def _date(v: Any) -> Any:
    return v.isoformat() if v.__class__ is date else v


def _enum(values: tuple[str, ...]) -> Callable[[Any], Any]:
    allowed = frozenset(values)

    def canonical(v: Any) -> Any:
        if isinstance(v, str):
            low = v.strip().lower()
            if low in allowed:
                return low
        return v

    return canonical


def _nationality(v: Any) -> Any:
    if isinstance(v, str):
        s = v.strip()
        if len(s) == 3 and s.isalpha() and s.isascii():
            return s.upper()
    return v


def _birth_year(v: Any) -> Any:
    if isinstance(v, str) and len(v) == 4 and v.isdigit() and v.isascii():
        return int(v)
    return v


def _keep(v: Any) -> Any:
    return v


_PERSON: dict[str, Callable[[Any], Any]] = {
    "full_name": _name,
    "date_of_birth": _date,
    "birth_year": _birth_year,
    "gender": _enum(GENDERS),
    "nationality": _nationality,
    "id_type": _enum(("cmnd", "cccd", "passport")),
    "id_number": _keep,  # needs the id_type: see _person
    "id_issue_date": _date,
    "id_issue_place": _name,
    "id_expiry_date": _date,
    "address": _address,
    "relationship": _name,
}
assert set(_PERSON) == set(GUARDIAN_FIELDS) >= set(HOLDER_FIELDS)

_TOP: dict[str, Callable[[Any], Any]] = {
    "subscriber_type": _enum(SUBSCRIBER_TYPES),
    "payment_type": _enum(PAYMENT_TYPES),
    "activated_on": _date,
    "channel": _enum(CHANNELS),
    "point_of_sale": _code,
    "contract_number": _code,
    "purpose": _enum(PURPOSES),
    "status": _enum(STATUSES),
}
_ORG: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "registration_number": _code,
    "registration_date": _date,
    "address": _address,
    "signer_is_representative": _keep,
}


def _person(obj: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        v = obj.get(name)
        if not is_absent(v):
            out[name] = _PERSON[name](v)
    number = out.get("id_number")
    if isinstance(number, str):
        id_type = out.get("id_type")
        out["id_number"] = normalize_id_number(id_type if isinstance(id_type, str) else "", number)
    return out


def _object(obj: Any, build: Callable[[Mapping[str, Any]], dict[str, Any]]) -> Any:
    # A malformed container is kept as given so that the re-check reports it again.
    return build(obj) if isinstance(obj, Mapping) else obj


def _organization(org: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, fn in _ORG.items():
        v = org.get(name)
        if not is_absent(v):
            out[name] = fn(v)
    users = org.get("users")
    if isinstance(users, list):
        out["users"] = [_object(u, lambda o: _person(o, HOLDER_FIELDS)) for u in users]
    elif not is_absent(users):
        out["users"] = users
    return out


def _documents(docs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ref(docs[k]) for k in DOCUMENT_KINDS if not is_absent(docs.get(k))}


def normalize_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The storage form of `record` (derived values are applied by the rule set)."""
    out: dict[str, Any] = {}
    v = record.get("msisdn")
    if not is_absent(v):
        e164 = parse_msisdn(str(v)) if isinstance(v, str | int) and not isinstance(v, bool) else None
        out["msisdn"] = e164 if e164 is not None else (v.strip() if isinstance(v, str) else v)
    for name, fn in _TOP.items():
        v = record.get(name)
        if not is_absent(v):
            out[name] = fn(v)
    for name, build in (
        ("holder", lambda o: _person(o, HOLDER_FIELDS)),
        ("guardian", lambda o: _person(o, GUARDIAN_FIELDS)),
        ("organization", _organization),
        ("documents", _documents),
    ):
        v = record.get(name)
        if not is_absent(v):
            out[name] = _object(v, build)
    return out
