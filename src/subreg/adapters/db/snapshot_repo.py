"""Snapshots in SQL: the sources grouped in the database, the snapshots stored and summed there.

`line_groups` is ONE pass over `subscriptions` (joined to its point of sale's province, a small table the
database keeps in cache), grouped by the few low-cardinality columns a snapshot counts: a few thousand
groups for tens of millions of lines. The other sources are dated and indexed (`enforcement_steps.on_date`,
`subscription_history.at`); the campaign SMS are one scan of the outbox's campaign rows. Times are bound as
UTC (SQLite keeps DateTime values as UTC text). Snapshots are inserted in one statement per table and
never updated; `sums` adds the dashboard's figures up in the database (the primary key of
`snapshot_figures` starts with the snapshot, then the dimension).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Date, DateTime, bindparam, delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from subreg.adapters.db.tables import report_snapshots, snapshot_figures
from subreg.domain.common.errors import ConflictError, FieldError
from subreg.domain.reports.figures import Figure, LineGroup
from subreg.services.reports.ports import FigureSum, SnapshotInfo

__all__ = ["SqlSnapshotSource", "SqlSnapshotStore"]

_LINES = text(
    "SELECT p.province_code, s.verdict, s.contract_needed, "
    "CASE WHEN s.activated_on IS NULL THEN NULL WHEN s.activated_on > :cutoff THEN 1 ELSE 2 END, "
    "s.subscriber_type, s.payment_type, s.channel, s.enf_state, s.missing_mask, count(*) "
    "FROM subscriptions s LEFT JOIN points_of_sale p ON p.id = s.point_of_sale_id "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
).bindparams(bindparam("cutoff", type_=Date()))
_STEPS = text(
    "SELECT province_code, action, count(*) FROM enforcement_steps WHERE on_date = :day GROUP BY 1, 2"
).bindparams(bindparam("day", type_=Date()))
_CAMPAIGN = text(
    "SELECT p.province_code, o.state, CASE WHEN o.created_at >= :start THEN 1 ELSE 0 END, count(*) "
    "FROM sms_outbox o LEFT JOIN campaign_sends c ON c.id = o.campaign_send_id "
    "LEFT JOIN subscriptions s ON s.id = c.subscription_id LEFT JOIN points_of_sale p ON p.id = s.point_of_sale_id "
    "WHERE o.kind = 'campaign' AND o.created_at < :end GROUP BY 1, 2, 3"
).bindparams(bindparam("start", type_=DateTime(timezone=True)), bindparam("end", type_=DateTime(timezone=True)))
_COUNTER = text(
    "SELECT p.code, p.province_code, h.action, count(*) FROM subscription_history h "
    "JOIN staff st ON st.id = h.actor_staff_id JOIN points_of_sale p ON p.id = st.point_of_sale_id "
    "WHERE h.at >= :start AND h.at < :end AND h.action IN ('created', 'updated') GROUP BY 1, 2, 3"
).bindparams(bindparam("start", type_=DateTime(timezone=True)), bindparam("end", type_=DateTime(timezone=True)))


# From the first history row (a first snapshot's running totals): one scan of the table, not millions of look-ups
# through the `at` index (SQLite's unary plus keeps it from the index; PostgreSQL's planner decides by itself).
_COUNTER_ALL_SQL = (
    "SELECT p.code, p.province_code, h.action, count(*) FROM subscription_history h "
    "JOIN staff st ON st.id = h.actor_staff_id JOIN points_of_sale p ON p.id = st.point_of_sale_id "
    "WHERE {at} < :end AND h.action IN ('created', 'updated') GROUP BY 1, 2, 3"
)
_COUNTER_ALL = {
    dialect: text(_COUNTER_ALL_SQL.replace("{at}", at)).bindparams(bindparam("end", type_=DateTime(timezone=True)))
    for dialect, at in (("sqlite", "+h.at"), ("postgresql", "h.at"))
}


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class SqlSnapshotSource:
    """The snapshot's sources, each one GROUP BY (`services.reports.ports.SnapshotSource`)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def line_groups(self, phase_cutoff: date) -> list[LineGroup]:
        rows = self._c.execute(_LINES, {"cutoff": phase_cutoff})
        return [
            LineGroup(pr, None if v is None else int(v), None if cn is None else bool(cn), ph, st, pt, ch,
                      None if e is None else int(e), None if m is None else int(m), int(n))
            for pr, v, cn, ph, st, pt, ch, e, m, n in rows
        ]  # fmt: skip

    def step_counts(self, day: date) -> list[tuple[str | None, str, int]]:
        return [(p, a, int(n)) for p, a, n in self._c.execute(_STEPS, {"day": day})]

    def campaign_counts(self, start: datetime, end: datetime) -> list[tuple[str | None, str, bool, int]]:
        rows = self._c.execute(_CAMPAIGN, {"start": _utc(start), "end": _utc(end)})
        return [(p, st, bool(d), int(n)) for p, st, d, n in rows]

    def counter_counts(self, start: datetime | None, end: datetime) -> list[tuple[str, str | None, str, int]]:
        if start is None:
            rows = self._c.execute(_COUNTER_ALL[self._c.dialect.name], {"end": _utc(end)})
        else:
            rows = self._c.execute(_COUNTER, {"start": _utc(start), "end": _utc(end)})
        return [(code, p, a, int(n)) for code, p, a, n in rows]


