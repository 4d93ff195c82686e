"""Benchmark of the point-of-sale update: three images through the real HTTP API under concurrency.

For each backend (SQLite, then PostgreSQL when a URL is given), the bench initialises a fresh
database, loads N incomplete subscriptions (each with its own synthetic CCCD, a third of them
one-way locked), starts a real uvicorn server on 127.0.0.1, signs in a store account, and runs
C client threads (httpx) that each POST `/api/v1/subscriptions/update` with a portrait (a real face),
the card's front (its QR matches the holder) and the card's back. Every update runs the image checks
(format, size, blur, Haar face count, QR read), the rule set, encryption of three blobs, history,
audit log and, for locked ones, the unlock order. Prints updates/s and p50/p99 latency.

    .venv/bin/python bench/pos.py --clients 50 --updates 1000
    .venv/bin/python bench/pos.py --clients 50 --updates 1000 --rate 50   # open loop: latency at 50/s offered
    .venv/bin/python bench/pos.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/pos.py --full-size --fresh   # 1600 px camera images; each update completes a line

The database and images go under var/bench (--dir), on the disk `make run` keeps its data on. Not /tmp:
on the CI machines creating a file there costs 0.4-0.6 ms of CPU (ext4 elsewhere on the same disk:
15 us), which is three image files per update; `--dir /tmp` measures that too.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.fixtures.images import (  # noqa: E402
    PAGE_SIDE,
    camera_jpeg,
    camera_portrait,
    card_back_jpeg,
    card_front_jpeg,
    portrait_jpeg,
)

from subreg.bootstrap import bootstrap, init_storage  # noqa: E402 - after the path set-up above
from subreg.config import Settings  # noqa: E402
from subreg.domain.id_documents.numbers import make_cccd  # noqa: E402
from subreg.services.access import create_staff  # noqa: E402
from subreg.services.registry import bulk_load  # noqa: E402

PASSWORD = "bench password 2026"  # noqa: S105 - a throw-away account in a temporary database
POS_CODE = "BENCH-STORE"
TRACE = bool(os.environ.get("BENCH_TRACE"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _holder(i: int) -> dict[str, Any]:
    # Born 1970-1984 with a card issued in 2024: valid until the 60th birthday (2030 or later).
    born = date(1970 + i % 15, 1 + i % 12, 1 + i % 28)
    gender = "female" if i % 2 else "male"
    return {
        "full_name": "Nguyễn Thị Ánh" if i % 2 else "Trần Văn Bình",
        "date_of_birth": born.isoformat(),
        "gender": gender,
        "nationality": "VNM",
        "id_type": "cccd",
        "id_number": make_cccd("079", gender, born.year, 100_000 + i),
        "id_issue_date": "2024-06-01",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
        "address": "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
    }


def _records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "msisdn": f"090{2_000_000 + i:07d}",
            "subscriber_type": "individual",
            "payment_type": "prepaid",
            "activated_on": "2016-03-01",
            "point_of_sale": POS_CODE,
            "status": "one_way_locked" if i % 3 == 0 else "active",
            "holder": _holder(i),
            "documents": {"confirmation_form": "blob:c"},
        }
        for i in range(n)
    ]


def _prepare(settings: Settings, records: list[dict[str, Any]]) -> None:
    init_storage(settings)
    container = bootstrap(settings)
    try:
        with container.uow() as uow:
            uow.points_of_sale.add({"code": POS_CODE, "kind": "store", "name": "Bench store", "active": True})
            uow.commit()
            create_staff(uow, "bench", "Bench", "store_staff", POS_CODE, PASSWORD, must_change_password=False)
            uow.commit()
            bulk_load(records, uow=uow, vault=container.vault, blobs=container.blobs, as_of=date(2026, 11, 28),
                      rule_set=container.rule_set)  # fmt: skip
    finally:
        container.close()


def _serve(settings: Settings, port: int, workers: int, log_path: str | None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SUBREG_ENV": "test",
        "SUBREG_VAR_DIR": str(settings.var_dir),
        "SUBREG_DATABASE_URL": settings.database_url,
        "SUBREG_LOG_LEVEL": "WARNING",
        "SUBREG_WORKERS": str(workers),  # as `subreg serve` sets it: each process takes its share of the cores
        "PYTHONPATH": str(ROOT / "src"),
    }
    command = [sys.executable, "-m", "uvicorn", "subreg.api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def _tree_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds (user, system) used so far by process `pid` and its children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    user, system, todo = 0.0, 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            user += int(fields[11]) / tick
            system += int(fields[12]) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return user, system


def _run(
    base: str,
    token: str,
    records: list[dict[str, Any]],
    images: _Images,
    clients: int,
    updates: int,
    rate: float | None = None,
    server_pid: int | None = None,
) -> dict:
    """Closed loop (each client sends its next update when the last one answered), or open loop at `rate`/s:
    update i is due at start + i/rate and its latency counts from then, so a slow server is not hidden by
    clients that wait for it (coordinated omission). Update i goes to records[i % len(records)]."""
    portrait, back, cards = images.portrait, images.back, images.fronts
    latencies: list[float] = []
    completed = 0  # answers saying the subscription is now complete
    failures: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(updates))

    # Every client is built (TLS context, pool) before the clock starts: building 50 at once costs the
    # load generator a second of CPU, which would otherwise be measured as the server's latency.
    ready, go = threading.Barrier(clients + 1), threading.Event()
    t0 = 0.0

    def client() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            ready.wait()
            go.wait()
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                k = i % len(records)
                due = None
                if rate:
                    due = t0 + i / rate
                    time.sleep(max(0.0, due - time.perf_counter()))
                files = {
                    "portrait": ("portrait.jpg", portrait, "image/jpeg"),
                    "id_front": ("front.jpg", cards[k], "image/jpeg"),
                    "id_back": ("back.jpg", back, "image/jpeg"),
                }
                data = {"data": orjson.dumps({"msisdn": records[k]["msisdn"]}).decode(), "purpose": "update"}
                started = time.perf_counter()
                complete = False
                try:
                    answer = http.post("/api/v1/subscriptions/update", data=data, files=files)
                    status = answer.status_code
                    complete = status == 200 and answer.json()["complete"] is True
                    if status != 200 and TRACE:  # the codes only: a bench answer holds no personal data anyway
                        print("refused", status, [(e["field"], e["code"]) for e in answer.json()["error"]["errors"]])
                except httpx.TransportError:
                    status = 0  # connection refused or reset: counted, not hidden
                elapsed = time.perf_counter() - (due if due is not None else started)
                with lock:
                    nonlocal completed
                    completed += complete
                    if status == 200:
                        latencies.append(elapsed)
                        if TRACE:  # BENCH_TRACE=1: one line per update, "trace <sent s> <latency ms>"
                            print(f"trace {(due or started) - t0:.3f} {elapsed * 1000:.0f}", flush=True)
                    else:
                        failures[status] = failures.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    server_cpu, client_cpu = _tree_cpu_s(server_pid) if server_pid else (0.0, 0.0), time.process_time()
    t0 = started = time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    user, system = _tree_cpu_s(server_pid) if server_pid else (0.0, 0.0)
    user, system = user - server_cpu[0], system - server_cpu[1]
    client_cpu = time.process_time() - client_cpu
    latencies.sort()
    return {
        "ok": len(latencies),
        "completed": completed,
        "failures": failures,
        "wall_s": wall,
        "server_cpu_ms": (user + system) * 1000 / max(1, len(latencies)),  # per update
        "server_system_ms": system * 1000 / max(1, len(latencies)),  # of which in the kernel (fsync, I/O)
        "client_cpu_ms": client_cpu * 1000 / max(1, len(latencies)),
        "per_s": len(latencies) / wall if wall else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else 0.0,
    }


@dataclass(frozen=True)
class _Images:
    """What the clients send: one portrait and one card back for all, each record's own card front (its QR)."""

    portrait: bytes
    back: bytes
    fronts: list[bytes]

    @classmethod
    def of(cls, records: list[dict[str, Any]], full_size: bool) -> _Images:
        side = PAGE_SIDE if full_size else None
        portrait = camera_jpeg(camera_portrait()) if full_size else portrait_jpeg()
        fronts = [card_front_jpeg(r["holder"], long_side=side) for r in records]
        return cls(portrait, card_back_jpeg(long_side=side), fronts)

    def part(self, which: slice) -> _Images:
        return _Images(self.portrait, self.back, self.fronts[which])

    def sizes(self) -> str:
        kb = [len(b) // 1024 for b in (self.portrait, self.fronts[0], self.back)]
        return f"portrait {kb[0]} KB, card {kb[1]} + {kb[2]} KB"


def bench(name: str, database_url: str | None, args: argparse.Namespace) -> None:
    """Prepare one backend, serve it, hammer it, print the figures."""
    warm_up = 2 * args.clients
    # --fresh: one subscription per update (warm-up ones apart), so every measured update completes one.
    count = args.updates + warm_up if args.fresh else args.subscriptions
    records = _records(count)
    images = _Images.of(records, args.full_size)
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="subreg-bench-", dir=args.dir) as tmp:
        settings = Settings(env="test", var_dir=Path(tmp) / "var", database_url=database_url or "")
        _prepare(settings, records)
        port = _free_port()
        # As `subreg serve` runs it: one process per core (SQLite's writers queue at the shared writer gate).
        workers = args.workers or os.cpu_count() or 1
        server = _serve(settings, port, workers, args.server_log)
        try:
            base = f"http://127.0.0.1:{port}"
            login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "bench", "password": PASSWORD})
            login.raise_for_status()
            token = login.json()["token"]
            # Warm up with every client: connections opened, each server thread's cascade loaded (else the
            # first second's cold start, ~1 s per request, is what p99 measures).
            # --fresh: the warm-up completes subscriptions of its own, after those the run will complete.
            whole = slice(None)
            warm, measured = (slice(args.updates, None), slice(args.updates)) if args.fresh else (whole, whole)
            _run(base, token, records[warm], images.part(warm), args.clients, warm_up)
            result = _run(base, token, records[measured], images.part(measured), args.clients, args.updates, args.rate,
                          server.pid)  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{name:<10} clients={args.clients} workers={workers} rate={args.rate or 'closed-loop'} updates={result['ok']} "
        f"completed={result['completed']} failures={result['failures'] or 0}  {result['per_s']:.1f} updates/s  "
        f"p50={result['p50_ms']:.0f} ms  p99={result['p99_ms']:.0f} ms  (wall {result['wall_s']:.1f} s; CPU per "
        f"update: server {result['server_cpu_ms']:.1f} ms of which kernel {result['server_system_ms']:.1f} ms, "
        f"load generator {result['client_cpu_ms']:.1f} ms)",
        flush=True,
    )
    print(f"{'':<10} images: {'full size' if args.full_size else 'small'} ({images.sizes()}); "
          f"{'each update completes a fresh subscription' if args.fresh else f'{count} subscriptions updated in turn'}",
          flush=True)  # fmt: skip


