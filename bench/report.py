# ruff: noqa: S608 - a benchmark: table names and limits are its own constants, values are bound parameters
"""Benchmark of the reports: one daily snapshot, the dashboard's data from snapshots, the regulator's report for a
month; each next to the bare `GROUP BY` of the same figures, measured in the same run.

The base is filled as bench/evaluate.py fills it (N lines, clear columns, dummy ciphertext; about two lines in
three incomplete), then, set-based: 500 points of sale over the 63 provinces (one line in ten has none), one
store account per point of sale, one `created` history entry per line (at its activation; one line in a hundred
registered at a counter in May 2018), a month of counter updates (one line in 25, May 2018), the enforcement
steps of the Decree 49 deadline (every incomplete line notified on 25/4/2018, a third locked one-way in May, a
ninth two-way, some restored) and a campaign's messages (one line in 50, mixed delivery states).

Timed, each next to its floor:

1. one daily snapshot (`subreg snapshot --as-of 2018-05-31`) vs the bare GROUP BYs of the same sources;
2. the dashboard's data over `--days` daily snapshots (copies of the first one, as the scheduler would have
   left them) vs a bare `GROUP BY` over the snapshot figures;
3. the regulator's report for May 2018 (in process, then `subreg report regulator` end to end) vs the bare
   GROUP BYs of the live lines, the month's history entries and the month's enforcement steps.

    .venv/bin/python bench/report.py --rows 10000000
    .venv/bin/python bench/report.py --rows 1000000 --backend postgresql
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from evaluate import fill_pg, fill_sqlite  # noqa: E402
from subreg.bootstrap import bootstrap, init_storage  # noqa: E402
from subreg.config import Settings  # noqa: E402
from subreg.domain.id_documents.numbers import PROVINCES  # noqa: E402
from workspace import BenchDatabase, bench_database  # noqa: E402

SUBREG = str(Path(sys.executable).parent / "subreg")
POINTS = 500
MONTH = (date(2018, 5, 1), date(2018, 5, 31))
NOW = datetime(2018, 6, 1, 2, 0, tzinfo=UTC)


def _at(backend: str, day_sql: str, clock: str) -> str:
    """A history instant as each backend stores it: SQLite's DateTime text, PostgreSQL's timestamptz."""
    if backend == "sqlite":
        return f"({day_sql}) || ' {clock}.000000'"
    return f"(({day_sql})::date + time '{clock}')::timestamptz"


def _may_day(backend: str, n_sql: str) -> str:
    """The day of May 2018 number `n_sql` (0-30)."""
    if backend == "sqlite":
        return f"date('2018-05-01', '+' || ({n_sql}) || ' days')"
    return f"(date '2018-05-01' + ({n_sql})::int)"


def fill_events(c: Any, backend: str) -> dict[str, int]:
    """Points of sale, staff, history, enforcement steps, campaign messages: INSERT ... SELECT, no row loops."""
    codes = sorted(PROVINCES)
    c.execute(text(
        "INSERT INTO points_of_sale (id, code, kind, name, province_code, active) VALUES "
        "(:id, :code, 'store', :name, :province, TRUE)"
    ), [{"id": i, "code": f"P{i:04d}", "name": f"Store {i}", "province": codes[i % len(codes)]}
        for i in range(1, POINTS + 1)])  # fmt: skip
    c.execute(text(
        "INSERT INTO staff (id, username, display_name, role, point_of_sale_id, password_hash, active) VALUES "
        "(:id, :u, :u, 'store_staff', :id, 'x', TRUE)"
    ), [{"id": i, "u": f"bench{i:04d}"} for i in range(1, POINTS + 1)])  # fmt: skip
    c.execute(text(f"UPDATE subscriptions SET point_of_sale_id = 1 + id % {POINTS} WHERE id % 10 <> 0"))
    registered = "s.id % 100 = 7"
    day = (
        "coalesce(s.activated_on, date '2010-01-01')"
        if backend == "postgresql"
        else ("coalesce(s.activated_on, '2010-01-01')")
    )
    created_at = (
        f"CASE WHEN {registered} THEN {_at(backend, _may_day(backend, 's.id % 31'), '10:00:00')} "
        f"ELSE {_at(backend, day, '03:00:00')} END"
    )
    c.execute(text(
        "INSERT INTO subscription_history (subscription_id, at, actor_staff_id, channel, action, changes) "
        f"SELECT s.id, {created_at}, CASE WHEN {registered} THEN 1 + s.id % {POINTS} END, "
        f"CASE WHEN {registered} THEN 'store' ELSE s.channel END, 'created', '{{}}' FROM subscriptions s"
    ))  # fmt: skip
    c.execute(text(
        "INSERT INTO subscription_history (subscription_id, at, actor_staff_id, channel, action, changes) "
        f"SELECT s.id, {_at(backend, _may_day(backend, 's.id % 31'), '09:30:00')}, 1 + (s.id * 7) % {POINTS}, "
        "'store', 'updated', '{\"fields\": [\"holder.full_name\"]}' FROM subscriptions s WHERE s.id % 25 = 1"
    ))  # fmt: skip
    province = "coalesce((SELECT p.province_code FROM points_of_sale p WHERE p.id = s.point_of_sale_id), 'unknown')"
    steps = (
        ("notify", "'2018-04-25'", "s.verdict <> 0"),
        ("lock_one_way", _may_day(backend, "10"), "s.verdict <> 0 AND s.id % 3 = 0"),
        ("lock_two_way", _may_day(backend, "25"), "s.verdict <> 0 AND s.id % 9 = 0"),
        ("restore", _may_day(backend, "s.id % 31"), "s.verdict <> 0 AND s.id % 3 = 0 AND s.id % 7 = 0"),
        ("terminate", "'2018-06-24'", "s.verdict <> 0 AND s.id % 27 = 0"),
    )
    for action, on, where in steps:
        on_date = on if backend == "sqlite" else f"({on})::date"
        c.execute(text(
            "INSERT INTO enforcement_steps (subscription_id, action, on_date, regime, province_code, channel, "
            f"created_at) SELECT s.id, '{action}', {on_date}, 'nd49-2017', {province}, 'sweep', CURRENT_TIMESTAMP "
            f"FROM subscriptions s WHERE {where}"
        ))  # fmt: skip
    c.execute(text(
        "UPDATE subscriptions SET enf_regime = 'nd49-2017', enf_step_on = '2018-05-11', enf_notices = 5, "
        "enf_last_notice_on = '2018-04-29', enf_state = CASE WHEN id % 9 = 0 THEN 3 WHEN id % 3 = 0 THEN 2 ELSE 1 END "
        "WHERE verdict <> 0 AND NOT (id % 3 = 0 AND id % 7 = 0)"
    ))  # fmt: skip
    c.execute(text(
        "INSERT INTO sms_outbox (kind, priority, recipient, sender, encoding, part_count, state, attempts, "
        "next_attempt_at, kek_id, wrapped_dek, payload, created_at, accepted_at, final_at) "
        "SELECT 'campaign', 2, s.msisdn, '1414', 'gsm7', 1, CASE s.id % 10 WHEN 0 THEN 'failed' WHEN 1 THEN 'sent' "
        "ELSE 'delivered' END, 1, CURRENT_TIMESTAMP, 1, :blob, :blob, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP FROM subscriptions s WHERE s.id % 50 = 3"
    ), {"blob": b"\x00" * 60})  # fmt: skip
    counts = {}
    for table in ("subscription_history", "enforcement_steps", "sms_outbox"):
        counts[table] = int(c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    return counts


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - started, out


def run_cli(cmd: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[1:])} failed: {done.stderr.decode()[-2000:]}")
    return wall, done.stdout


def bare(container: Any, *sqls: str, params: dict[str, Any] | None = None) -> float:
    """The same figures, bare: the statements in one read transaction, rows fetched, nothing assembled."""
    started = time.perf_counter()
    with container.engine.connect() as c:
        for sql in sqls:
            c.execute(text(sql), params or {}).fetchall()
    return time.perf_counter() - started


def bench_regulator(container: Any, env: dict[str, str], backend: str) -> dict[str, Any]:
    from subreg.services.reports.regulator import RegulatorRequest, regulator_report

    figures, options = container.regulator_figures(), container.report_options()
    request = RegulatorRequest(MONTH[0], MONTH[1])
    out: dict[str, Any] = {}
    walls = []
    for _ in range(2):
        wall, report = timed(regulator_report, request, figures=figures, options=options, now=NOW)
        walls.append(wall)
    out["regulator_month_s"] = min(walls)
    total = report.total
    shown = ("subscriptions", "updated", "registered", "locked_one_way", "locked_two_way", "restored")
    out["regulator_total"] = {k: getattr(total, k) for k in shown}
    hint = "NOT INDEXED" if backend == "sqlite" else ""  # a sequential scan: SQLite's planner would take an index
    at = "'2018-04-30 17:00:00.000000'" if backend == "sqlite" else "'2018-05-01 00:00+07'"
    end_at = "'2018-05-31 17:00:00.000000'" if backend == "sqlite" else "'2018-06-01 00:00+07'"
    out["bare_month_s"] = min(
        bare(
            container,
            f"SELECT p.province_code, count(*) FROM subscriptions s {hint} LEFT JOIN points_of_sale p "
            "ON p.id = s.point_of_sale_id WHERE s.activated_on <= '2018-05-31' GROUP BY p.province_code",
            "SELECT h.action, p.province_code, count(*) FROM subscription_history h LEFT JOIN staff st "
            f"ON st.id = h.actor_staff_id LEFT JOIN points_of_sale p ON p.id = st.point_of_sale_id WHERE h.at >= {at} "
            f"AND h.at < {end_at} GROUP BY h.action, p.province_code",
            "SELECT action, province_code, count(*) FROM enforcement_steps WHERE on_date >= '2018-05-01' "
            "AND on_date <= '2018-05-31' GROUP BY action, province_code",
        )
        for _ in range(2)
    )
    out["regulator_ratio"] = round(out["regulator_month_s"] / out["bare_month_s"], 2)
    out["regulator_cli_xlsx_s"], xlsx = run_cli(
        [SUBREG, "report", "regulator", "--from", MONTH[0].isoformat(), "--to", MONTH[1].isoformat(),
         "--format", "xlsx"], env,
    )  # fmt: skip
    assert xlsx[:2] == b"PK", "not an xlsx"
    return out


def bench_snapshot(container: Any, env: dict[str, str], backend: str) -> dict[str, Any]:
    """`subreg snapshot` for the month's last day, end to end, vs the bare GROUP BYs of the same sources."""
    from subreg.adapters.db.snapshot_repo import _CAMPAIGN, _COUNTER, _LINES, _STEPS
    from subreg.domain.compliance.phase import cutoff

    out: dict[str, Any] = {}
    out["snapshot_cli_s"], printed = run_cli([SUBREG, "snapshot", "--as-of", MONTH[1].isoformat(), "--json"], env)
    out["snapshot_figures"] = int(container.engine.connect().execute(text("SELECT count(*) FROM snapshot_figures"))
                                  .scalar_one())  # fmt: skip
    walls = []
    for _ in range(2):
        started = time.perf_counter()
        container.take_snapshot(MONTH[1], replace=True)
        walls.append(time.perf_counter() - started)
    out["snapshot_s"] = min(walls)
    start, end = datetime(2018, 5, 30, 17, tzinfo=UTC), datetime(2018, 5, 31, 17, tzinfo=UTC)
    params = {"cutoff": cutoff(MONTH[1]), "day": MONTH[1], "start": start, "end": end}
    walls = []
    for _ in range(2):
        started = time.perf_counter()
        with container.engine.connect() as c:
            for stmt in (_LINES, _STEPS, _CAMPAIGN, _COUNTER):
                c.execute(stmt, params).fetchall()
        walls.append(time.perf_counter() - started)
    out["bare_snapshot_s"] = min(walls)
    out["snapshot_ratio"] = round(out["snapshot_s"] / out["bare_snapshot_s"], 2)
    _ = printed
    return out


