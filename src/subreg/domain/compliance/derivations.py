"""Values staff may fill in without asking the subscriber, because the papers already say them.

A derivation only fills an ABSENT value and never overrides one that was given: when a given value
disagrees with the document (a CCCD's gender digit, a CMND with a foreign nationality), that is an
error of the rule set (`id_gender_mismatch`, `nationality_mismatch`, ...), not a derivation.

Each derived value is reported in a check result's `derived` as `{path: value}`; `SOURCES` records
the provenance of every kind of derivation (the field it was read from):

* `<person>.nationality` from `<person>.id_type`: `cmnd` / `cccd` are issued to Vietnamese citizens
  only, so `VNM`;
* `<person>.gender` from `<person>.id_number`: a valid CCCD's 4th digit, even = male, odd = female;
* `<person>.birth_year` from `<person>.id_number`: a valid CCCD's century digit and digits 5-6, only
  when there is no `date_of_birth`;
* `purpose` from `subscriber_type`: an individual subscriber's line is `personal_use`;
* `subscriber_type` from `organization`, when absent: `organization` when an organization object is
  given, else `individual`.

Birth year: a CCCD number gives the year of birth, never the day, so `date_of_birth` can NOT be
derived and stays missing. The year is stored in subreg's own field `<person>.birth_year` (an int)
so that later checks (e.g. the under-14 rule for a year-only record, population-DB matching) can use
it; it is derived only when `date_of_birth` is absent, since the date already holds the year.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from datetime import date
from typing import Any

from subreg.domain.compliance.records import INDIVIDUAL, ORGANIZATION, is_absent
from subreg.domain.id_documents.numbers import check_id_number, normalize_id_number

__all__ = [
    "DERIVABLE_PERSON_FIELDS",
    "INDIVIDUAL_PURPOSE",
    "NATIONALITY_BY_ID_TYPE",
    "PERSONAL_NUMBER_ID_TYPES",
    "SOURCES",
    "derive",
    "derive_person",
    "derive_record",
]

# ID types only a Vietnamese citizen can hold (the nd49-2017 declarations; a rule set passes its own).
NATIONALITY_BY_ID_TYPE: dict[str, str] = {"cmnd": "VNM", "cccd": "VNM"}
# ID types whose number is the 12-digit personal identification number (gender and year digits).
PERSONAL_NUMBER_ID_TYPES: frozenset[str] = frozenset({"cccd"})

INDIVIDUAL_PURPOSE = "personal_use"

# Person fields a derivation may fill (`derive_person`).
DERIVABLE_PERSON_FIELDS = frozenset({"nationality", "gender", "birth_year"})

# Derived field (relative to the person for person fields) -> the field it is read from.
SOURCES: dict[str, str] = {
    "nationality": "id_type",
    "gender": "id_number",
    "birth_year": "id_number",
    "purpose": "subscriber_type",
    "subscriber_type": "organization",
}


def derive_person(
    id_type: str | None,
    id_number: str | None,
    gender: str | None,
    nationality: str | None,
    has_date_of_birth: bool,
    birth_year: int | None = None,
    nationality_by_type: Mapping[str, str] = NATIONALITY_BY_ID_TYPE,
    personal_number_types: Container[str] = PERSONAL_NUMBER_ID_TYPES,
    max_birth_year: int | None = None,
) -> dict[str, object]:
    """Person fields (relative names) that can be filled from the ID document; absent inputs are None.

    `id_type` and `id_number` must already be normalized; `id_number` is used only when its format
    is valid (check_id_number returns no error) and, given `max_birth_year` (the year of `as_of`),
    when the birth year it encodes is not in the future: an impossible number derives nothing.
    """
    out: dict[str, object] = {}
    if nationality is None:
        nat = nationality_by_type.get(id_type) if id_type else None
        if nat is not None:
            out["nationality"] = nat
    if (
        id_type in personal_number_types
        and id_number is not None
        and (gender is None or (not has_date_of_birth and birth_year is None))
        and check_id_number("cccd", id_number) is None
    ):
        g = ord(id_number[3]) - 48
        year = (g // 2 + 19) * 100 + int(id_number[4:6])
        if max_birth_year is not None and year > max_birth_year:
            return out
        if gender is None:
            out["gender"] = "female" if g & 1 else "male"
        if not has_date_of_birth and birth_year is None:
            out["birth_year"] = year
    return out


def derive_record(subscriber_type: str | None, has_organization: bool, purpose: str | None) -> dict[str, object]:
    """Top-level fields that can be filled from the record's shape; absent inputs are None."""
    out: dict[str, object] = {}
    kind = subscriber_type
    if kind is None:
        kind = ORGANIZATION if has_organization else INDIVIDUAL
        out["subscriber_type"] = kind
    if purpose is None and kind == INDIVIDUAL:
        out["purpose"] = INDIVIDUAL_PURPOSE
    return out


def _text(value: object) -> str | None:
    return None if is_absent(value) or not isinstance(value, str) else value.strip()


def _person(obj: Mapping[str, Any], prefix: str, max_birth_year: int | None) -> dict[str, object]:
    id_type = _text(obj.get("id_type"))
    id_type = id_type.lower() if id_type else None
    raw_number = _text(obj.get("id_number"))
    number = normalize_id_number(id_type or "", raw_number) if raw_number else None
    birth_year = obj.get("birth_year")
    found = derive_person(
        id_type=id_type,
        id_number=number,
        gender=None if is_absent(obj.get("gender")) else str(obj.get("gender")),
        nationality=None if is_absent(obj.get("nationality")) else str(obj.get("nationality")),
        has_date_of_birth=not is_absent(obj.get("date_of_birth")),
        birth_year=None if is_absent(birth_year) else birth_year,
        max_birth_year=max_birth_year,
    )
    return {f"{prefix}.{k}": v for k, v in found.items()}


def derive(record: Mapping[str, Any], *, as_of: date | None = None) -> dict[str, object]:
    """Every derivation for a raw record as `{path: value}` (the rule sets compute the same inline).

    Given `as_of`, a CCCD whose digits give a birth year after it derives neither gender nor year.
    """
    max_year = as_of.year if as_of is not None else None
    org = record.get("organization")
    out: dict[str, object] = dict(
        derive_record(
            subscriber_type=_text(record.get("subscriber_type")),
            has_organization=isinstance(org, Mapping) and bool(org),
            purpose=_text(record.get("purpose")),
        )
    )
    for prefix in ("holder", "guardian"):
        obj = record.get(prefix)
        if isinstance(obj, Mapping):
            out.update(_person(obj, prefix, max_year))
    if isinstance(org, Mapping) and isinstance(org.get("users"), list):
        for i, user in enumerate(org["users"]):
            if isinstance(user, Mapping):
                out.update(_person(user, f"organization.users[{i}]", max_year))
    return out
