"""Matching a line's holder against the National Population Database: the per-field result and how names compare.

The 2022-23 reconciliation (PM Decision 06/QD-TTg, domain-facts §2) checked three fields: the personal ID
number, the full name and the date of birth. Each comes back as `match`, `mismatch` or `not_found` (the
number is unknown to the database: then every field is `not_found`). A line is matched when all three match.

Name comparison (`same_name`): both names are put in Unicode NFC, case-folded, and their runs of white space
collapsed to one space, trimmed. **Diacritics count**: "Nguyễn Văn An" and "Nguyen Van An" are different
names (Vietnamese tone marks distinguish names: Lê and Lệ, Đức and Duc), and the population database holds
names with their marks, as the chip card does. A name typed without marks is therefore a mismatch, sent to
the counter to be corrected, never silently accepted. Dates of birth compare as ISO dates; a year-only date
of birth (old CMND) is compared on the year the database holds.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "MATCHED_ID_TYPES",
    "FieldResult",
    "PopulationAnswer",
    "PopulationQuery",
    "compare",
    "normalize_name",
    "same_name",
]


# The documents whose holders the database knows: a Vietnamese citizen's personal number (not a passport).
MATCHED_ID_TYPES: frozenset[str] = frozenset({"cmnd", "cccd", "can_cuoc", "e_id"})


class FieldResult(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    NOT_FOUND = "not_found"


_TEXT = {r: str(r.value) for r in FieldResult}  # plain strings for storage (a dict look-up, not the enum's)


@dataclass(frozen=True, slots=True)
class PopulationQuery:
    """One line to match: its reference (the subscription id, never the number) and the holder's three fields."""

    ref: int
    id_number: str
    full_name: str
    date_of_birth: str  # ISO date, or a year (old CMND)


@dataclass(frozen=True, slots=True)
class PopulationAnswer:
    """The database's per-field answer for one query."""

    ref: int
    id_number: FieldResult
    full_name: FieldResult
    date_of_birth: FieldResult

    def row(self) -> tuple[int, str, str, str]:
        """(ref, id number, full name, date of birth) as stored: the results' values."""
        return (self.ref, _TEXT[self.id_number], _TEXT[self.full_name], _TEXT[self.date_of_birth])

    @property
    def matched(self) -> bool:
        """All three fields match."""
        return (
            self.id_number is FieldResult.MATCH
            and self.full_name is FieldResult.MATCH
            and self.date_of_birth is FieldResult.MATCH
        )

    @staticmethod
    def not_found(ref: int) -> PopulationAnswer:
        """The answer for a number the database does not know."""
        nf = FieldResult.NOT_FOUND
        return PopulationAnswer(ref, nf, nf, nf)


def normalize_name(name: str) -> str:
    """NFC, case-folded, white space collapsed: the form names are compared in (diacritics kept)."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def same_name(a: str, b: str) -> bool:
    """Whether two full names are the same under `normalize_name` (diacritics count)."""
    return normalize_name(a) == normalize_name(b)


def _same_birth(typed: str, reference: str) -> bool:
    if typed == reference:
        return True
    if len(typed) == 4 or len(reference) == 4:  # a year-only date of birth: compare the years
        return typed[:4] == reference[:4]
    return typed == reference


_MATCH = FieldResult.MATCH
_MISMATCH = FieldResult.MISMATCH


def compare(query: PopulationQuery, reference: tuple[str, str] | None) -> PopulationAnswer:
    """The answer for `query` given the database's (full name, date of birth) for its number (None: unknown)."""
    if reference is None:
        return PopulationAnswer.not_found(query.ref)
    name, born = reference
    typed = query.full_name
    # Equal strings are the same name; normalizing (NFC, case, spacing) only when they differ.
    name_ok = typed == name or normalize_name(typed) == normalize_name(name)
    return PopulationAnswer(
        query.ref,
        _MATCH,
        _MATCH if name_ok else _MISMATCH,
        _MATCH if _same_birth(query.date_of_birth, born) else _MISMATCH,
    )
