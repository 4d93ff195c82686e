"""The embedded default population database: a reference registry built from the demo data, with deliberate
mismatches.

The national interface is not public, so subreg ships a stand-in that behaves like the real database on the
operator's own data: it holds every citizen the demo data (or any set of records) knows, except that a fixed,
seeded share is deliberately wrong, the way the 2022-23 reconciliation found the operators' registers wrong:

* `unknown` (0.5%): the number is not in the database (every field `not_found`);
* `name` (2%): the database's name differs by a typo (one letter changed), so the typed name is a mismatch;
* `birth` (1%): the database's date of birth is another day.

Which holders are affected is a keyed hash of the ID number and the seed (deterministic, independent of order
and of how the lines are paged), so a test knows exactly which answers to expect (`deliberate`).

Two forms: `ReferenceRegistry(table)` looks numbers up in a table built by `build_reference_table(records)`;
`MirrorReferenceRegistry` (the embedded default at scale: no table of ten million entries in memory) holds
exactly what the operator's register holds, i.e. what it is asked, perturbed by the same rule. Both answer
through the `PopulationRegistry` port with the comparison of `domain.verification.population`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from subreg.domain.compliance.rules import get_rule_set
from subreg.domain.verification.population import (
    MATCHED_ID_TYPES,
    PopulationAnswer,
    PopulationQuery,
    compare,
)

__all__ = [
    "DeliberateRates",
    "MirrorReferenceRegistry",
    "ReferenceRegistry",
    "build_reference_table",
    "deliberate",
]


@dataclass(frozen=True, slots=True)
class DeliberateRates:
    """Shares of deliberate mismatches (defaults: 0.5% unknown, 2% name typos, 1% wrong date of birth)."""

    unknown: float = 0.005
    name: float = 0.02
    birth: float = 0.01
    seed: int = 2023


def deliberate(id_number: str, rates: DeliberateRates) -> str | None:
    """`unknown`, `name`, `birth` or None: the deliberate mismatch the registry holds for this number."""
    digest = hashlib.blake2b(id_number.encode(), digest_size=8, key=rates.seed.to_bytes(8, "big")).digest()
    u = int.from_bytes(digest, "big") / 2**64
    if u < rates.unknown:
        return "unknown"
    if u < rates.unknown + rates.name:
        return "name"
    if u < rates.unknown + rates.name + rates.birth:
        return "birth"
    return None


def _typo(name: str) -> str:
    """One letter changed (the first vowel-ish letter past the family name), so the name differs visibly."""
    chars = list(name)
    for i in range(len(chars) - 1, -1, -1):
        if chars[i].isalpha():
            chars[i] = "x" if chars[i].lower() != "x" else "y"
            return "".join(chars)
    return name + "x"


def _other_day(born: str) -> str:
    if len(born) == 4:
        return str(int(born) - 1)
    try:
        return (date.fromisoformat(born) + timedelta(days=1)).isoformat()
    except ValueError:
        return born + "-x"


def _reference(query_or_holder: tuple[str, str, str], rates: DeliberateRates) -> tuple[str, str] | None:
    number, name, born = query_or_holder
    kind = deliberate(number, rates)
    if kind == "unknown":
        return None
    if kind == "name":
        return _typo(name), born
    if kind == "birth":
        return name, _other_day(born)
    return name, born


def build_reference_table(
    records: Iterable[Mapping[str, Any]], rates: DeliberateRates | None = None, *, as_of: date = date(2026, 1, 1)
) -> dict[str, tuple[str, str]]:
    """id number -> (full name, date of birth) of every citizen holder in `records`, deliberately perturbed.

    Records are first put in storage form (the rule set's `normalize`: digits-only numbers, ISO dates, NFC), the
    form the database keeps and the register sends."""
    rates = rates or DeliberateRates()
    rules = get_rule_set("nd163-2024")
    table: dict[str, tuple[str, str]] = {}
    for raw in records:
        record, _ = rules.normalize(raw, as_of=as_of)
        holder = record.get("holder")
        if not isinstance(holder, Mapping) or holder.get("id_type") not in MATCHED_ID_TYPES:
            continue
        number, name = holder.get("id_number"), holder.get("full_name")
        born = holder.get("date_of_birth") or holder.get("birth_year")
        if isinstance(number, str) and isinstance(name, str) and born is not None:
            ref = _reference((number, name, str(born)), rates)
            if ref is not None:
                table[number] = ref
    return table


class ReferenceRegistry:
    """A population database held as a table (`build_reference_table`)."""

    def __init__(self, table: Mapping[str, tuple[str, str]]) -> None:
        self._table = table

    def match(self, queries: Sequence[PopulationQuery]) -> list[PopulationAnswer]:
        """One answer per query."""
        get = self._table.get
        return [compare(q, get(q.id_number)) for q in queries]


class MirrorReferenceRegistry:
    """The embedded default: the operator's register itself, deliberately perturbed (see the module docstring)."""

    def __init__(self, rates: DeliberateRates | None = None) -> None:
        self.rates = rates or DeliberateRates()

    def match(self, queries: Sequence[PopulationQuery]) -> list[PopulationAnswer]:
        """One answer per query."""
        rates = self.rates
        return [compare(q, _reference((q.id_number, q.full_name, q.date_of_birth), rates)) for q in queries]
