"""Benchmark of bulk derivation (`subreg complete --derive`) on N subscriptions, next to a bare scan and
decryption of the same candidate rows, measured in the same run.

The base is filled directly (like bench/evaluate.py), but every holder payload is a REAL vault-sealed payload
that opens with the bench database's keys: one data key (wrapped once by the vault, the wrapped form copied
onto every holder) and one `aad_ref` shared by all holders, so a few payloads sealed once per shape can be
copied onto millions of rows. (Production seals each holder under its own DEK and `aad_ref`; the work per row
to read them, unwrap + open, is the same, and that is what is measured.) Shapes: a CCCD holder with every
derivable value present (80 %), a CCCD holder without nationality / gender (10 %), a CMND holder without
nationality (10 %); `purpose` cleared on 10 % of the lines.

Timed, with the same number of worker processes:
- baseline: the candidate pages read with the derivation's own query, every payload unwrapped, opened and
  parsed in the worker pool (nothing derived, nothing written);
- `subreg complete --derive --dry-run --json` and `subreg complete --derive --json` as subprocesses (peak RSS
  of the process tree's largest member from getrusage).

    .venv/bin/python bench/backoffice.py --rows 1000000 --workers 4
    .venv/bin/python bench/backoffice.py --rows 1000000 --backend postgresql
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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

from subreg.adapters.processes import ForkPool  # noqa: E402
from subreg.bootstrap import bootstrap, init_storage  # noqa: E402
from subreg.config import Settings  # noqa: E402
from subreg.domain.compliance.rules import get_rule_set  # noqa: E402
from subreg.services.backoffice.derive import derivable_id_types  # noqa: E402
from subreg.services.registry.ports import holder_aad  # noqa: E402
from subreg.services.registry.rows import dumps_sorted  # noqa: E402
from workspace import BenchDatabase, bench_database, load_pairs_sqlite  # noqa: E402

SUBREG = str(Path(sys.executable).parent / "subreg")
AS_OF = date(2018, 4, 24)
H_COLS = ("id", "kind", "id_type", "id_blind", "province_code", "aad_ref", "kek_id", "wrapped_dek", "payload")
S_COLS = (
    "id", "msisdn", "generation", "holder_id", "subscriber_type", "payment_type", "activated_on", "channel", "status",
    "complete", "missing", "error_codes", "rule_set", "evaluated_on", "version", "missing_mask", "has_contract",
    "contract_needed", "province_code", "verdict", "phase", "person_key", "purpose", "document_refs",
)  # fmt: skip
DOCS = orjson.dumps({k: f"ref:{k}" for k in ("confirmation_form", "id_back", "id_front", "portrait")}).decode()
AAD_REF = b"bench-aad-ref-01"


def _person(number: str, id_type: str, full: bool) -> dict[str, Any]:
    person: dict[str, Any] = {
        "full_name": "Nguyen Van A", "date_of_birth": "1990-05-01", "id_type": id_type, "id_number": number,
        "id_issue_date": "2016-05-01", "id_issue_place": "Cuc CS QLHC", "address": "1 Le Loi, Q1",
    }  # fmt: skip
    if full:
        person.update(nationality="VNM", gender="male")
    return {"holder": person}


def shapes(vault: Any) -> tuple[int, bytes, list[tuple[str, bytes]]]:
    """(kek id, wrapped DEK, [(id_type, sealed payload)] for: complete CCCD, CCCD lacking values, CMND lacking)."""
    dek, kek_id, wrapped = vault.new_data_key()
    aad = holder_aad(AAD_REF)
    plain = [
        ("cccd", _person("079090123456", "cccd", True)),
        ("cccd", _person("079090123456", "cccd", False)),
        ("cmnd", _person("012345678", "cmnd", False)),
    ]
    return kek_id, wrapped, [(t, vault.seal(dek, dumps_sorted(p), aad)) for t, p in plain]


def rows(n: int, kek_id: int, wrapped: bytes, sealed: list[tuple[str, bytes]], seed: int = 7) -> Any:
    rng = random.Random(seed)
    start = date(2003, 1, 1)
    for i in range(1, n + 1):
        r = rng.random()
        id_type, payload = sealed[0] if r < 0.8 else sealed[1] if r < 0.9 else sealed[2]
        blind = rng.randbytes(16)
        holder = (i, "person", id_type, blind, None, AAD_REF, kek_id, wrapped, payload)
        activated = (start + timedelta(days=rng.randrange(5000))).isoformat()
        purpose = None if rng.random() < 0.1 else "personal_use"
        sub = (
            i, 84_900_000_000 + i, 1, i, "individual", "prepaid", activated, "store", "active", True, "", "",
            "nd49-2017/2", "2018-03-15", 1, 0, False, False, None, 0, 2, blind, purpose, DOCS,
        )  # fmt: skip
        yield holder, sub


def fill_sqlite(db: Path, n: int, shape: Any) -> float:
    return load_pairs_sqlite(db, rows(n, *shape), H_COLS, S_COLS, wal=False)


def fill_pg(db: BenchDatabase, n: int, shape: Any) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(db.dsn) as conn:
        conn.execute(f"SET search_path = {db.schema}")
        cur = conn.cursor()
        with cur.copy(f"COPY holders ({', '.join(H_COLS)}) FROM STDIN") as ch:
            for h, _s in rows(n, *shape):
                ch.write_row(h)
        with cur.copy(f"COPY subscriptions ({', '.join(S_COLS)}) FROM STDIN") as cs:
            for _h, s in rows(n, *shape):
                cs.write_row(s)
        conn.execute("SELECT setval(pg_get_serial_sequence('holders', 'id'), %s)", [n])
        conn.execute("SELECT setval(pg_get_serial_sequence('subscriptions', 'id'), %s)", [n])
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE holders")
        conn.execute("VACUUM ANALYZE subscriptions")
    return time.perf_counter() - started


def _open_page(vault: Any, page: list[tuple[Any, ...]]) -> int:
    """The baseline's work per row: unwrap, open, parse (what the derivation must do at the least)."""
    n = 0
    for row in page:
        kek_id, wrapped, aad_ref, payload = row[-4:]
        orjson.loads(vault.open(vault.unwrap(kek_id, bytes(wrapped)), bytes(payload), holder_aad(bytes(aad_ref))))
        n += 1
    return n


