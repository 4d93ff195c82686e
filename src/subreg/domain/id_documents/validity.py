"""When an ID document expires and whether it can have been issued (pure: every date is passed in).

`effective_expiry` is THE expiry of a document: the date printed on it when the record has one
(capped by the law for a CMND), else the date derived from the law (a CMND's 15 years, a CCCD's
renewal birthdays), with the 2024 transition of Law 26/2023 Art. 46 applied. An expiry is the LAST
day the document is valid: it is expired from the next day on. Sources: `types.py`.
"""

from __future__ import annotations

from datetime import date

from subreg.domain.id_documents.types import VALIDITY_MILESTONES, VALIDITY_YEARS, IdTypeSpec

__all__ = [
    "CARD_RENEWAL_AGES",
    "EXTENSION_FROM",
    "EXTENSION_UNTIL",
    "RENEWAL_WINDOW_YEARS",
    "anniversary",
    "card_expiry",
    "effective_expiry",
    "issued_underage",
]

# Law 59/2014 Art. 21 renews at 25, 40 and 60; Law 26/2023 Art. 21 adds 14 (cards for children).
# Starting at 14 changes nothing for a card issued at 14 or later (the 2014 law's only cards).
CARD_RENEWAL_AGES = (14, 25, 40, 60)
# A card issued, renewed or replaced within 2 years before a renewal age runs to the next one.
RENEWAL_WINDOW_YEARS = 2
# Law 26/2023 Art. 46(2): an expiry from 15/1/2024 to before 30/6/2024 runs to 30/6/2024.
EXTENSION_FROM = date(2024, 1, 15)
EXTENSION_UNTIL = date(2024, 6, 30)


def anniversary(day: date, years: int) -> date:
    """`day` plus `years` years; 29 February becomes 1 March in a common year (the day it is reached).

    Past the calendar's end (a date of birth typed as 9990-01-01) it is `date.max`, never an exception.
    """
    year = day.year + years
    if year > 9999:
        return date.max
    try:
        return day.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def card_expiry(born: date, issued: date) -> date | None:
    """The renewal birthday a card issued on `issued` runs to; None when it never expires (issued at 58+)."""
    for age in CARD_RENEWAL_AGES:
        if issued < anniversary(born, age - RENEWAL_WINDOW_YEARS):
            return anniversary(born, age)
    return None


def effective_expiry(spec: IdTypeSpec, *, issued: date | None, born: date | None, given: date | None) -> date | None:
    """The last day the document is valid, given or derived; None when it never expires or cannot be told.

    `given` is the record's `id_expiry_date`. A CCCD's derived expiry needs the full date of birth
    and the issue date; with a year of birth only it is not derived (the record then lacks its date
    of birth anyway). A CMND lasts 15 years from issue and never past 31/12/2024, whatever was given.
    """
    if spec.validity == VALIDITY_MILESTONES:
        expiry = given
        if expiry is None and born is not None and issued is not None:
            expiry = card_expiry(born, issued)
    elif spec.validity == VALIDITY_YEARS:
        expiry = anniversary(issued, spec.valid_years) if issued is not None else None
        if given is not None and (expiry is None or given < expiry):
            expiry = given
    else:
        expiry = given
    if spec.extended_2024 and expiry is not None and EXTENSION_FROM <= expiry < EXTENSION_UNTIL:
        expiry = EXTENSION_UNTIL
    through = spec.valid_through
    if through is not None and (expiry is None or expiry > through):
        expiry = through
    return expiry


def issued_underage(spec: IdTypeSpec, issued: date, born: date | None, birth_year: int | None) -> bool:
    """Whether the document was issued before its holder could hold one (certain cases only).

    With a year of birth only, the answer is True only when every day of that year gives True.
    """
    age = spec.min_issue_age
    if not age or (spec.min_issue_age_until is not None and issued >= spec.min_issue_age_until):
        return False
    if born is not None:
        return issued < anniversary(born, age)
    if birth_year is not None:
        return issued.year - birth_year < age
    return False
