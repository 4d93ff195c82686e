"""The storage form of a record: the rule set's fields only, canonical values, absent values dropped.

Only normalizations that cannot change a check's verdict are applied (NFC and white space in free
text, separators in ID numbers, case of enum values and nationality, E.164 for a valid msisdn).
Malformed values are kept as given so that a re-check reports the same errors; dates stay the
strings they were (a `date` object becomes its ISO string). Keys the rule set does not declare are
dropped: storage keeps exactly the vocabulary of the rule set the record was checked under
(`RecordNormalizer` is built from the rule set's declarations). A declared field without a
normalizer here is kept as given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from subreg.domain.common.msisdn import parse_msisdn
from subreg.domain.common.text import nfc
from subreg.domain.compliance.records import (
    GENDERS,
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

__all__ = ["SECTIONS", "Normalizer", "RecordNormalizer", "normalizer_for"]

Normalizer = Callable[[Any], Any]
# Top-level keys holding objects rather than values.
SECTIONS = ("holder", "guardian", "organization", "documents")


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


def _enum(values: tuple[str, ...]) -> Normalizer:
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


def _id_reference(v: Any) -> Any:
    # An ID number given as a reference (an old CMND number, the line user's ID): no separators,
    # letters uppercased like a passport number, so that it compares equal to the stored number.
    return normalize_id_number("passport", v) if isinstance(v, str) and len(v) <= MAX_CODE else v


def _keep(v: Any) -> Any:
    return v


# Normalizers by field name; `id_type` and `channel` are built from the rule set's own values.
PERSON_NORMALIZERS: dict[str, Normalizer] = {
    "full_name": _name,
    "date_of_birth": _date,
    "birth_year": _birth_year,
    "gender": _enum(GENDERS),
    "nationality": _nationality,
    "id_number": _keep,  # needs the id_type: see RecordNormalizer._person
    "id_issue_date": _date,
    "id_issue_place": _name,
    "id_expiry_date": _date,
    "address": _address,
    "relationship": _name,
    "previous_id_number": _id_reference,
}
TOP_NORMALIZERS: dict[str, Normalizer] = {
    "subscriber_type": _enum(SUBSCRIBER_TYPES),
    "payment_type": _enum(PAYMENT_TYPES),
    "activated_on": _date,
    "point_of_sale": _code,
    "contract_number": _code,
    "purpose": _enum(PURPOSES),
    "status": _enum(STATUSES),
}
ORGANIZATION_NORMALIZERS: dict[str, Normalizer] = {
    "name": _name,
    "registration_number": _code,
    "registration_date": _date,
    "address": _address,
    "signer_is_representative": _keep,
    "line_user": _id_reference,
}
_KINDS: dict[str, Normalizer] = {"name": _name, "address": _address, "code": _code, "date": _date, "keep": _keep}


def normalizer_for(kind: str) -> Normalizer:
    """A stock normalizer a rule set can give a field it adds: "name", "address", "code", "date" or "keep"."""
    return _KINDS[kind]


class RecordNormalizer:
    """Builds the storage form of records for one rule set's vocabulary (call it with a record)."""

    def __init__(
        self,
        *,
        id_types: tuple[str, ...],
        channels: tuple[str, ...],
        top_level_fields: tuple[str, ...],
        holder_fields: tuple[str, ...],
        guardian_fields: tuple[str, ...],
        user_fields: tuple[str, ...],
        organization_fields: tuple[str, ...],
        document_kinds: tuple[str, ...],
        extra: Mapping[str, Normalizer] | None = None,
    ) -> None:
        person = {**PERSON_NORMALIZERS, "id_type": _enum(id_types), **(extra or {})}
        top = {**TOP_NORMALIZERS, "channel": _enum(channels), **(extra or {})}
        org = {**ORGANIZATION_NORMALIZERS, **(extra or {})}
        self._top = {f: top.get(f, _keep) for f in top_level_fields if f != "msisdn" and f not in SECTIONS}
        self._holder = {f: person.get(f, _keep) for f in holder_fields}
        self._guardian = {f: person.get(f, _keep) for f in guardian_fields}
        self._user = {f: person.get(f, _keep) for f in user_fields}
        self._org = {f: org.get(f, _keep) for f in organization_fields if f != "users"}
        self._users = "users" in organization_fields
        self._docs = document_kinds
        self._sections = tuple(s for s in SECTIONS if s in top_level_fields)

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The storage form of `record` (derived values are applied by the rule set)."""
        out: dict[str, Any] = {}
        v = record.get("msisdn")
        if not is_absent(v):
            e164 = parse_msisdn(str(v)) if isinstance(v, str | int) and not isinstance(v, bool) else None
            out["msisdn"] = e164 if e164 is not None else (v.strip() if isinstance(v, str) else v)
        for name, fn in self._top.items():
            v = record.get(name)
            if not is_absent(v):
                out[name] = fn(v)
        for name in self._sections:
            v = record.get(name)
            if is_absent(v):
                continue
            if not isinstance(v, Mapping):
                out[name] = v  # a malformed container is kept as given so that the re-check reports it again
            elif name == "holder":
                out[name] = self._person(v, self._holder)
            elif name == "guardian":
                out[name] = self._person(v, self._guardian)
            elif name == "organization":
                out[name] = self._organization(v)
            else:
                out[name] = {k: _ref(v[k]) for k in self._docs if not is_absent(v.get(k))}
        return out

    @staticmethod
    def _person(obj: Mapping[str, Any], fields: dict[str, Normalizer]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, fn in fields.items():
            v = obj.get(name)
            if not is_absent(v):
                out[name] = fn(v)
        number = out.get("id_number")
        if isinstance(number, str):
            id_type = out.get("id_type")
            out["id_number"] = normalize_id_number(id_type if isinstance(id_type, str) else "", number)
        return out

    def _organization(self, org: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, fn in self._org.items():
            v = org.get(name)
            if not is_absent(v):
                out[name] = fn(v)
        if self._users:
            users = org.get("users")
            if isinstance(users, list):
                out["users"] = [self._person(u, self._user) if isinstance(u, Mapping) else u for u in users]
            elif not is_absent(users):
                out["users"] = users
        return out
