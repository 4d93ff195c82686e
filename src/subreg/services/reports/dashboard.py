"""The dashboard's figures, read from snapshots only (never from the registry's tables).

Every chart is a table (columns, rows) computed from a handful of sums the database adds up over the
snapshots of the period (`SnapshotStore.sums`; the counter's work from the running totals of the period's first
and last snapshots, so a year costs what a day does): the page draws it, the CSV download is the same rows. What a
reader sees is scoped here, once: a compliance officer sees every province; a regional manager only the
provinces its account names (`staff_provinces`: none named, nothing seen), on the page and in every CSV.
The figures are counts by code (state, province, point of sale): no personal data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from subreg.domain.access.permissions import Actor, Permission, Role, require
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.id_documents.numbers import PROVINCES
from subreg.domain.reports.figures import CUMULATIVE, UNKNOWN
from subreg.services.reports.ports import FigureSum, ReportsUnitOfWork, SnapshotInfo, SnapshotStore

__all__ = ["CHARTS", "Chart", "Dashboard", "DashboardQuery", "read_dashboard", "report_scope"]

CHARTS = ("progress", "funnel", "campaign", "pos", "provinces")
DEFAULT_DAYS = 30
MAX_DAYS = 3660
TOP = 10  # points of sale shown as "most" and "least" (the CSV has them all)
STATES = ("complete", "incomplete", "contract_needed", "invalid", "not_evaluated")
FUNNEL = (
    ("notified", "notify"),
    ("one_way_locked", "lock_one_way"),
    ("two_way_locked", "lock_two_way"),
    ("terminated", "terminate"),
    ("restored", "restore"),
)
CAMPAIGN_STATES = ("pending", "sending", "sent", "delivered", "failed", "expired", "rejected")


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    """The period (`start`..`end`, dates or ISO text; default: the 30 days to today) and an optional province."""

    start: date | str | None = None
    end: date | str | None = None
    province: str | None = None


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart's numbers: what the page draws and the CSV holds."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The period's snapshots and charts, in the reader's scope (`provinces` None: every province)."""

    start: date
    end: date
    provinces: frozenset[str] | None
    snapshots: list[SnapshotInfo]
    charts: dict[str, Chart] = field(default_factory=dict)

    @property
    def latest(self) -> SnapshotInfo | None:
        """The period's newest snapshot (the "now" of the funnel, campaign and province charts)."""
        return self.snapshots[-1] if self.snapshots else None


def report_scope(uow: ReportsUnitOfWork, actor: Actor) -> frozenset[str] | None:
    """The provinces `actor` may see figures of (None: all). PermissionDeniedError without `reports:read`."""
    require(actor, Permission.REPORTS_READ)
    if str(actor.role) == Role.REGIONAL_MANAGER:
        return uow.staff_provinces.provinces_of(actor.staff_id)
    return None


