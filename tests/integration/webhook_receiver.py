"""A reference receiver of subreg's signed network orders (docs/network.md, "Signed webhook"), run as a process.

    SUBREG_WEBHOOK_SECRET=<hex> python tests/integration/webhook_receiver.py [--port 0] [--window 300]

It prints ``listening <port>`` once it accepts connections (port 0: a free one). Lines live in memory:
a line is known once seeded through the test control, and each order changes what it can do.

What it checks, as a real gateway would: the signature and timestamp (`verify_signature`, 401
``bad_signature`` / ``stale_timestamp``), replays of an order (`ReplayCache`, 401 ``replayed``), that
``Idempotency-Key`` is the body's ``order_id`` (400), the key reused for another order (422), the same
order again (409 ``already_applied``), an unknown line (404). Reads are signed too but not run through the
replay cache: a repeated read changes nothing, and two reads of one line within a second are identical.

The access a line gets is derived from the barring fields of the body, not from `action`: that is what an
HSS-side receiver would copy (``subscriber_status``; ``odb.all_incoming_calls``; ``odb.all_outgoing_calls``).

Test control (no signature; loopback only):
    PUT  /_test/lines/<msisdn>   {"access": "open"}             seed a line
    POST /_test/faults           {"count": N, "status": 503}    the next N requests answer that status
                                 {"count": N, "delay": 2.0}     ... or are answered that many seconds late
    POST /_test/reset                                           forget everything (lines, orders, counts, replays)
    GET  /_test/stats            {"requests": n, "by_status": {"200": n, ...}, "lines": {...}, "terminated": [...]}
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from subreg.adapters.hlr.webhook import (
    IDEMPOTENCY_HEADER,
    REPLAY_WINDOW,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ReplayCache,
    verify_signature,
)

_LINE = re.compile(r"/lines/([0-9]{6,15})")
_SEED = re.compile(r"/_test/lines/([0-9]{6,15})")
_ACTIONS = frozenset({"lock_one_way", "lock_two_way", "unlock", "terminate"})
_ACCESS = frozenset({"open", "one_way", "two_way", "absent"})


class State:
    """Everything the receiver remembers, behind one lock."""

    def __init__(self, secret: bytes, window: int) -> None:
        self.secret = secret
        self.window = window
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every line, order, fault, count and seen signature."""
        self.replays = ReplayCache(self.window)
        self.lines: dict[str, str] = {}
        self.terminated: set[str] = set()
        self.orders: dict[str, tuple[dict[str, Any], str]] = {}  # order_id -> (order without nonce, access)
        self.faults: list[dict[str, Any]] = []
        self.by_status: Counter[str] = Counter()
        self.requests = 0


