"""Passive authentication of a chip ID card's data (ICAO 9303 part 11), as pure rules.

The adapter (adapters/chip/) parses the SOD and checks signatures; what it found is handed here as plain
values, and these rules decide: every data group listed in the LDS security object must hash to the listed
value, every data group handed over must be listed, certificates must be valid on the day, and DG1's MRZ
must say what the counter typed. Reason codes are stable strings (they go into `verifications.reason`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from subreg.domain.id_documents.card_codes import mrz_name

__all__ = [
    "REQUIRED_GROUPS",
    "ChipReason",
    "PassiveAuthOutcome",
    "certificate_problem",
    "hash_problems",
    "mrz_mismatches",
]

REQUIRED_GROUPS = (1, 2)  # DG1 (the MRZ) and DG2 (the face); DG13 (Vietnam's extra data) when handed over


class ChipReason(StrEnum):
    """Why chip data was refused (`verifications.reason`)."""

    SOD_MALFORMED = "sod_malformed"
    SOD_SIGNATURE_INVALID = "sod_signature_invalid"
    DS_CERTIFICATE_MISSING = "ds_certificate_missing"
    CSCA_UNKNOWN = "csca_unknown"
    CSCA_EXPIRED = "csca_expired"
    DS_CERTIFICATE_EXPIRED = "ds_certificate_expired"
    DS_SIGNATURE_INVALID = "ds_certificate_signature_invalid"
    HASH_ALGORITHM_UNSUPPORTED = "hash_algorithm_unsupported"
    DATA_GROUP_MISSING = "data_group_missing"
    DATA_GROUP_NOT_LISTED = "data_group_not_listed"
    DATA_GROUP_HASH_MISMATCH = "data_group_hash_mismatch"
    DG1_MALFORMED = "dg1_malformed"
    DG1_MISMATCH = "dg1_mismatch"
    DG2_NO_IMAGE = "dg2_no_image"


@dataclass(frozen=True, slots=True)
class PassiveAuthOutcome:
    """The result of passive authentication: passed, or the first reason it failed (and details, no PII)."""

    passed: bool
    reason: ChipReason | None = None
    details: tuple[str, ...] = ()
    mrz_text: str | None = None  # DG1's MRZ as read from the chip (parsed by `parse_td1_mrz`)
    portrait: bytes | None = None  # DG2's face image (JPEG or JPEG 2000), the reference portrait
    portrait_format: str | None = None  # jpeg | jp2

    @classmethod
    def refused(cls, reason: ChipReason, *details: str) -> PassiveAuthOutcome:
        """A refusal with its reason code."""
        return cls(False, reason, tuple(details))


def hash_problems(listed: Mapping[int, bytes], computed: Mapping[int, bytes]) -> PassiveAuthOutcome | None:
    """Compare the LDS security object's hashes with those of the data groups handed over.

    `listed`: data-group number -> hash in the SOD; `computed`: number -> hash of the bytes received (same
    algorithm). A required group not handed over, a group handed over but not listed (nothing vouches for
    it), or any differing hash refuses.
    """
    for number in REQUIRED_GROUPS:
        if number not in computed:
            return PassiveAuthOutcome.refused(ChipReason.DATA_GROUP_MISSING, f"DG{number}")
    for number in sorted(computed):
        if number not in listed:
            return PassiveAuthOutcome.refused(ChipReason.DATA_GROUP_NOT_LISTED, f"DG{number}")
        if listed[number] != computed[number]:
            return PassiveAuthOutcome.refused(ChipReason.DATA_GROUP_HASH_MISMATCH, f"DG{number}")
    return None


def certificate_problem(
    *, role: str, not_before: datetime, not_after: datetime, at: datetime
) -> PassiveAuthOutcome | None:
    """A certificate (`role` = csca | ds) outside its validity on `at` refuses."""
    if not_before <= at <= not_after:
        return None
    reason = ChipReason.CSCA_EXPIRED if role == "csca" else ChipReason.DS_CERTIFICATE_EXPIRED
    return PassiveAuthOutcome.refused(reason, "not yet valid" if at < not_before else "expired")


def _norm(text: object) -> str:
    return " ".join(str(text).upper().replace("<", " ").split())


def mrz_mismatches(mrz: Mapping[str, str], typed: Mapping[str, object]) -> list[str]:
    """Names of the fields where DG1's MRZ (as `parse_td1_mrz` reads it) differs from the typed data.

    Compared when the counter typed them: `id_number`, `date_of_birth`, `gender`, `id_expiry_date`, and
    `full_name` as the MRZ writes it (ASCII capitals, at most 30 characters: `mrz_name`). Field names only,
    never the values.
    """
    wrong: list[str] = []
    for name in ("id_number", "date_of_birth", "gender", "id_expiry_date"):
        theirs = typed.get(name)
        if theirs in (None, ""):
            continue
        if isinstance(theirs, date):
            theirs = theirs.isoformat()
        if _norm(mrz.get(name, "")) != _norm(theirs):
            wrong.append(name)
    typed_name = str(typed.get("full_name") or "")
    if typed_name and _norm(mrz.get("full_name", "")) != _norm(mrz_name(typed_name)[:30]):
        wrong.append("full_name")
    return wrong
