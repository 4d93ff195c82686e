"""The regulator's report: `subreg report regulator` and its page (`web/regulator_pages.py`) call `regulator_report`.

The figures come from the dated history of events (history entries, enforcement steps), never from a daily
snapshot, so a past period is counted exactly even for days no snapshot was taken. Rendering (xlsx, CSV, the
printable HTML page) is the entrypoints' business, through the renderers `bootstrap` names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from subreg.domain.common.errors import FieldError, PermissionDeniedError
from subreg.domain.reports.regulator import RegulatorReport, assemble, parse_period, parse_provinces
from subreg.services.reports.regulator_ports import PeriodBounds, RegulatorFigures

__all__ = ["RegulatorRequest", "ReportOptions", "regulator_report"]


@dataclass(frozen=True, slots=True)
class RegulatorRequest:
    """What is asked: the first and last day (YYYY-MM-DD, both included) and, optionally, provinces."""

    start: str | date | None
    end: str | date | None
    provinces: str | Iterable[str] | None = None


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """The operator's name the report carries, and the operator's time zone (the calendar of its days)."""

    operator: str
    tz: tzinfo


def _first_instant(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def regulator_report(
    request: RegulatorRequest, *, figures: RegulatorFigures, options: ReportOptions, now: datetime,
    scope: tuple[str, ...] | None = None,
) -> RegulatorReport:  # fmt: skip
    """The report for the period asked. InputError for a bad period (`from`/`to`: `required`, `invalid_format`,
    `date_in_future`, `end_before_start`) or province (`unknown_province`); PermissionDeniedError
    `province_out_of_scope` at `province` for a province outside `scope` (a regional manager's provinces;
    None: every province)."""
    today = now.astimezone(options.tz).date()
    period = parse_period(request.start, request.end, today=today)
    asked = parse_provinces(request.provinces) or None
    if scope is not None:
        if asked is not None and not set(asked) <= set(scope):
            raise PermissionDeniedError(
                "province outside the account's provinces", errors=[FieldError("province", "province_out_of_scope")]
            )
        asked = asked if asked is not None else tuple(scope)
    bounds = PeriodBounds(
        period.start, period.end, _first_instant(period.start, options.tz),
        _first_instant(period.end + timedelta(days=1), options.tz),
    )  # fmt: skip
    counts = figures.count(bounds, provinces=asked) if asked != () else []
    return assemble(options.operator, period, counts, provinces=asked, generated_at=now)
