"""Benchmark of the 1414 service: look-ups per second end to end, next to the transport's ceiling.

A database of N subscriptions (default 1,000,000: `bench/evaluate.py`'s fill, holders with dummy
ciphertext) plus K real registered lines (`bulk_load`, encrypted holders) whose numbers send `TTTB` or
`TTTB <ID>`. Each look-up is the whole path: the MO stored (sealed), the sender's rate window counted, the
line and holder read and decrypted, the audit entry appended, the reply rendered, encoded and queued in
the outbox; group commit as the server does it.

- **HTTP (Kannel's interface, driven directly)**: `subreg serve` with a gateway secret; C concurrent
  clients POST Kannel's MO callback (`/sms/kannel/bench/mo`, text in the body, `X-Kannel-*` headers)
  as smsbox would. Ceiling: the same uvicorn + FastAPI stack answering the same callback with a fixed
  empty 200 (`bench/sms_fixed_reply.py`), same clients, same run.

- **SMPP (through a real Jasmin)**: `subreg sms serve` bound to a local jasmind; a fake SMSC behind Jasmin
  plays the phones (MO as deliver_sm, replies received as submit_sm). Ceiling: a bare ESME answering
  every MO with a fixed reply, same Jasmin, same run. See `bench/sms_smpp.py`.

Prints one JSON line per transport: look-ups/s, p50/p99 ms, ceiling, ratio, rows stored (checked).

    .venv/bin/python bench/sms.py --rows 1000000 --lookups 20000 --concurrency 64 --transport http
    .venv/bin/python bench/sms.py --rows 1000000 --lookups 2000 --transport smpp
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from evaluate import fill_sqlite  # noqa: E402
from subreg.bootstrap import bootstrap, init_storage  # noqa: E402
from subreg.config import Settings  # noqa: E402
from subreg.domain.id_documents.numbers import make_cccd  # noqa: E402
from subreg.services.registry import bulk_load  # noqa: E402

SECRET = "bench-secret-1414"  # noqa: S105 - a throw-away gateway secret in a temporary database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _holder(i: int) -> dict[str, Any]:
    born = date(1970 + i % 15, 1 + i % 12, 1 + i % 28)
    gender = "female" if i % 2 else "male"
    return {
        "full_name": "Nguyễn Thị Ánh" if i % 2 else "Trần Văn Bình", "date_of_birth": born.isoformat(),
        "gender": gender, "nationality": "VNM", "id_type": "cccd",
        "id_number": make_cccd("079", gender, born.year, 100_000 + i // 2),  # two lines per document
        "id_issue_date": "2024-06-01", "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
        "address": "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
    }  # fmt: skip


def _records(k: int) -> list[dict[str, Any]]:
    return [
        {
            "msisdn": f"091{2_000_000 + i:07d}",
            "subscriber_type": "individual",
            "payment_type": "prepaid",
            "activated_on": "2016-03-01",
            "channel": "store",
            "point_of_sale": "BENCH",
            "holder": _holder(i),
            "documents": {"portrait": "blob:p", "id_front": "blob:f"} if i % 3 else {"portrait": "blob:p"},
        }
        for i in range(k)
    ]


def prepare(var: Path, rows: int, real: int) -> tuple[Settings, list[dict[str, Any]]]:
    settings = Settings(var_dir=var, env="test")
    init_storage(settings)
    fill_seconds = fill_sqlite(var / "subreg.db", rows)
    records = _records(real)
    container = bootstrap(settings)
    try:
        with container.uow() as uow:
            bulk_load(records, uow=uow, vault=container.vault, blobs=container.blobs, as_of=date(2026, 11, 28),
                      rule_set=container.rule_set)  # fmt: skip
    finally:
        container.close()
    print(f"filled {rows:,} lines in {fill_seconds:.0f} s, {real:,} registered senders", file=sys.stderr)
    return settings, records


def _serve(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:] if server.stderr else ''}")


def _uvicorn(app: str, port: int, workers: int, *, factory: bool) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, *(["--factory"] if factory else []), "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]  # fmt: skip


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive HTTP/1.1 exchange; the status. (A client this thin keeps the load generator's own CPU
    low: httpx's async pool costs more per request than the fixed-reply server does.)"""
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1])


