"""The data dictionary of subreg: the subscription record's enums, field paths and flat (CSV) shape.

Elsewhere "the data dictionary" means this module. A record is a plain mapping in its JSON shape
(`holder`, `guardian`, `organization`, `documents` nested; `CSV_COLUMNS` lists every path). In CSV
every column is a dotted path (`holder.full_name`, `documents.portrait`); `organization.users` is a
JSON array in one cell.

A value is *absent* when its key is missing, it is None, or it is a string of white space only;
`is_absent` is the one definition every rule uses.

The field tuples below are the `nd49-2017` rule set's declarations (`Nd49RuleSet` reads them); the
vocabulary of a record is owned by its rule set (`RuleSet.holder_fields`, `csv_columns`, ...), so a
later regime declares its own without changing these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BOOL_FIELDS",
    "CHANNELS",
    "CSV_COLUMNS",
    "DOCUMENT_KINDS",
    "GENDERS",
    "GUARDIAN_FIELDS",
    "HOLDER_FIELDS",
    "ID_FIELDS",
    "INDIVIDUAL",
    "INT_FIELDS",
    "JSON_FIELDS",
    "MAX_ADDRESS",
    "MAX_CODE",
    "MAX_NAME",
    "MAX_REF",
    "MAX_USERS",
    "ORGANIZATION",
    "ORGANIZATION_FIELDS",
    "PAYMENT_TYPES",
    "PURPOSES",
    "STATUSES",
    "SUBSCRIBER_TYPES",
    "TOP_LEVEL_FIELDS",
    "USER_LIST_FIELD",
    "flatten",
    "is_absent",
    "unflatten",
]

INDIVIDUAL = "individual"
ORGANIZATION = "organization"
SUBSCRIBER_TYPES = (INDIVIDUAL, ORGANIZATION)
PAYMENT_TYPES = ("prepaid", "postpaid")
# Where the line was activated. The first four are points of service of Decree 49 Art. 15.1 (the
# operator's store, an agent, another enterprise's authorized point, a mobile point of service with
# the operator's staff); `self_service` (web, app, SMS) is not one; `legacy_import` marks records
# loaded from before subreg, whose channel is unknown.
CHANNELS = ("store", "agent", "authorized_point", "mobile_point", "self_service", "legacy_import")
STATUSES = ("active", "one_way_locked", "two_way_locked", "terminated")
GENDERS = ("male", "female")
# `purpose` is not in the data dictionary's first table; it is filled by derivation for individuals.
PURPOSES = ("personal_use", "organization_use")

DOCUMENT_KINDS = (
    "portrait",
    "id_front",
    "id_back",
    "passport_page",
    "contract",
    "confirmation_form",
    "authorization_letter",
    "organization_certificate",
    "user_list",
)

# Fields of a person (holder, guardian, organization user). `birth_year` is subreg's addition: the
# year read from a CCCD number when the date of birth is not known (see derivations.py), never typed.
# `previous_id_number` is the old CMND number a CCCD carries (its QR code's 2nd field): the same
# person's lines under the old CMND are counted with those under the CCCD (RuleSet.document_keys).
HOLDER_FIELDS = (
    "full_name",
    "date_of_birth",
    "birth_year",
    "gender",
    "nationality",
    "id_type",
    "id_number",
    "id_issue_date",
    "id_issue_place",
    "id_expiry_date",
    "address",
    "previous_id_number",
)
GUARDIAN_FIELDS = (*HOLDER_FIELDS, "relationship")
# The identity fields Decree 25/2011 (as amended by Decree 49/2017) asks of each person.
ID_FIELDS = ("full_name", "date_of_birth", "id_type", "id_number", "id_issue_date", "id_issue_place")
# `signer_is_representative` (default true): false when the person signing for the organization is
# not its legal representative, which requires `documents.authorization_letter`. `line_user` is the
# ID number of the user (one of `users`, the organization's certified list) who uses this line.
ORGANIZATION_FIELDS = (
    "name",
    "registration_number",
    "registration_date",
    "address",
    "signer_is_representative",
    "users",
    "line_user",
)
TOP_LEVEL_FIELDS = (
    "msisdn",
    "subscriber_type",
    "payment_type",
    "activated_on",
    "channel",
    "point_of_sale",
    "contract_number",
    "purpose",
    "status",
    "holder",
    "guardian",
    "organization",
    "documents",
)
USER_LIST_FIELD = "organization.users"

# Sane length limits (`too_long`): names, places, relationship; addresses; codes (ID, contract and
# registration numbers, point of sale); document references (`blob:` + SHA-256 is 69); users.
MAX_NAME = 200
MAX_ADDRESS = 500
MAX_CODE = 64
MAX_REF = 256
MAX_USERS = 10_000

_SCALAR_TOP = tuple(f for f in TOP_LEVEL_FIELDS if f not in ("holder", "guardian", "organization", "documents"))
# Every column of the CSV shape, in a stable order (writers stream, so columns are fixed up front).
CSV_COLUMNS: tuple[str, ...] = (
    *_SCALAR_TOP,
    *(f"holder.{f}" for f in HOLDER_FIELDS),
    *(f"guardian.{f}" for f in GUARDIAN_FIELDS),
    *(f"organization.{f}" for f in ORGANIZATION_FIELDS),
    *(f"documents.{d}" for d in DOCUMENT_KINDS),
)
BOOL_FIELDS = frozenset({"organization.signer_is_representative"})
INT_FIELDS = frozenset({"holder.birth_year", "guardian.birth_year"})
JSON_FIELDS = frozenset({USER_LIST_FIELD})

_TRUE = frozenset({"true", "1", "yes", "y", "x", "có"})
_FALSE = frozenset({"false", "0", "no", "n", "không"})


def is_absent(value: object) -> bool:
    """True for None and for strings that are empty or white space only."""
    return value is None or (value.__class__ is str and (not value or value.isspace()))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def flatten(record: Mapping[str, Any]) -> dict[str, str]:
    """The CSV row of a record: dotted paths to strings; absent values are left out.

    Nested objects other than the known four are JSON-encoded in one cell, like `organization.users`.
    """
    row: dict[str, str] = {}
    for key, value in record.items():
        if isinstance(value, Mapping) and key in ("holder", "guardian", "organization", "documents"):
            for sub, sub_value in value.items():
                if sub_value is not None:
                    row[f"{key}.{sub}"] = _cell(sub_value)
        elif value is not None:
            row[key] = _cell(value)
    return row


def _typed(path: str, cell: str) -> object:
    # CSV cells are strings; the few non-string fields are converted back when unambiguous, and left
    # as strings otherwise so that the rule set reports `invalid_format` on them.
    if path in JSON_FIELDS:
        try:
            return json.loads(cell)
        except ValueError:
            return cell
    if path in BOOL_FIELDS:
        low = cell.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        return cell
    if path in INT_FIELDS:
        s = cell.strip()
        return int(s) if s.isdigit() and s.isascii() and len(s) <= 4 else cell
    return cell


def unflatten(row: Mapping[str, str | None]) -> dict[str, Any]:
    """The record of a CSV row (inverse of `flatten`); empty cells are left out."""
    record: dict[str, Any] = {}
    for path, cell in row.items():
        if cell is None or cell == "" or not path:
            continue
        value = _typed(path, cell)
        head, dot, tail = path.partition(".")
        if not dot:
            record[head] = value
            continue
        sub = record.get(head)
        if not isinstance(sub, dict):
            sub = record[head] = {}
        sub[tail] = value
    return record
