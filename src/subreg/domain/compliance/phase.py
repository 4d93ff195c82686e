"""Update phases from tenure (pure): who the operator invites first to complete their information.

Phase 1 = activated LESS than 5 years before the reference date (the shorter-tenure group, invited
first); phase 2 = activated 5 years or more before it. The boundary is the 5th anniversary: a
subscription activated on 2013-04-24 is in phase 2 on 2018-04-24, one activated a day later in
phase 1. A 29 February activation has its anniversary on 28 February in common years.

Without an activation date the phase is unknown (`None`): it is not guessed, the subscription is
counted under "unknown" in statistics, and `activated_on` being absent is itself a data-quality
finding the operator fixes first. `cutoff` gives the single date that SQL compares against, so
evaluation is one set-based UPDATE: `activated_on > cutoff` means phase 1.

Decided (issue #12, docs/rules.md): the phases are a campaign device of the operator, not a rule of
Decree 49 (which gave existing subscribers 12 months, to 24/4/2018). The reference date is the
campaign's, a setting (`DEFAULT_REFERENCE`, the 2018 deadline), never the evaluation date: a
line must not change phase while a campaign runs. A line activated on or after the decree took
effect (24/4/2017) was registered under it, so if it is incomplete it was non-compliant from its
first day: it is in phase 1 (invited first), which the 5-year rule gives it for any reference
date before 24/4/2022, the default included.
"""

from __future__ import annotations

from datetime import date

__all__ = ["DECREE_EFFECTIVE", "DEFAULT_REFERENCE", "PHASE_LONG", "PHASE_SHORT", "PHASE_YEARS", "cutoff", "phase_of"]

DECREE_EFFECTIVE = date(2017, 4, 24)  # Decree 49/2017 signed and in force
DEFAULT_REFERENCE = date(2018, 4, 24)  # the 12-month deadline for existing subscribers
PHASE_YEARS = 5
PHASE_SHORT = 1  # tenure under 5 years: invited first
PHASE_LONG = 2  # tenure of 5 years or more


def cutoff(reference: date, years: int = PHASE_YEARS) -> date:
    """The last activation date that is already `years` old at `reference` (its anniversary)."""
    try:
        return reference.replace(year=reference.year - years)
    except ValueError:  # 29 February -> 28 February
        return reference.replace(year=reference.year - years, day=28)


def phase_of(activated_on: date | None, reference: date, years: int = PHASE_YEARS) -> int | None:
    """1 (tenure < `years`), 2 (tenure >= `years`), or None without an activation date."""
    if activated_on is None:
        return None
    return PHASE_SHORT if activated_on > cutoff(reference, years) else PHASE_LONG