class SqlSnapshotStore:
    """`report_snapshots` and `snapshot_figures` (`services.reports.ports.SnapshotStore`)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    @staticmethod
    def _info(r: object) -> SnapshotInfo:
        id_, as_of, rule_set, taken_at, figures = r  # type: ignore[misc]
        return SnapshotInfo(int(id_), _day(as_of), rule_set, _aware(taken_at), int(figures))

    _COLUMNS = (report_snapshots.c.id, report_snapshots.c.as_of, report_snapshots.c.rule_set,
                report_snapshots.c.taken_at, report_snapshots.c.figures)  # fmt: skip

    def snapshot_on(self, day: date) -> SnapshotInfo | None:
        row = self._c.execute(select(*self._COLUMNS).where(report_snapshots.c.as_of == day)).first()
        return None if row is None else self._info(row)

    def snapshot_before(self, day: date) -> SnapshotInfo | None:
        row = self._c.execute(
            select(*self._COLUMNS)
            .where(report_snapshots.c.as_of < day)
            .order_by(report_snapshots.c.as_of.desc())
            .limit(1)
        ).first()
        return None if row is None else self._info(row)

    def remove_snapshot(self, snapshot_id: int) -> None:
        self._c.execute(delete(snapshot_figures).where(snapshot_figures.c.snapshot_id == snapshot_id))
        self._c.execute(delete(report_snapshots).where(report_snapshots.c.id == snapshot_id))

    def add_snapshot(self, as_of: date, rule_set: str, taken_at: datetime, figures: Sequence[Figure]) -> int:
        try:  # the day's unique key: another process stored the day meanwhile (the transaction is lost)
            snapshot_id = int(
                self._c.execute(
                    insert(report_snapshots)
                    .values(as_of=as_of, rule_set=rule_set, taken_at=_utc(taken_at), figures=len(figures))
                    .returning(report_snapshots.c.id)
                ).scalar_one()
            )
        except IntegrityError:
            raise ConflictError("snapshot_exists", errors=[FieldError("as_of", "snapshot_exists")]) from None
        if figures:
            self._c.execute(
                insert(snapshot_figures),
                [{"snapshot_id": snapshot_id, "dimension": f.dimension, "province": f.province, "key": f.key,
                  "n": f.n} for f in figures],
            )  # fmt: skip
        return snapshot_id

    def snapshots(self, start: date, end: date) -> list[SnapshotInfo]:
        rows = self._c.execute(
            select(*self._COLUMNS)
            .where(report_snapshots.c.as_of >= start, report_snapshots.c.as_of <= end)
            .order_by(report_snapshots.c.as_of)
        )
        return [self._info(r) for r in rows]

    def sums(
        self,
        start: date,
        end: date,
        dimensions: Sequence[str],
        provinces: frozenset[str] | None,
        *,
        per_day: bool,
        per_province: bool,
    ) -> list[FigureSum]:
        f, r = snapshot_figures, report_snapshots
        groups = [f.c.dimension, f.c.key]
        if per_day:
            groups.insert(0, r.c.as_of)
        if per_province:
            groups.append(f.c.province)
        stmt = (
            select(*groups, func.sum(f.c.n))
            .select_from(f.join(r, r.c.id == f.c.snapshot_id))
            .where(r.c.as_of >= start, r.c.as_of <= end, f.c.dimension.in_(list(dimensions)))
            .group_by(*groups)
        )
        if provinces is not None:
            stmt = stmt.where(f.c.province.in_(sorted(provinces)))
        out = []
        for row in self._c.execute(stmt):
            values = list(row)
            day = _day(values.pop(0)) if per_day else None
            dimension, key = values[0], values[1]
            province = values[2] if per_province else None
            out.append(FigureSum(day, dimension, province, key, int(values[-1])))
        return out
