"""An SMS gateway's HTTP callbacks: Kannel's MO (`sms-service` `post-url`) and delivery reports (`dlr-url`).

Kannel calls ``POST /sms/kannel/{gateway}/mo`` with the message text as the body and the rest in
``X-Kannel-*`` headers (`From`, `To`, `Time`, `Coding`, `SMSC`), so that no number or text is ever in a
URL (URLs end up in access logs). The MO is answered 200 with an empty body: the gateway's
`sms-service` has ``omit-empty = true`` (and ``max-messages = 0``), and the reply leaves later through
the outbox and `sendsms`. ``GET /sms/kannel/{gateway}/dlr`` is the `dlr-url` the Kannel transport
(`adapters.sms.kannel`) gives with each part: ``id=<outbox id>.<part>&status=%d&answer=%A&at=%T``.

Each gateway has its own secret (header ``X-Gateway-Secret`` or query parameter ``secret``; the secret is
not personal data, Kannel can only put it in the URL) and an optional list of addresses it calls from.
Anything else is refused with 403 ``gateway_refused`` and the refusal audited; it is never answered
by SMS. The precise reason (unknown gateway, wrong secret, address) goes to the audit, not to the caller.

What happens to messages and receipts is the use cases' business: the routes convert the request and
hand it to the `SmsInbox` found on ``app.state.sms_inbox``.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from subreg.api.deps import lang as lang_of
from subreg.api.deps import requires
from subreg.api.errors import error_body
from subreg.domain.access.permissions import Permission
from subreg.domain.common.errors import FieldError
from subreg.logging import get_logger
from subreg.services.sms.ports import InboundMessage, Receipt

__all__ = [
    "SECRET_HEADER",
    "GatewayCallback",
    "GatewayRefusals",
    "SmsInbox",
    "callbacks_from",
    "receipt_from_kannel",
    "router",
]

SECRET_HEADER = "x-gateway-secret"  # noqa: S105 - a header name, not a secret
MAX_MO_BYTES = 16_384  # a joined concatenated MO of 255 parts of 140 octets would be 35 700; 1414 needs far less
_ID = re.compile(r"^[0-9]{1,18}\.[0-9]{1,3}$")  # "<outbox id>.<part>", ours
_GATEWAY_MO_ID = re.compile(r"^[0-9A-Za-z._:-]{1,64}$")
_STAT = re.compile(r"\bstat:([A-Z]+)", re.IGNORECASE)
_ERR = re.compile(r"\berr:([0-9A-Za-z]{1,8})", re.IGNORECASE)
_NACK = re.compile(r"NACK/(0x[0-9A-Fa-f]{1,8})")
_KANNEL_CODING = {"0": "gsm7", "1": "binary", "2": "ucs2"}

log = get_logger("subreg.api.sms_gateways")
router = APIRouter(tags=["sms gateways"])


@dataclass(frozen=True, slots=True)
class GatewayCallback:
    """One gateway allowed to call back: its name in the URL, its secret, the addresses it calls from."""

    name: str
    secret: str = field(repr=False)
    allow: tuple[str, ...] = ()  # addresses or networks ("127.0.0.1", "10.20.0.0/24"); empty: any address

    def admits(self, address: str | None) -> bool:
        """Whether a request from `address` may call this gateway's endpoints."""
        if not self.allow:
            return True
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(entry, strict=False) for entry in self.allow)


def callbacks_from(secrets: str, addresses: str) -> dict[str, GatewayCallback]:
    """The gateways of the settings: `sms_gateway_secrets` (`name:secret,...`) and `sms_gateway_addresses`
    (addresses or networks every gateway may call from; empty: any). A malformed entry is ignored and logged."""
    allow = tuple(a.strip() for a in addresses.split(",") if a.strip())
    found: dict[str, GatewayCallback] = {}
    for entry in (e.strip() for e in secrets.split(",") if e.strip()):
        name, _, secret = entry.partition(":")
        if not name or not secret:
            log.warning("sms_gateway_setting_ignored", reason="not name:secret")
            continue
        found[name.strip()] = GatewayCallback(name.strip(), secret.strip(), allow)
    return found


