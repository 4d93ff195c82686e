"""A signed HTTP webhook as a `NetworkProvisioner`, and the helpers a receiver checks its requests with.

Each order is one ``POST <url>/orders`` with a JSON body (`order_body`); `access` is one
``GET <url>/lines/<msisdn>``. Both are signed with HMAC-SHA256 under a secret shared with the receiver:

    X-Subreg-Timestamp: <unix seconds>
    X-Subreg-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + <body bytes>)>
    Idempotency-Key: <order key>                         (orders only)

A GET has no body: its signature covers ``"<timestamp>." + <request target>`` (the path as sent, e.g.
``/gw/lines/84912345678`` when the configured URL is ``https://host/gw``). A receiver refuses a timestamp
more than `REPLAY_WINDOW` seconds away from its clock (`verify_signature`) and a signature it has already
accepted within that window (`ReplayCache`); every order body carries a random `nonce`, so a retry of the
same order is a new request with its own signature and is never mistaken for a replay.

The body carries 3GPP operator-determined barring (ODB) so that an HSS-side receiver can copy it:
`subscriber_status` is TS 29.272 §7.3.29 Subscriber-Status, which TS 23.008 §2.8.1 defines as the flag
"whether the subscriber is subject to operator determined barring": every lock is therefore
OPERATOR_DETERMINED_BARRING, and `odb` says which categories are barred (TS 23.008 §2.8.2), with
`odb.s6a_bitmask` the TS 29.272 §7.3.30 Operator-Determined-Barring value of those categories (bit 0: all
packet-oriented services, bit 3: all outgoing calls; incoming barring has no bit there). Emergency calls
are never barred (ODB does not apply to them, TS 23.015, scope). docs/network.md maps this to an Open5GS
subscriber document.

Outcomes: 2xx is `done` (what the answer's `access` says, else what was ordered); 409 naming the same
order as already applied is `done`; 5xx, 429, timeouts and connection failures are `retry` (the worker
retries with backoff: this adapter never loops); any other answer is `refused` with ``http_<code>``
(404: ``unknown_subscriber``).

Privacy: the body and the GET path carry the MSISDN, so the URL must be HTTPS unless it is loopback (or
`allow_plain_http` says otherwise on purpose). Nothing here logs a number: only order ids, actions,
HTTP statuses and our codes; exception texts (which can hold the URL, and so the number) are never
logged, only their class names.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, get_args

import httpx

from subreg.domain.common.errors import ExternalServiceError, FieldValueError
from subreg.logging import get_logger
from subreg.services.enforcement.ports import LineAccess, NetworkOrder, OrderAction, OrderOutcome

__all__ = [
    "IDEMPOTENCY_HEADER",
    "REPLAY_WINDOW",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ReplayCache",
    "WebhookProvisioner",
    "odb_of",
    "order_body",
    "sign",
    "verify_signature",
]

TIMESTAMP_HEADER: Final = "X-Subreg-Timestamp"
SIGNATURE_HEADER: Final = "X-Subreg-Signature"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
# Seconds a signed request stays acceptable either side of the receiver's clock (clock skew + transit).
REPLAY_WINDOW: Final = 300

SERVICE_GRANTED: Final = "SERVICE_GRANTED"
OPERATOR_DETERMINED_BARRING: Final = "OPERATOR_DETERMINED_BARRING"
# TS 29.272 §7.3.30 Operator-Determined-Barring bits (bit 0 is the least significant, §7.3.1).
S6A_ALL_PACKET_ORIENTED_SERVICES_BARRED: Final = 1 << 0
S6A_ALL_OUTGOING_CALLS_BARRED: Final = 1 << 3

_SIGNATURE_PREFIX = "sha256="
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_MSISDN = re.compile(r"[0-9]{6,15}")  # E.164 digits without '+': it goes into a URL path, so digits only
_ACCESS_VALUES: frozenset[str] = frozenset(get_args(LineAccess))
_AS_ORDERED: dict[OrderAction, LineAccess] = {
    "lock_one_way": "one_way",
    "lock_two_way": "two_way",
    "unlock": "open",
    # A terminated line stays barred on the element until its number is issued again (as a new line, which
    # an unlock opens); a receiver that removes the subscriber instead answers `absent`.
    "terminate": "two_way",
}
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def sign(secret: bytes, timestamp: str | int, payload: bytes) -> str:
    """The `X-Subreg-Signature` value: ``sha256=`` + hex HMAC-SHA256 over ``"<timestamp>." + payload``."""
    message = str(timestamp).encode("ascii") + b"." + payload
    return _SIGNATURE_PREFIX + hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes, timestamp: str | int, body: bytes, signature: str, now: float, window: int = REPLAY_WINDOW
) -> bool:
    """Whether `signature` signs `body` (a GET: its request target) at `timestamp`, within `window` s of `now`.

    Never raises on malformed input: a timestamp that is not plain digits, a signature of another form, or
    a timestamp further than `window` seconds from `now` (either way) is simply False. The digests are
    compared in constant time.
    """
    stamp = str(timestamp)
    if not _TIMESTAMP.fullmatch(stamp) or abs(now - int(stamp)) > window:
        return False
    if not signature.isascii():
        return False
    return hmac.compare_digest(sign(secret, stamp, body).encode("ascii"), signature.encode("ascii"))


class ReplayCache:
    """Signatures a receiver has accepted, kept until their timestamp leaves the replay window.

    A request whose signature is already here is a replay (the nonce in every order body makes two
    genuine requests differ). Entries older than the window are forgotten: `verify_signature` refuses
    those timestamps anyway. Thread-safe, for a threading HTTP server.
    """

    def __init__(self, window: int = REPLAY_WINDOW) -> None:
        """An empty cache for signatures checked with the same `window` as `verify_signature`."""
        self.window = window
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def first_use(self, signature: str, timestamp: str | int, now: float) -> bool:
        """Remember `signature` and say True, or say False if it was already used within the window.

        Call it after `verify_signature` accepted the request (the timestamp is then plain digits).
        """
        with self._lock:
            self._forget_expired(now)
            if signature in self._expiry:
                return False
            expires = int(timestamp) + self.window
            self._expiry[signature] = expires
            heapq.heappush(self._heap, (expires, signature))
            return True

    def __len__(self) -> int:
        """How many signatures are remembered."""
        return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            _, signature = heapq.heappop(self._heap)
            self._expiry.pop(signature, None)


def odb_of(action: OrderAction) -> dict[str, Any]:
    """The `odb` object of an order: which ODB categories are barred, and their TS 29.272 bitmask."""
    outgoing = action != "unlock"
    everything = action in ("lock_two_way", "terminate")
    bitmask = (S6A_ALL_OUTGOING_CALLS_BARRED if outgoing else 0) | (
        S6A_ALL_PACKET_ORIENTED_SERVICES_BARRED if everything else 0
    )
    return {
        # One-way keeps incoming calls and SMS and the Internet (docs/domain-facts.md §2, biometric row); emergency
        # calls are kept by every lock, ODB never applies to them.
        "all_outgoing_calls": outgoing,
        "outgoing_sms": outgoing,
        "all_incoming_calls": everything,
        "incoming_sms": everything,
        "all_packet_services": everything,
        "s6a_bitmask": bitmask,
    }


def order_body(order: NetworkOrder, *, nonce: str) -> dict[str, Any]:
    """The JSON object POSTed for `order` (see the module docstring and docs/network.md)."""
    return {
        "order_id": order.key,
        "msisdn": order.msisdn,
        "action": order.action,
        "subscriber_status": SERVICE_GRANTED if order.action == "unlock" else OPERATOR_DETERMINED_BARRING,
        "odb": odb_of(order.action),
        "terminated": order.action == "terminate",
        "nonce": nonce,
    }


class WebhookProvisioner:
    """Sends orders to a provisioning gateway over signed HTTPS (see the module docstring)."""

    def __init__(
        self,
        name: str,
        url: str,
        secret: bytes,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        *,
        clock: Callable[[], float] = time.time,
        allow_plain_http: bool = False,
    ) -> None:
        """Send to the gateway at `url`, signing with `secret`.

        Args:
            name: this element's name in logs and pages, e.g. ``"webhook:hss-gw"``.
            url: the gateway's base URL; orders go to ``<url>/orders``, reads to ``<url>/lines/<msisdn>``.
            secret: the HMAC key shared with the gateway (at least 16 bytes).
            timeout: seconds for connecting and for each read of the answer.
            client: an `httpx.Client` to send with (tests: on `httpx.MockTransport`); `close` leaves it open.
            clock: Unix time for the timestamps (tests make it skewed).
            allow_plain_http: send over ``http://`` to a host other than loopback (the MSISDN in clear).
        """
        base = httpx.URL(url.rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError("webhook url must be an absolute http(s) URL")
        if base.scheme == "http" and base.host not in _LOOPBACK_HOSTS and not allow_plain_http:
            # The body and the GET path carry the MSISDN: only loopback may see them unencrypted by default.
            raise ValueError("webhook url must be https (or loopback, or allow_plain_http=True)")
        if len(secret) < 16:
            raise ValueError("webhook secret must be at least 16 bytes")
        self.name = name
        self._base = str(base)
        self._secret = secret
        self._timeout = httpx.Timeout(timeout)
        self._clock = clock
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=self._timeout)
        self._log = get_logger("subreg.hlr.webhook")

    def apply(self, order: NetworkOrder) -> OrderOutcome:
        """POST the order; its outcome from the answer (never raises for the gateway's own failures)."""
        if not _MSISDN.fullmatch(order.msisdn):
            return self._logged(order, OrderOutcome("refused", "invalid_msisdn"), None, None)
        body = json.dumps(order_body(order, nonce=secrets.token_hex(16)), separators=(",", ":")).encode()
        request = self._signed("POST", "/orders", body, idempotency_key=order.key)
        started = time.perf_counter()
        try:
            response = self._client.send(request)
        except httpx.TimeoutException as exc:
            # The order may have reached the gateway: the retry carries the same Idempotency-Key.
            return self._logged(order, OrderOutcome("retry", "timeout"), None, started, error=exc)
        except httpx.TransportError as exc:
            return self._logged(order, OrderOutcome("retry", "unreachable"), None, started, error=exc)
        return self._logged(order, _outcome_of(order, response), response.status_code, started)

    def access(self, msisdn: str) -> LineAccess:
        """GET what the gateway says the line can do now (404 is `absent`).

        Raises `ExternalServiceError` (retryable for timeouts, connection failures, 429 and 5xx) when the
        gateway gives no usable answer, and `FieldValueError` for a number that is not E.164 digits.
        """
        if not _MSISDN.fullmatch(msisdn):
            raise FieldValueError("invalid_msisdn", "msisdn")
        request = self._signed("GET", f"/lines/{msisdn}", None)
        try:
            response = self._client.send(request)
        except httpx.TimeoutException as exc:
            raise ExternalServiceError("webhook_timeout", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ExternalServiceError("webhook_unreachable", retryable=True) from exc
        code = response.status_code
        if code == 404:
            return "absent"
        if not 200 <= code < 300:
            raise ExternalServiceError(f"webhook_http_{code}", retryable=_transient(code))
        access = _json_object(response).get("access")
        if access not in _ACCESS_VALUES:
            raise ExternalServiceError("webhook_bad_answer", retryable=False)
        return access  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the HTTP client's connections (a client passed in is its owner's to close)."""
        if self._own_client:
            self._client.close()

    def _signed(self, method: str, path: str, body: bytes | None, idempotency_key: str | None = None) -> httpx.Request:
        url = httpx.URL(self._base + path)
        timestamp = str(int(self._clock()))
        # A GET is signed over its request target: the path exactly as it goes on the request line.
        payload = body if body is not None else url.raw_path
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, payload),
            "Accept": "application/json",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        return self._client.build_request(method, url, content=body, headers=headers, timeout=self._timeout)

    def _logged(
        self,
        order: NetworkOrder,
        outcome: OrderOutcome,
        http_status: int | None,
        started: float | None,
        error: Exception | None = None,
    ) -> OrderOutcome:
        # Ids, action, status and codes only: never the number, never an exception's text (it holds the URL).
        self._log.info(
            "network_order_sent",
            element=self.name,
            order_id=order.id,
            action=order.action,
            attempts=order.attempts,
            status=outcome.status,
            detail=outcome.detail,
            http_status=http_status,
            error=type(error).__name__ if error is not None else None,
            ms=None if started is None else round((time.perf_counter() - started) * 1000, 1),
        )
        return outcome


def _transient(code: int) -> bool:
    return code >= 500 or code == 429


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        value = json.loads(response.content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _outcome_of(order: NetworkOrder, response: httpx.Response) -> OrderOutcome:
    """The outcome of the gateway's answer to `order`."""
    code = response.status_code
    if 200 <= code < 300:
        return _done(order, _json_object(response), "")
    if code == 409:
        answer = _json_object(response)
        # Only a 409 that names this very order as applied is success; any other conflict is refused.
        if answer.get("error") == "already_applied" and answer.get("order_id") == order.key:
            return _done(order, answer, "already_applied")
    if _transient(code):
        return OrderOutcome("retry", f"http_{code}")
    if code == 404:
        return OrderOutcome("refused", "unknown_subscriber")
    return OrderOutcome("refused", f"http_{code}")


def _done(order: NetworkOrder, answer: Mapping[str, Any], detail: str) -> OrderOutcome:
    access = answer.get("access")
    if access is None:
        return OrderOutcome("done", detail, _AS_ORDERED[order.action])
    if access in _ACCESS_VALUES:
        return OrderOutcome("done", detail, access)
    # Applied, but the gateway said something we cannot read: do not claim what the line can do.
    return OrderOutcome("done", detail or "unknown_access", None)
