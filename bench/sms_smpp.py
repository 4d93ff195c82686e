"""The SMPP side of bench/sms.py: 1414 look-ups end to end through a real Jasmin, next to a fixed-reply ceiling.

Topology (all on loopback, as `tests/integration/test_sms_smpp_wired.py`)::

    FakeNetwork (the phones)  --deliver_sm MO-->  jasmind  --deliver_sm-->  ESME
    FakeNetwork  <--submit_sm reply--  jasmind  <--submit_sm--  ESME

- **subreg**: `subreg sms serve --dispatchers D` as a subprocess (SUBREG_SMS_TRANSPORT=smpp, binds to Jasmin's
  user): its own process and GIL as in production, so the load generator and the fake SMSC (threads of this
  process) do not steal its interpreter; its CPU is measured apart. The MO is group-committed (stored, rate
  window, line and holder read and decrypted, audited, reply queued in the outbox), the deliver_sm answered,
  then a dispatch loop claims the outbox row and submits the reply; the network's receipt settles it.
- Jasmin reaches the network over `--jasmin-connectors` smppc connectors (default 8) behind one random
  round-robin MT route: Jasmin takes one submit at a time per connector (AMQP prefetch 1, the next only once
  the network answered the last), about 30 MT/s per connector on this machine, so a single connector would
  be the limit of both measurements.
- **ceiling**: the same Jasmin and network, the ESME a bare `SmppTransport` whose `on_mo` hands a fixed
  one-part reply to D submitting threads (the listener thread cannot submit itself: it reads the resps),
  no database.

Latency of one look-up: from `send_mo` on the network side to the last part of its reply reaching the
network as submit_sm (matched by destination: every sender has at most one look-up in flight). At most
`inflight` look-ups are outstanding (the network side does not flood Jasmin's queues unboundedly).
CPU: seconds of CPU per wall second (1.0 = one core) of jasmind, subreg, this process (network + driver,
+ the ceiling's ESME), RabbitMQ and Redis, over the measured window: shows which peer is the limit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "src", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from tests.smpp.jasmin import FakeNetwork, Jasmin, drop_vhost, jasmin_available  # noqa: E402

from subreg.adapters.sms._smpp_codec import split_udh  # noqa: E402
from subreg.config import Settings  # noqa: E402

CEILING_TEXT = "1414: thong tin thue bao cua quy khach da duoc ghi nhan. Cam on quy khach."
_TICK = os.sysconf("SC_CLK_TCK")


class TimedNetwork(FakeNetwork):
    """FakeNetwork that stamps every complete reply (all parts of a concatenated one) as it arrives and
    wakes whoever waits for that destination."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._waiting: dict[str, tuple[float, threading.Event | None]] = {}  # destination -> (sent at, done)
        self._parts: dict[str, int] = {}
        self.latencies: list[float] = []
        self.done = threading.Semaphore(0)
        self.unexpected = 0
        self._timing = threading.Lock()

    def expect(self, destination: str) -> None:
        with self._timing:
            if destination in self._waiting:
                raise RuntimeError(f"{destination} already has a look-up in flight")
            self._waiting[destination] = (time.perf_counter(), None)
            self._parts[destination] = 0

    def _handle(self, conn, pdu) -> None:  # type: ignore[no-untyped-def]
        super()._handle(conn, pdu)
        if pdu.command != "submit_sm":
            return
        at = time.perf_counter()
        # from the PDU itself: Jasmin's connectors are served by one thread each, `received[-1]` may be another's
        dest = pdu.destination_addr.decode() if isinstance(pdu.destination_addr, bytes) else pdu.destination_addr
        _, _, concat = split_udh(pdu.short_message or b"", pdu.esm_class or 0)
        total = concat.total if concat is not None else 1
        with self._timing:
            if dest not in self._waiting:
                self.unexpected += 1
                return
            self._parts[dest] += 1
            if self._parts[dest] < total:
                return
            sent, _ = self._waiting.pop(dest)
            del self._parts[dest]
            self.latencies.append((at - sent) * 1000)
        self.done.release()

    def reset(self) -> None:
        with self._timing:
            self._waiting.clear()
            self._parts.clear()
            self.latencies = []
            self.unexpected = 0
        self.done = threading.Semaphore(0)


def _cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a process so far; 0 when unknown or gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of the whole line)


