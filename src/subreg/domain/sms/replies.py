"""What a 1414 reply may show, and how often a number is answered.

A reply goes to whoever holds the phone, which is not always the subscriber (a lost or lent phone, a
reissued number), so by default it shows enough to recognise a registration and not enough to copy it:
the full name, the year of birth, the last 4 digits of the ID number and the place of issue. The
operator can show more or less with `Masking`. Which fields the press says 1414 shows is documented
(domain-facts §3); how operators mask them is not, hence a setting rather than a rule.

These maskers are not `access.masking`'s: the domain rooms are independent (import-linter), and a reply
reads differently from a staff screen (an ID's last digits, which the holder knows, rather than its
province and century digits; a date in the Vietnamese day/month/year order). Like those, they are total:
any string is masked, nothing raises on an odd stored value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from subreg.domain.common.msisdn import parse_msisdn
from subreg.domain.common.text import nfc

__all__ = [
    "HIDDEN",
    "BirthMode",
    "Masking",
    "NameMode",
    "RateDecision",
    "RateWindow",
    "mask_birth",
    "mask_id_number",
    "mask_msisdn",
    "mask_name",
    "rate_decision",
]

MASK = "*"
HIDDEN = "***"
NameMode = Literal["full", "initials", "hidden"]
BirthMode = Literal["full", "year", "hidden"]
RateDecision = Literal["answer", "refuse", "drop"]

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_YEAR = re.compile(r"\d{4}")


def _mask_tail(s: str, keep_last: int) -> str:
    # At most half is ever shown, so a short value is not revealed by a generous keep_last.
    keep = max(0, min(keep_last, len(s) // 2))
    return MASK * (len(s) - keep) + s[len(s) - keep :]


def mask_id_number(id_number: str, keep_last: int = 4) -> str:
    """`079203001234` -> `********1234`: the last digits the holder recognises, never more than half."""
    return _mask_tail("".join(id_number.split()), keep_last)


def mask_name(name: str, mode: NameMode) -> str:
    """`Nguyễn Văn An` as is ("full"), `N.V.A.` ("initials") or `***` ("hidden")."""
    if mode == "full":
        return nfc(name)
    if mode == "initials":
        return "".join(word[0] + "." for word in nfc(name).split())
    if mode == "hidden":
        return HIDDEN
    raise ValueError(f"unknown name mode {mode!r}")


def mask_birth(date_or_year: date | int | str, mode: BirthMode) -> str:
    """A birth date as `17/05/1992` ("full"), `1992` ("year") or `***` ("hidden").

    Takes a `date`, a year (old CMND records hold only the year), or their ISO text. A year-only birth
    shows as its year in "full" mode; text that is neither shows as stored in "full" mode and as `***`
    in "year" mode.
    """
    if mode not in ("full", "year", "hidden"):
        raise ValueError(f"unknown birth mode {mode!r}")
    if mode == "hidden":
        return HIDDEN
    day, year = _birth_parts(date_or_year)
    if mode == "year" or day is None:
        return year or (nfc(str(date_or_year)) if mode == "full" else HIDDEN)
    return f"{day}/{year}"


def _birth_parts(value: date | int | str) -> tuple[str | None, str | None]:
    """("dd/mm", "yyyy") of a birth, with None for what it does not say."""
    if isinstance(value, date):
        return value.strftime("%d/%m"), f"{value.year:04d}"
    if isinstance(value, int):
        return None, f"{value:04d}" if 0 < value < 10000 else None
    s = nfc(value)
    if m := _ISO_DATE.fullmatch(s):
        return f"{m[3]}/{m[2]}", m[1]
    return None, s if _YEAR.fullmatch(s) else None


def mask_msisdn(e164: str, keep_last: int = 4) -> str:
    """`+84901234567` -> `0******4567`: the national form people know their numbers by, last digits shown.

    Anything that is not a Vietnamese mobile number is masked like an ID number.
    """
    parsed = parse_msisdn(e164) if isinstance(e164, str) else None
    if parsed is None:
        return mask_id_number(e164, keep_last)
    return "0" + _mask_tail(parsed[3:], keep_last)


@dataclass(frozen=True, slots=True)
class Masking:
    """What a 1414 reply shows (the operator's setting); the defaults are the module docstring's."""

    name: NameMode = "full"
    birth: BirthMode = "year"
    id_keep_last: int = 4
    show_issue_place: bool = True

    def __post_init__(self) -> None:
        if self.name not in ("full", "initials", "hidden") or self.birth not in ("full", "year", "hidden"):
            raise ValueError("unknown masking mode")
        if self.id_keep_last < 0:
            raise ValueError("id_keep_last must not be negative")


@dataclass(frozen=True, slots=True)
class RateWindow:
    """A sender's rate window after a message: when it began, messages counted, whether it was refused."""

    window_start: datetime
    count: int
    refused: bool


def rate_decision(
    window_start: datetime | None,
    count: int,
    refused: bool,
    now: datetime,
    limit: int,
    window: timedelta,
) -> tuple[RateDecision, RateWindow]:
    """Whether to answer a sender's message, and the window to store.

    Up to `limit` messages per window are answered. The first one over the limit is answered once with a
    refusal (so the sender learns why), later ones are dropped silently (so a loop between two machines,
    or a flood with a forged sender, costs one reply per window). A window lasts `window` from its first
    message; `window_start` None means no window yet. A window that starts after `now` (the clock was set
    back) is replaced, so a sender is never locked out by a wrong clock.
    """
    if limit < 1 or window <= timedelta(0):
        raise ValueError("limit and window must be positive")
    if window_start is None or not window_start <= now < window_start + window:
        return "answer", RateWindow(now, 1, False)
    count += 1
    if count <= limit:
        return "answer", RateWindow(window_start, count, refused)
    if not refused:
        return "refuse", RateWindow(window_start, count, True)
    return "drop", RateWindow(window_start, count, True)
