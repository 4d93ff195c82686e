"""Whether a mobile number is this operator's: its allocated ranges, numbers ported in and out.

A number's prefix names the operator it was ALLOCATED to (msisdn.MOBILE_PREFIXES), not the one that
serves it today: since 16/11/2018 a subscriber can keep the number when moving to another operator
(mobile number portability, docs/domain-facts.md §6). So an operator's numbers are its ranges, plus the
numbers ported in, minus the numbers ported out; the two sets come from the MNP database.

The ranges are a setting, a list of entries, each either
* a prefix: national (`090`, `0162` = the pre-2018 form of `032`) or E.164 (`+8490`, `8490`); or
* an inclusive range of whole numbers in any accepted form, `0901000000-0901999999`.
An empty list accepts every Vietnamese mobile number (an operator that has not configured its
ranges, or a test system). Pure: the MNP look-up is the caller's. An operator has millions of ported
numbers, so callers never hold them all: they look up the numbers at hand (one at registration, a
batch's in a check or an import) and decide with `with_ported`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from subreg.domain.common.errors import FieldValueError
from subreg.domain.common.msisdn import MOBILE_PREFIXES, OLD_TO_NEW_PREFIX, parse_msisdn

__all__ = [
    "NOT_OPERATOR_NUMBER",
    "PORTED_IN",
    "PORTED_OUT",
    "OperatorNumbers",
    "check_operator_number",
    "operator_numbers",
    "with_ported",
]

NOT_OPERATOR_NUMBER = "not_operator_number"
PORTED_IN, PORTED_OUT = "in", "out"  # the directions of the MNP list
_NATIONAL_PREFIXES = tuple(p[1:] for p in MOBILE_PREFIXES)  # "90", "162"... without the trunk 0


@dataclass(frozen=True, slots=True)
class OperatorNumbers:
    """The numbers an operator holds. Build it with `operator_numbers` (which validates the setting)."""

    prefixes: tuple[str, ...]  # E.164 digits without "+", e.g. "8490"
    starts: tuple[str, ...]  # inclusive ranges as sorted, non-overlapping E.164 digit strings ...
    ends: tuple[str, ...]  # ... of one length (12 digits with "+", compared as text)
    ported_in: frozenset[str]  # E.164
    ported_out: frozenset[str]  # E.164

    @property
    def accepts_all(self) -> bool:
        """No ranges configured: every Vietnamese mobile number not ported out is accepted."""
        return not self.prefixes and not self.starts

    def owns(self, e164: str) -> bool:
        """Whether the number (in E.164) is this operator's today."""
        if not isinstance(e164, str) or parse_msisdn(e164) != e164:
            return False
        if e164 in self.ported_out:
            return False
        if e164 in self.ported_in or self.accepts_all:
            return True
        digits = e164[1:]
        if digits.startswith(self.prefixes):
            return True
        i = bisect_right(self.starts, digits) - 1
        return i >= 0 and digits <= self.ends[i]


def _prefix(entry: str) -> str:
    # The E.164 digits (no "+") a prefix entry stands for; raises ValueError when it cannot be one.
    s = entry.replace(" ", "").replace(".", "").replace("-", "")
    if s.startswith("+"):
        s = s[1:]
        if not s.startswith("84"):
            raise ValueError(entry)
        national = s[2:]
    elif s.startswith("0"):
        old = OLD_TO_NEW_PREFIX.get(s[:4])
        national = (old[1:] + s[4:]) if old is not None else s[1:]
    elif s.startswith("84"):
        national = s[2:]
    else:
        raise ValueError(entry)
    if not (national.isdigit() and national.isascii() and 1 <= len(national) <= 9):
        raise ValueError(entry)
    # It must be able to hold a mobile number: it extends an allocated prefix or starts one.
    if not any(national.startswith(p) or p.startswith(national) for p in _NATIONAL_PREFIXES):
        raise ValueError(entry)
    return "84" + national


def _number(raw: str) -> str:
    e164 = parse_msisdn(raw)
    if e164 is None:
        raise ValueError(raw)
    return e164


def operator_numbers(
    ranges: Iterable[str], *, ported_in: Iterable[str] = (), ported_out: Iterable[str] = ()
) -> OperatorNumbers:
    """The operator's numbers from the settings; raises FieldValueError naming the bad setting.

    `ranges` entries are prefixes or `first-last` ranges (module docstring); `ported_in` and
    `ported_out` are numbers in any accepted form. Overlapping ranges are merged.
    """
    prefixes: list[str] = []
    spans: list[tuple[str, str]] = []
    for entry in ranges:
        if not isinstance(entry, str) or not entry.strip():
            raise FieldValueError("invalid_format", "operator_ranges")
        first, dash, last = entry.strip().partition("-") if "-" in entry.strip()[1:] else (entry, "", "")
        try:
            if dash and len(first.strip()) >= 9 and len(last.strip()) >= 9:
                lo, hi = _number(first.strip())[1:], _number(last.strip())[1:]
                if lo > hi:
                    raise ValueError(entry)
                spans.append((lo, hi))
            else:
                prefixes.append(_prefix(entry.strip()))
        except ValueError:
            raise FieldValueError("invalid_format", "operator_ranges") from None
    merged: list[tuple[str, str]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    sets = []
    for name, numbers in (("ported_in", ported_in), ("ported_out", ported_out)):
        try:
            sets.append(frozenset(_number(n) for n in numbers))
        except (ValueError, TypeError):
            raise FieldValueError("invalid_msisdn", name) from None
    return OperatorNumbers(
        prefixes=tuple(dict.fromkeys(prefixes)),
        starts=tuple(lo for lo, _ in merged),
        ends=tuple(hi for _, hi in merged),
        ported_in=sets[0],
        ported_out=sets[1],
    )


def check_operator_number(e164: str, numbers: OperatorNumbers) -> str | None:
    """`not_operator_number` (a code, for the field `msisdn`) when the number is not the operator's, else None.

    Only for a number that is already a valid Vietnamese mobile number in E.164: anything else is
    `invalid_msisdn`, which the rule set reports first.
    """
    return None if numbers.owns(e164) else NOT_OPERATOR_NUMBER


def with_ported(numbers: OperatorNumbers, directions: Mapping[str, str]) -> OperatorNumbers:
    """`numbers` with the MNP entries of the numbers at hand (E.164 -> `in` | `out`) in place of its own sets.

    For a look-up of one number or one batch: whatever `directions` does not name counts as not ported.
    """
    return replace(
        numbers,
        ported_in=frozenset(n for n, d in directions.items() if d == PORTED_IN),
        ported_out=frozenset(n for n, d in directions.items() if d == PORTED_OUT),
    )
