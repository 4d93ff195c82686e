"""Kannel's `sendsms` HTTP interface as an `SmsTransport`.

Each `Part` of an outbound message is one GET to smsbox's sendsms port (``/cgi-bin/sendsms``) as a
`sendsms-user`. Kannel answers 202 ("0: Accepted for delivery", "3: Queued for later delivery", or
"Sent." in older releases) without any message id, so the id a delivery receipt is matched by is ours:
``"<outbox id>.<part number>"`` (parts count from 1). It travels inside the `dlr-url` we hand to Kannel
with every part, next to Kannel's placeholders ``%d`` (the report type: 1 delivered, 2 failed,
4 buffered, 8 accepted by the SMSC, 16 rejected by the SMSC), ``%A`` (the SMSC's answer or report text)
and ``%T`` (the report's Unix time); smsbox fills them in and calls the URL, which is subreg's
``GET /sms/kannel/{gateway}/dlr`` (`api.routers.sms_gateways`).

Privacy: the query string carries the recipient and the text (that is how sendsms works; keep smsbox's
access log off or on the same footing as the outbox). Nothing here logs a number or a text: only the
outbox id, part numbers, HTTP statuses and our error codes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import quote, quote_from_bytes

import httpx

from subreg.logging import get_logger
from subreg.services.sms.ports import OutboundMessage, Part, SubmitOutcome

__all__ = ["DLR_MASK", "KannelConfig", "KannelTransport", "message_id", "sendsms_query"]

# 1 delivered + 2 failed + 4 buffered + 8 accepted by the SMSC + 16 rejected by the SMSC: every report.
DLR_MASK = 31
# Kannel's data coding values for the `coding` parameter.
_CODING = {"gsm7": "0", "ucs2": "2"}
# Parts already accepted by Kannel for an outbox row whose other parts must be submitted again: a retry
# in this process skips them, so a recipient does not get part 1 twice. Bounded: rows that never
# come back (rejected, or retried by another dispatcher) are forgotten oldest first.
_REMEMBERED_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class KannelConfig:
    """Where smsbox's sendsms interface is, who we are to it, and where its receipts come back.

    Args:
        sendsms_url: e.g. ``http://127.0.0.1:13013/cgi-bin/sendsms``.
        username, password: a `sendsms-user` group of smsbox.
        dlr_url: subreg's receipt endpoint for this gateway, with its secret, e.g.
            ``https://subreg.internal/sms/kannel/main/dlr?secret=...``; `id`, `status`, `answer` and
            `at` are appended. It must hold no ``%``: Kannel would read it as a placeholder.
        smsc: route through this `smsc-id` (Kannel's `smsc` parameter); None lets Kannel route.
        timeout: seconds for connect, and for each answer.
    """

    sendsms_url: str
    username: str
    password: str = field(repr=False)
    dlr_url: str
    smsc: str | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if "%" in self.dlr_url:
            raise ValueError("dlr_url must not contain '%' (Kannel substitutes %-placeholders in it)")


def message_id(outbox_id: int, part: int) -> str:
    """The id a part's receipts carry: ``"<outbox id>.<part number>"``, part numbers from 1."""
    return f"{outbox_id}.{part}"


def _dlr_url(config: KannelConfig, mid: str) -> str:
    sep = "&" if "?" in config.dlr_url else "?"
    # The placeholders stay raw: smsbox replaces %d, %A and %T (URL-encoding what it inserts).
    return f"{config.dlr_url}{sep}id={quote(mid)}&status=%d&answer=%A&at=%T"


def sendsms_query(config: KannelConfig, message: OutboundMessage, number: int, part: Part) -> str:
    """The query string of the sendsms request for part `number` (from 1) of `message`.

    Built by hand because `udh` is raw bytes, percent-encoded byte by byte, which a str-valued
    parameter mapping cannot express.
    """
    params: list[tuple[str, str]] = [
        ("username", config.username),
        ("password", config.password),
        ("from", message.sender),
        ("to", message.to),
        ("text", part.text),
        ("coding", _CODING[message.encoding]),
        # The text is sent as UTF-8; smsbox converts it to GSM 03.38 or UCS-2 for the SMSC.
        ("charset", "UTF-8"),
        ("dlr-mask", str(DLR_MASK)),
        ("dlr-url", _dlr_url(config, message_id(message.id, number))),
    ]
    if config.smsc:
        params.append(("smsc", config.smsc))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    if part.udh:
        query += "&udh=" + quote_from_bytes(part.udh, safe="")
    return query


class KannelTransport:
    """Submits outbox messages through Kannel's sendsms interface, one HTTP request per part."""

    name = "kannel"

    def __init__(self, config: KannelConfig, *, http_transport: httpx.BaseTransport | None = None) -> None:
        """Open a persistent HTTP client (`http_transport`: e.g. `httpx.MockTransport` in tests)."""
        self.config = config
        self._client = httpx.Client(
            timeout=httpx.Timeout(config.timeout),
            transport=http_transport,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
        )
        self._accepted: OrderedDict[int, set[int]] = OrderedDict()
        self._log = get_logger("subreg.sms.kannel")

    def submit(self, message: OutboundMessage) -> SubmitOutcome:
        """Submit every part; `accepted` with our ids once Kannel took them all."""
        done = self._accepted.pop(message.id, set())
        ids = tuple(message_id(message.id, n) for n in range(1, len(message.parts) + 1))
        for number, part in enumerate(message.parts, start=1):
            if number in done:
                continue
            status, error = self._submit_part(message, number, part)
            if status != "accepted":
                if status == "retry" and done:
                    self._remember(message.id, done)
                self._log.info("kannel_submit_failed", outbox_id=message.id, part=number, status=status, error=error)
                return SubmitOutcome(status=status, error=error)
            done.add(number)
        return SubmitOutcome(status="accepted", message_ids=ids)

    def _remember(self, outbox_id: int, parts: set[int]) -> None:
        self._accepted[outbox_id] = parts
        while len(self._accepted) > _REMEMBERED_ROWS:
            self._accepted.popitem(last=False)

    def _submit_part(self, message: OutboundMessage, number: int, part: Part) -> tuple[str, str | None]:
        url = f"{self.config.sendsms_url}?{sendsms_query(self.config, message, number, part)}"
        started = time.perf_counter()
        try:
            response = self._client.get(url)
        except httpx.TimeoutException:
            # The request may have reached Kannel: a retry can duplicate this part (Kannel has no
            # idempotency key). A lost part is worse than a repeated one for a 1414 answer.
            return "retry", "KANNEL_TIMEOUT"
        except httpx.TransportError:
            return "retry", "KANNEL_UNREACHABLE"
        self._log.debug(
            "kannel_part_submitted",
            outbox_id=message.id,
            part=number,
            http_status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return _outcome_of(response)

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self._client.close()


def _outcome_of(response: httpx.Response) -> tuple[str, str | None]:
    """(status, error code) for sendsms's answer; the body is Kannel's own text, never ours."""
    code = response.status_code
    if 200 <= code < 300:
        return "accepted", None
    if code >= 500:
        # 503: smsbox could not hand the message to bearerbox (down, or its queue full): try again.
        return "retry", f"KANNEL_HTTP_{code}"
    if code in (401, 403):
        return "rejected", "KANNEL_AUTH_FAILED"
    if code == 429:
        return "retry", "KANNEL_THROTTLED"
    return "rejected", f"KANNEL_HTTP_{code}"
