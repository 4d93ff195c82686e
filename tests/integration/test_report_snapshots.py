"""Daily snapshots on SQLite and PostgreSQL: the stored figures are the counts computed independently from the
generated rows (`tests/report_data.py`), a day is kept unless replaced, and the worker takes the day's snapshot
after the day's sweep."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from subreg.adapters.db.tables import audit_log, report_snapshots, snapshot_figures
from subreg.config import Settings
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.errors import ConflictError
from subreg.services.reports.dashboard import DashboardQuery, read_dashboard
from tests.report_data import AS_OF, DAY_END, DAY_START, counter_work, expected, generate, load_sql


def _stored(container) -> Counter[tuple[str, str, str]]:
    with container.engine.connect() as c:
        rows = c.execute(
            select(snapshot_figures.c.dimension, snapshot_figures.c.province, snapshot_figures.c.key,
                   snapshot_figures.c.n)
            .join(report_snapshots, report_snapshots.c.id == snapshot_figures.c.snapshot_id)
            .where(report_snapshots.c.as_of == AS_OF)
        )  # fmt: skip
        return Counter({(d, p, k): int(n) for d, p, k, n in rows})


class TestSnapshot:
    def test_the_figures_are_the_counts_of_the_generated_rows(self, container):
        data = generate()
        load_sql(container.engine, data)
        taken = container.take_snapshot(AS_OF)
        want = expected(data)
        got = _stored(container)
        for dimension in sorted({d for d, _p, _k in want} | {d for d, _p, _k in got}):
            assert {k: n for k, n in got.items() if k[0] == dimension} == {
                k: n for k, n in want.items() if k[0] == dimension
            }, dimension
        assert taken.figures == len(want)
        assert taken.lines == 300
        # Every dimension the issue names is there (the generator draws rows for each).
        assert {d for d, _p, _k in got} >= {
            "state", "missing", "phase", "channel", "subscriber_type", "payment_type", "enforcement", "enf_steps",
            "campaign_sms", "campaign_sms_day", "pos_updates", "pos_registrations",
        }  # fmt: skip
        with container.engine.connect() as c:
            row = c.execute(select(report_snapshots.c.figures, report_snapshots.c.rule_set)).one()
            assert tuple(row) == (len(want), "nd49-2017")
            audited = c.execute(select(func.count()).select_from(audit_log)
                                .where(audit_log.c.action == "report:snapshot_taken")).scalar_one()  # fmt: skip
        assert audited == 1

    def test_a_day_is_kept_unless_replaced(self, container):
        data = generate(n=40)
        load_sql(container.engine, data)
        first = container.take_snapshot(AS_OF)
        with container.engine.begin() as c:
            c.execute(text("UPDATE subscriptions SET verdict = 0, contract_needed = false, missing_mask = 0"))
        with pytest.raises(ConflictError):
            container.take_snapshot(AS_OF)
        assert _stored(container) == expected(data)  # untouched
        again = container.take_snapshot(AS_OF, replace=True)
        assert again.replaced
        assert first.replaced is False
        stored = _stored(container)
        states: Counter[str] = Counter()
        for (dimension, _province, key), n in stored.items():
            if dimension == "state":
                states[key] += n
        assert states == {"complete": 40}
        with container.engine.connect() as c:
            assert c.execute(select(func.count()).select_from(report_snapshots)).scalar_one() == 1

    def test_the_dashboard_sums_the_snapshot_in_the_readers_scope(self, container):
        data = generate()
        load_sql(container.engine, data)
        container.take_snapshot(AS_OF)
        want = expected(data)
        officer = Actor(staff_id=4, role=Role.COMPLIANCE_OFFICER)
        board = read_dashboard(DashboardQuery(AS_OF, AS_OF), uow=container.uow(), actor=officer, today=AS_OF)
        provinces = {r[0]: r[1] for r in board.charts["provinces"].rows}
        assert provinces == {p: n for (d, p, _k), n in want.items() if d == "lines"}
        with container.uow() as uow:
            uow.staff_provinces.replace_provinces(4, frozenset({"079"}))
            uow.commit()
        manager = Actor(staff_id=4, role=Role.REGIONAL_MANAGER)
        board = read_dashboard(DashboardQuery(AS_OF, AS_OF), uow=container.uow(), actor=manager, today=AS_OF)
        assert [r[0] for r in board.charts["provinces"].rows] == ["079"]
        (day, complete, not_complete, *_rest, total) = board.charts["progress"].rows[0]
        assert day == AS_OF.isoformat()
        assert not_complete == total - complete
        assert total == want["lines", "079", "total"]
        assert complete == want["state", "079", "complete"]
        pos = {r[0]: (r[2], r[3]) for r in board.charts["pos"].rows}
        assert pos == {"HCM-1": (want["pos_updates", "079", "HCM-1"], want["pos_registrations", "079", "HCM-1"])}

    def test_the_counters_work_over_a_period_is_exact_across_days_without_a_snapshot(self, container):
        data = generate()
        load_sql(container.engine, data)
        container.take_snapshot(AS_OF - timedelta(days=2))  # no snapshot of the day between
        container.take_snapshot(AS_OF)
        officer = Actor(staff_id=4, role=Role.COMPLIANCE_OFFICER)
        board = read_dashboard(DashboardQuery(AS_OF - timedelta(days=2), AS_OF), uow=container.uow(), actor=officer,
                               today=AS_OF)  # fmt: skip
        want = counter_work(data, DAY_START - timedelta(days=2), DAY_END)
        got = {(r[0], r[1]): (r[2], r[3]) for r in board.charts["pos"].rows}
        codes = {(code, prov) for (_d, prov, code) in want}
        assert got == {
            (code, prov): (want["pos_updates", prov, code], want["pos_registrations", prov, code])
            for code, prov in codes
        }
        assert sum(u + r for u, r in got.values()) > sum(  # more than the two days' own counts: the gap day too
            n for (d, _p, _k), n in _stored(container).items() if d in ("pos_updates", "pos_registrations")
        )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(env="test", var_dir=tmp_path / "var", database_url=database_url, enforce_daily_at="00:00",
                    snapshot_daily_at="00:00")  # fmt: skip


def test_the_worker_takes_the_days_snapshot_after_the_days_sweep(container):
    from subreg.jobs.enforcement import EnforcementJobs
    from tests.integration.test_enforcement_sweep import _lines

    _lines(container, 4)  # three incomplete lines: the sweep notifies them
    jobs = EnforcementJobs(container, idle_sleep=0.05)
    runner = threading.Thread(target=jobs.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with container.engine.connect() as c:
                if c.execute(select(func.count()).select_from(report_snapshots)).scalar_one():
                    break
            time.sleep(0.2)
        with container.engine.connect() as c:
            snap = c.execute(select(report_snapshots.c.id, report_snapshots.c.as_of)).one()
            steps = c.execute(
                select(func.sum(snapshot_figures.c.n)).where(
                    snapshot_figures.c.snapshot_id == snap[0], snapshot_figures.c.dimension == "enf_steps"
                )
            ).scalar_one()
        assert snap[1] == container.clock.today()
        assert int(steps) == 3  # taken after the sweep: its notices are in the day's figures
    finally:
        jobs.stop()
        runner.join(timeout=15)