def _pid_of(name: str) -> int | None:
    """The pid of a running daemon by its exact process name (read only: for its CPU figure)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError, IndexError):
        out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True, timeout=5).stdout.split()
        return int(out[0])
    return None


def _drive(network: TimedNetwork, messages: list[tuple[str, str]], inflight: int, timeout: float,
           pids: dict[str, int | None]) -> tuple[float, list[float], int, dict[str, float]]:  # fmt: skip
    """Send every (sender, text) as an MO to 1414, at most `inflight` unanswered; (seconds, latencies in ms,
    unanswered, CPU per wall second of each process in `pids`)."""
    network.reset()
    conn = network.wait_bound()
    window = threading.BoundedSemaphore(inflight)
    stop_at = time.monotonic() + timeout
    done = network.done

    def release_done() -> None:  # frees a window slot per answered look-up
        answered = 0
        while answered < len(messages) and time.monotonic() < stop_at:
            if done.acquire(timeout=0.2):
                answered += 1
                window.release()

    releaser = threading.Thread(target=release_done, daemon=True)
    cpu0 = {k: _cpu(p) for k, p in pids.items()}
    began = time.perf_counter()
    releaser.start()
    for sender, text in messages:
        if not window.acquire(timeout=max(0.0, stop_at - time.monotonic())):
            break
        network.expect(sender)
        network.deliver(conn, source_addr=sender, destination_addr="1414", data_coding=0, esm_class=0,
                        short_message=text.encode())  # fmt: skip
    releaser.join(max(0.0, stop_at - time.monotonic()) + 1)
    seconds = time.perf_counter() - began
    cpu = {k: round((_cpu(p) - cpu0[k]) / seconds, 2) for k, p in pids.items() if p is not None}
    latencies = list(network.latencies)
    return seconds, latencies, len(messages) - len(latencies), cpu


def _figures(seconds: float, latencies: list[float], answered: int) -> dict[str, float]:
    import statistics

    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {"per_s": round(answered / seconds), "p50_ms": round(q[49], 1), "p99_ms": round(q[98], 1)}


def _messages(records: list[dict[str, Any]], count: int, offset: int = 0) -> list[tuple[str, str]]:
    """`count` look-ups from distinct registered senders (from `offset` on), 1 in 4 `TTTB <ID>`."""
    if offset + count > len(records):
        raise SystemExit(f"--senders must be at least {offset + count} over SMPP (one look-up per sender in flight: "
                         "a sender is used once per run)")  # fmt: skip
    picked = records[offset : offset + count]
    return [("84" + r["msisdn"][1:], f"TTTB {r['holder']['id_number']}" if n % 4 == 0 else "TTTB")
            for n, r in enumerate(picked)]  # fmt: skip


def _stored(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            "inbound": conn.execute("SELECT count(*) FROM sms_inbound").fetchone()[0],
            "outbox": conn.execute("SELECT count(*) FROM sms_outbox").fetchone()[0],
            "audited": conn.execute("SELECT count(*) FROM audit_log WHERE action = 'sms:lookup'").fetchone()[0],
        }


def _ceiling(jasmin: Jasmin, network: TimedNetwork, messages: list[tuple[str, str]], warm: list[tuple[str, str]],
             args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    from subreg.adapters.sms.smpp import SmppBind, SmppConfig, SmppTransport
    from subreg.services.sms.ports import OutboundMessage, Part

    pool = ThreadPoolExecutor(args.dispatchers, thread_name_prefix="ceiling-submit")
    ids = iter(range(1, 10**9))
    transport: SmppTransport | None = None

    def on_mo(message: Any) -> None:
        reply = OutboundMessage(next(ids), message.sender, "1414", "gsm7", (Part(b"", CEILING_TEXT),))
        pool.submit(transport.submit, reply)  # type: ignore[union-attr]

    binds = tuple(SmppBind("127.0.0.1", jasmin.smpp_port, jasmin.system_id, jasmin.password, name=f"ceiling{n}")
                  for n in range(args.smpp_binds))  # fmt: skip
    transport = SmppTransport(SmppConfig(binds, window=10, throughput=0), on_mo=on_mo, on_receipts=lambda r: None)
    transport.start()
    try:
        if not transport.wait_bound(20):
            raise RuntimeError("the ceiling's ESME did not bind to Jasmin")
        pids = {"jasmind": jasmin.proc.pid if jasmin.proc else None, "bench": os.getpid(),
                "rabbitmq": _pid_of("beam.smp"), "redis": _pid_of("redis-server")}  # fmt: skip
        _drive(network, warm, args.inflight, 60, pids)
        seconds, latencies, missing, cpu = _drive(network, messages, args.inflight, args.timeout, pids)
        time.sleep(1.5)  # let the network's receipts (sent a second after each submit) reach this ESME
    finally:
        transport.close()
        pool.shutdown(wait=False, cancel_futures=True)
    return {**_figures(seconds, latencies, len(latencies)), "unanswered": missing, "cpu": cpu}


def _subreg_command() -> str:
    """The `subreg` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("subreg")
    if not script.exists():
        raise SystemExit(f"no `subreg` command next to {sys.executable}: install the project (uv sync)")
    return str(script)


