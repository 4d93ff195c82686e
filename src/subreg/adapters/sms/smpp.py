"""SMPP 3.4 ESME on smpplib: the `SmsTransport` that submits MT, and the listener that hands MO and receipts over.

One `SmppSession` per bind (transceiver): a reader thread owns the socket's input (responses, deliver_sm,
enquire_link, unbind) and reconnects with exponential backoff and jitter; callers of `submit` write
submit_sm under a lock, limited by a send window (outstanding submit_sm awaiting their resp) and a token
bucket (submits per second), then wait for the resp that the reader thread hands them. `SmppPool` spreads
messages over the binds; `SmppTransport` turns an `OutboundMessage` into PDUs and answers `SubmitOutcome`.

Delivery guarantees (what the outbox above relies on):
- a submit whose resp was not read (timeout, connection lost after the write) answers `retry`: the SMSC may
  have accepted it, so the outbox's resubmission can reach the handset twice: MT is at-least-once;
- a part refused with a transient status (throttled, queue full, system error) or never written answers
  `retry` without a duplicate of that part; but the parts of a long message before it were accepted, so a
  retried long message can repeat its first parts;
- deliver_sm is answered only after the callback returned; if it raised, the answer is ESME_RX_T_APPN
  (temporary) so the SMSC delivers it again: MO and receipts are at-least-once, never acknowledged and lost
  (parts of a concatenated MO are acknowledged as they arrive and kept in memory until the whole MO was
  handed over: a crash of this process loses the parts of an incomplete MO);
- SMPP gives an MO no id: `gateway_id` is a digest of sender, recipient, coding and body plus the time it was
  first seen, kept for `mo_dedupe_s`: a redelivery within that time gets the same id (the inbound store
  answers it once); an identical MO from the same sender within that time is taken for a redelivery.

Never logged: message text, numbers. Logged: bind names, codes, counts.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smpplib import client as smpp_client
from smpplib import consts, smpp
from smpplib import exceptions as smpp_errors

from subreg.adapters.sms._smpp_codec import (
    MoJoiner,
    decode_text,
    encode_gsm7,
    mo_fingerprint,
    parse_receipt,
    source_ton_npi,
    split_udh,
)
from subreg.logging import get_logger
from subreg.services.sms.ports import InboundMessage, OutboundMessage, Receipt, SubmitOutcome

__all__ = ["SmppBind", "SmppConfig", "SmppPool", "SmppSession", "SmppTransport", "parse_bind"]

log = get_logger("subreg.sms.smpp")

# smpplib logs every PDU in hex at DEBUG (texts and numbers): its loggers stay at INFO whatever the root says.
_WIRE_LOGGER = "subreg.sms.smpp.wire"

ESME_ROK = 0x00
ESME_RX_T_APPN = 0x64  # "ESME receiver temporary app error": the SMSC retries the deliver_sm

# Transient submit_sm_resp statuses: submit again later (the rest are permanent refusals).
_TRANSIENT = {
    0x08: "ESME_RSYSERR",
    0x14: "ESME_RMSGQFUL",
    0x58: "ESME_RTHROTTLED",
    0x45: "ESME_RSUBMITFAIL",
    0x64: "ESME_RX_T_APPN",
    0x04: "ESME_RINVBNDSTS",  # the bind went away under us: rebinding fixes it
}
_PERMANENT_NAMES = {
    0x01: "ESME_RINVMSGLEN",
    0x02: "ESME_RINVCMDLEN",
    0x03: "ESME_RINVCMDID",
    0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR",
    0x0C: "ESME_RINVMSGID",
    0x33: "ESME_RINVNUMDESTS",
    0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI",
    0x50: "ESME_RINVDSTTON",
    0x51: "ESME_RINVDSTNPI",
    0x61: "ESME_RINVSCHED",
    0x62: "ESME_RINVEXPIRY",
    0x66: "ESME_RX_R_APPN",
}


def status_name(status: int) -> str:
    """A stable code for an SMPP command_status."""
    return _TRANSIENT.get(status) or _PERMANENT_NAMES.get(status) or f"ESME_0x{status:02X}"


@dataclass(frozen=True, slots=True)
class SmppBind:
    """One bind to the SMSC (a transceiver session)."""

    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    name: str = ""  # for logs and `InboundMessage.transport` ("smpp:<name>"); default system_id@host:port

    @property
    def label(self) -> str:
        return self.name or f"{self.system_id}@{self.host}:{self.port}"


def parse_bind(spec: str, *, name: str = "") -> SmppBind:
    """`host:port:system_id:password[:system_type]` (the proposed `smpp_binds` setting's item)."""
    host, port, system_id, password, *rest = spec.split(":")
    return SmppBind(host, int(port), system_id, password, rest[0] if rest else "", name)


@dataclass(frozen=True, slots=True)
class SmppConfig:
    """What the SMPP transport needs; `bootstrap` builds it from settings (see docs/smpp.md)."""

    binds: tuple[SmppBind, ...]
    window: int = 10  # outstanding submit_sm per bind awaiting their resp
    throughput: float = 50.0  # submit_sm per second per bind (token bucket; 0 = unlimited)
    enquire_link_s: float = 30.0  # idle time before an enquire_link
    response_timeout_s: float = 10.0  # for submit_sm_resp, bind_resp, enquire_link_resp
    connect_timeout_s: float = 5.0
    bind_wait_s: float = 5.0  # how long a submit waits for a bound session before answering retry
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    mo_dedupe_s: float = 600.0  # a redelivered MO within this time gets the first one's gateway_id
    mo_parts_max_age_s: float = 600.0  # parts of an incomplete concatenated MO are dropped after this
    registered_delivery: int = 1


# `on_mo` may return a Future: the deliver_sm is then acknowledged when it is done (ESME_ROK) or failed
# (a temporary error, so the SMSC delivers it again), and the reader goes on reading meanwhile, so that many
# MO of one bind can share a group commit. Returning None acknowledges at once (the call has done the work).
OnMo = Callable[[InboundMessage], "Future[Any] | None"]
OnReceipts = Callable[[list[Receipt]], None]


class _TokenBucket:
    """`rate` tokens per second, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self, deadline: float) -> bool:
        if self.rate <= 0:
            return True
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return True
                wait = (1 - self.tokens) / self.rate
            if time.monotonic() + wait > deadline:
                return False
            time.sleep(wait)


class _Waiter:
    __slots__ = ("event", "message_id", "status")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.status: int | str | None = None  # an SMPP status, or a code when the connection failed
        self.message_id: str | None = None


class _Seq:
    """Sequence numbers for smpplib's PDUs, shared by the submitting threads."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.sequence = 0

    def next_sequence(self) -> int:
        with self._lock:
            self.sequence = next(self._counter) % 0x7FFFFFFF or next(self._counter)
            return self.sequence


class SmppSession:
    """One transceiver bind: connects, binds, keeps it alive, reconnects; submits; listens."""

    def __init__(
        self, bind: SmppBind, config: SmppConfig, *, on_deliver: Callable[[SmppSession, Any], int | Future[int]]
    ) -> None:
        self.bind = bind
        self.config = config
        self._on_deliver = on_deliver
        self._window = threading.BoundedSemaphore(config.window)
        self._bucket = _TokenBucket(config.throughput)
        self._send_lock = threading.Lock()
        self._pending: dict[int, _Waiter] = {}
        self._pending_lock = threading.Lock()
        self._bound = threading.Event()
        self._stop = threading.Event()
        self._client: smpp_client.Client | None = None
        self._thread: threading.Thread | None = None
        self._last_sent = time.monotonic()
        self._enquire_sent_at: float | None = None
        self.outstanding = 0
        self.connects = 0  # successful binds so far (tests and metrics)
        logging.getLogger(_WIRE_LOGGER).setLevel(logging.INFO)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"smpp-{self.bind.label}", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        client = self._client
        if client is not None and self._bound.is_set():
            try:
                with self._send_lock:
                    client.send_pdu(smpp.make_pdu("unbind", client=client))
            except (OSError, smpp_errors.ConnectionError, smpp_errors.PDUError):
                pass
        if self._thread is not None:
            self._thread.join(timeout)
        self._drop_connection("CLOSED")

    @property
    def bound(self) -> bool:
        return self._bound.is_set()

    def wait_bound(self, timeout: float) -> bool:
        return self._bound.wait(timeout)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                self._connect()
                attempt = 0
                self._listen()
            except (OSError, smpp_errors.ConnectionError, smpp_errors.PDUError, _Unbound) as exc:
                log.warning("smpp.connection_lost", bind=self.bind.label, code=_error_code(exc))
            except Exception as exc:  # the listener must survive anything and say so
                log.error("smpp.listener_error", bind=self.bind.label, code=type(exc).__name__)
            self._drop_connection("CONNECTION_LOST")
            if self._stop.is_set():
                break
            delay = min(self.config.reconnect_max_s, self.config.reconnect_min_s * 2**attempt)
            delay *= random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not cryptography)
            attempt = min(attempt + 1, 16)
            self._stop.wait(delay)

    def _connect(self) -> None:
        client = smpp_client.Client(
            self.bind.host,
            self.bind.port,
            timeout=self.config.connect_timeout_s,
            sequence_generator=_Seq(),
            logger_name=_WIRE_LOGGER,
            allow_unknown_opt_params=True,
        )
        self._client = client
        client.connect()
        client._socket.settimeout(self.config.response_timeout_s)
        client.bind_transceiver(
            system_id=self.bind.system_id,
            password=self.bind.password,
            system_type=self.bind.system_type or None,
            interface_version=0x34,
        )
        self._last_sent = time.monotonic()
        self._enquire_sent_at = None
        self.connects += 1
        self._bound.set()
        log.info("smpp.bound", bind=self.bind.label, connects=self.connects)

    def _drop_connection(self, code: str) -> None:
        self._bound.clear()
        client, self._client = self._client, None
        if client is not None and client._socket is not None:
            with contextlib.suppress(OSError):
                client._socket.close()
            client._socket = None
            client.state = consts.SMPP_CLIENT_STATE_CLOSED
        with self._pending_lock:
            waiters, self._pending = self._pending, {}
        for waiter in waiters.values():
            waiter.status = code
            waiter.event.set()

    # -- the reader ---------------------------------------------------------------------------------------
    def _listen(self) -> None:
        client = self._client
        assert client is not None
        while not self._stop.is_set():
            sock = client._socket
            if sock is None:
                raise smpp_errors.ConnectionError("socket closed")
            readable, _, _ = select.select([sock], [], [], 0.25)
            now = time.monotonic()
            if not readable:
                self._keepalive(client, now)
                continue
            pdu = client.read_pdu()
            self._dispatch(client, pdu)
        raise _Unbound("closing")

    def _keepalive(self, client: smpp_client.Client, now: float) -> None:
        if self._enquire_sent_at is not None:
            if now - self._enquire_sent_at > self.config.response_timeout_s:
                raise smpp_errors.ConnectionError("ENQUIRE_LINK_TIMEOUT")
            return
        if now - self._last_sent >= self.config.enquire_link_s:
            self._send(client, smpp.make_pdu("enquire_link", client=client))
            self._enquire_sent_at = now

    def _dispatch(self, client: smpp_client.Client, pdu: Any) -> None:
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            with self._pending_lock:
                waiter = self._pending.pop(pdu.sequence, None)
            if waiter is not None:
                waiter.status = int(pdu.status)
                mid = getattr(pdu, "message_id", None)
                waiter.message_id = mid.decode() if isinstance(mid, bytes) else mid
                waiter.event.set()
        elif command == "deliver_sm":
            status = self._on_deliver(self, pdu)
            if isinstance(status, Future):
                status.add_done_callback(lambda done: self._respond_later(client, pdu, done))
            else:
                self._respond(client, "deliver_sm_resp", pdu, status=status)
        elif command == "enquire_link":
            self._respond(client, "enquire_link_resp", pdu)
        elif command == "enquire_link_resp":
            self._enquire_sent_at = None
        elif command == "unbind":
            self._respond(client, "unbind_resp", pdu)
            raise _Unbound("SMSC_UNBIND")
        elif command == "unbind_resp":
            raise _Unbound("UNBIND_RESP")
        else:
            log.info("smpp.unhandled_pdu", bind=self.bind.label, command=command)

    def _respond_later(self, client: smpp_client.Client, req: Any, done: Future[int]) -> None:
        # Called by whoever finished the work (the group commit's thread); the bind may be gone by then, in
        # which case the SMSC delivers the MO again and it is recognised as a redelivery.
        try:
            self._respond(client, "deliver_sm_resp", req, status=done.result())
        except Exception as exc:
            log.warning("smpp.late_ack_failed", bind=self.bind.label, code=type(exc).__name__)

    def _respond(self, client: smpp_client.Client, command: str, req: Any, status: int = ESME_ROK) -> None:
        resp = smpp.make_pdu(command, client=client, status=status)
        resp.sequence = req.sequence
        self._send(client, resp)

    def _send(self, client: smpp_client.Client, pdu: Any) -> None:
        with self._send_lock:
            client.send_pdu(pdu)
            self._last_sent = time.monotonic()

    # -- submitting ---------------------------------------------------------------------------------------
    def submit_sm(self, params: dict[str, Any]) -> tuple[int | str, str | None]:
        """Submit one PDU; (SMPP status or a failure code, message_id). Blocks until answered or timed out."""
        deadline = time.monotonic() + self.config.response_timeout_s
        if not self._bound.wait(self.config.bind_wait_s):
            return "NOT_BOUND", None
        if not self._window.acquire(timeout=self.config.response_timeout_s):
            return "WINDOW_FULL", None
        self.outstanding += 1
        try:
            if not self._bucket.take(deadline):
                return "THROUGHPUT_LIMIT", None
            client = self._client
            if client is None or not self._bound.is_set():
                return "NOT_BOUND", None
            waiter = _Waiter()
            try:
                with self._send_lock:
                    pdu = smpp.make_pdu("submit_sm", client=client, **params)
                    with self._pending_lock:
                        self._pending[pdu.sequence] = waiter
                    client.send_pdu(pdu)
                    self._last_sent = time.monotonic()
            except (OSError, smpp_errors.ConnectionError, smpp_errors.PDUError):
                with self._pending_lock:
                    self._pending.pop(pdu.sequence, None)
                return "CONNECTION_LOST", None
            if not waiter.event.wait(max(0.0, deadline - time.monotonic()) + 0.05):
                with self._pending_lock:
                    self._pending.pop(pdu.sequence, None)
                return "TIMEOUT", None
            assert waiter.status is not None
            return waiter.status, waiter.message_id
        finally:
            self.outstanding -= 1
            self._window.release()