def baseline(settings: Settings, workers: int, batch: int) -> tuple[float, int]:
    """Seconds and rows to read every candidate page (the derivation's query) and decrypt it in `workers`."""
    container = bootstrap(settings)
    store = container.derive_store()
    types = derivable_id_types(get_rule_set(), as_of=AS_OF)
    started = time.perf_counter()

    def pages() -> Any:
        after = 0
        while page := store.candidates(after, batch, types):
            after = int(page[-1][1])
            yield page

    total = sum(ForkPool(workers).imap(_open_page, container.vault, pages(), window=2 * workers))
    seconds = time.perf_counter() - started
    store.close()
    container.close()
    return seconds, total


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{cmd[1:3]} failed: {done.stderr.decode()[-2000:]}")
    return wall, orjson.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="subreg-bench-backoffice-"))
    var = work / f"var-{args.backend}"
    with bench_database(args.backend, var) as db:
        run(args, var, db)


def run(args: argparse.Namespace, var: Path, db: BenchDatabase) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(SUBREG_DATABASE_URL=db.url, SUBREG_VAR_DIR=str(var), SUBREG_ENV="dev")
    settings = Settings(env="dev", var_dir=var, database_url=db.url)
    init_storage(settings)
    container = bootstrap(settings)
    shape = shapes(container.vault)
    container.close()
    fill = fill_sqlite(db.path, args.rows, shape) if db.path is not None else fill_pg(db, args.rows, shape)
    print(f"filled {args.rows:,} subscriptions (sealed payloads) in {fill:.1f} s", flush=True)
    result: dict[str, Any] = {"backend": args.backend, "rows": args.rows, "workers": args.workers}
    result["baseline_s"], result["baseline_rows"] = baseline(settings, args.workers, args.batch)
    cmd = [SUBREG, "complete", "--derive", "--json", "--quiet", "--as-of", AS_OF.isoformat(),
           "--workers", str(args.workers), "--batch", str(args.batch)]  # fmt: skip
    result["dry_run_s"], dry = timed([*cmd, "--dry-run"], env)
    result["derive_s"], real = timed(cmd, env)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result["lines_read"], result["lines_filled"] = real["lines_read"], real["lines_filled"]
    result["values_filled"], result["filled"] = real["values_filled"], real["filled"]
    assert dry["values_filled"] == real["values_filled"], (dry, real)
    result["rows_per_s"] = args.rows / result["derive_s"]
    result["ratio"] = result["derive_s"] / result["baseline_s"]
    result["dry_ratio"] = result["dry_run_s"] / result["baseline_s"]
    print(orjson.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}).decode())


if __name__ == "__main__":
    main()
