# ruff: noqa: S608 - a benchmark: table names and limits are its own constants, values are bound parameters
"""Benchmark of the enforcement sweep, the worker's SMS throughput and completion-to-unlock latency.

The base is filled as bench/evaluate.py fills it (N lines, clear columns, dummy ciphertext; about two lines
in three incomplete), then every incomplete line is put in enforcement, notified a few days ago (5 notices
sent), so that a sweep that day has nothing to do. Timed, each next to its floor in the same run:

1. a quiet day: the sweep (plan + counts + apply, one transaction) vs a bare full scan of `subscriptions`
   with the same filter (`count(*) WHERE status = 'active' AND (verdict <> 0 OR contract_needed)`);
2. a day that locks `--locks` lines one-way (their first notice moved 15 days back): the sweep vs writing
   the same outbox rows bare (one INSERT ... SELECT each into `network_orders` and `sms_outbox`, committed);
3. the worker (`subreg worker --no-schedule`, built-in SMS centre) draining `--messages` queued notices:
   messages/s, vs the bare insert rate of the same rows into the centre's table;
4. completion at the counter to the unlock applied by the network (built-in network, a worker running):
   p50/p99 over `--unlocks` locked lines completed one after another.

    .venv/bin/python bench/enforce.py --rows 10000000
    .venv/bin/python bench/enforce.py --rows 1000000 --backend postgresql
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
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
from subreg.services.enforcement.sweep import sweep  # noqa: E402
from workspace import BenchDatabase, bench_database  # noqa: E402

SUBREG = str(Path(sys.executable).parent / "subreg")
AS_OF = date(2018, 5, 20)
NOW = datetime(2018, 5, 20, 1, 0, tzinfo=UTC)
INCOMPLETE = "status = 'active' AND (verdict <> 0 OR contract_needed)"


def put_in_enforcement(c: Any, notified_on: date) -> int:
    """Every incomplete line notified on `notified_on`, its 5 notices sent (nothing due for days)."""
    c.execute(text(
        "UPDATE subscriptions SET enf_regime = 'nd49-2017', enf_state = 1, enf_step_on = :d, enf_notices = 5, "
        f"enf_last_notice_on = :d WHERE {INCOMPLETE}"
    ), {"d": notified_on})  # fmt: skip
    return int(c.execute(text("SELECT count(*) FROM subscriptions WHERE enf_state IS NOT NULL")).scalar_one())


def timed_sweep(container: Any) -> tuple[float, dict[str, Any]]:
    options, notices = container.enforcement_options(), container.notices()
    # A dry run first, untimed: the process's first statements pay for imports and compiling (0.8 s once).
    sweep(uow=container.uow(), as_of=AS_OF, now=NOW, options=options, notices=notices, dry_run=True)
    started = time.perf_counter()
    report = sweep(uow=container.uow(), as_of=AS_OF, now=NOW, options=options, notices=notices)
    return time.perf_counter() - started, report.as_dict()


def bare(container: Any, sql: str, *, commit: bool = False) -> float:
    started = time.perf_counter()
    with container.engine.connect() as c:
        c.execute(text(sql))
        if commit:
            c.commit()
    return time.perf_counter() - started


def bare_outbox(container: Any, locks: int) -> float:
    """The rows the lock day writes, written bare: orders and notices for `locks` lines (then removed)."""
    limit = f"SELECT id AS subscription_id FROM subscriptions WHERE enf_state = 1 ORDER BY id LIMIT {locks}"
    started = time.perf_counter()
    with container.engine.begin() as c:
        c.execute(text(
            "INSERT INTO network_orders (subscription_id, action, status, reason, created_at, priority, order_key) "
            "SELECT subscription_id, 'lock_one_way', 'queued', 'bench', CURRENT_TIMESTAMP, 5, "
            f"'bench:' || subscription_id FROM ({limit}) AS l"
        ))  # fmt: skip
        c.execute(text(
            "INSERT INTO sms_outbox (kind, priority, recipient, sender, encoding, part_count, state, attempts, "
            "next_attempt_at, kek_id, wrapped_dek, payload, created_at) SELECT 'notice', 1, s.msisdn, '1414', "
            "'gsm7', 2, 'pending', 0, CURRENT_TIMESTAMP, 1, :blob, :blob, CURRENT_TIMESTAMP "
            f"FROM ({limit}) AS l JOIN subscriptions s ON s.id = l.subscription_id"
        ), {"blob": b"\x00" * 120})  # fmt: skip
    wall = time.perf_counter() - started
    with container.engine.begin() as c:
        c.execute(text("DELETE FROM network_orders WHERE reason = 'bench'"))
        c.execute(text("DELETE FROM sms_outbox WHERE kind = 'notice'"))
    return wall


def worker_throughput(container: Any, env: dict[str, str], messages: int) -> dict[str, Any]:
    """Queue `messages` sealed notices, start a worker, time until the centre accepted them all."""
    from subreg.services.sms.notices import SmsNotices

    notice = SmsNotices(container.sms_context()).compose("notify", as_of=AS_OF, next_on=AS_OF + timedelta(15))
    with container.engine.begin() as c:
        # SMS alone: the lock day's orders would keep the same worker busy (they have their own figure below).
        c.execute(text("UPDATE network_orders SET status = 'done' WHERE status IN ('queued', 'sent')"))
        c.execute(text("DELETE FROM sms_submits"))
        c.execute(text("DELETE FROM sms_outbox"))
        c.execute(text("DELETE FROM sms_centre"))
        c.execute(text(
            "INSERT INTO sms_outbox (kind, priority, recipient, sender, encoding, part_count, state, attempts, "
            "next_attempt_at, kek_id, wrapped_dek, payload, created_at) SELECT 'notice', 1, msisdn, :sender, "
            ":encoding, :parts, 'pending', 0, :now, :kek_id, :wrapped_dek, :payload, :now "
            f"FROM subscriptions ORDER BY id LIMIT {messages}"
        ), {"sender": notice.sender, "encoding": notice.encoding, "parts": notice.part_count,
            "now": datetime(2000, 1, 1, tzinfo=UTC), **notice.sealed})  # fmt: skip
    proc = subprocess.Popen([SUBREG, "worker", "--no-schedule"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        first = last = None
        done = 0
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            with container.engine.connect() as c:
                done = int(c.execute(text("SELECT count(*) FROM sms_outbox WHERE state <> 'pending' "
                                          "AND state <> 'sending'")).scalar_one())  # fmt: skip
            now = time.perf_counter()
            if done and first is None:
                first = (now, done)
            if done >= messages:
                last = now
                break
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(30)
    if first is None or last is None or last <= first[0]:
        return {"messages": messages, "sent": done, "messages_per_s": None}
    rate = (messages - first[1]) / (last - first[0])
    return {"messages": messages, "sent": done, "messages_per_s": round(rate, 1)}


def orders_throughput(container: Any, env: dict[str, str], n: int) -> dict[str, Any]:
    """`n` lock orders queued; a worker (no SMS) applies them to the built-in network: orders/s."""
    with container.engine.begin() as c:
        c.execute(text("UPDATE network_orders SET status = 'done' WHERE status IN ('queued', 'sent')"))
        c.execute(text(
            "INSERT INTO network_orders (subscription_id, action, status, reason, created_at, priority, order_key) "
            "SELECT id, 'lock_one_way', 'queued', 'bench', CURRENT_TIMESTAMP, 5, 'bench-o:' || id FROM subscriptions "
            f"ORDER BY id LIMIT {n}"
        ))  # fmt: skip
    proc = subprocess.Popen([SUBREG, "worker", "--no-schedule", "--no-sms"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        first = None
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            with container.engine.connect() as c:
                left = int(c.execute(text("SELECT count(*) FROM network_orders WHERE reason = 'bench' "
                                          "AND status <> 'done'")).scalar_one())  # fmt: skip
            if left < n and first is None:
                first = (time.perf_counter(), left)
            if left == 0:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - first[0] if first else None
    finally:
        proc.terminate()
        proc.wait(30)
    return {"orders": n, "orders_per_s": round(first[1] / wall, 1) if first and wall else None}


def unlock_latency(container: Any, env: dict[str, str], n: int) -> dict[str, Any]:
    """Lines locked two-way, completed one by one the way the counter does it (verdict complete, the unlock
    order and the restore request in one transaction); time until the built-in network shows them open."""
    from subreg.domain.common.msisdn import msisdn_from_key

    with container.engine.begin() as c:
        ids = [r[0] for r in c.execute(text(f"SELECT id FROM subscriptions WHERE enf_state = 1 LIMIT {n}"))]
        c.execute(text("UPDATE subscriptions SET enf_state = 3, status = 'two_way_locked' WHERE id IN "
                       f"(SELECT id FROM subscriptions WHERE enf_state = 1 LIMIT {n})"))  # fmt: skip
        # The network has them locked (the built-in network answers `open` for a number it never heard of).
        c.execute(
            text(
                "INSERT INTO network_lines (msisdn, access, updated_at) SELECT msisdn, 'two_way', :t "
                f"FROM subscriptions WHERE id IN ({', '.join(str(i) for i in ids)})"
            ),
            {"t": datetime.now(UTC)},
        )
    network = container.network()
    proc = subprocess.Popen([SUBREG, "worker", "--no-schedule", "--no-sms"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    latencies = []
    try:
        time.sleep(3)  # the worker's start
        for sid in ids:
            with container.engine.connect() as c:
                key = c.execute(text("SELECT msisdn FROM subscriptions WHERE id = :i"), {"i": sid}).scalar_one()
            with container.engine.begin() as c:  # writes first: a read would pin a snapshot another writer outdates
                c.execute(text("UPDATE subscriptions SET verdict = 0, contract_needed = false, status = "
                               "'two_way_locked' WHERE id = :i"), {"i": sid})  # fmt: skip
                c.execute(text("INSERT INTO network_orders (subscription_id, action, status, reason, created_at, "
                               "priority) VALUES (:i, 'unlock', 'queued', 'information_complete', :t, 3)"),
                          {"i": sid, "t": datetime.now(UTC)})  # fmt: skip
                c.execute(text("INSERT INTO enforcement_recheck (subscription_id, channel, created_at) "
                               "VALUES (:i, 'counter', :t)"), {"i": sid, "t": datetime.now(UTC)})  # fmt: skip
            started = time.perf_counter()
            number = msisdn_from_key(int(key)).lstrip("+")
            while network.access(number) != "open" and time.perf_counter() - started < 30:
                time.sleep(0.01)
            latencies.append(time.perf_counter() - started)
    finally:
        proc.terminate()
        proc.wait(30)
    latencies.sort()
    return {"unlocks": len(latencies), "p50_s": round(latencies[len(latencies) // 2], 3),
            "p99_s": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--locks", type=int, default=None, help="Lines the lock day locks (default: rows / 10)")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--unlocks", type=int, default=50)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    locks = args.locks or max(1, args.rows // 10)
    work = args.dir or Path(tempfile.mkdtemp(prefix="subreg-bench-enforce-"))
    var = work / f"var-{args.backend}"
    with bench_database(args.backend, var) as db:
        run(args, locks, var, db)


def run(args: argparse.Namespace, locks: int, var: Path, db: BenchDatabase) -> None:
    url = db.url
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(SUBREG_DATABASE_URL=url, SUBREG_VAR_DIR=str(var), SUBREG_ENV="dev")
    settings = Settings(env="dev", var_dir=var, database_url=url)
    result: dict[str, Any] = {"backend": args.backend, "rows": args.rows, "locks": locks}
    init_storage(settings)
    fill = fill_sqlite(db.path, args.rows) if db.path is not None else fill_pg(db.dsn, db.schema, args.rows)
    print(f"filled {args.rows:,} subscriptions in {fill:.1f} s", flush=True)
    container = bootstrap(settings)
    with container.engine.begin() as c:
        result["in_enforcement"] = put_in_enforcement(c, AS_OF - timedelta(days=3))
    if args.backend == "sqlite":
        with container.engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
    # 1. A quiet day.
    result["scan_s"] = bare(container, f"SELECT count(*) FROM subscriptions WHERE {INCOMPLETE}")
    result["quiet_sweep_s"], report = timed_sweep(container)
    assert sum(report["transitions"].values()) + report["renotify"] == 0, report
    result["quiet_ratio"] = result["quiet_sweep_s"] / result["scan_s"]
    print(orjson.dumps({k: result[k] for k in ("scan_s", "quiet_sweep_s", "quiet_ratio")}).decode(), flush=True)
    # 2. A day that locks `locks` lines one-way.
    result["bare_outbox_s"] = bare_outbox(container, locks)
    with container.engine.begin() as c:
        c.execute(
            text(
                "UPDATE subscriptions SET enf_step_on = :d WHERE id IN (SELECT id FROM subscriptions "
                f"WHERE enf_state = 1 ORDER BY id LIMIT {locks})"
            ),
            {"d": AS_OF - timedelta(days=15)},
        )
    result["lock_sweep_s"], report = timed_sweep(container)
    assert report["transitions"]["lock_one_way"] == locks, report
    result["lock_ratio"] = result["lock_sweep_s"] / result["bare_outbox_s"]
    print(orjson.dumps({k: result[k] for k in ("bare_outbox_s", "lock_sweep_s", "lock_ratio")}).decode(),
          flush=True)  # fmt: skip
    # 3. The worker's sending rate to the built-in centre.
    result["worker"] = worker_throughput(container, env, min(args.messages, args.rows))
    print(orjson.dumps(result["worker"]).decode(), flush=True)
    result["orders"] = orders_throughput(container, env, min(20_000, args.rows))
    print(orjson.dumps(result["orders"]).decode(), flush=True)
    # 4. Completion to unlock.
    result["unlock"] = unlock_latency(container, env, args.unlocks)
    container.close()
    print(orjson.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}).decode())


if __name__ == "__main__":
    main()