def _subreg(settings: Settings, jasmin: Jasmin, network: TimedNetwork, messages: list[tuple[str, str]],
            warm: list[tuple[str, str]], args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    bind = f"127.0.0.1:{jasmin.smpp_port}:{jasmin.system_id}:{jasmin.password}"
    env = {**os.environ, "SUBREG_ENV": "test", "SUBREG_VAR_DIR": str(settings.var_dir),
           "SUBREG_LOG_LEVEL": "WARNING", "SUBREG_SMS_TRANSPORT": "smpp",
           "SUBREG_SMPP_BINDS": ",".join([bind] * args.smpp_binds), "SUBREG_SMPP_THROUGHPUT": "0",
           "SUBREG_SMPP_WINDOW": "10", "SUBREG_SMS_RATE_LIMIT": "1000000",
           "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT)}  # fmt: skip
    log = settings.var_dir / "sms-serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([_subreg_command(), "sms", "serve", "--dispatchers", str(args.dispatchers)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        pids = {"jasmind": jasmin.proc.pid if jasmin.proc else None, "subreg": server.pid, "bench": os.getpid(),
                "rabbitmq": _pid_of("beam.smp"), "redis": _pid_of("redis-server")}  # fmt: skip
        # bound when the warm-up is answered (its look-ups are not counted; the row counts are taken after it)
        seconds, latencies, missing, _ = _drive(network, warm, args.inflight, 600, pids)  # start-up included
        if server.poll() is not None or missing:
            raise RuntimeError(f"subreg sms serve did not answer the warm-up ({missing} of {len(warm)} unanswered, "
                               f"exit {server.poll()}): {log.read_text(errors='replace')[-2000:]}")  # fmt: skip
        before = _stored(settings.var_dir / "subreg.db")
        seconds, latencies, missing, cpu = _drive(network, messages, args.inflight, args.timeout, pids)
        after = _stored(settings.var_dir / "subreg.db")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)
    stored = {k: after[k] - before[k] for k in after}
    return {**_figures(seconds, latencies, len(latencies)), "unanswered": missing, "cpu": cpu,
            "stored": {**stored, "ok": all(v == len(messages) for v in stored.values())}}  # fmt: skip


def _warm_count(lookups: int) -> int:
    return min(100, max(10, lookups // 20))


def senders_needed(lookups: int) -> int:
    """Registered senders the SMPP run uses: every look-up of a run from its own number."""
    return 2 * (lookups + _warm_count(lookups))


def bench_smpp(settings: Settings, records: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Both measurements through one Jasmin; the JSON line's dict."""
    reason = jasmin_available()
    if reason is not None:
        raise SystemExit(f"SMPP bench: {reason}")
    warm_n = _warm_count(args.lookups)
    # distinct senders for each phase: ceiling warm-up, ceiling, subreg warm-up, subreg (a sender's reply is
    # matched by its number, and a late receipt of one phase must not be taken for the next one's reply)
    ceiling_warm = _messages(records, warm_n, 0)
    ceiling_msgs = _messages(records, args.lookups, warm_n)
    subreg_warm = _messages(records, warm_n, warm_n + args.lookups)
    subreg_msgs = _messages(records, args.lookups, 2 * warm_n + args.lookups)
    workdir = Path(tempfile.mkdtemp(prefix="subreg-bench-jasmin-"))
    network = TimedNetwork()
    jasmin = Jasmin(workdir, network)
    results: dict[str, Any] = {"transport": "smpp", "rows": args.rows, "lookups": args.lookups,
                               "inflight": args.inflight, "dispatchers": args.dispatchers,
                               "binds": args.smpp_binds, "jasmin_connectors": args.jasmin_connectors}  # fmt: skip
    try:
        jasmin.start()
        jasmin.configure()
        _more_connectors(jasmin, args.jasmin_connectors)
        results["ceiling"] = _ceiling(jasmin, network, ceiling_msgs, ceiling_warm, args)
        results["subreg"] = _subreg(settings, jasmin, network, subreg_msgs, subreg_warm, args)
    finally:
        jasmin.stop()
        drop_vhost(jasmin.vhost)
        network.close()
        if network.errors:
            print(f"fake network errors: {network.errors[:5]}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    results["stored"] = results["subreg"].pop("stored")
    results["ratio"] = round(results["ceiling"]["per_s"] / max(results["subreg"]["per_s"], 1), 2)
    return results


def _more_connectors(jasmin: Jasmin, count: int) -> None:
    """`count` smppc connectors from Jasmin to the network in all (the rig configures one) and the MT default
    route spread over them: Jasmin takes one submit at a time per connector (AMQP prefetch 1, the next taken
    once the network answered), so one connector caps MT at a few dozen per second here."""
    if count <= 1:
        return
    from tests.smpp.jasmin import JCli

    names = [jasmin.connector] + [f"{jasmin.connector}_{n}" for n in range(2, count + 1)]
    with JCli(jasmin.ports["jcli"]) as cli:
        for cid in names[1:]:
            cli.session(
                "smppccm -a", cid=cid, host="127.0.0.1", port=jasmin.network.port, username="jasmin",
                password="pw",  # noqa: S106 - the fake network takes any login
                bind="transceiver", submit_throughput=0, con_loss_delay=1, con_fail_delay=1, elink_interval=5,
            )  # fmt: skip
            cli.expect_ok(cli.run(f"smppccm -1 {cid}"), "Successfully started")
        cli.session("filter -a", fid="bench_all", type="TransparentFilter")
        cli.session("mtrouter -a", type="RandomRoundrobinMTRoute", order=10, filters="bench_all",
                    connectors=";".join(f"smppc({c})" for c in names), rate="0.00")  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with jasmin.network._lock:
            if len(jasmin.network._bound) >= count:
                return
        time.sleep(0.1)
    raise TimeoutError(f"Jasmin bound {len(jasmin.network._bound)} of {count} connectors to the network")
