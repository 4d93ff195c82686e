"""`WebhookProvisioner` against the reference receiver (`webhook_receiver.py`) running as a process on 127.0.0.1.

Nothing is mocked: the adapter signs and sends real HTTP requests, the receiver checks them with
`verify_signature` and `ReplayCache` and keeps the lines in memory. The adapter never loops on a transient
failure (the worker does, with backoff), so "retry, then done" is two calls to `apply`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import httpx
import pytest

import subreg
from subreg.adapters.hlr.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookProvisioner,
    sign,
)
from subreg.services.enforcement.ports import NetworkOrder, OrderOutcome

RECEIVER = Path(__file__).with_name("webhook_receiver.py")
SRC = Path(subreg.__file__).resolve().parents[1]
SECRET = b"reference-receiver-test-secret-0123456789"
LINE = "84912345678"
_ids = count(1)


def order(action, msisdn=LINE, key=None):
    n = next(_ids)
    return NetworkOrder(id=n, key=key or f"order-{n}", msisdn=msisdn, action=action)


class ReceiverProcess:
    """The reference receiver as a child process; `start` again after `stop` reuses the same port."""

    def __init__(self, secret: bytes = SECRET) -> None:
        self.secret = secret
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.control = httpx.Client()  # one client: each new one loads the CA bundle (~0.1 s)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "SUBREG_WEBHOOK_SECRET": self.secret.hex(), "PYTHONPATH": str(SRC)}
        self.proc = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "listening <port>", printed once the socket is bound
        assert line.startswith("listening "), line
        self.port = int(line.split()[1])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self.proc = None

    def close(self) -> None:
        self.stop()
        self.control.close()

    # The test control of the receiver (unsigned, loopback only).
    def seed(self, msisdn: str = LINE, access: str = "open") -> None:
        self.control.put(f"{self.url}/_test/lines/{msisdn}", json={"access": access}).raise_for_status()

    def faults(self, count: int, **fault: object) -> None:
        self.control.post(f"{self.url}/_test/faults", json={"count": count, **fault}).raise_for_status()

    def stats(self) -> dict:
        return self.control.get(f"{self.url}/_test/stats").json()

    def reset(self) -> None:
        self.control.post(f"{self.url}/_test/reset").raise_for_status()


@pytest.fixture(scope="module")
def receiver_process() -> Iterator[ReceiverProcess]:
    """One receiver for the module (starting one takes most of a second)."""
    process = ReceiverProcess()
    process.start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture
def receiver(receiver_process: ReceiverProcess) -> ReceiverProcess:
    """The receiver, running, with an empty memory."""
    if receiver_process.proc is None:
        receiver_process.start()
    receiver_process.reset()
    return receiver_process


@pytest.fixture
def webhook(receiver: ReceiverProcess) -> Iterator[WebhookProvisioner]:
    provisioner = WebhookProvisioner("webhook:reference", receiver.url, SECRET, timeout=5.0)
    yield provisioner
    provisioner.close()


class TestSignedOrders:
    def test_a_signed_order_is_applied_and_the_line_access_changes(self, receiver, webhook):
        receiver.seed()
        assert webhook.access(LINE) == "open"

        assert webhook.apply(order("lock_one_way")) == OrderOutcome("done", "", "one_way")
        assert webhook.access(LINE) == "one_way"
        assert webhook.apply(order("lock_two_way")) == OrderOutcome("done", "", "two_way")
        assert webhook.access(LINE) == "two_way"
        assert webhook.apply(order("unlock")) == OrderOutcome("done", "", "open")
        assert webhook.access(LINE) == "open"

    def test_a_terminated_line_stays_barred_and_is_marked_terminated(self, receiver, webhook):
        receiver.seed()
        assert webhook.apply(order("terminate")) == OrderOutcome("done", "", "two_way")
        assert webhook.access(LINE) == "two_way"
        assert receiver.stats()["terminated"] == [LINE]

    def test_a_line_the_receiver_does_not_know_is_refused_as_unknown_subscriber(self, receiver, webhook):
        assert webhook.access(LINE) == "absent"
        assert webhook.apply(order("lock_one_way")) == OrderOutcome("refused", "unknown_subscriber")

    def test_the_same_order_sent_again_is_done_as_already_applied(self, receiver, webhook):
        receiver.seed()
        lock = order("lock_one_way")
        assert webhook.apply(lock).status == "done"
        assert webhook.apply(lock) == OrderOutcome("done", "already_applied", "one_way")
        assert receiver.stats()["by_status"] == {"200": 1, "409": 1}

    def test_the_same_key_for_another_order_is_refused(self, receiver, webhook):
        receiver.seed()
        assert webhook.apply(order("lock_one_way", key="k-1")).status == "done"
        assert webhook.apply(order("unlock", key="k-1")) == OrderOutcome("refused", "http_422")
        assert webhook.access(LINE) == "one_way"


class TestAuthentication:
    def test_a_wrong_secret_is_refused_by_the_receiver_and_the_order_is_refused(self, receiver):
        receiver.seed()
        impostor = WebhookProvisioner("webhook:impostor", receiver.url, b"not-the-shared-secret-at-all")
        try:
            assert impostor.apply(order("lock_two_way")) == OrderOutcome("refused", "http_401")
        finally:
            impostor.close()
        stats = receiver.stats()
        assert stats["by_status"] == {"401": 1}
        assert stats["lines"] == {LINE: "open"}

    def test_a_replayed_request_is_refused_by_the_receiver(self, receiver):
        receiver.seed()
        sent: list[httpx.Request] = []
        client = httpx.Client(event_hooks={"request": [sent.append]})
        webhook = WebhookProvisioner("webhook:reference", receiver.url, SECRET, client=client)
        try:
            assert webhook.apply(order("lock_one_way")).status == "done"
            assert webhook.apply(order("unlock")).status == "done"
        finally:
            client.close()
        lock = sent[0]
        lock.read()

        # The lock as captured on the wire, sent again byte for byte within the window.
        replay = httpx.post(
            f"{receiver.url}/orders",
            content=lock.content,
            headers={
                name: lock.headers[name]
                for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER, IDEMPOTENCY_HEADER, "Content-Type")
            },
        )

        assert replay.status_code == 401
        assert replay.json() == {"error": "replayed"}
        assert receiver.stats()["lines"] == {LINE: "open"}

    @pytest.mark.parametrize("skew", [-305, +305, -3600])  # seconds past 300: Unix seconds truncate
    def test_a_timestamp_outside_the_window_is_refused(self, receiver, skew):
        receiver.seed()
        skewed = WebhookProvisioner("webhook:skewed", receiver.url, SECRET, clock=lambda: time.time() + skew)
        try:
            assert skewed.apply(order("lock_one_way")) == OrderOutcome("refused", "http_401")
        finally:
            skewed.close()

        # The same, by hand: a correct signature over an old timestamp is still refused, and says why.
        stamp = str(int(time.time()) + skew)
        body = b'{"order_id":"x","msisdn":"84912345678","action":"unlock"}'
        answer = httpx.post(
            f"{receiver.url}/orders",
            content=body,
            headers={TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, body), IDEMPOTENCY_HEADER: "x"},
        )
        assert (answer.status_code, answer.json()) == (401, {"error": "stale_timestamp"})
        assert receiver.stats()["lines"] == {LINE: "open"}

    def test_a_read_with_a_wrong_signature_is_refused(self, receiver):
        stamp = str(int(time.time()))
        answer = httpx.get(
            f"{receiver.url}/lines/{LINE}",
            headers={TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, b"/lines/84900000000")},
        )
        assert (answer.status_code, answer.json()) == (401, {"error": "bad_signature"})


class TestTransientFailures:
    @pytest.mark.parametrize("status", [503, 500, 429])
    def test_a_5xx_or_429_is_a_retry_and_the_next_call_is_done(self, receiver, webhook, status):
        receiver.seed()
        receiver.faults(1, status=status)
        lock = order("lock_one_way")

        assert webhook.apply(lock) == OrderOutcome("retry", f"http_{status}")
        assert webhook.access(LINE) == "open"
        assert webhook.apply(lock) == OrderOutcome("done", "", "one_way")
        assert receiver.stats()["requests"] == 3  # the failed order, the read, the order again

    def test_a_timeout_is_a_retry_and_the_retry_finds_the_order_already_applied(self, receiver):
        receiver.seed()
        receiver.faults(1, delay=1.5)  # answered late, but applied: the gateway got it
        hasty = WebhookProvisioner("webhook:hasty", receiver.url, SECRET, timeout=0.3)
        lock = order("lock_one_way")
        try:
            assert hasty.apply(lock) == OrderOutcome("retry", "timeout")
            deadline = time.monotonic() + 10
            while receiver.stats()["lines"][LINE] != "one_way":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert hasty.apply(lock) == OrderOutcome("done", "already_applied", "one_way")
        finally:
            hasty.close()

    def test_the_receiver_down_is_a_retry_and_the_order_is_done_once_it_is_back(self, receiver, webhook):
        lock = order("lock_two_way")
        receiver.stop()

        assert webhook.apply(lock) == OrderOutcome("retry", "unreachable")

        receiver.start()  # the same port; its memory starts empty
        receiver.seed()
        assert webhook.apply(lock) == OrderOutcome("done", "", "two_way")
        assert webhook.access(LINE) == "two_way"