def _pg_schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent client threads")
    parser.add_argument("--updates", type=int, default=1000, help="updates to send in total")
    parser.add_argument("--subscriptions", type=int, default=500, help="subscriptions loaded (updated in turn)")
    parser.add_argument("--workers", type=int, default=0, help="uvicorn processes (default: one per core)")
    parser.add_argument("--rate", type=float, default=None, help="open loop: updates offered per second")
    parser.add_argument(
        "--full-size",
        action="store_true",
        help=f"camera-sized images as the pages send them ({PAGE_SIDE} px long side, sensor noise)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="each update takes its own incomplete subscription to complete (else they repeat)",
    )
    parser.add_argument("--server-log", default=None, help="write the server's output to this file")
    parser.add_argument(
        "--dir", type=Path, default=ROOT / "var" / "bench",
        help="where the database and images go (default: var/bench, beside `make run`'s data)",
    )  # fmt: skip
    parser.add_argument("--pg", default=os.environ.get("SUBREG_TEST_DATABASE_URL"), help="PostgreSQL URL")
    args = parser.parse_args()
    bench("sqlite", None, args)
    if args.pg:
        from sqlalchemy import create_engine

        url, schema = _pg_schema_url(args.pg)
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            bench("postgresql", url, args)
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.dispose()


if __name__ == "__main__":
    main()
