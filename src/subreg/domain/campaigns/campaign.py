"""A campaign: what it sends, to whom, when and how fast, and the states it goes through.

    draft ──start──▶ running ──pause──▶ paused
                       ▲ │                │
                       │ └─(last wave)─▶ done
                       └─────resume───────┘

Only staff start, pause and resume; the worker moves a running campaign to `done` when its last wave has
gone out. A draft can be previewed as often as wanted; nothing is sent before `start`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from subreg.domain.campaigns.cohort import Cohort, parse_cohort
from subreg.domain.campaigns.schedule import Schedule, parse_hours, parse_repeats
from subreg.domain.common.errors import ConflictError, FieldError, InputError

__all__ = [
    "LANGS",
    "MAX_BINDS",
    "MAX_RATE",
    "CampaignDefinition",
    "CampaignState",
    "parse_definition",
    "transition",
]

LANGS = ("vi", "en")
MAX_RATE = 10_000  # messages a second per bind: far above any SMSC contract, below a typo's thousandfold
MAX_BINDS = 64
_NAME_MAX = 100
T = TypeVar("T")
_TEMPLATE = re.compile(r"^campaign_[a-z0-9_]{1,40}$")  # a reminder template: `<lang>/campaign_<name>.txt`


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"


# Staff actions: the states each may leave from, and where it leads.
_ACTIONS: dict[str, tuple[frozenset[CampaignState], CampaignState]] = {
    "start": (frozenset({CampaignState.DRAFT}), CampaignState.RUNNING),
    "pause": (frozenset({CampaignState.RUNNING}), CampaignState.PAUSED),
    "resume": (frozenset({CampaignState.PAUSED}), CampaignState.RUNNING),
}


def transition(state: CampaignState | str, action: str) -> CampaignState:
    """The state after staff `action` (start | pause | resume); ConflictError `invalid_state_change` at `state`
    when the campaign cannot take it (a running one started again, a draft paused, a done one resumed)."""
    sources, target = _ACTIONS[action]
    if CampaignState(state) not in sources:
        error = FieldError("state", "invalid_state_change")
        raise ConflictError(f"campaign: cannot {action} when {state}", errors=[error])
    return target


@dataclass(frozen=True, slots=True)
class CampaignDefinition:
    """What staff decide: a name, a reminder template and its language, the cohort, the schedule, the rate."""

    name: str
    template: str
    lang: str
    cohort: Cohort
    schedule: Schedule
    rate_per_bind: int  # messages a second per SMSC bind
    binds: int

    @property
    def rate(self) -> int:
        """Messages a second in all."""
        return self.rate_per_bind * self.binds


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(
    raw: Mapping[str, Any], key: str, errors: list[FieldError], *, high: int, default: int | None = None
) -> int:
    """A whole number from 1 to `high` (text of digits too); 0 after recording why not."""
    value = raw.get(key)
    if _blank(value):
        if default is not None:
            return default
        errors.append(FieldError(key, "required"))
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(FieldError(key, "invalid_format"))
        return 0
    if not 1 <= value <= high:
        errors.append(FieldError(key, "out_of_range"))
        return 0
    return value


def _date(raw: Mapping[str, Any], key: str, errors: list[FieldError]) -> date:
    value = raw.get(key)
    if isinstance(value, date):
        return value
    if _blank(value):
        errors.append(FieldError(key, "required"))
        return date.min
    try:
        return date.fromisoformat(value.strip() if isinstance(value, str) else "")
    except ValueError:
        errors.append(FieldError(key, "invalid_format"))
        return date.min


def _collect(errors: list[FieldError], parse: Callable[[], T]) -> T | None:
    try:
        return parse()
    except InputError as exc:
        errors.extend(exc.errors)
        return None


def parse_definition(raw: Mapping[str, Any], *, missing_items: Sequence[str], default_hours: str,
                     default_binds: int, default_lang: str) -> CampaignDefinition:  # fmt: skip
    """A definition from a form, a command line or JSON; every problem at once in one InputError.

    Keys: `name`, `template` (`campaign_reminder`), `lang`, `cohort` (see `cohort.parse_cohort`), `start_on`
    (YYYY-MM-DD), `hours` (`08:00-20:00`), `repeats` (`once`, `daily for 5 days`), `rate_per_bind`, `binds`.
    """
    errors: list[FieldError] = []
    given = raw.get("name")
    name = given.strip() if isinstance(given, str) else ""
    if not name:
        errors.append(FieldError("name", "required"))
    elif len(name) > _NAME_MAX:
        errors.append(FieldError("name", "too_long"))
    template = raw.get("template") or "campaign_reminder"
    if not isinstance(template, str) or not _TEMPLATE.match(template):
        errors.append(FieldError("template", "invalid_choice"))
    lang = raw.get("lang") or default_lang
    if lang not in LANGS:
        errors.append(FieldError("lang", "invalid_choice"))
    start_on = _date(raw, "start_on", errors)
    rate = _number(raw, "rate_per_bind", errors, high=MAX_RATE)
    binds = _number(raw, "binds", errors, high=MAX_BINDS, default=default_binds)
    cohort = _collect(errors, lambda: parse_cohort(raw.get("cohort"), missing_items=missing_items))
    hours = _collect(errors, lambda: parse_hours(raw.get("hours") or default_hours))
    repeats = raw.get("repeats")
    waves = _collect(errors, lambda: parse_repeats(1 if repeats in (None, "") else repeats))
    if errors:
        raise InputError(errors)
    assert cohort is not None
    assert hours is not None
    assert waves is not None
    return CampaignDefinition(name, str(template), str(lang), cohort, Schedule(start_on, hours, waves), rate, binds)
