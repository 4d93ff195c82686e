"""Benchmark of the back-office work queue: "the next queue item served" with 20 staff working at once.

`--staff` processes (default 20: a server runs several worker processes, and Python threads would measure the
GIL), each a member of back-office staff, take items one after the other: the use case
`services.backoffice.work_queue.next_item` (the permission check, the unit of work, the held-item check, the
claim `UPDATE`, the commit), then close the item (as a save would) so that their next request claims a new one.
The latency of every `next_item` is recorded; p50, p99 and the maximum are printed, next to a floor measured in
the same run: the same claim `UPDATE` bare, on a plain connection, by the same number of threads.

The queue holds `--items` open items (default 100,000) with spread deadlines, inserted set-based.

    .venv/bin/python bench/backoffice_queue.py
    .venv/bin/python bench/backoffice_queue.py --backend postgresql --items 1000000

Items per hour of staff confirming pre-filled items in a browser are measured by the browser test
(tests/browser/test_backoffice_queue.py, printed with `-s`): the page reads both scans (QR, MRZ, Tesseract) on
every item, which dominates.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from subreg.adapters.db.work_queue_repo import SqlWorkQueueRepository  # noqa: E402
from subreg.bootstrap import bootstrap, init_storage  # noqa: E402
from subreg.config import Settings  # noqa: E402
from subreg.domain.access.permissions import Actor, Role  # noqa: E402
from subreg.services.backoffice.work_queue import next_item  # noqa: E402
from workspace import bench_database  # noqa: E402


def _fill(engine: Any, items: int) -> None:
    """`items` open items, deadlines spread over a year, inserted set-based."""
    with engine.begin() as c:
        c.execute(text("DELETE FROM backoffice_items"))
        if engine.dialect.name == "sqlite":
            c.execute(text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :items) "
                "INSERT INTO backoffice_items (subscription_id, missing, deadline, state, version_seen, created_at) "
                "SELECT i, 'holder.id_issue_place', date('2026-01-01', '+' || (i * 7919 % 365) || ' days'), 'open', 1, "
                "CURRENT_TIMESTAMP FROM n"
            ), {"items": items})  # fmt: skip
        else:
            c.execute(text(
                "INSERT INTO backoffice_items (subscription_id, missing, deadline, state, version_seen, created_at) "
                "SELECT i, 'holder.id_issue_place', DATE '2026-01-01' + (i * 7919 % 365), 'open', 1, now() "
                "FROM generate_series(1, :items) AS i"
            ), {"items": items})  # fmt: skip
            c.execute(text("ANALYZE backoffice_items"))


def _percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    p = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {p[49]:.2f} ms  p99 {p[98]:.2f} ms  max {ms[-1]:.2f} ms  ({len(ms)} requests)"


def _worker(args: tuple[Settings, str, int, int]) -> list[float]:
    """One member of staff in a process of its own (its own engine, as a server's worker process has)."""
    settings, mode, n, per_staff = args
    c = bootstrap(settings)
    engine = c.engine
    out = []
    with c.uow() as warm:  # a connection in the pool before the clock starts
        warm.work_queue.get(0)
    _START.wait()  # every member of staff starts together, once all are connected
    try:
        for _ in range(per_staff):
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            if mode == "bare":
                with engine.begin() as conn:
                    if engine.dialect.name == "sqlite":
                        conn.exec_driver_sql("UPDATE serving_visits SET id = id WHERE 0")  # the write lock first
                    item = SqlWorkQueueRepository(conn).claim_next(n, now=now, until=now + timedelta(minutes=15))
            else:
                ctx = c.work_context(now=now)
                t0 = time.perf_counter()
                item = next_item(uow=c.uow(), ctx=ctx, actor=Actor(n, Role.BACKOFFICE))
            out.append((time.perf_counter() - t0) * 1000)
            if item is not None:  # staff save the item: their next request claims a new one
                with c.uow() as uow:
                    uow.lock_for_write()
                    uow.work_queue.finish(item.id, staff_id=n, state="done", outcome="bench", now=now)
                    uow.commit()
    finally:
        c.close()
    return out


_START: Any = None


def _run(settings: Settings, mode: str, staff: int, per_staff: int) -> list[float]:
    global _START  # handed to the forked workers
    _START = multiprocessing.get_context("fork").Barrier(staff)
    with multiprocessing.get_context("fork").Pool(staff) as pool:
        results = pool.map(_worker, [(settings, mode, n + 1, per_staff) for n in range(staff)])
    return [ms for r in results for ms in r]


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file or PostgreSQL schema)")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--staff", type=int, default=20)
    parser.add_argument("--per-staff", type=int, default=100, help="items each staff member takes")
    args = parser.parse_args()

    # A fresh SQLite file, or a fresh PostgreSQL schema dropped afterwards (bench/workspace.py).
    var = Path(tempfile.mkdtemp(prefix="bench-bo-")) / "var"
    with bench_database(args.backend, var) as db:
        run(args, Settings(env="test", var_dir=var, database_url=args.url or db.url))


def run(args: argparse.Namespace, settings: Settings) -> None:
    """Fill the queue, measure the bare claim and the use case, print the figures."""
    init_storage(settings)
    c = bootstrap(settings)
    try:
        engine = c.engine
        print(f"{engine.dialect.name}: {args.items:,} open items, {args.staff} staff x {args.per_staff} items")

        # The floor: the claim UPDATE bare, on a plain connection, no use case around it.
        _fill(engine, args.items)
        floor = _run(settings, "bare", args.staff, args.per_staff)
        # The use case: next_item through the unit of work, as the page calls it.
        _fill(engine, args.items)
        use_case = _run(settings, "use_case", args.staff, args.per_staff)
        print(f"next queue item served (next_item): {_percentiles(use_case)}")
        print(f"floor (the claim UPDATE bare):      {_percentiles(floor)}")
        p99 = statistics.quantiles(sorted(use_case), n=100, method="inclusive")[98]
        print(f"target p99 <= 50 ms: {'met' if p99 <= 50 else 'NOT met'}")
    finally:
        c.close()


if __name__ == "__main__":
    main()