class SmsInbox(Protocol):
    """The use cases the callbacks hand over to (`services.sms`: inbound and outbox), blocking calls."""

    def receive(self, messages: Sequence[InboundMessage]) -> object:
        """Store and answer MO messages (the answer goes out through the outbox)."""
        ...

    def record_receipts(self, receipts: Sequence[Receipt]) -> object:
        """Apply delivery receipts to the outbox."""
        ...


class GatewayRefusals(Protocol):
    """Where refused callbacks are audited (`app.state.sms_gateway_refusals`)."""

    def refused(self, *, gateway: str, reason: str, ip: str | None, path: str, at: datetime) -> None:
        """Record one refused request; `reason`: unknown_gateway, bad_secret, address_not_allowed."""
        ...


def _refuse(request: Request, gateway: str, reason: str) -> JSONResponse:
    ip = request.client.host if request.client else None
    at = datetime.now(UTC)
    # The path names the gateway and the endpoint only; the query string (with a wrong secret, or worse)
    # is never recorded.
    log.warning("sms_gateway_refused", gateway=gateway, reason=reason, ip=ip, path=request.url.path)
    audit: GatewayRefusals | None = getattr(request.app.state, "sms_gateway_refusals", None)
    if audit is not None:
        audit.refused(gateway=gateway, reason=reason, ip=ip, path=request.url.path, at=at)
    return JSONResponse(error_body("gateway_refused", _lang(request)), status_code=403)


def _admitted(request: Request, gateway: str) -> JSONResponse | None:
    """None when the request carries `gateway`'s secret from an allowed address; else the refusal."""
    gateways: Mapping[str, GatewayCallback] = getattr(request.app.state, "sms_gateways", {})
    found = gateways.get(gateway)
    given = request.headers.get(SECRET_HEADER) or request.query_params.get("secret") or ""
    if found is None:
        # Compare anyway, so an unknown name takes as long as a wrong secret.
        hmac.compare_digest(given.encode(), b"\0" * 32)
        return _refuse(request, gateway, "unknown_gateway")
    if not hmac.compare_digest(given.encode(), found.secret.encode()):
        return _refuse(request, gateway, "bad_secret")
    if not found.admits(request.client.host if request.client else None):
        return _refuse(request, gateway, "address_not_allowed")
    return None


def _inbox(request: Request) -> SmsInbox | None:
    return getattr(request.app.state, "sms_inbox", None)


def _lang(request: Request) -> str:
    # The app's default language needs its settings; an app serving only these callbacks may have none.
    return lang_of(request) if hasattr(request.app.state, "settings") else "vi"


def _invalid(request: Request, field_name: str, code: str) -> JSONResponse:
    body = error_body("invalid_input", _lang(request), [FieldError(field_name, code)])
    return JSONResponse(body, status_code=422)


def _unavailable(request: Request) -> JSONResponse:
    # Kannel retries a failed post-url (smsbox `http-request-retry`): 503 rather than losing the MO.
    return JSONResponse(error_body("sms_unavailable", _lang(request)), status_code=503)


def _kannel_time(value: str | None) -> datetime:
    """X-Kannel-Time ("2026-12-02 17:50:20", the gateway's clock, read as UTC); now when absent or unreadable."""
    if value:
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"):
            try:
                return datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    return datetime.now(UTC)


def _decode(body: bytes, content_type: str, coding: str) -> tuple[str | None, str]:
    """(text, coding) of an MO body: UCS-2 arrives as UTF-16BE, 8-bit data stays binary (no text)."""
    header = Message()
    header["content-type"] = content_type or "text/plain"
    charset = header.get_param("charset")
    charset = charset if isinstance(charset, str) else None
    if coding == "binary" or header.get_content_type() == "application/octet-stream":
        return None, "binary"
    fallback = "utf-16-be" if coding == "ucs2" else "utf-8"
    encodings = [charset or fallback, fallback]
    for enc in encodings:
        try:
            return body.decode(enc), coding
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("latin-1"), "latin1"


