"""ID-document types: what each kind of paper says, when it can have been issued, how long it lasts.

A rule set declares the types it accepts as a tuple of `IdTypeSpec` (`Nd49RuleSet.ID_TYPE_SPECS`),
so that a later regime adds a type (the 2024 chip card `can_cuoc`, say) by declaring one more spec,
without touching the checks that read them. The three specs below are the Decree 49/2017 types.

Sources (see docs/rules.md for the full list):

* CMND (chứng minh nhân dân): valid 15 years from issue (Decree 05/1999/ND-CP Art. 2, as amended by
  Decree 170/2007/ND-CP; the 12-digit CMND of Circular 27/2012/TT-BCA likewise); issued to citizens
  from 14 (Decree 05/1999/ND-CP); valid at most until 31/12/2024 (Law on Identification
  26/2023/QH15, Art. 46(1)). Old cards may show only a year of birth.
* CCCD (căn cước công dân): first issued when Law 59/2014/QH13 on Citizen Identification took
  effect, 1/1/2016; issued from 14 under that law (Art. 19(1)), to citizens of any age from
  1/7/2024 (Law 26/2023/QH15); expiry at the 25th, 40th and 60th birthdays (Art. 21; 14, 25, 40, 60
  under the 2023 law), a card issued within 2 years before such a birthday running to the next one.
* Both: a CMND or CCCD whose validity ended between 15/1/2024 and before 30/6/2024 stays valid
  until 30/6/2024 (Law 26/2023/QH15, Art. 46(2), in force from 15/1/2024).
* Passport: the printed expiry date; nothing can be derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "CAN_CUOC",
    "CCCD",
    "CMND",
    "E_ID",
    "ND49_ID_TYPE_SPECS",
    "ND163_ID_TYPE_SPECS",
    "PASSPORT",
    "VALIDITY_MILESTONES",
    "VALIDITY_PRINTED",
    "VALIDITY_YEARS",
    "IdTypeSpec",
]

# How the expiry of a document is known.
VALIDITY_PRINTED = "printed"  # only from the date printed on it (id_expiry_date)
VALIDITY_YEARS = "years"  # a fixed number of years from the issue date (CMND: 15)
VALIDITY_MILESTONES = "milestones"  # the holder's renewal birthdays (CCCD: 14/25/40/60)


@dataclass(frozen=True, slots=True)
class IdTypeSpec:
    """What a rule set knows about one ID type; every check reads these fields, none names a type."""

    name: str
    # The number format `numbers.check_id_number` applies: "cmnd", "cccd" or "passport".
    number_format: str
    # The nationality the document proves (derived when absent, a mismatch when different), or None.
    nationality: str | None = None
    # The number is the 12-digit personal identification number (province, century/gender and
    # birth-year digits): gender and birth year are read from it.
    personal_number: bool = False
    # A passport: its photo page is scanned (not a card's two sides), the holder's nationality and the
    # printed expiry date are required, and its document key carries the type.
    passport: bool = False
    validity: str = VALIDITY_PRINTED
    valid_years: int = 0  # VALIDITY_YEARS only
    valid_through: date | None = None  # the law ends every such document on this day at the latest
    extended_2024: bool = False  # Law 26/2023 Art. 46(2): an expiry in [15/1/2024, 30/6/2024) runs to 30/6/2024
    first_issue: date | None = None  # no document of this type was issued before this day
    min_issue_age: int = 0  # issued only to holders of at least this age ...
    min_issue_age_until: date | None = None  # ... when issued before this day (None: always)
    year_only_birth: bool = False  # the card may show only a year of birth (older cards)
    key_prefix: str = ""  # document keys of this type: prefix + number (see Nd49RuleSet.document_key)


CMND = IdTypeSpec(
    name="cmnd",
    number_format="cmnd",
    nationality="VNM",
    validity=VALIDITY_YEARS,
    valid_years=15,
    valid_through=date(2024, 12, 31),
    extended_2024=True,
    min_issue_age=14,
    year_only_birth=True,
)
CCCD = IdTypeSpec(
    name="cccd",
    number_format="cccd",
    nationality="VNM",
    personal_number=True,
    validity=VALIDITY_MILESTONES,
    extended_2024=True,
    first_issue=date(2016, 1, 1),
    min_issue_age=14,
    min_issue_age_until=date(2024, 7, 1),
)
PASSPORT = IdTypeSpec(name="passport", number_format="passport", passport=True, key_prefix="passport:")

ND49_ID_TYPE_SPECS: tuple[IdTypeSpec, ...] = (CMND, CCCD, PASSPORT)

# Decree 163/2024 (as quoted by an MVNO, domain-facts §2) also accepts the identity card of Law 26/2023
# (thẻ căn cước, issued from 1/7/2024 to citizens of any age, chip, the same 12-digit personal number and
# renewal birthdays as the CCCD) and the level-2 electronic identity account (căn cước điện tử / e-ID, shown
# in VNeID): its number is the personal number and it carries no printed expiry. Both key like a CCCD (same
# personal number, same holder).
CAN_CUOC = IdTypeSpec(
    name="can_cuoc",
    number_format="cccd",
    nationality="VNM",
    personal_number=True,
    validity=VALIDITY_MILESTONES,
    first_issue=date(2024, 7, 1),
)
E_ID = IdTypeSpec(
    name="e_id",
    number_format="cccd",
    nationality="VNM",
    personal_number=True,
    first_issue=date(2024, 7, 1),
)
ND163_ID_TYPE_SPECS: tuple[IdTypeSpec, ...] = (*ND49_ID_TYPE_SPECS, CAN_CUOC, E_ID)
