"""Circular 08/2026/TT-BKHCN (in force 15/4/2026): `circular-08-2026`.

Decree 163's rule set, plus facial biometric verification (domain-facts §2): a subscription activated on or
after 15/4/2026 by a Vietnamese citizen must have been verified by matching the subscriber's face against the
National Population Database, the identity database or the card's chip; without it the line misses
`verification.face`. Lines verified before (level-2 e-ID, chip card, VNeID) need not redo it unless the device
changes (the device-change flow, not this rule set). The evidence is the record's `verification` section:
`verification.face = "match"`, or a last verification `method` that includes a face match (`face`, `vneid`).
The timeline: one-way after the 60-day transition (15/6/2026), two-way 60 days later (a setting: sources say
30 or 60), terminated 5 days after that.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from subreg.domain.common.errors import FieldError
from subreg.domain.compliance.rules.nd49_2017 import Person
from subreg.domain.compliance.rules.nd163_2024 import Nd163RuleSet
from subreg.domain.compliance.rules.population_db_2023 import FACE_METHODS
from subreg.domain.compliance.timeline import CIRCULAR_08_2026_TIMELINE, Timeline

__all__ = ["FACE_FROM", "FACE_ITEM", "Circular08RuleSet", "face_verified"]

FACE_ITEM = "verification.face"
FACE_FROM = date(2026, 4, 15)  # the circular's effective date: new subscriptions from then on


def face_verified(record: Mapping[str, Any]) -> bool:
    """Whether the record's `verification` section shows a face match."""
    v = record.get("verification")
    if not isinstance(v, Mapping):
        return False
    return v.get("face") == "match" or v.get("method") in FACE_METHODS


class Circular08RuleSet(Nd163RuleSet):
    """Decree 163's rules plus the face match for new subscriptions (`verification.face`)."""

    name: ClassVar[str] = "circular-08-2026"
    revision: ClassVar[int] = 1
    timeline: ClassVar[Timeline] = CIRCULAR_08_2026_TIMELINE
    EXTRA_MISSING_ITEMS: ClassVar[tuple[str, ...]] = (*Nd163RuleSet.EXTRA_MISSING_ITEMS, FACE_ITEM)
    FACE_FROM: ClassVar[date] = FACE_FROM

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
        """The population-database match as before; a new subscription also needs the face match."""
        super().extra_checks(record, persons, as_of=as_of, errors=errors, missing=missing, derived=derived)
        if not self.needs_population_match(record, persons) or face_verified(record):
            return
        activated = record.get("activated_on")
        try:
            day = date.fromisoformat(activated) if isinstance(activated, str) else activated
        except ValueError:
            return  # the base rules already reported the malformed date
        if isinstance(day, date) and day >= self.FACE_FROM:
            missing.append(FACE_ITEM)
