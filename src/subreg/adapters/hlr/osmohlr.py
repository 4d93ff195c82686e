"""OsmoHLR as a `NetworkProvisioner`: a subscriber's CS and PS access switched over OsmoHLR's CTRL interface.

Every order names the line by its MSISDN; OsmoHLR finds the subscriber with the CTRL selector
``subscriber.by-msisdn-<MSISDN>`` and each order sets its two network access flags (NAM):

| order          | CTRL (both SETs, CS first)                     | `applied` |
|----------------|------------------------------------------------|-----------|
| `lock_two_way` | ``<selector>.cs-enabled 0``, ``.ps-enabled 0`` | `two_way` |
| `lock_one_way` | the same as `lock_two_way` (see below)         | `two_way` |
| `unlock`       | ``<selector>.cs-enabled 1``, ``.ps-enabled 1`` | `open`    |
| `terminate`    | the same as `lock_two_way`; the record is kept | `two_way` |

One-way locks: OsmoHLR has no operator-determined barring (no "barring of all outgoing calls"), only
the two NAM flags, so an outgoing-only lock cannot be expressed there. A one-way order is applied as a
two-way lock and the outcome says so (`applied="two_way"`): the line loses incoming calls and SMS too.

Termination bars and does not delete. OsmoHLR 1.5's CTRL can delete (``SET subscriber.delete <IMSI>``),
but a deletion is irreversible and takes the SIM's authentication keys (Ki/OPc) with it, which subreg
never had and could not put back: a termination ordered by mistake could not be undone by `unlock`.
Giving the number to a new SIM is provisioning, outside this port.

When a lock bites: CTRL's ``cs-enabled``/``ps-enabled`` write OsmoHLR's database only (OsmoHLR 1.5 to
1.9); unlike the VTY's ``update network-access-mode`` they send no Delete Subscriber Data to the
serving MSC/VLR or SGSN. A phone already attached keeps its service until it next registers
(location update or attach), which OsmoHLR then rejects ("nam_cs == false").

Outcomes: an answer ``SET_REPLY`` is `done` (setting a flag to the value it has is answered the same
way, so orders are idempotent); a socket error or a timeout is `retry` (the connection is dropped and
opened again by the next call); an ``ERROR`` is `refused`, with ``unknown_subscriber`` when OsmoHLR has
no subscriber with that number and another short code otherwise. An MSISDN that is not 1 to 15 digits
is refused as ``invalid_msisdn`` before anything is sent (it becomes part of a CTRL variable name).

The CTRL protocol (libosmoctrl): every message is IPA-framed, a 2-byte big-endian length, the byte
0xEE (the Osmocom extension stream), then the byte 0x00 (CTRL) and the text ``SET <id> <var> <value>``
or ``GET <id> <var>``; the answer is ``SET_REPLY <id> <var> <value>``, ``GET_REPLY <id> <var> <value>``
or ``ERROR <id> <reason>`` (``ERROR err <reason>`` when the request could not be parsed). No library
on PyPI speaks it (Osmocom's own ``osmopy`` CTRL client is not published there; the PyPI ``osmopy`` is
an unrelated project), and the framing is a few lines.

Privacy: the MSISDN travels only inside the CTRL request. Nothing here logs it or puts it in an
exception: logs carry the order id, action, outcome and short codes.
"""

from __future__ import annotations

import itertools
import re
import socket
import struct
import threading
from dataclasses import dataclass

from subreg.domain.common.errors import ExternalServiceError
from subreg.logging import get_logger
from subreg.services.enforcement.ports import LineAccess, NetworkOrder, OrderOutcome

__all__ = ["CTRL_PORT", "OsmoHlrProvisioner"]

CTRL_PORT = 4259  # OSMO_CTRL_PORT_HLR; OsmoHLR 1.5 cannot listen on another (`ctrl` / `bind` takes an address only)

_IPA_OSMO = 0xEE  # IPA stream identifier of the Osmocom extensions
_IPA_EXT_CTRL = 0x00  # the extension byte of CTRL within it
_HEADER = struct.Struct(">HB")
_DIGITS = re.compile(r"\d{1,15}")  # E.164: at most 15 digits (OsmoHLR refuses longer selectors too)
_IMSI = re.compile(r"\d{5,15}")

