"""Check a stream of records against a rule set, without storing anything (`subreg check`, POST /checks).

Each record's `ordinal` (its position among the subscriptions under the same ID document, which
decides the 4th-subscription contract rule) is counted across the stream in input order, keyed by
`rule_set.document_key`. The counter holds one small entry per distinct document: about 100 bytes,
so ~100 MB for a million distinct documents; inputs far larger than that should be checked against
the counts in the database instead (import / evaluate).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from subreg.domain.common.errors import FieldError
from subreg.domain.compliance.rules import RuleSet
from subreg.domain.compliance.rules.base import cached_message

__all__ = ["CheckSummary", "check_records", "line_error_result"]


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
) -> Iterator[dict[str, Any]]:
    """One check-result dict (with "line") per input item, in input order; updates `summary` if given."""
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