_MO_HEADERS: list[dict[str, Any]] = [
    {
        "name": "X-Kannel-From",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "example": "+84901234567",
        "description": "The sender, as the SMSC gave it.",
    },
    {
        "name": "X-Kannel-To",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "example": "1414",
        "description": "The short code dialled.",
    },
    {
        "name": "X-Kannel-Time",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "example": "2026-12-02 10:15:00",
    },
    {
        "name": "X-Kannel-Coding",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": ["0", "1", "2"]},
        "example": "0",
        "description": "0: GSM 7-bit, 1: 8-bit data, 2: UCS-2 (the body is then UTF-16BE).",
    },
    {"name": "X-Kannel-SMSC", "in": "header", "required": False, "schema": {"type": "string"}, "example": "fake"},
    {
        "name": "X-Gateway-Secret",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "The gateway's secret (or the query parameter `secret`).",
    },
    {"name": "secret", "in": "query", "required": False, "schema": {"type": "string"}, "example": "s3cr3t-main"},
    {
        "name": "id",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "example": "0d3f6a2e-6c1b-4b5f-9a43-0c2b7d6e5f10",
        "description": "Kannel's id of the MO (`%I` in the post-url): a redelivered MO is answered once.",
    },
]

_DLR_PARAMS: list[dict[str, Any]] = [
    {"name": "secret", "in": "query", "required": False, "schema": {"type": "string"}, "example": "s3cr3t-main"},
    {
        "name": "id",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "pattern": _ID.pattern},
        "example": "4711.2",
        "description": "Our id of the part: `<outbox id>.<part number>`.",
    },
    {
        "name": "status",
        "in": "query",
        "required": True,
        "schema": {"type": "integer", "enum": [1, 2, 4, 8, 16]},
        "example": 1,
        "description": "Kannel's `%d`: 1 delivered, 2 failed, 4 buffered, 8 SMSC accepted, 16 SMSC rejected.",
    },
    {
        "name": "answer",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "example": "id:0123 sub:001 dlvrd:001 submit date:2612021015 done date:2612021015 stat:DELIVRD err:000",
        "description": "Kannel's `%A`: the SMSC's report or answer text.",
    },
    {
        "name": "at",
        "in": "query",
        "required": False,
        "schema": {"type": "integer"},
        "example": 1796206500,
        "description": "Kannel's `%T`: the report's Unix time.",
    },
]


