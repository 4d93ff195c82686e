# ruff: noqa: S608 - the SQL below is built from this module's constants; every value is a bound parameter.
"""The regulator's report in SQL: three GROUP BY statements in one read snapshot, whatever the size of the base.

Which point of sale, hence which province, an event belongs to (docs/reports.md):

- a line live at the end of the period: the line's point of sale (`subscriptions.point_of_sale_id`);
- a history entry (updated, registered): the acting staff member's point of sale when the entry has an actor
  attached to one (the counter), else the line's; a line is counted once per figure, in the province of its
  LAST such entry in the period (latest `at`, then highest id), so that the provinces add up to the total;
- an enforcement step: the province recorded with the step (`enforcement_steps.province_code`: the line's point
  of sale when the sweep took the step); a line is counted once per action, at its last step in the period.

`unknown`: no point of sale, or one without a province. Costs at scale: statement 1 is one scan of
`subscriptions` (the point of sale by primary key; the termination date looked up by index only for terminated
lines); statements 2 and 3 read only the period's rows through the indexes on `subscription_history(at)` and
`enforcement_steps(on_date, action)`, and number them per line with a window function.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

from sqlalchemy import Connection, Date, DateTime, Engine, bindparam, text
from sqlalchemy.sql.elements import TextClause

from subreg.domain.reports.regulator import COUNTER_CHANNELS, FIGURES, STEP_FIGURES, UNKNOWN_PROVINCE, ProvinceFigures
from subreg.services.reports.regulator_ports import PeriodBounds

__all__ = ["SqlRegulatorFigures"]

_UNKNOWN = f"'{UNKNOWN_PROVINCE}'"
_CHANNELS = ", ".join(f"'{c}'" for c in COUNTER_CHANNELS)
_ACTIONS = ", ".join(f"'{a}'" for a in STEP_FIGURES)
# A status change to `terminated` recorded by an import (JSON `{"values": {"status": [old, "terminated"]}}`).
_TO_TERMINATED = '%"status":%"terminated"]%'

# When was a terminated line terminated? At its `terminate` step if the sweep took one; else when an import
# recorded the change; else (imported already terminated) never live: terminated "by" any day it existed.
_TERMINATED_BY_END = (
    "CASE WHEN EXISTS (SELECT 1 FROM enforcement_steps e WHERE e.subscription_id = s.id AND e.action = 'terminate') "
    "THEN EXISTS (SELECT 1 FROM enforcement_steps e WHERE e.subscription_id = s.id AND e.action = 'terminate' "
    "AND e.on_date <= :end) "
    "WHEN EXISTS (SELECT 1 FROM subscription_history h WHERE h.subscription_id = s.id AND h.changes LIKE :terminated) "
    "THEN EXISTS (SELECT 1 FROM subscription_history h WHERE h.subscription_id = s.id AND h.changes LIKE :terminated "
    "AND h.at < :end_at) "
    "ELSE TRUE END"
)
_LINE_PROVINCE = f"coalesce(p.province_code, {_UNKNOWN})"
# Counted per point of sale in one sequential scan, then summed per province (64 rows joined, not 10 M). SQLite is
# told not to use an index ({hint}): its planner otherwise walks the statistics index for the date range and
# fetches each row from the table at random, 6-8x slower than the scan at 10 M lines.
_LIVE = (
    f"SELECT {_LINE_PROVINCE} AS province, sum(x.n) AS n FROM ("
    "SELECT s.point_of_sale_id AS pos, count(*) AS n FROM subscriptions s {hint} "
    "WHERE (s.activated_on <= :end OR (s.activated_on IS NULL AND s.created_at < :end_at)) "
    f"AND NOT (s.status = 'terminated' AND {_TERMINATED_BY_END}) GROUP BY s.point_of_sale_id"
    ") x LEFT JOIN points_of_sale p ON p.id = x.pos WHERE 1 = 1 {only} "
    f"GROUP BY {_LINE_PROVINCE}"
)
_EVENT_PROVINCE = (
    f"CASE WHEN sp.id IS NOT NULL THEN coalesce(sp.province_code, {_UNKNOWN}) "
    f"ELSE coalesce(p.province_code, {_UNKNOWN}) END"
)
_HISTORY = (
    f"SELECT r.action, {_EVENT_PROVINCE} AS province, count(*) AS n FROM ("
    "SELECT h.subscription_id, h.action, h.actor_staff_id, row_number() OVER "
    "(PARTITION BY h.subscription_id, h.action ORDER BY h.at DESC, h.id DESC) AS rn "
    "FROM subscription_history h WHERE h.at >= :start_at AND h.at < :end_at "
    f"AND (h.action = 'updated' OR (h.action = 'created' AND h.channel IN ({_CHANNELS})))"
    ") r LEFT JOIN staff st ON st.id = r.actor_staff_id "
    "LEFT JOIN points_of_sale sp ON sp.id = st.point_of_sale_id "
    "LEFT JOIN subscriptions s ON s.id = r.subscription_id "
    "LEFT JOIN points_of_sale p ON p.id = s.point_of_sale_id "
    f"WHERE r.rn = 1 {{only}} GROUP BY r.action, {_EVENT_PROVINCE}"
)
_STEPS = (
    "SELECT r.action, r.province_code AS province, count(*) AS n FROM ("
    "SELECT e.action, e.province_code, row_number() OVER "
    "(PARTITION BY e.subscription_id, e.action ORDER BY e.on_date DESC, e.id DESC) AS rn "
    f"FROM enforcement_steps e WHERE e.on_date >= :start AND e.on_date <= :end AND e.action IN ({_ACTIONS})"
    ") r WHERE r.rn = 1 {only} GROUP BY r.action, r.province_code"
)
_HISTORY_FIGURES = {"updated": "updated", "created": "registered"}


def _sql(template: str, province: str, provinces: tuple[str, ...] | None, *, dialect: str = "") -> TextClause:
    """The statement, limited to `provinces` when given, with its date and time parameters typed."""
    only = f"AND {province} IN :provinces" if provinces is not None else ""
    stmt = text(template.format(only=only, hint="NOT INDEXED" if dialect == "sqlite" else ""))
    names = set(stmt._bindparams)
    typed = [bindparam(n, type_=Date()) for n in ("start", "end") if n in names]
    typed += [bindparam(n, type_=DateTime(timezone=True)) for n in ("start_at", "end_at") if n in names]
    if provinces is not None:
        typed.append(bindparam("provinces", expanding=True))
    return stmt.bindparams(*typed)


class SqlRegulatorFigures:
    """`RegulatorFigures` on SQLite and PostgreSQL; each call reads in one snapshot of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        # PostgreSQL: REPEATABLE READ, so the three statements see the same committed state; SQLite (WAL): one
        # read transaction is a snapshot already.
        options = {"isolation_level": "REPEATABLE READ"} if self._engine.dialect.name == "postgresql" else {}
        with self._engine.connect().execution_options(**options) as c, c.begin():
            yield c

    def count(self, bounds: PeriodBounds, *, provinces: tuple[str, ...] | None) -> list[ProvinceFigures]:
        params: dict[str, object] = {
            "start": bounds.start, "end": bounds.end, "start_at": bounds.start_at.astimezone(UTC),
            "end_at": bounds.end_at.astimezone(UTC), "terminated": _TO_TERMINATED,
        }  # fmt: skip
        if provinces is not None:
            params["provinces"] = list(provinces)
        figures: dict[str, dict[str, int]] = defaultdict(dict)
        with self._snapshot() as c:
            live = c.execute(_sql(_LIVE, _LINE_PROVINCE, provinces, dialect=self._engine.dialect.name), params)
            for province, n in live:
                figures[str(province)]["subscriptions"] = int(n)
            for action, province, n in c.execute(_sql(_HISTORY, _EVENT_PROVINCE, provinces), params):
                figures[str(province)][_HISTORY_FIGURES[action]] = int(n)
            for action, province, n in c.execute(_sql(_STEPS, "r.province_code", provinces), params):
                figures[str(province)][STEP_FIGURES[action]] = int(n)
        return [
            ProvinceFigures(code, **{name: counts.get(name, 0) for name in FIGURES})
            for code, counts in sorted(figures.items())
        ]

    def staff_provinces(self, staff_id: int) -> tuple[str, ...]:
        stmt = text("SELECT province_code FROM staff_provinces WHERE staff_id = :staff_id ORDER BY province_code")
        with self._engine.connect() as c:
            return tuple(str(code) for code in c.execute(stmt, {"staff_id": staff_id}).scalars())
