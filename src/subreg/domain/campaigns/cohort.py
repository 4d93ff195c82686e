"""A campaign's cohort: which lines a reminder goes to, as data (validated here, turned into SQL by the adapter).

Each criterion is a list of accepted values; an empty list accepts any value. Criteria are AND-ed, the values
of one criterion OR-ed: `missing=["documents.portrait", "holder.address"]` is every line missing its portrait
OR its address. Whatever the criteria, a cohort only ever holds lines that still have something to do and may
be reminded: not complete (incomplete or invalid, or a contract needed), not terminated, and never a line whose
holder objected to reminders (`holders.objected`: only legally required notices) or restricted processing
(`holders.restricted`: stored, not used). Those are not options, so no cohort can reach them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.missing_mask import mask_of
from subreg.domain.compliance.records import PAYMENT_TYPES, SUBSCRIBER_TYPES
from subreg.domain.id_documents.numbers import PROVINCES

__all__ = ["CRITERIA", "PHASES", "STATES", "UNKNOWN_PROVINCE", "Cohort", "parse_cohort"]

PHASES = (1, 2)  # 1: tenure under 5 years at the reference date, 2: the rest (domain.compliance.phase)
# Where a line stands in enforcement: not in it, notified, or locked (a terminated line is never in a cohort).
STATES = ("none", "notified", "one_way_locked", "two_way_locked")
UNKNOWN_PROVINCE = "unknown"  # lines whose point of sale is unknown or has no province
CRITERIA = ("phases", "missing", "subscriber_types", "payment_types", "provinces", "states")


@dataclass(frozen=True, slots=True)
class Cohort:
    """Lines matching every non-empty criterion (see the module docstring). Values are normalised: each
    criterion sorted (missing items in the rule set's order) without repeats, so equal cohorts are equal."""

    phases: tuple[int, ...] = ()
    missing: tuple[str, ...] = ()
    subscriber_types: tuple[str, ...] = ()
    payment_types: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[Any]]:
        """The JSON form (every criterion, empty lists included)."""
        return {name: list(getattr(self, name)) for name in CRITERIA}

    def missing_mask(self, items: Sequence[str]) -> int:
        """The bitmask of `missing` under the rule set's `missing_items` (0: any line, whatever it misses)."""
        return mask_of(self.missing, items) if self.missing else 0


def _values(raw: Any) -> list[Any] | None:
    """A list of values from a list, or from text separated by commas (the command line, a form)."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [v.strip() for v in raw.split(",") if v.strip()]
    if isinstance(raw, list | tuple):
        return [v.strip() if isinstance(v, str) else v for v in raw]
    return None


def _phase(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in PHASES else None
    if isinstance(value, str) and value.isdigit():
        return _phase(int(value))
    return None


def parse_cohort(raw: Mapping[str, Any] | None, *, missing_items: Sequence[str]) -> Cohort:
    """A cohort from its JSON form (lists, or comma-separated text); InputError at `cohort.<criterion>` for a
    criterion this module does not know (`unknown_field`), a value that is not a list or text (`invalid_format`)
    or a value not allowed (`invalid_choice`: a phase other than 1 or 2, a missing item the rule set does not
    declare, an unknown subscriber or payment type, province code or state)."""
    raw = raw or {}
    errors = [FieldError(f"cohort.{key}", "unknown_field") for key in raw if key not in CRITERIA]
    allowed: dict[str, Sequence[Any]] = {
        "missing": tuple(missing_items),
        "subscriber_types": SUBSCRIBER_TYPES,
        "payment_types": PAYMENT_TYPES,
        "provinces": (*PROVINCES, UNKNOWN_PROVINCE),
        "states": STATES,
    }
    parsed: dict[str, tuple[Any, ...]] = {}
    for name in CRITERIA:
        values = _values(raw.get(name))
        if values is None:
            errors.append(FieldError(f"cohort.{name}", "invalid_format"))
            continue
        if name == "phases":
            phases = [_phase(v) for v in values]
            if any(p is None for p in phases):
                errors.append(FieldError(f"cohort.{name}", "invalid_choice"))
                continue
            parsed[name] = tuple(sorted({p for p in phases if p is not None}))
            continue
        choices = allowed[name]
        if any(v not in choices for v in values):
            errors.append(FieldError(f"cohort.{name}", "invalid_choice"))
            continue
        chosen = set(values)
        # The rule set's order for missing items (as pages list them); sorted text for the rest.
        parsed[name] = tuple(v for v in choices if v in chosen) if name == "missing" else tuple(sorted(chosen))
    if errors:
        raise InputError(errors)
    return Cohort(**parsed)
