"""Decree 49/2017/ND-CP: what a subscription record must hold, and which values are impossible.

Errors and missing items are kept apart (the check result, `rules.base.CheckResult`):

* `errors` are rule violations of values that ARE there (wrong format, impossible dates, a CCCD that
  disagrees with the gender, an expired document, ...) and the few rules that refuse a transaction
  outright (`underage_without_guardian`, `contract_required`, `passport_required`). Any error makes
  the record `valid: false`.
* `missing` lists the paths of required items that are absent. A missing item is NOT repeated as a
  `required` error: `required` is the code callers use when they turn `missing` into errors (a
  point-of-sale form refusing to save). When a rule violation is caused by an absence
  (no guardian, no contract number), the path is in `missing` too, so that campaigns selecting by
  missing item find it.
* `complete` = valid and nothing missing. Unknown keys are ignored (not an error) and dropped by
  `normalize`.

Completeness (Decree 25/2011 as amended by Decree 49/2017; docs/rules.md lists
every rule with its source):

* The SIGNER is the person who comes in and concludes the contract: the holder, or the guardian when
  one is given (compulsory below 14). The signer's papers are photographed: `documents.portrait`
  (the signer's face, taken at the point of sale), and `documents.id_front` + `documents.id_back`
  for a card or `documents.passport_page` for a passport (also for a foreigner whose ID type is
  not given yet).
* Vietnamese individual: holder `full_name`, `date_of_birth`, `id_type`, `id_number`,
  `id_issue_date`, `id_issue_place`. Gender and nationality are not required (Decree 25 does not list
  them; nationality is derived from a CMND/CCCD, gender from a CCCD). Address is not required for
  individuals (not in the Decree 25 list, UNCONFIRMED for Decree 49); it is validated when given.
  An older CMND may show only a year of birth: `date_of_birth` may then hold the bare year.
* Passport holder: as above plus `holder.nationality` (it cannot be derived from a passport number)
  and `holder.id_expiry_date` (a passport's validity is only known from it).
* Documents must be valid at `as_of` (never at the date the record was written): the printed expiry,
  or the one the law gives (`id_documents/validity.py`); a CMND is no document at all after
  31/12/2024 (`id_type_no_longer_valid`).
* Holder under 14 at `as_of`: the guardian signs. The guardian needs the ID fields above plus
  `relationship` and must be an adult (18, Civil Code 2015 Art. 20 and 49: `guardian_not_adult`);
  the holder needs only `full_name` and `date_of_birth` (a child may hold no ID).
  With no guardian the record gets `underage_without_guardian` on `guardian`. A guardian given for
  an older holder (a ward under the Civil Code) also signs; the holder's own ID fields stay required.
* Channel: a line activated on or after 24/4/2017 was registered at a point of service (Decree 49
  Art. 15.1); `self_service` is refused with `channel_not_allowed` (also without an activation
  date: only a date before the decree exempts it). `legacy_import` is not judged.
* Subscription paper: the first three subscriptions under one ID document need the signed
  `documents.confirmation_form` (a signed `documents.contract` also satisfies it); from the 4th
  (`ordinal >= 4`) a standard-form `documents.contract` AND `contract_number` are needed, and a
  missing `contract_number` is the error `contract_required`.
* Organization: `organization.name`, `registration_number`, `registration_date`, `address`,
  `documents.organization_certificate`; the legal representative in `holder` with the ID fields;
  `documents.user_list` and a non-empty `organization.users`, each user with the ID fields
  (`organization.users[i].id_number`, ...); `organization.line_user`, the ID number of the listed
  user who uses this line (`line_user_not_listed` when no user has it); `contract_number` and
  `documents.contract` always; `documents.portrait` and the signer's ID images;
  `documents.authorization_letter` when `organization.signer_is_representative` is false (it
  defaults to true: the representative signs). The 4th-subscription rule does not apply
  (organizations always sign a contract).

Length limits (`too_long`): names, places and relationship 200 characters, addresses 500, codes
(ID, contract and registration numbers, point of sale) 64, document references 256 (a
`blob:` + SHA-256 reference is 69), at most 10,000 organization users.

Vocabulary: the rule set declares its ID types (`ID_TYPE_SPECS`, one `IdTypeSpec` each), the fields
of each person and section, its channels and document kinds; normalization keeps exactly those
fields. Extending: later regimes subclass `Nd49RuleSet` and override these declarations, the
limits, `CONTRACT_FROM_ORDINAL`, or the hook `extra_checks`, which sees every parsed person and can
add errors, missing items (declare them in `EXTRA_MISSING_ITEMS`) and derivations (see
rules/__init__.py). A hook that depends on `as_of` must also extend `valid_until`.

Performance: `check` runs ~10^5 times a second in bulk checks, so it reads each field once with
`dict.get`, compares classes with `is`, parses dates with `date.fromisoformat` after a shape test
(no exception on the happy path), decides the common date cases with year arithmetic before
building any date, and builds paths only when something is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar, cast

from subreg.domain.common import text
from subreg.domain.common.errors import FieldError
from subreg.domain.common.msisdn import parse_msisdn
from subreg.domain.compliance.derivations import (
    DERIVABLE_PERSON_FIELDS,
    INDIVIDUAL_PURPOSE,
    derive_person,
    derive_record,
)
from subreg.domain.compliance.phase import DECREE_EFFECTIVE
from subreg.domain.compliance.records import (
    CHANNELS,
    DOCUMENT_KINDS,
    GENDERS,
    GUARDIAN_FIELDS,
    HOLDER_FIELDS,
    ID_FIELDS,
    INDIVIDUAL,
    MAX_ADDRESS,
    MAX_CODE,
    MAX_NAME,
    MAX_REF,
    MAX_USERS,
    ORGANIZATION,
    ORGANIZATION_FIELDS,
    PAYMENT_TYPES,
    PURPOSES,
    STATUSES,
    SUBSCRIBER_TYPES,
    TOP_LEVEL_FIELDS,
)
from subreg.domain.compliance.rules._normalize import SECTIONS, Normalizer, RecordNormalizer
from subreg.domain.compliance.rules.base import CheckResult, cached_message
from subreg.domain.compliance.timeline import ND49_2017_TIMELINE, Timeline
from subreg.domain.id_documents import numbers as identity
from subreg.domain.id_documents.types import ND49_ID_TYPE_SPECS, VALIDITY_PRINTED, VALIDITY_YEARS, IdTypeSpec
from subreg.domain.id_documents.validity import anniversary, effective_expiry, issued_underage

__all__ = ["Nd49RuleSet", "Person"]

_fromisoformat = date.fromisoformat
_VNM = "VNM"
_ONE_DAY = timedelta(days=1)


def _choices(values: tuple[str, ...]) -> dict[str, str]:
    return {v: v for v in values}


_SUBSCRIBER_TYPES = _choices(SUBSCRIBER_TYPES)
_PAYMENT_TYPES = _choices(PAYMENT_TYPES)
_STATUSES = _choices(STATUSES)
_GENDERS = _choices(GENDERS)
_PURPOSES = _choices(PURPOSES)


def _paths(prefix: str, names: tuple[str, ...]) -> dict[str, str]:
    return {n: f"{prefix}.{n}" for n in names}


_TOP_CHOICES = (("payment_type", _PAYMENT_TYPES), ("status", _STATUSES))
_ORG_REQUIRED = ("name", "registration_number", "registration_date", "address")


def _absent(v: object) -> bool:
    return v is None or (v.__class__ is str and (not v or v.isspace()))


def _text_error(v: object, path: str, errors: list[FieldError]) -> None:
    # Called only when a free-text value is not a string or is over its limit.
    errors.append(FieldError(path, "too_long" if v.__class__ is str else "invalid_format"))


def _date(v: object, path: str, errors: list[FieldError]) -> date | None:
    # Strict YYYY-MM-DD: date.fromisoformat alone also takes "20180424" and week dates.
    if v.__class__ is str:
        if len(v) == 10 and v[4] == "-" and v[7] == "-" and v.isascii():
            try:
                d = _fromisoformat(v)
            except ValueError:
                pass
            else:
                if d.year >= 1900:
                    return d
        elif not v or v.isspace():
            return None
    elif v is None:
        return None
    elif v.__class__ is date:
        return v
    errors.append(FieldError(path, "invalid_format"))
    return None


def _choice(v: object, path: str, choices: dict[str, str], errors: list[FieldError]) -> str | None:
    # The slow path of an enum value (callers first try `choices.get(v)`): None when absent, "" when
    # given but not allowed, so that derivations never fill in an invalid value.
    if v is None:
        return None
    if v.__class__ is str:
        c = choices.get(v)
        if c is not None:
            return c
        if not v or v.isspace():
            return None
        c = choices.get(v.strip().lower())
        if c is not None:
            return c
        errors.append(FieldError(path, "invalid_choice"))
    else:
        errors.append(FieldError(path, "invalid_format"))
    return ""


def _nationality(v: object, path: str, errors: list[FieldError]) -> str | None:
    # ISO 3166-1 alpha-3; None when absent, "" when malformed.
    if v is None:
        return None
    if v.__class__ is str:
        if len(v) == 3 and v.isupper() and v.isalpha() and v.isascii():
            return v
        if not v or v.isspace():
            return None
        s = v.strip()
        if len(s) == 3 and s.isalpha() and s.isascii():
            return s.upper()
    errors.append(FieldError(path, "invalid_format"))
    return ""


def _year_start(year: int) -> date | None:
    return date(year, 1, 1) if 1 <= year <= 9999 else None


def _msisdn(v: Any, errors: list[FieldError], missing: list[str]) -> str | None:
    """The number in E.164; as given (stripped) with an error when it is not a Vietnamese mobile number."""
    if v.__class__ is str and v and not v.isspace():
        msisdn = parse_msisdn(v)
        if msisdn is None:
            errors.append(FieldError("msisdn", "invalid_msisdn"))
            return str(v.strip())
        return msisdn
    if v.__class__ is int:
        # Spreadsheets store numbers as integers; parse_msisdn accepts a lost trunk 0.
        msisdn = parse_msisdn(str(v))
        if msisdn is None:
            errors.append(FieldError("msisdn", "invalid_msisdn"))
        return msisdn
    if _absent(v):
        missing.append("msisdn")
    else:
        errors.append(FieldError("msisdn", "invalid_format"))
    return None


def _text_field(
    v: Any, name: str, paths: dict[str, str], max_len: int, errors: list[FieldError], absent: list[str]
) -> None:
    """A free-text field: absent when missing or blank, an error when too long or not text."""
    if v.__class__ is str:
        if len(v) > max_len:
            _text_error(v, paths[name], errors)
        elif not v or (not "!" <= v[0] <= "~" and v.isspace()):
            absent.append(name)
    elif v is None:
        absent.append(name)
    else:
        _text_error(v, paths[name], errors)


def _birth_date(
    raw: Any,
    spec: IdTypeSpec | None,
    paths: dict[str, str],
    as_of: date,
    errors: list[FieldError],
    absent: list[str],
) -> tuple[date | None, int | None]:
    """(date of birth, year of birth when the document shows only a year: older CMNDs)."""
    if raw is None:
        absent.append("date_of_birth")
        return None, None
    dob = None
    year: int | None = None
    if raw.__class__ is str and len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
        # _date's happy path, inlined: this runs for every person of every record.
        try:
            dob = _fromisoformat(raw)
        except ValueError:
            dob = None
        if dob is None or dob.year < 1900 or not raw.isascii():
            dob = _date(raw, paths["date_of_birth"], errors)
    elif (
        spec is not None
        and spec.year_only_birth
        and raw.__class__ is str
        and len(raw) == 4
        and raw.isdigit()
        and raw.isascii()
    ):
        year = int(raw)
        if year < 1900:
            errors.append(FieldError(paths["date_of_birth"], "invalid_format"))
            year = None
        elif year > as_of.year:
            errors.append(FieldError(paths["date_of_birth"], "date_in_future"))
    else:
        dob = _date(raw, paths["date_of_birth"], errors)
    if dob is None and year is None and _absent(raw):
        absent.append("date_of_birth")
    elif dob is not None and dob > as_of:
        errors.append(FieldError(paths["date_of_birth"], "date_in_future"))
    return dob, year


def _birth_year(
    v: Any,
    dob: date | None,
    dob_year: int | None,
    paths: dict[str, str],
    as_of: date,
    errors: list[FieldError],
    absent: list[str],
) -> int | None:
    """subreg's own `birth_year` (derivations.py), an int or a 4-digit string; else a year-only birth date."""
    birth_year: int | None = None
    if v is None or (v.__class__ is str and (not v or v.isspace())):
        absent.append("birth_year")
    else:
        if v.__class__ is str and len(v) == 4 and v.isdigit() and v.isascii():
            v = int(v)
        if v.__class__ is int and 1900 <= v <= as_of.year:
            birth_year = v
            if (dob is not None and dob.year != v) or (dob_year is not None and dob_year != v):
                errors.append(FieldError(paths["birth_year"], "birth_year_mismatch"))
        else:
            errors.append(FieldError(paths["birth_year"], "invalid_format"))
    return dob_year if dob_year is not None and birth_year is None else birth_year


