"""Benchmark of `subreg evaluate` and `subreg stats` on N subscriptions, next to a bare GROUP BY.

Evaluation and statistics read only clear, non-personal columns, so the table is filled directly
(not through the importer, whose own benchmark is bench/import.py): N subscription lines with a realistic
mix of types, channels, provinces, activation dates, missing-item masks and people holding 1-7 lines
(person keys), holders with a dummy ciphertext, every column as a writer leaves it (verdict, phase, the
current rule set's tag; no `valid_until` reached), and the "everyone" mark a first load leaves in the dirty
set. Then, timed, as subprocesses:

- `subreg evaluate --as-of 2018-04-24`: the first evaluation of the fresh base (every person re-ranked);
- the same again: nothing changed (the daily run on a quiet day);
- the same after 10,000 lines changed (their status, contract, activation date, as writers change them,
  with their people marked dirty in the same transaction);
- `subreg stats --json` and `subreg stats --phase-reference 2020-01-01 --json` (phase computed in the query);
- `subreg stats --over-limit --json`;
- baselines: `SELECT verdict, count(*) FROM subscriptions GROUP BY verdict` with the bare driver, and on
  SQLite the scan `subreg stats` makes, bare (`GROUP BY stats_key, missing_mask`, migration 0010).

    .venv/bin/python bench/evaluate.py --rows 10000000
    .venv/bin/python bench/evaluate.py --rows 1000000 --backend postgresql
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import make_url  # noqa: E402

from subreg.bootstrap import init_storage  # noqa: E402
from subreg.config import Settings  # noqa: E402
from subreg.domain.compliance.phase import phase_of  # noqa: E402
from workspace import BenchDatabase, bench_database  # noqa: E402

SUBREG = str(Path(sys.executable).parent / "subreg")
CHANNELS = ("store", "agent", "authorized_point", "self_service", "legacy_import")
PROVINCES = [f"{i:03d}" for i in (1, 2, 4, 8, 10, 31, 33, 38, 40, 48, 75, 79, 92, 96)]
H_COLS = ("id", "kind", "id_type", "id_blind", "province_code", "aad_ref", "kek_id", "wrapped_dek", "payload")
S_COLS = (
    "id", "msisdn", "generation", "holder_id", "subscriber_type", "payment_type", "activated_on", "channel", "status",
    "complete", "missing", "error_codes", "rule_set", "evaluated_on", "version", "missing_mask", "has_contract",
    "contract_needed", "province_code", "verdict", "phase", "person_key",
)  # fmt: skip
RULE_TAG = "nd49-2017/2"
CHANGED = 10_000
REFERENCE = date(2018, 4, 24)


def rows(n: int, seed: int = 7) -> Any:
    """(holder row, subscription row) pairs; ID documents hold 1-7 subscriptions."""
    rng = random.Random(seed)
    start = date(2003, 1, 1)
    blind = b""
    left = 0
    for i in range(1, n + 1):
        if left == 0:
            blind = rng.randbytes(16)
            left = 1 if rng.random() < 0.8 else rng.randint(2, 7)
        left -= 1
        province = rng.choice(PROVINCES) if rng.random() < 0.6 else None
        r = rng.random()
        missing_mask = 0 if r < 0.35 else 1 << rng.randrange(48)
        errors = "holder.date_of_birth:invalid_date" if r > 0.9 else ""
        holder = (i, "person", "cccd", blind, province, b"a" * 16, 1, b"w" * 61, b"p" * 300)
        activated = start + timedelta(days=rng.randrange(5500)) if rng.random() < 0.98 else None
        # verdict and phase as the importer writes them (reference 2018-04-24); evaluate adds the 4th-line rule.
        verdict = 3 if errors else (0 if missing_mask == 0 else 1)
        sub = (
            i, 84_900_000_000 + i, 1, i, "individual" if rng.random() < 0.97 else "organization",
            "prepaid" if rng.random() < 0.85 else "postpaid",
            activated.isoformat() if activated else None,
            rng.choice(CHANNELS), "active", missing_mask == 0 and not errors,
            "documents.portrait" if missing_mask else "", errors, RULE_TAG, "2018-03-15", 1, missing_mask,
            rng.random() < 0.3, False, province, verdict, phase_of(activated, REFERENCE), blind,
        )  # fmt: skip
        yield holder, sub


def fill_sqlite(db: Path, n: int) -> float:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    hs = f"INSERT INTO holders ({', '.join(H_COLS)}) VALUES ({', '.join('?' * len(H_COLS))})"  # noqa: S608
    ss = f"INSERT INTO subscriptions ({', '.join(S_COLS)}) VALUES ({', '.join('?' * len(S_COLS))})"  # noqa: S608
    started = time.perf_counter()
    batch_h, batch_s = [], []
    for h, s in rows(n):
        batch_h.append(h)
        batch_s.append(s)
        if len(batch_h) >= 50_000:
            conn.execute("BEGIN")
            conn.executemany(hs, batch_h)
            conn.executemany(ss, batch_s)
            conn.execute("COMMIT")
            batch_h, batch_s = [], []
    conn.execute("BEGIN")
    conn.executemany(hs, batch_h)
    conn.executemany(ss, batch_s)
    conn.execute("INSERT INTO evaluation_dirty (person_key) VALUES (x'2a')")  # a first load's "everyone"
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def fill_pg(dsn: str, schema: str, n: int) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET search_path = {schema}")
        cur = conn.cursor()
        with (
            cur.copy(f"COPY holders ({', '.join(H_COLS)}) FROM STDIN") as ch,
        ):
            for h, _s in rows(n):
                ch.write_row(h)
        with cur.copy(f"COPY subscriptions ({', '.join(S_COLS)}) FROM STDIN") as cs:
            for _h, s in rows(n):
                cs.write_row(s)
        conn.execute("SELECT setval(pg_get_serial_sequence('holders', 'id'), %s)", [n])
        conn.execute("SELECT setval(pg_get_serial_sequence('subscriptions', 'id'), %s)", [max(n, 100_000_000_000)])
        conn.execute("INSERT INTO evaluation_dirty (person_key) VALUES ('\\x2a'::bytea)")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE holders")
        conn.execute("VACUUM ANALYZE subscriptions")
    return time.perf_counter() - started


def dsn_of(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False) if url.startswith("postgresql") else ""


def change(backend: str, db: Path | None, dsn: str, n: int) -> None:
    """CHANGED lines changed as writers change them: status, contract, activation; their people marked dirty."""
    rng = random.Random(11)
    ids = rng.sample(range(1, n + 1), min(CHANGED, n))
    rows = [(("terminated" if k % 3 == 0 else "active"), k % 3 == 1, k) for k in ids]
    mark = (
        "INSERT INTO evaluation_dirty (person_key) SELECT person_key FROM subscriptions WHERE id = ? "
        "ON CONFLICT DO NOTHING"
    )
    upd = "UPDATE subscriptions SET status = ?, has_contract = ? WHERE id = ?"
    if backend == "sqlite":
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN")
        conn.executemany(upd, rows)
        conn.executemany(mark, [(k,) for k in ids])
        conn.execute("COMMIT")
        conn.close()
        return
    import psycopg

    with psycopg.connect(dsn) as conn:
        cur = conn.cursor()
        cur.executemany(upd.replace("?", "%s"), rows)
        cur.executemany(mark.replace("?", "%s"), [(k,) for k in ids])
        conn.commit()


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    import subprocess

    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{cmd[1]} failed: {done.stderr.decode()[-2000:]}")
    return wall, done.stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="subreg-bench-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    var = work / f"var-{args.backend}"
    with bench_database(args.backend, var) as db:
        run(args, var, db)


def run(args: argparse.Namespace, var: Path, db: BenchDatabase) -> None:
    url, dsn, schema = db.url, db.dsn, db.schema
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(SUBREG_DATABASE_URL=url, SUBREG_VAR_DIR=str(var), SUBREG_ENV="dev")
    init_storage(Settings(env="dev", var_dir=var, database_url=url))
    fill = fill_sqlite(db.path, args.rows) if db.path is not None else fill_pg(dsn, schema, args.rows)
    print(f"filled {args.rows:,} subscriptions in {fill:.1f} s", flush=True)
    result: dict[str, Any] = {"backend": args.backend, "rows": args.rows}
    result["evaluate_first_s"], out = timed([SUBREG, "evaluate", "--as-of", "2018-04-24", "--json"], env)
    result["evaluate_first_steps_s"] = orjson.loads(out)["seconds"]
    result["evaluate_again_s"], out = timed([SUBREG, "evaluate", "--as-of", "2018-04-24", "--json"], env)
    result["evaluate_steps_s"] = orjson.loads(out)["seconds"]
    change(args.backend, var / "subreg.db" if args.backend == "sqlite" else None, dsn_of(url), args.rows)
    result["evaluate_changed_s"], out = timed([SUBREG, "evaluate", "--as-of", "2018-04-24", "--json"], env)
    result["evaluate_changed_steps_s"] = orjson.loads(out)["seconds"]
    result["stats_s"], out = timed([SUBREG, "stats", "--json"], env)
    assert orjson.loads(out)["total"] == args.rows
    result["stats_as_of_s"], _ = timed([SUBREG, "stats", "--phase-reference", "2020-01-01", "--json"], env)
    result["over_limit_s"], _ = timed([SUBREG, "stats", "--over-limit", "--json"], env)
    started = time.perf_counter()
    if args.backend == "sqlite":
        conn = sqlite3.connect(var / "subreg.db")
        conn.execute("SELECT verdict, count(*) FROM subscriptions GROUP BY verdict").fetchall()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(dsn) as conn:
            conn.execute(f"SET search_path = {schema}")
            conn.execute("SELECT verdict, count(*) FROM subscriptions GROUP BY verdict").fetchall()
    result["bare_group_by_s"] = time.perf_counter() - started
    if args.backend == "sqlite":
        # The same scan `subreg stats` makes, bare: its key and mask grouped, nothing unpacked or summed
        # (since migration 0010 no index leads with `verdict`, so the bare query above reads the table).
        started = time.perf_counter()
        conn = sqlite3.connect(var / "subreg.db")
        conn.execute("SELECT stats_key, missing_mask, count(*) FROM subscriptions GROUP BY 1, 2").fetchall()
        conn.close()
        result["bare_group_by_key_s"] = time.perf_counter() - started
    print(orjson.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}).decode())


if __name__ == "__main__":
    main()