@router.post(
    "/sms/kannel/{gateway}/mo",
    summary="Kannel: a mobile-originated SMS (sms-service post-url)",
    description=(
        "The text is the body; sender, short code, time and coding come in `X-Kannel-*` headers. "
        "Answered 200 with an empty body (the reply goes out through the outbox); "
        "403 `gateway_refused` without the gateway's secret."
    ),
    response_class=Response,
    responses={
        200: {"description": "Stored; the reply, if any, is sent through sendsms", "content": {"text/plain": {}}},
        403: {
            "description": "Not this gateway's secret or address",
            "content": {
                "application/json": {"example": {"error": {"code": "gateway_refused", "message": "", "errors": []}}}
            },
        },
        422: {"description": "No sender (X-Kannel-From) or a body too long"},
    },
    openapi_extra={
        "parameters": _MO_HEADERS,
        "requestBody": {
            "required": True,
            "content": {
                "text/plain": {"schema": {"type": "string"}, "example": "TTTB"},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        },
    },
    dependencies=[requires(Permission.PUBLIC_SMS_GATEWAY)],
)
async def kannel_mo(gateway: str, request: Request) -> Response:
    """Hand one MO from Kannel to the inbox and answer with nothing."""
    refused = _admitted(request, gateway)
    if refused is not None:
        return refused
    sender = (request.headers.get("x-kannel-from") or "").strip()
    if not sender:
        return _invalid(request, "X-Kannel-From", "required")
    body = await request.body()
    if len(body) > MAX_MO_BYTES:
        return _invalid(request, "body", "too_long")
    coding = _KANNEL_CODING.get((request.headers.get("x-kannel-coding") or "0").strip(), "gsm7")
    text, coding = _decode(body, request.headers.get("content-type", ""), coding)
    mo_id = request.query_params.get("id")
    message = InboundMessage(
        sender=sender[:32],
        recipient=(request.headers.get("x-kannel-to") or "").strip()[:32],
        text=text,
        transport=f"kannel:{gateway}",
        received_at=_kannel_time(request.headers.get("x-kannel-time")),
        gateway_id=mo_id if mo_id and _GATEWAY_MO_ID.match(mo_id) else None,
        coding=coding,
    )
    inbox = _inbox(request)
    if inbox is None:
        return _unavailable(request)
    areceive = getattr(inbox, "areceive", None)
    if areceive is not None:  # awaits the group commit without holding a pool thread
        await areceive([message])
    else:
        await run_in_threadpool(inbox.receive, [message])
    return Response(status_code=200)


def receipt_from_kannel(message_id: str, status: int, answer: str, at: datetime) -> Receipt:
    """A `Receipt` from Kannel's dlr-url values (`%d`, `%A`); SMPP report text refines failures."""
    stat = _STAT.search(answer)
    stat_word = stat.group(1).upper() if stat else ""
    err = _ERR.search(answer)
    error: str | None = None
    if status == 1:
        state = "delivered"
    elif status == 4:
        state = "buffered"
    elif status == 8:
        # The SMSC accepted the part (not delivered yet): still on its way, like a buffered part.
        state = "buffered"
    elif status == 16:
        state = "rejected"
        nack = _NACK.search(answer)
        error = f"SMPP_{nack.group(1).lower()}" if nack else "SMSC_REJECTED"
    elif status == 2:
        state = {"EXPIRED": "expired", "EXPD": "expired", "REJECTD": "rejected", "REJECTED": "rejected"}.get(
            stat_word, "failed"
        )
        error = f"DLR_{stat_word}" if stat_word else "DLR_FAILED"
        if err and err.group(1).strip("0"):
            error += f":{err.group(1)}"
    else:
        state = "unknown"
    return Receipt(transport="kannel", message_id=message_id, state=state, at=at, error=error)  # type: ignore[arg-type]


@router.get(
    "/sms/kannel/{gateway}/dlr",
    summary="Kannel: a delivery report of one submitted part (dlr-url)",
    description="Called by smsbox with the dlr-url given with each part. Answered 200 with an empty body.",
    response_class=Response,
    responses={
        200: {"description": "Recorded"},
        403: {
            "description": "Not this gateway's secret or address",
            "content": {
                "application/json": {"example": {"error": {"code": "gateway_refused", "message": "", "errors": []}}}
            },
        },
        422: {"description": "No usable id or status"},
    },
    openapi_extra={"parameters": _DLR_PARAMS},
    dependencies=[requires(Permission.PUBLIC_SMS_GATEWAY)],
)
async def kannel_dlr(gateway: str, request: Request) -> Response:
    """Turn one Kannel delivery report into a `Receipt` for the outbox."""
    refused = _admitted(request, gateway)
    if refused is not None:
        return refused
    q = request.query_params
    message_id = q.get("id", "")
    if not _ID.match(message_id):
        return _invalid(request, "id", "invalid_format")
    try:
        status = int(q.get("status", ""))
    except ValueError:
        return _invalid(request, "status", "invalid_format")
    try:
        at = datetime.fromtimestamp(int(q.get("at", "")), UTC)
    except (ValueError, OverflowError, OSError):
        at = datetime.now(UTC)
    receipt = receipt_from_kannel(message_id, status, q.get("answer", ""), at)
    inbox = _inbox(request)
    if inbox is None:
        return _unavailable(request)
    await run_in_threadpool(inbox.record_receipts, [receipt])
    return Response(status_code=200)
