"""Check a stream of records against a rule set, without storing anything (`subreg check`, POST /checks).

Each record's `ordinal` (its position among the subscriptions under the same ID document, which
decides the 4th-subscription contract rule) is counted across the stream in input order, keyed by
`rule_set.document_key`. The counter holds one small entry per distinct document: about 100 bytes,
so ~100 MB for a million distinct documents; inputs far larger than that should be checked against
the counts in the database instead (import / evaluate).

With the operator's ranges set (setting `operator_ranges`), a record whose number is valid but not this
operator's (outside the ranges and not ported in, or ported out) gets `not_operator_number` at `msisdn`
and is invalid. The MNP list is looked up per batch of records (one query for a batch's numbers, never
the whole list). Without ranges nothing is looked up and the path is the one without numbers at all:
every Vietnamese mobile number is accepted, as the setting's empty default says.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any

from subreg.domain.common.errors import FieldError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.common.operator_numbers import OperatorNumbers, with_ported
from subreg.domain.compliance.rules import RuleSet
from subreg.domain.compliance.rules.base import cached_message
from subreg.services.registry.ports import PortedLookup

__all__ = ["CheckSummary", "check_records", "line_error_result"]

NUMBERS_BATCH = 1000  # records whose numbers are looked up in the MNP list together


@dataclass(slots=True)
class CheckSummary:
    """Counts of a check run; `incomplete` counts valid records with something missing."""

    total: int = 0
    complete: int = 0
    incomplete: int = 0
    invalid: int = 0

    def add(self, result: dict[str, Any]) -> None:
        """Count one check-result dict."""
        self.total += 1
        if result["complete"]:
            self.complete += 1
        elif result["valid"]:
            self.incomplete += 1
        else:
            self.invalid += 1

    def to_dict(self) -> dict[str, int]:
        """The summary as JSON."""
        return {
            "total": self.total,
            "complete": self.complete,
            "incomplete": self.incomplete,
            "invalid": self.invalid,
        }


def line_error_result(line: int, error: FieldError, lang: str = "vi") -> dict[str, Any]:
    """The check result of an input line that is not a record (bad JSON, encoding, shape)."""
    return {
        "line": line,
        "msisdn": None,
        "valid": False,
        "complete": False,
        "errors": [
            {
                "field": error.field,
                "code": error.code,
                "message": cached_message(error.code, error.field, lang),
            }
        ],
        "missing": [],
        "derived": {},
    }


def check_records(
    items: Iterable[tuple[int, dict[str, Any] | FieldError]],
    *,
    rule_set: RuleSet,
    as_of: date,
    lang: str = "vi",
    summary: CheckSummary | None = None,
    numbers: OperatorNumbers | None = None,
    ported: PortedLookup | None = None,
) -> Iterator[dict[str, Any]]:
    """One check-result dict (with "line") per input item, in input order; updates `summary` if given.

    `numbers` (the operator's ranges) and `ported` (the MNP list) judge whose the numbers are, only when
    `numbers` has ranges (module docstring); results then come a batch at a time.
    """
    if numbers is None or numbers.accepts_all:
        return _results(items, rule_set, as_of, lang, summary)
    return _operators_only(_results(items, rule_set, as_of, lang, None), numbers, ported, lang, summary)


def _results(
    items: Iterable[tuple[int, dict[str, Any] | FieldError]],
    rule_set: RuleSet,
    as_of: date,
    lang: str,
    summary: CheckSummary | None,
) -> Iterator[dict[str, Any]]:
    counts: dict[int | str, int] = {}
    check = rule_set.check_dict
    document_key = rule_set.document_key
    for line, item in items:
        if isinstance(item, FieldError):
            result = line_error_result(line, item, lang)
        else:
            key = document_key(item)
            if key is None:
                ordinal = 1
            else:
                # Digit-only keys are kept as ints ("1" keeps leading zeros): about half the memory.
                k: int | str = int("1" + key) if key.isdigit() and key.isascii() else key
                ordinal = counts.get(k, 0) + 1
                counts[k] = ordinal
            result = check(item, as_of=as_of, ordinal=ordinal, lang=lang, line=line)
        if summary is not None:
            summary.add(result)
        yield result


def _operators_only(
    results: Iterator[dict[str, Any]],
    numbers: OperatorNumbers,
    ported: PortedLookup | None,
    lang: str,
    summary: CheckSummary | None,
) -> Iterator[dict[str, Any]]:
    """The results, with `not_operator_number` on each valid number that is not the operator's."""
    refusal = {"field": "msisdn", "code": "not_operator_number"}
    refusal["message"] = cached_message(refusal["code"], "msisdn", lang)
    while batch := list(islice(results, NUMBERS_BATCH)):
        # A number the rule set accepted comes back in E.164 with no error at `msisdn`.
        valid = {
            r["msisdn"]: None
            for r in batch
            if r["msisdn"] is not None and not (r["errors"] and any(e["field"] == "msisdn" for e in r["errors"]))
        }
        listed = ported.directions_of([int(n[1:]) for n in valid]) if ported is not None and valid else {}
        owns = with_ported(numbers, {msisdn_from_key(k): d for k, d in listed.items()}).owns
        for r in batch:
            if r["msisdn"] in valid and not owns(r["msisdn"]):
                r["errors"] = [dict(refusal), *r["errors"]]
                r["valid"] = r["complete"] = False
            if summary is not None:
                summary.add(r)
            yield r