def _day(value: date | str | None, name: str, errors: list[FieldError]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(FieldError(name, "invalid_format"))
        return None


def _period(query: DashboardQuery, today: date) -> tuple[date, date]:
    errors: list[FieldError] = []
    start, end = _day(query.start, "from", errors), _day(query.end, "to", errors)
    if errors:
        raise InputError(errors)
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end > today:
        errors.append(FieldError("to", "date_in_future"))
    if start > end:
        errors.append(FieldError("from", "date_range_reversed"))
    elif (end - start).days >= MAX_DAYS:
        errors.append(FieldError("from", "date_range_too_long"))
    if errors:
        raise InputError(errors)
    return start, end


def _scope(allowed: frozenset[str] | None, province: str | None) -> frozenset[str] | None:
    if not province:
        return allowed
    code = province.strip()
    if code != UNKNOWN and code not in PROVINCES:
        raise InputError([FieldError("province", "unknown_province_code")])
    # A province outside a manager's own is not an error to explain: it simply has nothing to show.
    return frozenset({code}) if allowed is None else allowed & {code}


def read_dashboard(query: DashboardQuery, *, uow: ReportsUnitOfWork, actor: Actor, today: date) -> Dashboard:
    """The dashboard of a period, from its snapshots, in the actor's scope."""
    start, end = _period(query, today)
    with uow:
        provinces = _scope(report_scope(uow, actor), query.province)
        snapshots = uow.snapshots.snapshots(start, end)
        board = Dashboard(start, end, provinces, snapshots)
        latest = board.latest
        if latest is None or (provinces is not None and not provinces):
            board.charts.update(_charts([], [], [], latest))
            return board
        store = uow.snapshots
        daily = store.sums(start, end, ("state",), provinces, per_day=True, per_province=False)
        now = store.sums(latest.as_of, latest.as_of, ("state", "enforcement", "campaign_sms"), provinces,
                         per_day=False, per_province=True)  # fmt: skip
        period = store.sums(start, end, ("enf_steps", "campaign_sms_day"), provinces, per_day=False,
                            per_province=True)  # fmt: skip
        period += _counter_work(store, snapshots[0], latest, provinces)
    board.charts.update(_charts(daily, now, period, latest))
    return board


def _counter_work(
    store: SnapshotStore, first: SnapshotInfo, last: SnapshotInfo, provinces: frozenset[str] | None
) -> list[FigureSum]:
    """The counter's updates and registrations over the period's snapshots, from two snapshots whatever the
    period's length: the first day's counts plus the running totals' growth from the first day to the last."""
    daily = tuple(CUMULATIVE)
    at_first = store.sums(first.as_of, first.as_of, (*daily, *CUMULATIVE.values()), provinces, per_day=False,
                          per_province=True)  # fmt: skip
    counts: dict[tuple[str, str | None, str], int] = defaultdict(int)
    for f in at_first:
        if f.dimension in daily:
            counts[f.dimension, f.province, f.key] += f.n
    if last.as_of != first.as_of:
        back = {cum: d for d, cum in CUMULATIVE.items()}
        for f in at_first:
            if f.dimension in back:
                counts[back[f.dimension], f.province, f.key] -= f.n
        for f in store.sums(last.as_of, last.as_of, tuple(CUMULATIVE.values()), provinces, per_day=False,
                            per_province=True):  # fmt: skip
            counts[back[f.dimension], f.province, f.key] += f.n
    return [FigureSum(None, d, p, k, n) for (d, p, k), n in counts.items() if n]


def _charts(
    daily: list[FigureSum], now: list[FigureSum], period: list[FigureSum], latest: SnapshotInfo | None
) -> dict[str, Chart]:
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATES, 0))
    for f in daily:
        if f.as_of is not None:
            by_day[f.as_of][f.key] = by_day[f.as_of].get(f.key, 0) + f.n
    progress = []
    for day in sorted(by_day):
        counts = by_day[day]
        total = sum(counts.values())
        complete = counts.get("complete", 0)
        progress.append((day.isoformat(), complete, total - complete, *(counts.get(s, 0) for s in STATES[1:]), total))

    sums: dict[tuple[str, str], int] = defaultdict(int)
    for f in (*now, *period):
        sums[f.dimension, f.key] += f.n
    totals = dict(sums)  # read with .get below: a look-up never adds a key

    def n(dimension: str, key: str) -> int:
        return totals.get((dimension, key), 0)

    funnel = [(stage, n("enforcement", stage), n("enf_steps", step)) for stage, step in FUNNEL] if now else []
    seen = {k for d, k in totals if d in ("campaign_sms", "campaign_sms_day")}
    states = [s for s in CAMPAIGN_STATES if s in seen] + sorted(seen - set(CAMPAIGN_STATES))
    campaign = [(s, n("campaign_sms", s), n("campaign_sms_day", s)) for s in states]

    points: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for f in period:
        if f.dimension in ("pos_updates", "pos_registrations"):
            points[f.key, f.province or UNKNOWN][0 if f.dimension == "pos_updates" else 1] += f.n
    pos = sorted(((code, prov, u, r, u + r) for (code, prov), (u, r) in points.items()), key=lambda t: (-t[4], t[0]))

    regions: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in now:
        if f.dimension == "state":
            regions[f.province or UNKNOWN][f.key] += f.n
    provinces = []
    for prov, counts in regions.items():
        total = sum(counts.values())
        behind = total - counts.get("complete", 0)
        provinces.append((prov, total, behind, round(100.0 * behind / total, 1) if total else 0.0))
    provinces.sort(key=lambda t: (-t[3], -t[2], t[0]))

    newest = latest.as_of.isoformat() if latest else ""
    return {
        "progress": Chart("progress", ("day", "complete", "not_complete", *STATES[1:], "total"), progress),
        "funnel": Chart("funnel", ("stage", f"lines_on_{newest}", "steps_in_period"), funnel),
        "campaign": Chart("campaign", ("state", f"all_sms_on_{newest}", "queued_in_period"), campaign),
        "pos": Chart("pos", ("point_of_sale", "province", "updates", "registrations", "total"), pos),
        "provinces": Chart("provinces", ("province", "lines", "not_complete", "share_not_complete_pct"), provinces),
    }