def _number_agrees(
    number: str,
    spec: IdTypeSpec,
    gender: str | None,
    dob: date | None,
    birth_year: int | None,
    as_of: date,
    paths: dict[str, str],
    errors: list[FieldError],
) -> bool:
    """Whether the number is well formed and can be this person's (a CCCD's gender and birth-year digits)."""
    code = identity.check_id_number(spec.number_format, number)
    ok = code is None
    if code is not None:
        errors.append(FieldError(paths["id_number"], code))
    if spec.personal_number and (ok or code == "unknown_province_code"):
        # The century/gender digit and the birth-year digits (Circular 07/2016), inlined.
        g = ord(number[3]) - 48
        year = (g // 2 + 19) * 100 + int(number[4:6])
        if year > as_of.year:
            # A birth year still to come: the number cannot be, and nothing is derived from it.
            errors.append(FieldError(paths["id_number"], "id_birth_year_in_future"))
            return False
        if gender and gender != ("female" if g & 1 else "male"):
            errors.append(FieldError(paths["id_number"], "id_gender_mismatch"))
        known = dob.year if dob is not None else birth_year
        if known is not None and known != year:
            errors.append(FieldError(paths["id_number"], "id_birth_year_mismatch"))
    return ok


def _issue_date_agrees(
    issued: date,
    spec: IdTypeSpec | None,
    dob: date | None,
    birth_year: int | None,
    as_of: date,
    paths: dict[str, str],
    errors: list[FieldError],
) -> None:
    """An issue date that can be: not ahead, not before birth, the type existing, the holder old enough."""
    if issued > as_of:
        errors.append(FieldError(paths["id_issue_date"], "date_in_future"))
    if (dob is not None and issued < dob) or (dob is None and birth_year is not None and issued.year < birth_year):
        errors.append(FieldError(paths["id_issue_date"], "id_issued_before_birth"))
    elif spec is not None:
        first = spec.first_issue
        if first is not None and issued < first:
            # e.g. a CCCD before Law 59/2014 took effect (1/1/2016).
            errors.append(FieldError(paths["id_issue_date"], "id_issued_before_introduced"))
        age = spec.min_issue_age
        if age and (dob is None or issued.year - dob.year <= age) and issued_underage(spec, issued, dob, birth_year):
            errors.append(FieldError(paths["id_issue_date"], "id_issued_underage"))


def _unexpired(
    spec: IdTypeSpec,
    issued: date | None,
    dob: date | None,
    given_expiry: date | None,
    as_of: date,
    paths: dict[str, str],
    errors: list[FieldError],
) -> None:
    """The document still valid at `as_of`.

    The common cases are decided with year arithmetic, `effective_expiry` does the rest (the 2024
    extension only lengthens; `valid_through` is tested first).
    """
    through = spec.valid_through
    validity = spec.validity
    if through is not None and as_of > through:
        # Law 26/2023 Art. 46(1): no CMND is valid after 31/12/2024, whatever it says.
        errors.append(FieldError(paths["id_type"], "id_type_no_longer_valid"))
    elif (
        (
            issued is None
            or as_of.year - issued.year >= spec.valid_years
            or (given_expiry is not None and given_expiry < as_of)
        )
        if validity == VALIDITY_YEARS
        else (given_expiry < as_of)
        if given_expiry is not None
        else (
            validity != VALIDITY_PRINTED
            and dob is not None
            and issued is not None
            and issued.year - dob.year < 59  # a card issued at 58 or later never expires
        )
    ):
        expiry = effective_expiry(spec, issued=issued, born=dob, given=given_expiry)
        if expiry is not None and expiry < as_of:
            errors.append(FieldError(paths["id_expiry_date"], "id_expired"))


@dataclass(slots=True)
class Person:
    """What the rule set read from one person object (holder, guardian, organization user).

    Values are None when absent; enum-like values are "" when given but invalid; `absent` names the
    fields that were not given, `derived` the values derived for them. `birth_year` is the year of a
    year-only date of birth, the typed or the derived `birth_year`; `spec` is the ID type's
    declaration (None without a valid ID type); `given_expiry` the printed expiry, when given.
    """

    path: str
    raw: Mapping[str, Any]
    date_of_birth: date | None
    birth_year: int | None
    id_type: str | None
    id_number: str | None  # normalized; None when absent or malformed
    nationality: str | None
    gender: str | None
    absent: list[str]
    derived: dict[str, object]  # relative field name -> value
    issue_date: date | None = None
    given_expiry: date | None = None
    spec: IdTypeSpec | None = None

    def present(self, name: str) -> bool:
        """True when the field is given or derived."""
        if name in self.absent or name in self.derived:
            return name in self.derived
        return not _absent(self.raw.get(name))

    def expiry(self) -> date | None:
        """The document's effective expiry (given or derived, `validity.effective_expiry`), or None."""
        if self.spec is None:
            return self.given_expiry
        return effective_expiry(self.spec, issued=self.issue_date, born=self.date_of_birth, given=self.given_expiry)


class Nd49RuleSet:
    """The Decree 49/2017 rule set (`nd49-2017`)."""

    name: ClassVar[str] = "nd49-2017"
    # Bumped whenever an answer changes for the same record and date: a verdict stored under another
    # revision is stale (the counter re-checks the line, `subreg evaluate` re-checks them all).
    # 2: issue #12's review (impossible dates, expiry at the evaluation date, typed document keys, ...).
    revision: ClassVar[int] = 2
    # What happens to a line that stays incomplete after the deadline (domain-facts §1).
    timeline: ClassVar[Timeline] = ND49_2017_TIMELINE
    # A registration the supervisor rejected keeps the free 1414 look-up and emergency calls, nothing else
    # (the two-way lock's services; setting `review_rejected_services` overrides it).
    rejected_registration_services: ClassVar[frozenset[str]] = frozenset({"sms_1414", "emergency_calls"})

    # -- declarations (a later regime overrides these) ----------------------------------------
    GUARDIAN_AGE: ClassVar[int] = 14  # Decree 49: under 14, a parent or guardian concludes the contract
    ADULT_AGE: ClassVar[int] = 18  # Civil Code 2015 Art. 20; a guardian must be an adult (Art. 49)
    CONTRACT_FROM_ORDINAL: ClassVar[int] = 4
    # The decree's signature and effect (24/4/2017): registrations from then on follow it.
    DECREE_EFFECTIVE: ClassVar[date] = DECREE_EFFECTIVE
    MAX_NAME: ClassVar[int] = MAX_NAME
    MAX_ADDRESS: ClassVar[int] = MAX_ADDRESS
    MAX_CODE: ClassVar[int] = MAX_CODE
    MAX_REF: ClassVar[int] = MAX_REF
    MAX_USERS: ClassVar[int] = MAX_USERS
    ID_TYPE_SPECS: ClassVar[tuple[IdTypeSpec, ...]] = ND49_ID_TYPE_SPECS
    TOP_LEVEL_FIELDS: ClassVar[tuple[str, ...]] = TOP_LEVEL_FIELDS
    HOLDER_FIELDS: ClassVar[tuple[str, ...]] = HOLDER_FIELDS
    GUARDIAN_FIELDS: ClassVar[tuple[str, ...]] = GUARDIAN_FIELDS
    USER_FIELDS: ClassVar[tuple[str, ...]] = HOLDER_FIELDS  # an organization's listed users
    ORGANIZATION_FIELDS: ClassVar[tuple[str, ...]] = ORGANIZATION_FIELDS
    DOCUMENT_KINDS: ClassVar[tuple[str, ...]] = DOCUMENT_KINDS
    CHANNELS: ClassVar[tuple[str, ...]] = CHANNELS
    # Decree 49 Art. 15.1: the operator's fixed and mobile points of service, its agents and other
    # enterprises' authorized points. `legacy_import` (channel unknown) is not judged.
    POINT_OF_SERVICE_CHANNELS: ClassVar[tuple[str, ...]] = ("store", "agent", "authorized_point", "mobile_point")
    UNJUDGED_CHANNELS: ClassVar[tuple[str, ...]] = ("legacy_import",)
    # Filled by derivation only, never typed at a counter (`typed_holder_fields` leaves them out).
    DERIVED_ONLY_FIELDS: ClassVar[tuple[str, ...]] = ("birth_year",)
    PERSON_REQUIRED: ClassVar[tuple[str, ...]] = ID_FIELDS
    MINOR_REQUIRED: ClassVar[tuple[str, ...]] = ("full_name", "date_of_birth")
    GUARDIAN_REQUIRED: ClassVar[tuple[str, ...]] = (*ID_FIELDS, "relationship")
    # Missing paths a subclass's `extra_checks` can report (part of `missing_items`).
    EXTRA_MISSING_ITEMS: ClassVar[tuple[str, ...]] = ()
    # Normalizers of fields a subclass adds (`_normalize.normalizer_for`); others are kept as given.
    FIELD_NORMALIZERS: ClassVar[Mapping[str, Normalizer]] = {}

    def __init__(self) -> None:
        specs = self.ID_TYPE_SPECS
        self._id_type_names = tuple(s.name for s in specs)
        self._id_types = _choices(self._id_type_names)
        self._specs: dict[str, IdTypeSpec] = {s.name: s for s in specs}
        self._nationality_by_type = {s.name: s.nationality for s in specs if s.nationality}
        self._personal_types = frozenset(s.name for s in specs if s.personal_number)
        self._key_prefixes = {s.name: s.key_prefix for s in specs}
        self._passport_prefix = next((s.key_prefix for s in specs if s.passport), "passport:")
        self._channels = _choices(self.CHANNELS)
        self._remote_channels = frozenset(
            c for c in self.CHANNELS if c not in self.POINT_OF_SERVICE_CHANNELS and c not in self.UNJUDGED_CHANNELS
        )
        self._holder_paths = _paths("holder", tuple(dict.fromkeys((*self.HOLDER_FIELDS, *self.GUARDIAN_FIELDS))))
        self._guardian_paths = _paths("guardian", self.GUARDIAN_FIELDS)
        self._doc_paths = _paths("documents", self.DOCUMENT_KINDS)
        self._normalizer = RecordNormalizer(
            id_types=self._id_type_names,
            channels=self.CHANNELS,
            top_level_fields=self.TOP_LEVEL_FIELDS,
            holder_fields=self.HOLDER_FIELDS,
            guardian_fields=self.GUARDIAN_FIELDS,
            user_fields=self.USER_FIELDS,
            organization_fields=self.ORGANIZATION_FIELDS,
            document_kinds=self.DOCUMENT_KINDS,
            extra=self.FIELD_NORMALIZERS,
        )
        # Skip the hook call on the hot path unless a subclass overrides it.
        self._has_extra = type(self).extra_checks is not Nd49RuleSet.extra_checks

    # -- vocabulary (RuleSet protocol) --------------------------------------------------------

    @property
    def id_types(self) -> tuple[str, ...]:
        """The ID types this rule set accepts (`holder.id_type` values)."""
        return self._id_type_names

    @property
    def holder_fields(self) -> tuple[str, ...]:
        """Every field of a holder (and of an organization's listed user) that storage keeps."""
        return self.HOLDER_FIELDS

    @property
    def guardian_fields(self) -> tuple[str, ...]:
        """Every field of a guardian that storage keeps."""
        return self.GUARDIAN_FIELDS

    @property
    def typed_holder_fields(self) -> tuple[str, ...]:
        """The holder fields a form asks staff to type: all but the derived-only ones (`birth_year`)."""
        return tuple(f for f in self.HOLDER_FIELDS if f not in self.DERIVED_ONLY_FIELDS)

    @property
    def csv_columns(self) -> tuple[str, ...]:
        """The flat (CSV) shape's columns, in a stable order; `organization.users` is one JSON cell."""
        return (
            *(f for f in self.TOP_LEVEL_FIELDS if f not in SECTIONS),
            *(f"holder.{f}" for f in self.HOLDER_FIELDS),
            *(f"guardian.{f}" for f in self.GUARDIAN_FIELDS),
            *(f"organization.{f}" for f in self.ORGANIZATION_FIELDS),
            *(f"documents.{d}" for d in self.DOCUMENT_KINDS),
        )

    @property
    def missing_items(self) -> tuple[str, ...]:
        """Every path `missing` can hold, an organization user's as `organization.users[].<field>`."""
        person = (*self.PERSON_REQUIRED, *self.MINOR_REQUIRED, "nationality", "id_expiry_date")
        guardian = (*self.GUARDIAN_REQUIRED, "nationality", "id_expiry_date")
        items = [
            "msisdn",
            *(f"holder.{f}" for f in person),
            "guardian",
            *(f"guardian.{f}" for f in guardian),
            "contract_number",
            *(f"documents.{d}" for d in self.DOCUMENT_KINDS),
            *(f"organization.{f}" for f in (*_ORG_REQUIRED, "users", "line_user")),
            *(f"organization.users[].{f}" for f in person),
            *self.EXTRA_MISSING_ITEMS,
        ]
        return tuple(dict.fromkeys(items))

    @property
    def contract_from_ordinal(self) -> int:
        """From which subscription under one ID document a standard-form contract is required (4)."""
        return self.CONTRACT_FROM_ORDINAL

    # -- hooks for later regimes --------------------------------------------------------------

    def extra_checks(
        self,
        record: Mapping[str, Any],
        persons: list[Person],
        *,
        as_of: date,
        errors: list[FieldError],
        missing: list[str],
        derived: dict[str, object],
    ) -> None:
        """Add a later regime's errors, missing paths and derivations; Decree 49 adds none."""

    # -- public API ---------------------------------------------------------------------------

    def check(self, record: Mapping[str, Any], *, as_of: date, ordinal: int = 1) -> CheckResult:
        """Validate `record` at `as_of` and list what is missing (`ordinal`: see RuleSet)."""
        msisdn, errors, missing, derived = self._evaluate(record, as_of, ordinal, [])
        valid = not errors
        return CheckResult.fast(msisdn, valid, valid and not missing, tuple(errors), tuple(missing), derived)

    def check_dict(
        self,
        record: Mapping[str, Any],
        *,
        as_of: date,
        ordinal: int = 1,
        lang: str = "vi",
        line: int | None = None,
    ) -> dict[str, Any]:
        """`check(...).to_dict(lang, line=line)` without the intermediate object (the bulk path)."""
        msisdn, errors, missing, derived = self._evaluate(record, as_of, ordinal, [])
        out: dict[str, Any] = {} if line is None else {"line": line}
        out["msisdn"] = msisdn
        if errors:
            out["valid"] = False
            out["complete"] = False
            out["errors"] = [
                {"field": e.field, "code": e.code, "message": cached_message(e.code, e.field, lang)} for e in errors
            ]
        else:
            out["valid"] = True
            out["complete"] = not missing
            out["errors"] = errors
        out["missing"] = missing
        out["derived"] = derived
        return out

    def _evaluate(
        self, record: Mapping[str, Any], as_of: date, ordinal: int, persons: list[Person]
    ) -> tuple[str | None, list[FieldError], list[str], dict[str, object]]:
        """One record's answer: (its number, errors, missing items, derived values); the people checked go to `persons`.

        The line's own fields first, then its documents, the holder, and the subscriber type's own rules.
        """
        errors: list[FieldError] = []
        missing: list[str] = []
        derived: dict[str, object] = {}
        get = record.get
        msisdn = _msisdn(get("msisdn"), errors, missing)
        kind, org = self._line_fields(get, as_of, errors, derived)
        present_docs = self._present_documents(get("documents"), errors)
        holder_obj = get("holder")
        holder = self._person_or_error(holder_obj, "holder", self._holder_paths, as_of, errors, derived, persons)
        if kind == ORGANIZATION:
            self._organization(record, org, holder, holder_obj, present_docs, as_of, errors, missing, derived, persons)
        else:
            # An unknown subscriber type ("" after invalid_choice) is checked as an individual, the
            # common case, so that its other problems are still reported.
            self._individual(
                record, holder, holder_obj, present_docs, ordinal, as_of, errors, missing, derived, persons
            )
        if self._has_extra:
            self.extra_checks(record, persons, as_of=as_of, errors=errors, missing=missing, derived=derived)
        return msisdn, errors, missing, derived

    def _line_fields(
        self, get: Callable[[str], Any], as_of: date, errors: list[FieldError], derived: dict[str, object]
    ) -> tuple[str | None, Any]:
        """The line's own fields checked: (its subscriber type, given or derived; its `organization` as given)."""
        # Enum values: one dict look-up on the happy path, `_choice` for everything else.
        v = get("subscriber_type")
        kind = _SUBSCRIBER_TYPES.get(v) if v.__class__ is str else None
        if kind is None:
            kind = _choice(v, "subscriber_type", _SUBSCRIBER_TYPES, errors)
        for name, table in _TOP_CHOICES:
            v = get(name)
            if v is not None and (v.__class__ is not str or v not in table):
                _choice(v, name, table, errors)
        v = get("channel")
        channel = v
        if v is not None and (v.__class__ is not str or v not in self._channels):
            channel = _choice(v, "channel", self._channels, errors)
        v = get("purpose")
        purpose = _PURPOSES.get(v) if v.__class__ is str else None
        if purpose is None:
            purpose = _choice(v, "purpose", _PURPOSES, errors)
        v = get("activated_on")
        activated = None
        if v is not None:
            activated = _date(v, "activated_on", errors)
            if activated is not None and activated > as_of:
                errors.append(FieldError("activated_on", "date_in_future"))
        if channel in self._remote_channels and (activated is None or activated >= self.DECREE_EFFECTIVE):
            # Decree 49 Art. 15.1: contracts are concluded at points of service only. Without an
            # activation date nothing shows the line predates the decree.
            errors.append(FieldError("channel", "channel_not_allowed"))
        max_code = self.MAX_CODE
        for name in ("point_of_sale", "contract_number"):
            v = get(name)
            if v is not None and (v.__class__ is not str or len(v) > max_code):
                _text_error(v, name, errors)

        org = get("organization")
        if kind is None:
            found = derive_record(kind, bool(org) and isinstance(org, Mapping), purpose)
            derived.update(found)
            kind = cast("str | None", found["subscriber_type"])
        elif purpose is None and kind == INDIVIDUAL:
            # derive_record's rule for the common case, without the call.
            derived["purpose"] = INDIVIDUAL_PURPOSE
        return kind, org

    def _present_documents(self, docs: Any, errors: list[FieldError]) -> set[str]:
        """The document kinds given (a reference or an image each); a malformed one is an error, not missing."""
        present_docs: set[str] = set()
        if docs:
            if docs.__class__ is dict or isinstance(docs, Mapping):
                max_ref = self.MAX_REF
                doc_paths = self._doc_paths
                for name, d in docs.items():
                    if d.__class__ is str:
                        # A printable ASCII first character proves "not blank" without a call.
                        if d and len(d) <= max_ref and ("!" <= d[0] <= "~" or not d.isspace()):
                            present_docs.add(name)
                            continue
                        if not d or d.isspace():
                            continue
                    elif d is None:
                        continue
                    if name in doc_paths:
                        present_docs.add(name)  # given, though wrong: an error, not a missing item
                        _text_error(d, doc_paths[name], errors)
            else:
                errors.append(FieldError("documents", "invalid_format"))
        elif docs is not None and not _absent(docs) and not isinstance(docs, Mapping):
            errors.append(FieldError("documents", "invalid_format"))
        return present_docs

    def document_key(self, record: Mapping[str, Any]) -> str | None:
        """The key of the ID document the subscription is registered under; None when unknown or terminated.

        The key carries the ID type, so that equal numbers of different types never meet: a passport
        is `passport:<number, case-folded>`. A CMND or CCCD number is the bare digits: a 12-digit
        CMND number IS the holder's personal identification number, which a CCCD keeps (Circular
        27/2012/TT-BCA; press, see docs/rules.md), and 9 digits never equal 12. Without a (valid) ID
        type the number's shape decides: digits are a CMND/CCCD, anything else a passport.
        Terminated subscriptions are no longer held under the document, so they do not count
        towards the 4th-subscription rule. Organizations are keyed by their registration number.
        A minor without an ID number is keyed by the guardian's document.
        """
        get = record.get
        if get("status") == "terminated":
            return None
        st = get("subscriber_type")
        if st is not None and st != INDIVIDUAL and st.__class__ is str and st.strip().lower() == ORGANIZATION:
            org = get("organization")
            number = org.get("registration_number") if isinstance(org, Mapping) else None
            if number.__class__ is str and not _absent(number):
                return "org:" + text.fold(number)
            return None
        for who in ("holder", "guardian"):
            obj = get(who)
            if obj.__class__ is dict or isinstance(obj, Mapping):
                number = obj.get("id_number")
                if number.__class__ is str:
                    if number.isdigit() and number.isascii():
                        t = obj.get("id_type")
                        prefix = self._key_prefixes.get(t) if t.__class__ is str else None
                        if prefix is None:
                            prefix = self._key_prefix(t, True)
                        return prefix + number if prefix else number
                    if not _absent(number):
                        s = identity.normalize_id_number("", number)
                        digits = s.isdigit() and s.isascii()
                        if not digits:
                            s = s.lower() if s.isascii() else text.fold(s)
                        t = obj.get("id_type")
                        prefix = self._key_prefixes.get(t) if t.__class__ is str else None
                        if prefix is None:
                            prefix = self._key_prefix(t, digits)
                        return prefix + s
        return None

    def _key_prefix(self, id_type: object, digits: bool) -> str:
        # The slow path of document_key: an ID type written otherwise ("CCCD ") or absent/invalid.
        if id_type.__class__ is str:
            found = self._key_prefixes.get(id_type.strip().lower())
            if found is not None:
                return found
        return "" if digits else self._passport_prefix

    def document_keys(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        """Every key the subscription's holder is known by: `document_key`, then the previous CMND's key.

        A CCCD replaces a CMND with another number; the old number is on the card (its QR code) and
        kept in `previous_id_number`, so that the holder's lines under the old CMND are counted with
        those under the CCCD (the 4th-subscription rule counts per person and document).
        """
        key = self.document_key(record)
        if key is None or key.startswith("org:"):
            return () if key is None else (key,)
        for who in ("holder", "guardian"):
            obj = record.get(who)
            if isinstance(obj, Mapping) and not _absent(obj.get("id_number")) and obj.get("id_number").__class__ is str:
                previous = obj.get("previous_id_number")
                if previous.__class__ is str and not _absent(previous):
                    s = identity.normalize_id_number("cmnd", previous)
                    if (len(s) == 9 or len(s) == 12) and s.isdigit() and s.isascii() and s != key:
                        return (key, s)
                break
        return (key,)

    def document_expiry(self, record: Mapping[str, Any]) -> date | None:
        """The earliest effective expiry among the record's ID documents (given or derived), or None.

        What storage keeps to find lines whose papers run out; independent of any evaluation date.
        """
        persons: list[Person] = []
        self._evaluate(record, date.max, 1, persons)
        found: date | None = None
        for p in persons:
            e = p.expiry()
            if e is not None and (found is None or e < found):
                found = e
        return found

    def valid_until(self, record: Mapping[str, Any], *, as_of: date) -> date | None:
        """The first day after `as_of` on which the record's check result can differ, or None.

        The result at `as_of` holds for every day d with as_of <= d < valid_until. Candidates (the
        earliest wins): the day after a document's effective expiry (CMNDs: 1/1/2025 at the latest);
        a person's 14th birthday (a holder needs a guardian until then) and 18th (a guardian must be
        an adult); a date in the future (activation, registration, birth, issue) being reached; the
        year a CCCD's birth-year digits name. With only a year of birth, 1 January of the year the
        age rule stops being certain. None when nothing in the record depends on the date.
        """
        persons: list[Person] = []
        self._evaluate(record, as_of, 1, persons)
        found: date | None = None

        def candidate(d: date | None) -> None:
            nonlocal found
            if d is not None and d > as_of and (found is None or d < found):
                found = d

        get = record.get
        candidate(_date(get("activated_on"), "", []))
        org = get("organization")
        if isinstance(org, Mapping):
            candidate(_date(org.get("registration_date"), "", []))
        ages = (self.GUARDIAN_AGE, self.ADULT_AGE)
        for p in persons:
            dob, year = p.date_of_birth, p.birth_year
            if dob is not None:
                candidate(dob)
                for years in ages:
                    candidate(anniversary(dob, years))
            elif year is not None:
                candidate(_year_start(year))
                for years in ages:
                    candidate(_year_start(year + years))
            typed_year = p.raw.get("birth_year")
            if typed_year.__class__ is int:
                candidate(_year_start(typed_year))
            elif typed_year.__class__ is str and typed_year.isdigit() and typed_year.isascii():
                candidate(_year_start(int(typed_year)))
            candidate(p.issue_date)
            number = p.raw.get("id_number")
            if p.spec is not None and p.spec.personal_number and number.__class__ is str:
                s = identity.normalize_id_number("cccd", number)
                if len(s) == 12 and s.isdigit() and s.isascii():
                    candidate(_year_start((int(s[3]) // 2 + 19) * 100 + int(s[4:6])))
            expiry = p.expiry()
            if expiry is not None and expiry < date.max:
                candidate(expiry + _ONE_DAY)
            through = p.spec.valid_through if p.spec is not None else None
            if through is not None:
                candidate(through + _ONE_DAY)
        return found

    def needs_guardian(self, holder: Mapping[str, Any], *, as_of: date) -> bool:
        """Whether a holder with these fields is under the guardian age at `as_of` (a guardian must sign)."""
        person = self._person(holder, "holder", self._holder_paths, as_of, [])
        return self._under(person, as_of, self.GUARDIAN_AGE) is True

    def derivable_values(self, record: Mapping[str, Any], *, as_of: date) -> dict[str, object]:
        """What the rule set would derive for each derivable field if it were absent (`{path: value}`), in one
        check: a form marks a stored value equal to its derivation as derived."""
        stripped = dict(record)
        for section in ("holder", "guardian"):
            person = record.get(section)
            if isinstance(person, Mapping):
                stripped[section] = {k: v for k, v in person.items() if k not in DERIVABLE_PERSON_FIELDS}
        return dict(self.check(stripped, as_of=as_of).derived)

    def normalize(
        self, record: Mapping[str, Any], *, as_of: date, ordinal: int = 1
    ) -> tuple[dict[str, Any], CheckResult]:
        """The record in storage form and its check (run on the input, so `derived` is filled)."""
        result = self.check(record, as_of=as_of, ordinal=ordinal)
        out = self._normalizer(record)
        for path, value in result.derived.items():
            _set_path(out, path, value)
        return out, result

    # -- parts --------------------------------------------------------------------------------

    def _person_or_error(
        self,
        obj: object,
        prefix: str,
        paths: dict[str, str],
        as_of: date,
        errors: list[FieldError],
        derived: dict[str, object],
        persons: list[Person],
    ) -> Person | None:
        if obj.__class__ is not dict and not isinstance(obj, Mapping):
            if not _absent(obj):
                errors.append(FieldError(prefix, "invalid_format"))
            return None
        p = self._person(obj, prefix, paths, as_of, errors)
        if p.derived:
            for k, val in p.derived.items():
                derived[paths[k]] = val
        persons.append(p)
        return p

    def _person(
        self,
        obj: Mapping[str, Any],
        prefix: str,
        paths: dict[str, str],
        as_of: date,
        errors: list[FieldError],
    ) -> Person:
        """One person's fields read and checked in the order completeness lists missing fields.

        Each step appends its errors and its absent fields; the steps after reading cross-check
        what was read (the number against the person, the dates against the document type).
        """
        get = obj.get
        absent: list[str] = []
        max_name = self.MAX_NAME

        v = get("id_type")
        spec = self._specs.get(v) if v.__class__ is str else None
        if spec is not None:
            id_type: str | None = v
        else:
            id_type = _choice(v, paths["id_type"], self._id_types, errors)
            if id_type is None:
                absent.append("id_type")
            elif id_type:
                spec = self._specs[id_type]
        _text_field(get("full_name"), "full_name", paths, max_name, errors, absent)
        dob, dob_year = _birth_date(get("date_of_birth"), spec, paths, as_of, errors, absent)
        number = self._id_number(get("id_number"), id_type, paths, errors, absent)
        v = get("id_issue_date")
        issued = None
        if v is None:
            absent.append("id_issue_date")
        else:
            issued = _date(v, paths["id_issue_date"], errors)
            if issued is None and _absent(v):
                absent.append("id_issue_date")
        _text_field(get("id_issue_place"), "id_issue_place", paths, max_name, errors, absent)
        v = get("id_expiry_date")
        given_expiry = _date(v, paths["id_expiry_date"], errors) if v is not None else None
        v = get("address")
        if v is not None and (v.__class__ is not str or len(v) > self.MAX_ADDRESS):
            _text_error(v, paths["address"], errors)
        v = get("gender")
        gender = _GENDERS.get(v) if v.__class__ is str else None
        if gender is None:
            gender = _choice(v, paths["gender"], _GENDERS, errors)
            if gender is None:
                absent.append("gender")
        v = get("nationality")
        if v.__class__ is str and len(v) == 3 and v.isupper() and v.isalpha() and v.isascii():
            nationality: str | None = v
        else:
            nationality = _nationality(v, paths["nationality"], errors)
            if nationality is None:
                absent.append("nationality")
        birth_year = _birth_year(get("birth_year"), dob, dob_year, paths, as_of, errors, absent)
        if "relationship" in paths:
            _text_field(get("relationship"), "relationship", paths, max_name, errors, absent)
        v = get("previous_id_number")
        if v is not None and "previous_id_number" in paths:
            self._previous_id_number(v, paths, errors)

        # Cross-checks of what was read.
        id_ok = False
        if number and spec is not None:
            id_ok = _number_agrees(number, spec, gender, dob, birth_year, as_of, paths, errors)
        if nationality and nationality != _VNM:
            if spec is not None and spec.nationality is not None:
                errors.append(FieldError(paths["nationality"], "nationality_mismatch"))
            elif id_type is None:
                errors.append(FieldError(paths["id_type"], "passport_required"))
        derived: dict[str, object] = {}
        if (
            id_ok
            and spec is not None
            and spec.personal_number
            and (gender is None or ("date_of_birth" in absent and "birth_year" in absent))
        ):
            derived = derive_person(
                id_type,
                number,
                gender,
                nationality,
                "date_of_birth" not in absent,
                None if "birth_year" in absent else (birth_year or 0),
                self._nationality_by_type,
                self._personal_types,
            )
            if derived:
                nationality = nationality or cast("str | None", derived.get("nationality"))
                gender = gender or cast("str | None", derived.get("gender"))
                birth_year = birth_year or cast("int | None", derived.get("birth_year"))
        elif nationality is None and spec is not None and spec.nationality is not None:
            # derive_person's nationality rule for the common case, without the call.
            nationality = spec.nationality
            derived = {"nationality": nationality}
        if issued is not None:
            _issue_date_agrees(issued, spec, dob, birth_year, as_of, paths, errors)
        if spec is not None:
            _unexpired(spec, issued, dob, given_expiry, as_of, paths, errors)
        elif given_expiry is not None and given_expiry < as_of:
            errors.append(FieldError(paths["id_expiry_date"], "id_expired"))

        return Person(
            prefix,
            obj,
            dob,
            birth_year,
            id_type,
            number if id_ok else None,
            nationality,
            gender,
            absent,
            derived,
            issued,
            given_expiry,
            spec,
        )

    def _id_number(
        self, v: Any, id_type: str | None, paths: dict[str, str], errors: list[FieldError], absent: list[str]
    ) -> str | None:
        """The ID number as stored (normalized), None when absent, malformed or too long."""
        number: str | None = None
        if v.__class__ is str:
            if v.isdigit() and v.isascii():
                number = v
            elif v and not v.isspace():
                number = identity.normalize_id_number(id_type or "", v)
            else:
                absent.append("id_number")
            if number is not None and len(number) > self.MAX_CODE:
                errors.append(FieldError(paths["id_number"], "too_long"))
                number = None
        elif v is None:
            absent.append("id_number")
        else:
            errors.append(FieldError(paths["id_number"], "invalid_format"))
        return number

    def _previous_id_number(self, v: Any, paths: dict[str, str], errors: list[FieldError]) -> None:
        """The old CMND number a CCCD carries: 9 or 12 digits."""
        if v.__class__ is not str:
            errors.append(FieldError(paths["previous_id_number"], "invalid_format"))
        elif v and not v.isspace():
            s = v if v.isdigit() and v.isascii() else identity.normalize_id_number("cmnd", v)
            if not ((len(s) == 9 or len(s) == 12) and s.isdigit() and s.isascii()):
                code = "too_long" if len(s) > self.MAX_CODE else "invalid_id_number"
                errors.append(FieldError(paths["previous_id_number"], code))

    def _require_person(
        self, p: Person | None, fields: tuple[str, ...], paths: dict[str, str], missing: list[str]
    ) -> None:
        if p is None:
            missing += [paths[f] for f in fields]
            return
        absent = p.absent
        if absent:
            derived = p.derived
            for f in fields:
                if f in absent and f not in derived:
                    missing.append(paths[f])
        spec = p.spec
        if spec is not None and spec.passport:
            if p.nationality is None:
                missing.append(paths["nationality"])
            # A passport's validity is known only from its printed expiry (the ID fields are required).
            if "id_type" in fields and p.given_expiry is None and _absent(p.raw.get("id_expiry_date")):
                missing.append(paths["id_expiry_date"])

    def _under(self, p: Person, as_of: date, years: int) -> bool | None:
        """Whether the person is younger than `years` at `as_of`; None when it cannot be told."""
        dob = p.date_of_birth
        if dob is not None:
            if as_of.year - dob.year > years:
                return False
            return as_of < anniversary(dob, years)
        by = p.birth_year
        if by is not None:
            # Only the year is known: certain only away from the anniversary year.
            if as_of.year - by > years:
                return False
            if as_of.year - by < years:
                return True
        return None

    def _signer_documents(self, signer: Person | None, present_docs: set[str], missing: list[str]) -> None:
        if "portrait" not in present_docs:
            missing.append("documents.portrait")
        passport = signer is not None and (
            (signer.spec is not None and signer.spec.passport)
            or (signer.id_type is None and signer.nationality is not None and signer.nationality not in ("", _VNM))
        )
        if passport:
            if "passport_page" not in present_docs:
                missing.append("documents.passport_page")
        else:
            if "id_front" not in present_docs:
                missing.append("documents.id_front")
            if "id_back" not in present_docs:
                missing.append("documents.id_back")

    def _individual(
        self,
        record: Mapping[str, Any],
        holder: Person | None,
        holder_obj: object,
        present_docs: set[str],
        ordinal: int,
        as_of: date,
        errors: list[FieldError],
        missing: list[str],
        derived: dict[str, object],
        persons: list[Person],
    ) -> None:
        dob = holder.date_of_birth if holder is not None else None
        if dob is not None and as_of.year - dob.year > self.GUARDIAN_AGE:
            under = False  # the common case, decided without the call
        else:
            under = holder is not None and self._under(holder, as_of, self.GUARDIAN_AGE) is True
        guardian_obj = record.get("guardian")
        guardian: Person | None = None
        # A guardian object whose values are all blank is no guardian (normalize drops blank values).
        if (
            guardian_obj
            and not _absent(guardian_obj)
            and not (isinstance(guardian_obj, Mapping) and all(_absent(g) for g in guardian_obj.values()))
        ):
            guardian = self._person_or_error(
                guardian_obj, "guardian", self._guardian_paths, as_of, errors, derived, persons
            )
        if holder is None:
            if _absent(holder_obj):  # a malformed holder is one error, not a list of missing fields
                self._require_person(holder, self.PERSON_REQUIRED, self._holder_paths, missing)
        elif holder.absent or (holder.spec is not None and holder.spec.passport):
            required = self.MINOR_REQUIRED if under else self.PERSON_REQUIRED
            self._require_person(holder, required, self._holder_paths, missing)
        if guardian is not None:
            self._require_person(guardian, self.GUARDIAN_REQUIRED, self._guardian_paths, missing)
            if self._under(guardian, as_of, self.ADULT_AGE) is True:
                errors.append(FieldError("guardian", "guardian_not_adult"))
        elif under:
            errors.append(FieldError("guardian", "underage_without_guardian"))
            missing.append("guardian")
        self._signer_documents(guardian if guardian is not None else holder, present_docs, missing)
        if ordinal >= self.CONTRACT_FROM_ORDINAL:
            if "contract" not in present_docs:
                missing.append("documents.contract")
            if _absent(record.get("contract_number")):
                errors.append(FieldError("contract_number", "contract_required"))
                missing.append("contract_number")
        elif "confirmation_form" not in present_docs and "contract" not in present_docs:
            missing.append("documents.confirmation_form")

    def _organization(
        self,
        record: Mapping[str, Any],
        org: object,
        holder: Person | None,
        holder_obj: object,
        present_docs: set[str],
        as_of: date,
        errors: list[FieldError],
        missing: list[str],
        derived: dict[str, object],
        persons: list[Person],
    ) -> None:
        signer_is_rep = True
        if org is None or _absent(org) or (isinstance(org, Mapping) and not org):
            missing.extend(f"organization.{name}" for name in (*_ORG_REQUIRED, "users", "line_user"))
        elif not isinstance(org, Mapping):
            errors.append(FieldError("organization", "invalid_format"))
        else:
            get = org.get
            for name, limit in (("name", self.MAX_NAME), ("registration_number", self.MAX_CODE)):
                v = get(name)
                if v is not None and (v.__class__ is not str or len(v) > limit):
                    _text_error(v, f"organization.{name}", errors)
            v = get("address")
            if v is not None and (v.__class__ is not str or len(v) > self.MAX_ADDRESS):
                _text_error(v, "organization.address", errors)
            reg = _date(get("registration_date"), "organization.registration_date", errors)
            if reg is not None and reg > as_of:
                errors.append(FieldError("organization.registration_date", "date_in_future"))
            for name in _ORG_REQUIRED:
                if _absent(get(name)):
                    missing.append(f"organization.{name}")
            s = get("signer_is_representative")
            if s is False:
                signer_is_rep = False
            elif s is not None and s is not True and not _absent(s):
                errors.append(FieldError("organization.signer_is_representative", "invalid_format"))
            users = get("users")
            listed: set[str] | None = None  # the users' ID numbers, when the list could be read
            if _absent(users) or (isinstance(users, list) and not users):
                missing.append("organization.users")
            elif not isinstance(users, list):
                errors.append(FieldError("organization.users", "invalid_format"))
            elif len(users) > self.MAX_USERS:
                errors.append(FieldError("organization.users", "too_long"))
            else:
                listed = set()
                for i, user in enumerate(users):
                    prefix = f"organization.users[{i}]"
                    if not isinstance(user, Mapping):
                        errors.append(FieldError(prefix, "invalid_format"))
                        listed = None  # an unreadable entry may be the line's user: not judged
                        continue
                    paths = _paths(prefix, self.USER_FIELDS)
                    p = self._person_or_error(user, prefix, paths, as_of, errors, derived, persons)
                    self._require_person(p, self.PERSON_REQUIRED, paths, missing)
                    number = user.get("id_number")
                    if listed is not None and number.__class__ is str:
                        listed.add(identity.normalize_id_number("passport", number))
            self._line_user(get("line_user"), listed, errors, missing)
        if holder is not None or _absent(holder_obj):
            self._require_person(holder, self.PERSON_REQUIRED, self._holder_paths, missing)
        for name in ("organization_certificate", "user_list", "contract"):
            if name not in present_docs:
                missing.append(self._doc_paths[name])
        if not signer_is_rep and "authorization_letter" not in present_docs:
            missing.append("documents.authorization_letter")
        self._signer_documents(holder, present_docs, missing)
        if _absent(record.get("contract_number")):
            missing.append("contract_number")

    def _line_user(self, v: object, listed: set[str] | None, errors: list[FieldError], missing: list[str]) -> None:
        # Decree 49: each line of an organization is used by a named person of its certified list.
        if _absent(v):
            missing.append("organization.line_user")
        elif v.__class__ is not str or len(v) > self.MAX_CODE:
            _text_error(v, "organization.line_user", errors)
        elif listed is not None and identity.normalize_id_number("passport", v) not in listed:
            errors.append(FieldError("organization.line_user", "line_user_not_listed"))


def _set_path(out: dict[str, Any], path: str, value: object) -> None:
    # "holder.gender" or "organization.users[3].nationality"
    node: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        name, bracket, index = part.partition("[")
        child = node.get(name)
        if not isinstance(child, dict | list):
            child = node[name] = {}
        if bracket:
            i = int(index[:-1])
            if not (isinstance(child, list) and i < len(child) and isinstance(child[i], dict)):
                return
            child = child[i]
        node = child
    node[parts[-1]] = value