def _request(n: int, sender: str, text: str) -> bytes:
    body = text.encode()
    head = (
        f"POST /sms/kannel/bench/mo?id=b{n} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Kannel-From: {sender}\r\n"
        f"X-Kannel-To: 1414\r\nX-Kannel-Coding: 0\r\nX-Kannel-SMSC: fake\r\nX-Gateway-Secret: {SECRET}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _drive(port: int, messages: list[tuple[str, str]], concurrency: int) -> tuple[float, list[float], int]:
    """POST every (sender, text) as Kannel's smsbox would, on `concurrency` keep-alive connections;
    (seconds, latencies in ms, failures)."""
    latencies: list[float] = []
    failures = 0
    pending = list(enumerate(messages))
    pending.reverse()

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while pending:
                n, (sender, text) = pending.pop()
                began = time.perf_counter()
                status = await _post(reader, writer, _request(n, sender, text))
                latencies.append((time.perf_counter() - began) * 1000)
                failures += status != 200
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies, failures


def _figures(seconds: float, latencies: list[float], count: int) -> dict[str, float]:
    q = statistics.quantiles(latencies, n=100)
    return {"per_s": round(count / seconds), "p50_ms": round(q[49], 1), "p99_ms": round(q[98], 1)}


def bench_http(settings: Settings, records: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    senders = [("84" + r["msisdn"][1:], r["holder"]["id_number"]) for r in records]
    picked = (senders[i % len(senders)] for i in range(args.lookups))
    messages = [(s, f"TTTB {idn}" if n % 4 == 0 else "TTTB") for n, (s, idn) in enumerate(picked)]
    env = {**os.environ, "SUBREG_ENV": "test", "SUBREG_VAR_DIR": str(settings.var_dir), "SUBREG_LOG_LEVEL": "WARNING",
           "SUBREG_SMS_GATEWAY_SECRETS": f"bench:{SECRET}", "SUBREG_SMS_RATE_LIMIT": "1000000",
           "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT), "SUBREG_WORKERS": str(args.workers)}  # fmt: skip
    results: dict[str, Any] = {"transport": "http", "rows": args.rows, "lookups": args.lookups,
                               "concurrency": args.concurrency, "workers": args.workers}  # fmt: skip
    for name, app, factory in (("ceiling", "bench.sms_fixed_reply:app", False),
                               ("subreg", "subreg.api.app:create_app", True)):  # fmt: skip
        port = _free_port()
        server = _serve(_uvicorn(app, port, args.workers, factory=factory), env, port)
        try:
            asyncio.run(_drive(port, messages[:200], args.concurrency))  # warm-up (not counted)
            seconds, latencies, failures = asyncio.run(_drive(port, messages, args.concurrency))
        finally:
            server.terminate()
            server.wait(30)
        results[name] = {**_figures(seconds, latencies, len(messages)), "failures": failures}
    results["ratio"] = round(results["ceiling"]["per_s"] / max(results["subreg"]["per_s"], 1), 2)
    with sqlite3.connect(settings.var_dir / "subreg.db") as conn:
        results["stored"] = {
            "inbound": conn.execute("SELECT count(*) FROM sms_inbound").fetchone()[0],
            "outbox": conn.execute("SELECT count(*) FROM sms_outbox").fetchone()[0],
            "audited": conn.execute("SELECT count(*) FROM audit_log WHERE action = 'sms:lookup'").fetchone()[0],
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="subscriptions in the database")
    parser.add_argument("--senders", type=int, default=5_000, help="registered lines that send (real holders)")
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--transport", default="http,smpp", help="comma-separated: http, smpp")
    parser.add_argument("--concurrency", type=int, default=64, help="HTTP: concurrent clients")
    parser.add_argument("--workers", type=int, default=1, help="HTTP: server processes")
    parser.add_argument("--inflight", type=int, default=200, help="SMPP: look-ups outstanding at most")
    parser.add_argument("--dispatchers", type=int, default=10, help="SMPP: outbox loops of `subreg sms serve`")
    parser.add_argument("--smpp-binds", type=int, default=1, help="SMPP: binds of the ESME to Jasmin")
    parser.add_argument("--jasmin-connectors", type=int, default=8, help="SMPP: Jasmin's connectors to the network")
    parser.add_argument("--timeout", type=float, default=600, help="SMPP: seconds a measured run may take")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    transports = [t.strip() for t in args.transport.split(",") if t.strip()]
    if unknown := set(transports) - {"http", "smpp"}:
        parser.error(f"unknown transport(s): {', '.join(sorted(unknown))}")
    if "smpp" in transports:
        from sms_smpp import bench_smpp, senders_needed

        args.senders = max(args.senders, senders_needed(args.lookups))
    var = Path(tempfile.mkdtemp(prefix="subreg-bench-sms-"))
    try:
        settings, records = prepare(var, args.rows, args.senders)
        for transport in transports:
            if transport == "http":
                print(orjson.dumps(bench_http(settings, records, args)).decode(), flush=True)
            else:
                print(orjson.dumps(bench_smpp(settings, records, args)).decode(), flush=True)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(var, ignore_errors=True)
        else:
            print(f"kept {var}", file=sys.stderr)


if __name__ == "__main__":
    main()
