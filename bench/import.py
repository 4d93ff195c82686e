"""Benchmark of `subreg import`: N synthetic rows into SQLite and PostgreSQL, next to the physical floor.

1. `subreg demo-data --count N --out FILE.jsonl` generates the export (not timed).
2. `subreg import FILE` runs as a subprocess into a fresh database; wall time, rows/s and the peak RSS
   of the whole process tree (importer + workers, sampled from /proc every 50 ms) are measured.
3. Baseline ("bare"): the rows the import stored - already normalized and encrypted - are copied into
   a fresh database of the same schema with a bare `sqlite3.executemany` (SQLite) or `COPY` (PostgreSQL),
   streamed in chunks, holders then subscriptions. That is the floor for writing the same bytes. On
   SQLite it builds the random-key indexes after the rows, as a first load does.

    .venv/bin/python bench/import.py --rows 1000000
    .venv/bin/python bench/import.py --rows 200000 --workers 2 --skip-pg

PostgreSQL: SUBREG_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test); each
run uses its own schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import make_url  # noqa: E402

from subreg.adapters.db.bulk import DEFERRABLE_SQLITE_INDEXES  # noqa: E402
from subreg.adapters.db.engine import create_engine_for, migrate  # noqa: E402

SUBREG = str(Path(sys.executable).parent / "subreg")
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TABLES = ("key_encryption_keys", "holders", "subscriptions")


def _tree_rss(pid: int) -> int:
    """Resident set size (bytes) of `pid` and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak tree RSS bytes, stdout) of a subprocess."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:2])} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, peak, out.decode()


def _env(url: str, var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(SUBREG_DATABASE_URL=url, SUBREG_VAR_DIR=str(var), SUBREG_ENV="dev")
    return env


def _columns(conn: Any, table: str, pg: bool) -> list[str]:
    if pg:
        cur = conn.execute(f"SELECT * FROM {table} LIMIT 0")  # noqa: S608
        return [d.name for d in cur.description]
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def bare_sqlite(source_db: Path, target_db: Path) -> tuple[float, int]:
    migrate(create_engine_for(f"sqlite:///{target_db}"))
    src = sqlite3.connect(source_db)
    dst = sqlite3.connect(target_db, isolation_level=None)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("PRAGMA synchronous=NORMAL")
    dst.execute("PRAGMA cache_size=-262144")  # as the importer's writer
    n = 0
    started = time.perf_counter()
    # The same strategy as a first load: random-key indexes built after the rows (timed with the load).
    for name in DEFERRABLE_SQLITE_INDEXES:
        dst.execute(f"DROP INDEX {name}")
    for table in TABLES:
        cols = _columns(src, table, False)
        cur = src.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid")  # noqa: S608
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # noqa: S608
        while rows := cur.fetchmany(5000):
            dst.execute("BEGIN")
            dst.executemany(sql, rows)
            dst.execute("COMMIT")
            if table == "subscriptions":
                n += len(rows)
    for sql in DEFERRABLE_SQLITE_INDEXES.values():
        dst.execute(sql)
    return time.perf_counter() - started, n


def bare_copy(source_url: str, target_url: str) -> tuple[float, int]:
    import psycopg

    def dsn(url: str) -> tuple[str, str]:
        u = make_url(url)
        schema = u.query["options"].split("=", 1)[1]
        return u.set(drivername="postgresql", query={}).render_as_string(hide_password=False), schema

    (src_dsn, src_schema), (dst_dsn, dst_schema) = dsn(source_url), dsn(target_url)
    migrate(create_engine_for(target_url))
    started = time.perf_counter()
    with psycopg.connect(src_dsn) as src, psycopg.connect(dst_dsn) as dst:
        for table in TABLES:
            cols = ", ".join(c for c in _columns(src, f"{src_schema}.{table}", True))
            with (
                src.cursor().copy(f"COPY {src_schema}.{table} ({cols}) TO STDOUT") as out,
                dst.cursor().copy(f"COPY {dst_schema}.{table} ({cols}) FROM STDIN") as inn,
            ):
                for data in out:
                    inn.write(data)
            dst.commit()
        n = dst.execute(f"SELECT count(*) FROM {dst_schema}.subscriptions").fetchone()[0]  # noqa: S608
    return time.perf_counter() - started, int(n)


def _schema_url(base: str, schema: str) -> str:
    return make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="subreg-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    export = work / f"demo-{args.rows}.jsonl"
    if not export.exists():
        t = time.perf_counter()
        subprocess.run(
            [SUBREG, "demo-data", "--count", str(args.rows), "--seed", "1", "--out", str(export)],
            check=True,
            capture_output=True,
        )
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s ({export.stat().st_size >> 20} MiB)")
    # The import alone (its evaluation is bench/evaluate.py's), comparable with the bare load of its rows.
    cmd = [SUBREG, "import", str(export), "--quiet", "--json", "--as-of", "2018-03-15", "--no-evaluate"]
    cmd += ["--workers", str(args.workers), "--batch-size", str(args.batch_size)]
    cmd += ["--reject-file", str(work / "rejects.csv")]
    results: list[dict[str, Any]] = []

    def report(backend: str, wall: float, peak: int, out: str, bare_wall: float, bare_rows: int) -> None:
        summary = orjson.loads(out)["total"]
        stored = summary["imported"] + summary["updated"] + summary["unchanged"]
        row = {
            "backend": backend,
            "rows": args.rows,
            "stored": stored,
            "rejected": summary["rejected"],
            "wall_s": round(wall, 1),
            "rows_per_s": round(args.rows / wall),
            "peak_rss_mib": round(peak / 2**20),
            "bare_wall_s": round(bare_wall, 1),
            "bare_rows_per_s": round(bare_rows / bare_wall) if bare_wall else None,
            "ratio_to_bare": round(wall / bare_wall, 2) if bare_wall else None,
        }
        results.append(row)
        print(orjson.dumps(row).decode(), flush=True)

    if not args.skip_sqlite:
        var = work / "sqlite-var"
        db = var / "subreg.db"
        for p in (db, work / "bare.db"):
            for suffix in ("", "-wal", "-shm"):
                Path(str(p) + suffix).unlink(missing_ok=True)
        wall, peak, out = run_measured(cmd, _env(f"sqlite:///{db}", var))
        bare_wall, bare_rows = bare_sqlite(db, work / "bare.db")
        report("sqlite", wall, peak, out, bare_wall, bare_rows)
    if not args.skip_pg:
        base = os.environ.get("SUBREG_BENCH_PG_URL", PG_DEFAULT)
        schemas = [f"bench_{uuid.uuid4().hex[:12]}" for _ in range(2)]
        admin = create_engine_for(base)
        try:
            with admin.begin() as c:
                for s in schemas:
                    c.exec_driver_sql(f'CREATE SCHEMA "{s}"')
            url, bare_url = (_schema_url(base, s) for s in schemas)
            wall, peak, out = run_measured(cmd, _env(url, work / "pg-var"))
            bare_wall, bare_rows = bare_copy(url, bare_url)
            report("postgresql", wall, peak, out, bare_wall, bare_rows)
        finally:
            with admin.begin() as c:
                for s in schemas:
                    c.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
            admin.dispose()
    print(f"cores: {os.cpu_count()}, workers: {args.workers}")


if __name__ == "__main__":
    main()