class _Unbound(Exception):
    """The session ended by an unbind (ours or the SMSC's)."""


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, _Unbound | smpp_errors.ConnectionError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0].split(" ")[0].upper() if exc.args[0].isupper() else type(exc).__name__
    if isinstance(exc, smpp_errors.PDUError) and len(exc.args) > 1:
        return status_name(int(exc.args[1]))
    return type(exc).__name__


class SmppPool:
    """Several sessions; a message goes to the bound session with the fewest outstanding submits."""

    def __init__(self, sessions: Sequence[SmppSession], *, bind_wait_s: float) -> None:
        self.sessions = list(sessions)
        self.bind_wait_s = bind_wait_s
        self._rr = itertools.count()

    def pick(self) -> SmppSession | None:
        deadline = time.monotonic() + self.bind_wait_s
        while True:
            bound = [s for s in self.sessions if s.bound]
            if bound:
                start = next(self._rr) % len(bound)
                rotated = bound[start:] + bound[:start]
                return min(rotated, key=lambda s: s.outstanding)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def start(self) -> None:
        for session in self.sessions:
            session.start()

    def close(self) -> None:
        for session in self.sessions:
            session.close()


class SmppTransport:
    """`SmsTransport` over SMPP 3.4, plus the listener calling `on_mo` and `on_receipts` from its threads."""

    name = "smpp"

    def __init__(
        self,
        config: SmppConfig,
        *,
        on_mo: OnMo,
        on_receipts: OnReceipts,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if not config.binds:
            raise ValueError("SMPP transport needs at least one bind")
        self.config = config
        self._on_mo = on_mo
        self._on_receipts = on_receipts
        self._now = now or (lambda: datetime.now(UTC))
        self._joiner = MoJoiner(max_age_s=config.mo_parts_max_age_s)
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()  # fingerprint -> (first seen, gateway_id)
        self._mo_lock = threading.Lock()
        self.pool = SmppPool(
            [SmppSession(b, config, on_deliver=self._deliver) for b in config.binds], bind_wait_s=config.bind_wait_s
        )
        self._started = False

    def start(self) -> None:
        """Connect every bind (in the background) and start listening."""
        if not self._started:
            self._started = True
            self.pool.start()

    def wait_bound(self, timeout: float) -> bool:
        """True when every bind is bound within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        return all(s.wait_bound(max(0.0, deadline - time.monotonic())) for s in self.pool.sessions)

    def close(self) -> None:
        """Unbind every session and stop the listeners."""
        self.pool.close()

    def __enter__(self) -> SmppTransport:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- MT -----------------------------------------------------------------------------------------------
    def submit(self, message: OutboundMessage) -> SubmitOutcome:
        """Submit every part on one bind; accepted only when every part was."""
        self.start()
        try:
            pdus = self._pdus(message)
        except UnicodeEncodeError:
            log.warning("smpp.submit_rejected", outbox_id=message.id, code="ENCODING")
            return SubmitOutcome("rejected", error="ENCODING")
        session = self.pool.pick()
        if session is None:
            return SubmitOutcome("retry", error="NOT_BOUND")
        ids: list[str] = []
        for params in pdus:
            status, message_id = session.submit_sm(params)
            if status == ESME_ROK:
                ids.append(message_id or "")
                continue
            code = status if isinstance(status, str) else status_name(status)
            transient = isinstance(status, str) or status in _TRANSIENT
            log.info(
                "smpp.submit_failed",
                bind=session.bind.label,
                outbox_id=message.id,
                code=code,
                part=len(ids) + 1,
                parts=len(pdus),
            )
            return SubmitOutcome("retry" if transient else "rejected", tuple(ids), error=code)
        return SubmitOutcome("accepted", tuple(ids))

    def _pdus(self, message: OutboundMessage) -> list[dict[str, Any]]:
        src_ton, src_npi = source_ton_npi(message.sender)
        coding = 8 if message.encoding == "ucs2" else 0
        out = []
        for part in message.parts:
            body = part.text.encode("utf-16-be") if coding == 8 else encode_gsm7(part.text)
            out.append(
                {
                    "source_addr_ton": src_ton,
                    "source_addr_npi": src_npi,
                    "source_addr": message.sender,
                    "dest_addr_ton": consts.SMPP_TON_INTL,
                    "dest_addr_npi": consts.SMPP_NPI_ISDN,
                    "destination_addr": message.to.lstrip("+"),
                    "esm_class": consts.SMPP_GSMFEAT_UDHI if part.udh else consts.SMPP_MSGMODE_DEFAULT,
                    "data_coding": coding,
                    "registered_delivery": self.config.registered_delivery,
                    "short_message": part.udh + body,
                }
            )
        return out

    # -- deliver_sm ----------------------------------------------------------------------------------------
    def _deliver(self, session: SmppSession, pdu: Any) -> int | Future[int]:
        """Handle one deliver_sm; the status its deliver_sm_resp carries (or will carry, when done)."""
        esm_class = int(pdu.esm_class or 0)
        try:
            if esm_class & 0x3C in (0x04, 0x08, 0x20):
                return self._receipt(session, pdu)
            return self._mo(session, pdu, esm_class)
        except Exception as exc:
            log.error("smpp.callback_failed", bind=session.bind.label, code=type(exc).__name__)
            return ESME_RX_T_APPN

    def _receipt(self, session: SmppSession, pdu: Any) -> int:
        rid = getattr(pdu, "receipted_message_id", None)
        if isinstance(rid, bytes):
            rid = rid.decode("latin-1")
        state = getattr(pdu, "message_state", None)
        parsed = parse_receipt(pdu.short_message, receipted_message_id=rid or None, message_state=state)
        if parsed is None:
            log.warning("smpp.receipt_unreadable", bind=session.bind.label, code="NO_MESSAGE_ID")
            return ESME_ROK  # no id: nothing could ever match it, asking again would not help
        receipt = Receipt(self.name, parsed.message_id, parsed.state, self._now(), parsed.error)  # type: ignore[arg-type]
        self._on_receipts([receipt])
        return ESME_ROK

    def _mo(self, session: SmppSession, pdu: Any, esm_class: int) -> int | Future[int]:
        source = _text(pdu.source_addr)
        destination = _text(pdu.destination_addr)
        data_coding = int(pdu.data_coding or 0)
        short_message = pdu.short_message or b""
        payload_tlv = getattr(pdu, "message_payload", None)
        if not short_message and payload_tlv:
            short_message = payload_tlv if isinstance(payload_tlv, bytes) else payload_tlv.encode("latin-1")
        _udh, payload, concat = split_udh(short_message, esm_class)
        now = self._now()
        with self._mo_lock:
            self._joiner.expire(now)
            if concat is not None and concat.total > 1:
                joined = self._joiner.add(source, destination, concat, payload, data_coding, now)
                if joined is None:
                    return ESME_ROK  # a part, kept until the rest arrives
                payload, data_coding = joined
            gateway_id = self._gateway_id(mo_fingerprint(source, destination, data_coding, payload))
        text, coding = decode_text(payload, data_coding)
        message = InboundMessage(
            sender=source,
            recipient=destination,
            text=text,
            transport=f"smpp:{session.bind.label}",
            received_at=now,
            gateway_id=gateway_id,
            coding=coding,
        )
        pending = self._on_mo(message)
        if pending is None:
            self._joined(source, destination, concat)
            return ESME_ROK
        status: Future[int] = Future()

        def settle(done: Future[Any]) -> None:
            if done.exception() is None:
                self._joined(source, destination, concat)
                status.set_result(ESME_ROK)
            else:
                log.error("smpp.callback_failed", bind=session.bind.label, code=type(done.exception()).__name__)
                status.set_result(ESME_RX_T_APPN)

        pending.add_done_callback(settle)
        return status

    def _joined(self, source: str, destination: str, concat: Any) -> None:
        # The parts of a concatenated MO are forgotten once the whole message was handed over.
        if concat is not None and concat.total > 1:
            with self._mo_lock:
                self._joiner.done(source, destination, concat)

    def _gateway_id(self, fingerprint: str) -> str:
        mono = time.monotonic()
        while self._seen:
            key, (seen_at, _) = next(iter(self._seen.items()))
            if mono - seen_at <= self.config.mo_dedupe_s:
                break
            del self._seen[key]
        if fingerprint in self._seen:
            return self._seen[fingerprint][1]
        gateway_id = f"{fingerprint}-{int(self._now().timestamp())}"
        self._seen[fingerprint] = (mono, gateway_id)
        return gateway_id


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else value
