"""The 2022-23 population-database regime (PM Decision 06/QD-TTg; the 2023 locking steps): `population-db-2023`.

Decree 49's rule set, plus one required item: the line's holder must have been matched against the National
Population Database on ID number, full name and date of birth (domain-facts §2). A mismatch or a number the
database does not know is the missing item `verification.population_db` (so it enters enforcement like any
other missing paper, under this regime's timeline: 31/3, 15/4, 15/5/2023).

The evidence is the record's `verification` section, which the registry fills from the line's clear columns
(`subscriptions.verified_method`, `verified_regime`, `verified_at`) and which `subreg check` reads as typed:

* `verification.population_db`: `match` | `mismatch` | `not_found` (a batch or the HTTP adapter's answer);
* `verification.method`: how the line was last verified. `population_db`, and every stronger method that
  itself checks the person against the national databases (`chip`, `vneid`, `e_id`, `face`), satisfy the
  match requirement.

Only holders whose paper the Population Database covers are matched: Vietnamese citizens' personal
documents (an ID type with a nationality, i.e. not a passport). Lines imported as `legacy_import` are not
judged, as under Decree 49.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from subreg.domain.common.errors import FieldError
from subreg.domain.compliance.rules.nd49_2017 import Nd49RuleSet, Person
from subreg.domain.compliance.timeline import POPULATION_DB_2023_TIMELINE, Timeline

__all__ = [
    "FACE_METHODS",
    "POPULATION_DB_ITEM",
    "POPULATION_METHODS",
    "PopulationDb2023RuleSet",
    "population_db_result",
]

POPULATION_DB_ITEM = "verification.population_db"
# Verification methods that prove the population-database match (each checks against the national databases).
POPULATION_METHODS: frozenset[str] = frozenset({"population_db", "chip", "vneid", "e_id", "face"})
# Methods that include a face match against the national databases or the card's chip (Circular 08/2026).
FACE_METHODS: frozenset[str] = frozenset({"face", "vneid"})
MATCH_RESULTS: tuple[str, ...] = ("match", "mismatch", "not_found")


def population_db_result(record: Mapping[str, Any]) -> str | None:
    """`match`, `mismatch`, `not_found` or None (never matched) for the record's `verification` section."""
    v = record.get("verification")
    if not isinstance(v, Mapping):
        return None
    result = v.get("population_db")
    if result in MATCH_RESULTS:
        return str(result)
    return "match" if v.get("method") in POPULATION_METHODS else None


class PopulationDb2023RuleSet(Nd49RuleSet):
    """Decree 49 plus the population-database match (`verification.population_db`)."""

    name: ClassVar[str] = "population-db-2023"
    revision: ClassVar[int] = 1
    timeline: ClassVar[Timeline] = POPULATION_DB_2023_TIMELINE
    EXTRA_MISSING_ITEMS: ClassVar[tuple[str, ...]] = (POPULATION_DB_ITEM,)
    # Channels whose lines are not judged (as Decree 49's UNJUDGED_CHANNELS).
    UNMATCHED_CHANNELS: ClassVar[tuple[str, ...]] = ("legacy_import",)

    def needs_population_match(self, record: Mapping[str, Any], persons: list[Person]) -> bool:
        """Whether this line must be matched: a holder with a citizen's personal document, a judged channel."""
        if record.get("channel") in self.UNMATCHED_CHANNELS:
            return False
        holder = persons[0] if persons and persons[0].path == "holder" else None
        return holder is not None and holder.spec is not None and holder.spec.nationality is not None

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
        """The population-database match is required; a mismatch, not-found or no match yet is missing."""
        if self.needs_population_match(record, persons) and population_db_result(record) != "match":
            missing.append(POPULATION_DB_ITEM)
