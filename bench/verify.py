"""Benchmark of population-database matching (issue 17): N subscriptions end to end with the reference registry,
next to a bare scan of the same rows.

The base is filled directly (not through the importer, whose own benchmark is bench/import.py): N holders, each
with a real sealed payload (a Vietnamese citizen's name, date of birth, CCCD number; one data key wrapped once
and shared, so the fill is fast, while the run still unwraps it for every line as it would each holder's own),
and N subscription lines as a `population-db-2023` writer leaves them (the item `verification.population_db`
missing, not yet verified). Then, timed, as subprocesses:

- `subreg verify population --json`: selection, decryption in worker processes, matching with the embedded
  reference registry (0.5% unknown, 2% name typos, 1% wrong date of birth), the answers upserted into
  `population_matches` and applied set-based to the lines (verified_* and the missing item);
- `subreg verify population --batch-out FILE` (the request file of the same lines, after resetting them) and
  `--batch-in FILE` (an answer file made from it by the reference registry, untimed in between);
- the bare scan: the same rows (line id, key material, payload) read with the bare driver, nothing decrypted.

    .venv/bin/python bench/verify.py --rows 1000000
    .venv/bin/python bench/verify.py --rows 1000000 --backend postgresql --workers 2
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
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

from subreg.adapters.population.batch_file import read_requests, write_answers  # noqa: E402
from subreg.adapters.population.reference import MirrorReferenceRegistry  # noqa: E402
from subreg.bootstrap import bootstrap, init_storage  # noqa: E402
from subreg.config import Settings  # noqa: E402
from subreg.domain.compliance.missing_mask import bits_of  # noqa: E402
from subreg.domain.compliance.rules import get_rule_set  # noqa: E402
from subreg.domain.compliance.rules.base import rule_tag  # noqa: E402
from subreg.services.registry.ports import holder_aad  # noqa: E402
from workspace import BenchDatabase, bench_database, load_pairs_sqlite  # noqa: E402

SUBREG = str(Path(sys.executable).parent / "subreg")
PDB = get_rule_set("population-db-2023")
TAG = rule_tag(PDB)
BIT = bits_of(tuple(PDB.missing_items))["verification.population_db"]
H_COLS = ("id", "kind", "id_type", "id_blind", "province_code", "aad_ref", "kek_id", "wrapped_dek", "payload")
S_COLS = (
    "id", "msisdn", "generation", "holder_id", "subscriber_type", "payment_type", "activated_on", "channel", "status",
    "complete", "missing", "error_codes", "rule_set", "evaluated_on", "version", "missing_mask", "has_contract",
    "contract_needed", "province_code", "verdict", "phase",
)  # fmt: skip
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Ngọc", "Thu", "Minh", "Thanh")
GIVEN = ("An", "Bảo", "Cường", "Dũng", "Hà", "Hương", "Lan", "Linh", "Nam", "Phúc", "Quân", "Trang")
SCAN = "SELECT s.id, h.kek_id, h.wrapped_dek, h.aad_ref, h.payload FROM subscriptions s JOIN holders h ON h.id = s.holder_id WHERE s.status <> 'terminated' AND s.verified_method IS NULL ORDER BY s.id"  # noqa: E501


def rows(n: int, vault: Any, seed: int = 7) -> Any:
    """(holder row, subscription row) pairs with sealed payloads."""
    rng = random.Random(seed)
    dek, kek_id, wrapped = vault.new_data_key()
    born0 = date(1950, 1, 1)
    for i in range(1, n + 1):
        born = born0 + timedelta(days=rng.randrange(20000))
        province = f"{rng.choice((1, 79, 48, 31, 92)):03d}"
        number = f"{province}{rng.randrange(2)}{born.year % 100:02d}{i:06d}"[:12].ljust(12, "0")
        holder = {
            "full_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
            "date_of_birth": born.isoformat(), "gender": "male", "nationality": "VNM", "id_type": "cccd",
            "id_number": number, "id_issue_date": "2021-05-01", "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
            "address": f"{rng.randrange(1, 300)} Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
        }  # fmt: skip
        aad = i.to_bytes(16, "big")
        payload = vault.seal(dek, orjson.dumps({"holder": holder}), holder_aad(aad))
        yield (
            (i, "person", "cccd", rng.randbytes(16), province, aad, kek_id, wrapped, payload),
            (i, 84_900_000_000 + i, 1, i, "individual", "prepaid", "2020-01-01", "store", "active", False,
             "verification.population_db", "", TAG, "2023-03-01", 1, BIT, False, False, province, 1, 2),
        )  # fmt: skip


def fill_sqlite(db: Path, n: int, vault: Any) -> float:
    return load_pairs_sqlite(db, rows(n, vault), H_COLS, S_COLS)


def fill_pg(dsn: str, schema: str, n: int, vault: Any) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET search_path = {schema}")
        cur = conn.cursor()
        subs = []
        with cur.copy(f"COPY holders ({', '.join(H_COLS)}) FROM STDIN") as ch:
            for h, s in rows(n, vault):
                ch.write_row(h)
                subs.append(s)
        with cur.copy(f"COPY subscriptions ({', '.join(S_COLS)}) FROM STDIN") as cs:
            for s in subs:
                cs.write_row(s)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE holders")
        conn.execute("VACUUM ANALYZE subscriptions")
    return time.perf_counter() - started


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[1:3])} failed: {done.stderr.decode()[-2000:]}")
    return wall, orjson.loads(done.stdout)


def bare_scan(db: BenchDatabase) -> tuple[float, int]:
    started = time.perf_counter()
    count = 0
    if db.path is not None:
        conn = sqlite3.connect(db.path)
        cur = conn.execute(SCAN)
        while page := cur.fetchmany(20_000):
            count += len(page)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(db.dsn) as conn:
            conn.execute(f"SET search_path = {db.schema}")
            with conn.cursor(name="scan") as cur:
                cur.itersize = 20_000
                cur.execute(SCAN)
                while page := cur.fetchmany(20_000):
                    count += len(page)
    return time.perf_counter() - started, count


def reset(db: BenchDatabase) -> None:
    """The lines back to not verified, the matches gone (the next run asks every line again)."""
    sql = [
        "DELETE FROM population_matches",
        "UPDATE subscriptions SET verified_regime = NULL, verified_method = NULL, verified_at = NULL, "  # noqa: S608
        f"missing_mask = {BIT}, missing = 'verification.population_db', complete = FALSE, verdict = 1",
    ]
    if db.path is not None:
        conn = sqlite3.connect(db.path, isolation_level=None)
        for s in sql:
            conn.execute(s)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(db.dsn, autocommit=True) as conn:
            conn.execute(f"SET search_path = {db.schema}")
            for s in sql:
                conn.execute(s)
            conn.execute("VACUUM ANALYZE subscriptions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--skip-files", action="store_true", help="Only the direct run and the bare scan")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="subreg-bench-verify-"))
    work.mkdir(parents=True, exist_ok=True)
    var = work / f"var-{args.backend}"
    with bench_database(args.backend, var) as db:
        run(args, var, work, db)


def run(args: argparse.Namespace, var: Path, work: Path, db: BenchDatabase) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(SUBREG_DATABASE_URL=db.url, SUBREG_VAR_DIR=str(var), SUBREG_ENV="dev",
               SUBREG_IMPORT_WORKERS=str(args.workers))  # fmt: skip
    settings = Settings(env="dev", var_dir=var, database_url=db.url)
    init_storage(settings)
    container = bootstrap(settings)
    vault = container.vault
    container.close()
    fill = (
        fill_sqlite(db.path, args.rows, vault) if db.path is not None else fill_pg(db.dsn, db.schema, args.rows, vault)
    )
    print(f"filled {args.rows:,} subscriptions in {fill:.1f} s", flush=True)
    result: dict[str, Any] = {"backend": args.backend, "rows": args.rows, "workers": args.workers}
    result["bare_scan_s"], scanned = bare_scan(db)
    assert scanned == args.rows, scanned
    print(f"bare scan {result['bare_scan_s']:.1f} s", flush=True)
    result["direct_s"], report = timed([SUBREG, "verify", "population", "--json"], env)
    result["direct_report"] = {k: v for k, v in report.items() if k != "batch"}
    assert report["answered"] == args.rows, report
    print(f"direct {result['direct_s']:.1f} s: {result['direct_report']}", flush=True)
    if not args.skip_files:
        reset(db)
        requests, answers = work / "requests.csv", work / "answers.csv"
        result["batch_out_s"], report = timed([SUBREG, "verify", "population", "--batch-out", str(requests),
                                               "--json"], env)  # fmt: skip
        assert report["asked"] == args.rows, report
        print(f"batch out {result['batch_out_s']:.1f} s", flush=True)
        started = time.perf_counter()
        write_answers(answers, MirrorReferenceRegistry().match(read_requests(requests)))
        result["answer_file_made_s"] = time.perf_counter() - started
        result["batch_in_s"], report = timed([SUBREG, "verify", "population", "--batch-in", str(answers),
                                              "--json"], env)  # fmt: skip
        result["batch_in_report"] = {k: v for k, v in report.items() if k != "batch"}
        print(f"batch in {result['batch_in_s']:.1f} s: {result['batch_in_report']}", flush=True)
        requests.unlink()
        answers.unlink()
    print(orjson.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}).decode())


if __name__ == "__main__":
    main()