def bench_dashboard(container: Any, days: int) -> dict[str, Any]:
    """`days` daily snapshots (copies of the month's last one, as the scheduler leaves them), then the dashboard's
    data for the whole period, for a compliance officer and a regional manager, vs a bare GROUP BY of the figures."""
    from datetime import timedelta

    from subreg.domain.access.permissions import Actor
    from subreg.services.reports.dashboard import DashboardQuery, read_dashboard

    last = MONTH[1]
    with container.engine.begin() as c:
        first_id, taken = c.execute(text("SELECT id, taken_at FROM report_snapshots WHERE as_of = :d"),
                                    {"d": last}).one()  # fmt: skip
        for back in range(1, days):
            day = last - timedelta(days=back)
            new_id = c.execute(text(
                "INSERT INTO report_snapshots (as_of, rule_set, taken_at, figures) SELECT :d, rule_set, taken_at, "
                "figures FROM report_snapshots WHERE id = :id RETURNING id"
            ), {"d": day, "id": first_id}).scalar_one()  # fmt: skip
            c.execute(text(
                "INSERT INTO snapshot_figures (snapshot_id, dimension, province, key, n) "
                "SELECT :new, dimension, province, key, n FROM snapshot_figures WHERE snapshot_id = :id"
            ), {"new": new_id, "id": first_id})  # fmt: skip
        c.execute(text("INSERT INTO staff_provinces (staff_id, province_code) VALUES (2, '001'), (2, '079')"))
        c.execute(text("UPDATE staff SET role = 'regional_manager', point_of_sale_id = NULL WHERE id = 2"))
        rows = int(c.execute(text("SELECT count(*) FROM snapshot_figures")).scalar_one())
    _ = taken
    if container.engine.dialect.name == "postgresql":
        with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE snapshot_figures"))
    query = DashboardQuery(last - timedelta(days=days - 1), last)
    out: dict[str, Any] = {"dashboard_days": days, "dashboard_figure_rows": rows}
    for name, actor in (("officer", Actor(1, "compliance_officer")), ("manager", Actor(2, "regional_manager"))):
        walls = []
        for _ in range(5):
            started = time.perf_counter()
            board = read_dashboard(query, uow=container.uow(), actor=actor, today=last)
            walls.append(time.perf_counter() - started)
        assert len(board.snapshots) == days
        out[f"dashboard_{name}_ms"] = round(statistics.median(walls) * 1000, 1)
    walls = []
    for _ in range(5):
        started = time.perf_counter()
        with container.engine.connect() as c:
            c.execute(text(
                "SELECT r.as_of, f.dimension, f.key, sum(f.n) FROM snapshot_figures f JOIN report_snapshots r "
                "ON r.id = f.snapshot_id WHERE r.as_of >= :s AND r.as_of <= :e AND f.dimension = 'state' "
                "GROUP BY 1, 2, 3"
            ), {"s": query.start, "e": query.end}).fetchall()  # fmt: skip
            c.execute(text(
                "SELECT f.dimension, f.key, f.province, sum(f.n) FROM snapshot_figures f JOIN report_snapshots r "
                "ON r.id = f.snapshot_id WHERE r.as_of = :e GROUP BY 1, 2, 3"
            ), {"e": query.end}).fetchall()  # fmt: skip
        walls.append(time.perf_counter() - started)
    out["bare_dashboard_ms"] = round(statistics.median(walls) * 1000, 1)
    out["dashboard_ratio"] = round(out["dashboard_officer_ms"] / out["bare_dashboard_ms"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--days", type=int, default=365, help="daily snapshots the dashboard reads")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="subreg-bench-report-"))
    var = work / f"var-{args.backend}"
    with bench_database(args.backend, var) as db:
        run(args, var, db)


def run(args: argparse.Namespace, var: Path, db: BenchDatabase) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(SUBREG_DATABASE_URL=db.url, SUBREG_VAR_DIR=str(var), SUBREG_ENV="dev")
    settings = Settings(env="dev", var_dir=var, database_url=db.url)
    init_storage(settings)
    fill = fill_sqlite(db.path, args.rows) if db.path is not None else fill_pg(db.dsn, db.schema, args.rows)
    container = bootstrap(settings)
    with container.engine.begin() as c:
        started = time.perf_counter()
        counts = fill_events(c, args.backend)
    if args.backend == "postgresql":
        with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        with container.engine.begin() as c:
            c.execute(text("ANALYZE"))
    print(f"filled {args.rows:,} lines in {fill:.1f} s, events {counts} in {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip
    result: dict[str, Any] = {"backend": args.backend, "rows": args.rows}
    result.update(bench_regulator(container, env, args.backend))
    print(orjson.dumps(result).decode(), flush=True)
    result.update(bench_snapshot(container, env, args.backend))
    print(orjson.dumps(result).decode(), flush=True)
    result.update(bench_dashboard(container, args.days))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    print(orjson.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}).decode())


if __name__ == "__main__":
    main()
