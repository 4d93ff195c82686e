"""The regulator's report as data: the period asked for, the figures by province, and the checks on the request.

Every figure is a count of LINES (`subscriptions.id`), each line counted at most once per figure and, within a
figure, in exactly one province, so the provinces add up to the total (the xlsx's SUM formulas rely on it):

- `subscriptions`: lines live at the end of the period: activated (else created) on or before its last day and
  not terminated by then;
- `updated`: lines with an `updated` history entry in the period;
- `registered`: lines created in the period through a counter channel (`COUNTER_CHANNELS`: the point-of-sale
  kinds `services.counter._shared.channel_of` gives), never by an import of the operator's base;
- `locked_one_way`, `locked_two_way`, `terminated`, `restored`: lines with an enforcement step of that action
  (`STEP_FIGURES`) dated in the period.

The province is the one of a point of sale (`points_of_sale.province_code`; `UNKNOWN_PROVINCE` when there is
none or it has no province); which point of sale an event belongs to is said in `docs/reports.md`
and implemented by the adapter. Nothing in a report is personal: counts by province only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.id_documents.numbers import PROVINCES

__all__ = [
    "COUNTER_CHANNELS",
    "FIGURES",
    "FORMATS",
    "STEP_FIGURES",
    "UNKNOWN_PROVINCE",
    "Period",
    "ProvinceFigures",
    "RegulatorReport",
    "assemble",
    "parse_period",
    "parse_provinces",
    "province_name",
]

FIGURES = (
    "subscriptions", "updated", "registered", "locked_one_way", "locked_two_way", "terminated", "restored",
)  # fmt: skip
# The enforcement step actions (adapters/db/enforcement_repo.py) the report counts, and the figure each feeds.
STEP_FIGURES: Mapping[str, str] = {
    "lock_one_way": "locked_one_way",
    "lock_two_way": "locked_two_way",
    "terminate": "terminated",
    "restore": "restored",
}
# The channels of a registration at a point of sale (services.counter._shared.channel_of); imports write
# `legacy_import` (services/registry/importer.py, bulk_load.py) and are not registrations in the period.
COUNTER_CHANNELS = ("store", "agent", "authorized_point")
UNKNOWN_PROVINCE = "unknown"  # no point of sale, or one without a province
FORMATS = ("xlsx", "csv", "html")


@dataclass(frozen=True, slots=True)
class Period:
    """The days of the report, both included, in the operator's calendar."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """How many days the period holds."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class ProvinceFigures:
    """The figures of one province (`UNKNOWN_PROVINCE` for lines of no known point of sale), or of the total."""

    province: str
    subscriptions: int = 0
    updated: int = 0
    registered: int = 0
    locked_one_way: int = 0
    locked_two_way: int = 0
    terminated: int = 0
    restored: int = 0

    def values(self) -> tuple[int, ...]:
        """The figures in `FIGURES` order."""
        return tuple(int(getattr(self, name)) for name in FIGURES)

    def __add__(self, other: ProvinceFigures) -> ProvinceFigures:
        sums = {name: getattr(self, name) + getattr(other, name) for name in FIGURES}
        return ProvinceFigures(self.province, **sums)


@dataclass(frozen=True, slots=True)
class RegulatorReport:
    """What the regulator receives: the operator, the period, one row per province and the total."""

    operator: str
    period: Period
    rows: tuple[ProvinceFigures, ...]
    total: ProvinceFigures
    generated_at: datetime
    provinces: tuple[str, ...] = ()  # the provinces the report is limited to (empty: all)

    @property
    def empty(self) -> bool:
        """No figure at all: nothing was live, nothing happened in the period (the report says so)."""
        return not any(self.total.values())


def province_name(code: str) -> str:
    """The province's name (the 63 provinces before the 2025 merger), or the code when it names none."""
    return PROVINCES.get(code, code)


def _day(raw: str | date | None, name: str, errors: list[FieldError]) -> date | None:
    if isinstance(raw, date):
        return raw
    if raw is None or not raw.strip():
        errors.append(FieldError(name, "required"))
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors.append(FieldError(name, "invalid_format"))
        return None


def parse_period(start: str | date | None, end: str | date | None, *, today: date) -> Period:
    """The period from `start` to `end` (YYYY-MM-DD); InputError at `from`/`to`: `required`, `invalid_format`,
    `date_in_future` (a day after `today`: its figures are not known yet) or `end_before_start`."""
    errors: list[FieldError] = []
    first, last = _day(start, "from", errors), _day(end, "to", errors)
    if first is not None and first > today:
        errors.append(FieldError("from", "date_in_future"))
    if last is not None and last > today:
        errors.append(FieldError("to", "date_in_future"))
    if first is not None and last is not None and first > last:
        errors.append(FieldError("to", "end_before_start"))
    if errors or first is None or last is None:
        raise InputError(errors)
    return Period(first, last)


def parse_provinces(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    """Province codes (3 digits, or `unknown`) from a list or comma-separated text, sorted without repeats;
    InputError `unknown_province` at `province` for a code that names no province."""
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    codes = {item.strip() for item in items if item.strip()}
    if any(code not in PROVINCES and code != UNKNOWN_PROVINCE for code in codes):
        raise InputError([FieldError("province", "unknown_province")])
    return tuple(sorted(codes, key=_order))


def _order(code: str) -> tuple[int, str]:
    return (1, code) if code == UNKNOWN_PROVINCE else (0, code)


def assemble(
    operator: str, period: Period, counts: Iterable[ProvinceFigures], *, provinces: tuple[str, ...] | None,
    generated_at: datetime,
) -> RegulatorReport:  # fmt: skip
    """The report from the adapter's counts: one row per province of `provinces` (None: every province, the
    same 63 rows for every period, and `unknown` when it holds anything), zeros where nothing was counted."""
    by_code: dict[str, ProvinceFigures] = {}
    for row in counts:
        by_code[row.province] = by_code[row.province] + row if row.province in by_code else row
    if provinces is not None:
        wanted = list(provinces)
    else:
        wanted = [*sorted(PROVINCES), *sorted(c for c in by_code if c not in PROVINCES and c != UNKNOWN_PROVINCE)]
        if UNKNOWN_PROVINCE in by_code:
            wanted.append(UNKNOWN_PROVINCE)
    rows = tuple(by_code.get(code, ProvinceFigures(code)) for code in wanted)
    total = ProvinceFigures("total")
    for row in rows:
        total = total + row
    return RegulatorReport(operator, period, rows, replace(total, province="total"), generated_at, provinces or ())