def access_of(order: dict[str, Any]) -> str:
    """What a line can do after `order`, read from its barring fields."""
    if order.get("subscriber_status") == "SERVICE_GRANTED":
        return "open"
    odb = order.get("odb") or {}
    if odb.get("all_incoming_calls"):
        return "two_way"
    if odb.get("all_outgoing_calls"):
        return "one_way"
    return "open"


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line holds the number."""

    # -- plumbing ---------------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, payload: dict[str, Any], *, count: bool = True) -> None:
        data = json.dumps(payload).encode()
        if count:
            with self.server.state.lock:
                self.server.state.by_status[str(status)] += 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fault(self) -> bool:
        """Count the request; play the next injected fault. True when it answered already."""
        state = self.server.state
        with state.lock:
            state.requests += 1
            fault = state.faults.pop(0) if state.faults else None
        if fault is None:
            return False
        time.sleep(float(fault.get("delay", 0)))
        if "status" in fault:
            self._answer(int(fault["status"]), {"error": "injected"})
            return True
        return False

    def _authentic(self, payload: bytes, *, replay_check: bool) -> bool:
        """Check the signature (and the replay cache); answer 401 and say False when it fails."""
        state = self.server.state
        timestamp = self.headers.get(TIMESTAMP_HEADER, "")
        signature = self.headers.get(SIGNATURE_HEADER, "")
        now = time.time()
        if not verify_signature(state.secret, timestamp, payload, signature, now, state.window):
            stale = timestamp.isdigit() and abs(now - int(timestamp)) > state.window
            self._answer(401, {"error": "stale_timestamp" if stale else "bad_signature"})
            return False
        if replay_check and not state.replays.first_use(signature, timestamp, now):
            self._answer(401, {"error": "replayed"})
            return False
        return True

    # -- routes -----------------------------------------------------------------------------------

    def do_GET(self) -> None:
        """A line's access (signed), or the test statistics."""
        state = self.server.state
        if self.path == "/_test/stats":
            with state.lock:
                stats = {
                    "requests": state.requests,
                    "by_status": dict(state.by_status),
                    "lines": dict(state.lines),
                    "terminated": sorted(state.terminated),
                }
            self._answer(200, stats, count=False)
            return
        line = _LINE.fullmatch(self.path)
        if self._fault():
            return
        if line is None:
            self._answer(404, {"error": "not_found"})
            return
        if not self._authentic(self.path.encode("ascii"), replay_check=False):
            return
        with state.lock:
            access = state.lines.get(line.group(1), "absent")
        self._answer(200, {"access": access})

    def do_PUT(self) -> None:
        """Seed a line (test control)."""
        seed = _SEED.fullmatch(self.path)
        body = json.loads(self._body() or b"{}")
        if seed is None or body.get("access") not in _ACCESS:
            self._answer(400, {"error": "bad_request"}, count=False)
            return
        with self.server.state.lock:
            self.server.state.lines[seed.group(1)] = body["access"]
        self._answer(200, {"access": body["access"]}, count=False)

    def do_POST(self) -> None:
        """An order (signed), or a fault injection (test control)."""
        state = self.server.state
        raw = self._body()
        if self.path == "/_test/reset":
            with state.lock:
                state.reset()
            self._answer(200, {}, count=False)
            return
        if self.path == "/_test/faults":
            fault = json.loads(raw)
            with state.lock:
                state.faults.extend({k: v for k, v in fault.items() if k != "count"} for _ in range(fault["count"]))
            self._answer(200, {"queued": fault["count"]}, count=False)
            return
        if self._fault():
            return
        if self.path != "/orders":
            self._answer(404, {"error": "not_found"})
            return
        if not self._authentic(raw, replay_check=True):
            return
        try:
            order = json.loads(raw)
        except ValueError:
            self._answer(400, {"error": "bad_json"})
            return
        key = order.get("order_id")
        if not isinstance(key, str) or self.headers.get(IDEMPOTENCY_HEADER) != key:
            self._answer(400, {"error": "idempotency_key_mismatch"})
            return
        if order.get("action") not in _ACTIONS or not re.fullmatch(r"[0-9]{6,15}", str(order.get("msisdn"))):
            self._answer(400, {"error": "bad_order"})
            return
        self._apply(key, order)

    def _apply(self, key: str, order: dict[str, Any]) -> None:
        state = self.server.state
        msisdn = order["msisdn"]
        fingerprint = {k: v for k, v in order.items() if k != "nonce"}
        with state.lock:
            seen = state.orders.get(key)
            if seen is None and msisdn in state.lines:
                access = access_of(order)
                state.lines[msisdn] = access
                if order.get("terminated"):
                    state.terminated.add(msisdn)
                else:
                    state.terminated.discard(msisdn)
                state.orders[key] = (fingerprint, access)
            known = msisdn in state.lines
        if seen is not None:
            if seen[0] != fingerprint:
                self._answer(422, {"error": "idempotency_key_reused", "order_id": key})
            else:
                self._answer(409, {"error": "already_applied", "order_id": key, "access": seen[1]})
        elif not known:
            self._answer(404, {"error": "unknown_subscriber", "order_id": key})
        else:
            self._answer(200, {"order_id": key, "access": access})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: State) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.state = state


def main(argv: list[str] | None = None) -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--window", type=int, default=REPLAY_WINDOW)
    args = parser.parse_args(argv)
    secret = bytes.fromhex(os.environ["SUBREG_WEBHOOK_SECRET"])
    server = Server(args.port, State(secret, args.window))
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