# OsmoHLR's ERROR texts (src/ctrl.c) and libosmoctrl's, as short codes. Matched case-insensitively on a
# fragment; "Subscriber Unknown in HLR" is the wording of releases before 1.0.
_ERROR_CODES = (
    ("no such subscriber", "unknown_subscriber"),
    ("subscriber doesn't exist", "unknown_subscriber"),
    ("subscriber unknown", "unknown_subscriber"),
    ("subscriber already exists", "subscriber_exists"),
    ("command not found", "unsupported_command"),
    ("read only attribute", "read_only"),
    ("value failed verification", "invalid_value"),
    ("invalid imsi", "invalid_imsi"),
    ("by-xxx-value", "invalid_selector"),
    ("set incomplete", "incomplete_command"),
    ("request type unknown", "unknown_request"),
)


class _CtrlError(Exception):
    """OsmoHLR answered ERROR; `code` is a short code (never the reason text, which may echo a value)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


class _ConnectionLost(ConnectionError):
    """The peer closed the connection, or sent something that is not CTRL framing."""


def _error_code(reason: str) -> str:
    lowered = reason.lower()
    return next((code for fragment, code in _ERROR_CODES if fragment in lowered), "ctrl_error")


def _frame(text: str) -> bytes:
    """One CTRL message in its IPA frame."""
    payload = bytes([_IPA_EXT_CTRL]) + text.encode("ascii")
    return _HEADER.pack(len(payload), _IPA_OSMO) + payload


def _read_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise _ConnectionLost("CTRL connection closed by OsmoHLR")
        chunks += chunk
    return bytes(chunks)


def _read_ctrl_text(sock: socket.socket) -> str:
    """The text of the next CTRL message (other IPA streams are skipped)."""
    while True:
        length, stream = _HEADER.unpack(_read_exact(sock, _HEADER.size))
        payload = _read_exact(sock, length)
        if stream == _IPA_OSMO and payload[:1] == bytes([_IPA_EXT_CTRL]):
            return payload[1:].decode("ascii", errors="replace")


@dataclass(frozen=True, slots=True)
class _Access:
    cs: bool
    ps: bool


class OsmoHlrProvisioner:
    """Applies network orders to OsmoHLR subscribers over CTRL (one persistent TCP connection, reopened
    when lost; calls from several threads take turns on it).

    Args:
        host, port: OsmoHLR's CTRL address (``ctrl`` / ``bind`` in osmo-hlr.cfg; the port is 4259).
        timeout: seconds to connect, and to wait for each answer.
    """

    name = "osmohlr"

    def __init__(self, host: str = "127.0.0.1", port: int = CTRL_PORT, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._log = get_logger(__name__)

    def __repr__(self) -> str:
        return f"OsmoHlrProvisioner(host={self.host!r}, port={self.port})"

    # -- the port ---------------------------------------------------------------------------------

    def apply(self, order: NetworkOrder) -> OrderOutcome:
        """Apply one order (the module docstring says what each action sets); OsmoHLR's failures are outcomes.

        `lock_one_way` is applied as a two-way lock (OsmoHLR cannot bar outgoing traffic alone) and
        answers ``applied="two_way"``; `terminate` bars both domains and keeps the subscriber.
        """
        outcome = self._apply(order)
        self._log.info(
            "osmohlr_order",
            order_id=order.id,
            action=order.action,
            attempts=order.attempts,
            status=outcome.status,
            detail=outcome.detail,
            applied=outcome.applied,
        )
        return outcome

    def access(self, msisdn: str) -> LineAccess:
        """What OsmoHLR says the line can do: both NAM flags on `open`, both off `two_way`, no subscriber `absent`.

        A subscriber with one domain on and the other off (a state subreg never sets) reads as `open`:
        the line is not locked. Raises `ExternalServiceError` when OsmoHLR cannot be asked (retryable)
        or answers an error other than an unknown subscriber (not retryable).
        """
        if not _DIGITS.fullmatch(msisdn):
            raise ValueError("an MSISDN is 1 to 15 digits")
        try:
            with self._lock:
                flags = self._flags(msisdn)
        except _CtrlError as exc:
            if exc.code == "unknown_subscriber":
                return "absent"
            raise ExternalServiceError(f"OsmoHLR refused the lookup: {exc.code}", retryable=False) from None
        except OSError as exc:
            raise ExternalServiceError(f"OsmoHLR CTRL unreachable: {_transport_code(exc)}", retryable=True) from None
        return "two_way" if not flags.cs and not flags.ps else "open"

    def close(self) -> None:
        """Close the CTRL connection (the next call opens a new one)."""
        with self._lock:
            self._drop()

    # -- provisioning (tests, the demo) -------------------------------------------------------------

    def create_subscriber(self, imsi: str, msisdn: str) -> None:
        """Create a subscriber with this IMSI (both domains on, no keys) and give it this MSISDN.

        An IMSI already there only gets the MSISDN. Raises `ExternalServiceError` (without the numbers).
        """
        if not _IMSI.fullmatch(imsi) or not _DIGITS.fullmatch(msisdn):
            raise ValueError("an IMSI is 5 to 15 digits and an MSISDN 1 to 15 digits")
        try:
            with self._lock:
                try:
                    self._set("subscriber.create", imsi)
                except _CtrlError as exc:
                    if exc.code != "subscriber_exists":
                        raise
                self._set(f"subscriber.by-imsi-{imsi}.msisdn", msisdn)
        except _CtrlError as exc:
            raise ExternalServiceError(f"OsmoHLR refused the subscriber: {exc.code}", retryable=False) from None
        except OSError as exc:
            raise ExternalServiceError(f"OsmoHLR CTRL unreachable: {_transport_code(exc)}", retryable=True) from None

    # -- internals --------------------------------------------------------------------------------

    def _apply(self, order: NetworkOrder) -> OrderOutcome:
        if not _DIGITS.fullmatch(order.msisdn):
            return OrderOutcome("refused", detail="invalid_msisdn")
        unlock = order.action == "unlock"
        value = "1" if unlock else "0"
        applied: LineAccess = "open" if unlock else "two_way"
        selector = f"subscriber.by-msisdn-{order.msisdn}"
        try:
            with self._lock:
                self._set(f"{selector}.cs-enabled", value)
                self._set(f"{selector}.ps-enabled", value)
        except _CtrlError as exc:
            return OrderOutcome("refused", detail=exc.code)
        except OSError as exc:
            return OrderOutcome("retry", detail=_transport_code(exc))
        return OrderOutcome("done", applied=applied)

    def _flags(self, msisdn: str) -> _Access:
        # `.info` answers tab-separated "key<TAB>value" lines (id, imsi, msisdn, nam_cs, nam_ps, ...).
        text = self._get(f"subscriber.by-msisdn-{msisdn}.info")
        fields = dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)
        if fields.get("nam_cs") not in ("0", "1") or fields.get("nam_ps") not in ("0", "1"):
            raise _CtrlError("unexpected_reply")
        return _Access(cs=fields["nam_cs"] == "1", ps=fields["nam_ps"] == "1")

    def _set(self, var: str, value: str) -> str:
        return self._command("SET", var, value)

    def _get(self, var: str) -> str:
        return self._command("GET", var)

    def _command(self, verb: str, var: str, value: str | None = None) -> str:
        """Send one command and return the value of its reply; the caller holds the lock.

        Raises `_CtrlError` for an ERROR answer and `OSError` for the transport. A connection that
        served earlier commands and turns out closed (OsmoHLR restarted since) is reopened once and the
        command sent again: every command here may be repeated (a flag set twice, a subscriber that
        already exists).
        """
        cid = str(next(self._ids))
        text = f"{verb} {cid} {var}" if value is None else f"{verb} {cid} {var} {value}"
        reused = self._sock is not None
        try:
            return self._exchange(text, verb, cid)
        except ConnectionError:
            if not reused:
                raise
        return self._exchange(text, verb, cid)

    def _exchange(self, text: str, verb: str, cid: str) -> str:
        sock = self._sock or self._connect()
        try:
            sock.sendall(_frame(text))
            return self._reply(sock, verb, cid)
        except OSError:  # the connection's state is unknown (a late answer could still come): start afresh
            self._drop()
            raise

    def _reply(self, sock: socket.socket, verb: str, cid: str) -> str:
        while True:
            kind, _, rest = _read_ctrl_text(sock).partition(" ")
            reply_id, _, rest = rest.partition(" ")
            if kind == "ERROR" and reply_id in (cid, "err"):
                raise _CtrlError(_error_code(rest))
            if kind == f"{verb}_REPLY" and reply_id == cid:
                _var, _, result = rest.partition(" ")
                return result
            # A TRAP, or the answer to an earlier command given up on: not ours.

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        return sock

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


def _transport_code(exc: OSError) -> str:
    """A short code for a transport failure (its text could hold an address, never a number, but is not needed)."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ConnectionError):
        return "connection_lost"
    return "network_error"
