"""What every completeness rule set returns and promises: `CheckResult` and the `RuleSet` protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

from subreg.domain.common.errors import FieldError
from subreg.domain.common.messages import message_for
from subreg.domain.compliance.timeline import Timeline

__all__ = ["CheckResult", "RuleSet", "cached_message", "missing_item", "rule_tag"]


@lru_cache(maxsize=4096)
def cached_message(code: str, field: str, lang: str) -> str:
    """`message_for`, memoised: a bulk check renders the same few messages millions of times."""
    return message_for(code, field, lang)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict on one record: errors (rule violations), missing paths and derived values."""

    msisdn: str | None
    valid: bool
    complete: bool
    errors: tuple[FieldError, ...] = ()
    missing: tuple[str, ...] = ()
    derived: dict[str, object] = field(default_factory=dict)

    @staticmethod
    def fast(
        msisdn: str | None,
        valid: bool,
        complete: bool,
        errors: tuple[FieldError, ...],
        missing: tuple[str, ...],
        derived: dict[str, object],
    ) -> CheckResult:
        """Construct without the frozen-dataclass `__init__` (~2x faster; bulk checks build millions)."""
        r = _new(CheckResult)
        _set_msisdn(r, msisdn)
        _set_valid(r, valid)
        _set_complete(r, complete)
        _set_errors(r, errors)
        _set_missing(r, missing)
        _set_derived(r, derived)
        return r

    def to_dict(self, lang: str = "vi", *, line: int | None = None) -> dict[str, Any]:
        """The data dictionary's JSON shape of this result, with messages in `lang`."""
        out: dict[str, Any] = {} if line is None else {"line": line}
        out["msisdn"] = self.msisdn
        out["valid"] = self.valid
        out["complete"] = self.complete
        out["errors"] = [
            {"field": e.field, "code": e.code, "message": cached_message(e.code, e.field, lang)} for e in self.errors
        ]
        out["missing"] = list(self.missing)
        out["derived"] = dict(self.derived)
        return out


# Slot descriptors of the frozen dataclass: setting through them skips its __setattr__ guard.
_new = object.__new__
_set_msisdn = CheckResult.__dict__["msisdn"].__set__
_set_valid = CheckResult.__dict__["valid"].__set__
_set_complete = CheckResult.__dict__["complete"].__set__
_set_errors = CheckResult.__dict__["errors"].__set__
_set_missing = CheckResult.__dict__["missing"].__set__
_set_derived = CheckResult.__dict__["derived"].__set__


def missing_item(path: str) -> str:
    """The `missing_items` entry of a missing path: an organization user's index is dropped.

    `organization.users[3].id_number` -> `organization.users[].id_number`; other paths are unchanged.
    """
    head, bracket, rest = path.partition("[")
    if not bracket:
        return path
    _, closing, tail = rest.partition("]")
    return f"{head}[]{tail}" if closing else path


class RuleSet(Protocol):
    """A completeness regime: validates, lists what is missing, derives, and normalizes records.

    `ordinal` is the position (1-based) of this subscription among those under the same ID document
    at this operator; `document_key` gives the key callers count subscriptions by, and
    `document_keys` every key of the same holder (the previous CMND's too): storage counts the
    holder's active lines across all of them.

    The rule set owns its vocabulary: the ID types it accepts, the fields of each person, the flat
    (CSV) columns and every missing item it can report. Forms, storage, statistics and the CSV shape
    read these instead of fixed lists, so a later regime (a new ID type, verification evidence) is
    one new rule-set module; `normalize` keeps exactly the declared fields.

    Time: every answer is for the evaluation date `as_of` passed in, never the date the record was
    written; `valid_until` says until when that answer holds, so stored verdicts can be refreshed.
    """

    @property
    def name(self) -> str:
        """The rule set's name, e.g. `nd49-2017`."""
        ...

    @property
    def timeline(self) -> Timeline:
        """The regime's enforcement timeline (notices, locks, termination), before settings override it."""
        ...

    @property
    def rejected_registration_services(self) -> frozenset[str]:
        """What a line a supervisor rejected may still do (network services such as `sms_1414` and
        `emergency_calls`, or counter transaction kinds); everything else is refused and locked."""
        ...

    @property
    def revision(self) -> int:
        """Bumped when an answer changes for the same record and date (stored verdicts go stale)."""
        ...

    @property
    def id_types(self) -> tuple[str, ...]:
        """The `id_type` values this rule set accepts."""
        ...

    @property
    def holder_fields(self) -> tuple[str, ...]:
        """Every field of a holder (and of an organization's listed user) that storage keeps."""
        ...

    @property
    def guardian_fields(self) -> tuple[str, ...]:
        """Every field of a guardian that storage keeps."""
        ...

    @property
    def typed_holder_fields(self) -> tuple[str, ...]:
        """What a form asks staff to type for a holder: `holder_fields` minus the derived-only ones."""
        ...

    @property
    def csv_columns(self) -> tuple[str, ...]:
        """The flat (CSV) shape's columns, in a stable order."""
        ...

    @property
    def missing_items(self) -> tuple[str, ...]:
        """Every path `missing` can hold (users' paths as `organization.users[].<field>`, see
        `missing_item`), in a stable order: statistics give each one bit of a mask."""
        ...

    @property
    def contract_from_ordinal(self) -> int:
        """The ordinal from which a subscription needs a standard-form contract (Decree 49: the 4th)."""
        ...

    def check(self, record: Mapping[str, Any], *, as_of: date, ordinal: int = 1) -> CheckResult:
        """Validate `record` at `as_of` and list what is missing."""
        ...

    def check_dict(
        self,
        record: Mapping[str, Any],
        *,
        as_of: date,
        ordinal: int = 1,
        lang: str = "vi",
        line: int | None = None,
    ) -> dict[str, Any]:
        """Same as `check(...).to_dict(lang, line=line)`; bulk checks call this to skip the object."""
        ...

    def normalize(
        self, record: Mapping[str, Any], *, as_of: date, ordinal: int = 1
    ) -> tuple[dict[str, Any], CheckResult]:
        """The record in storage form (E.164, NFC, normalized IDs, derived values applied) and its check."""
        ...

    def needs_guardian(self, holder: Mapping[str, Any], *, as_of: date) -> bool:
        """Whether a holder with these fields must have a guardian sign for them at `as_of`."""
        ...

    def derivable_values(self, record: Mapping[str, Any], *, as_of: date) -> dict[str, object]:
        """`{path: value}` the rule set derives for each derivable field were it absent."""
        ...

    def document_key(self, record: Mapping[str, Any]) -> str | None:
        """The key of the ID document this subscription is registered under, or None when unknown.

        Equal numbers of different ID types give different keys."""
        ...

    def document_keys(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        """Every key the holder is known by: `document_key` first, then the previous CMND's; () when none."""
        ...

    def document_expiry(self, record: Mapping[str, Any]) -> date | None:
        """The earliest effective expiry (given or derived by law) among the record's ID documents."""
        ...

    def valid_until(self, record: Mapping[str, Any], *, as_of: date) -> date | None:
        """The first day after `as_of` on which `check(record)` can answer otherwise; None if never.

        The answer at `as_of` holds on every day d with as_of <= d < valid_until (document expiry,
        the holder's 14th birthday, a guardian's 18th, the CMND cut-off 1/1/2025, future dates)."""
        ...


def rule_tag(rule_set: RuleSet) -> str:
    """What a stored verdict says it was computed by: the rule set's name and revision (`nd49-2017/2`).

    A verdict of another revision is stale: the counter re-checks the line, the evaluation every line.
    """
    return f"{rule_set.name}/{rule_set.revision}"
