"""The phone simulator page (`/pos/phone`): play a subscriber's phone and text 1414 through the real channel.

The demo and the operator's test bench. Staff with `sms:simulate` (store staff, compliance officers) pick a
number (a few sample numbers from the database, or any typed one), text `TTTB` or `TTTB <ID>`, and see the
phone's screen: what it sent and what the built-in SMS centre delivered to it. Every step is a
`services.sms.phone` use case: the MO is answered by `inbound.receive` (audited in the staff member's name),
the outbox carried out and its receipts applied within the request, so the page needs no `subreg sms serve`.

The number and the text travel in POST bodies only, never in URLs; the chosen number stays in the form.
With a real network configured (`sms_transport` not `builtin`) the page refuses to send: a reply would
reach the real subscriber's phone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from subreg.api.deps import container, requires, run_use_case
from subreg.api.errors import status_of
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.errors import SubregError
from subreg.services.sms import phone
from subreg.web.pos_pages import error_messages, page_lang, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # what a Vietnamese handset shows
_ACTIONS = ("open", "send", "id")


def _actor(request: Request) -> Actor:
    return request.state.actor  # type: ignore[no-any-return]  # set by `requires` (never None past it)


def _now() -> datetime:
    return datetime.now(UTC)


def _local(e164: str) -> str:
    """+84901234567 as a Vietnamese phone shows it: 0901234567."""
    return "0" + e164[3:] if e164.startswith("+84") else e164


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


async def _page(
    request: Request, c: Container, language: str, *, number: str = "", text: str = "TTTB", status: int = 200,
    errors: dict[str, str] | None = None, general: list[str] | None = None, focus_text: bool = False,
) -> HTMLResponse:  # fmt: skip
    """The simulator: the number picker, and the phone's screen when a valid number is chosen."""
    actor = _actor(request)
    short_code = c.settings.sms_short_code
    centre = c.phone_centre()
    screen = None
    errors, general = dict(errors or {}), list(general or [])
    demo = await run_use_case(phone.demo_numbers, uow=c.uow(), actor=actor)
    if centre is not None and number:
        try:
            screen = await run_use_case(
                phone.phone_screen, number, uow=c.uow(), ctx=c.sms_context(), centre=centre, now=_now(), actor=actor
            )
        except SubregError as exc:
            more, also = error_messages(exc, language)
            errors = {**more, **errors}
            general += also
    # What the (built-in) network lets this line do: a locked line still reaches 1414, which is free.
    access = (
        c.network().access(screen.number.lstrip("+"))
        if screen and c.settings.network_provisioner == "builtin"
        else None
    )
    bubbles = [
        {"b": b, "time": b.at.astimezone(_TZ).strftime("%H:%M %d/%m"), "iso": b.at.isoformat()}
        for b in (screen.bubbles if screen else ())
    ]
    return render(
        request, "pos/phone.html", language, status=status, short_code=short_code, unavailable=centre is None,
        demo=[_local(n) for n in demo], number=_local(screen.number) if screen else number, screen=screen,
        bubbles=bubbles, text=text, errors=errors, general=general, focus_text=focus_text, access=access,
    )  # fmt: skip


@router.get("/pos/phone", response_class=HTMLResponse, dependencies=[requires(Permission.SMS_SIMULATE)])
async def phone_page(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """The phone simulator: pick a number (nothing in the URL)."""
    return await _page(request, c, language)


@router.post("/pos/phone", response_class=HTMLResponse, dependencies=[requires(Permission.SMS_SIMULATE)])
async def phone_submit(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """`open` a number's phone, `send` the typed text to the short code from it, or prefill `TTTB <ID>` (`id`)."""
    form = await request.form()
    number, text = _text(form.get("pick"), 32) or _text(form.get("msisdn"), 32), _text(form.get("text"), 480)
    action = _text(form.get("action"), 8)
    action = action if action in _ACTIONS else "open"
    if action == "id":
        return await _page(request, c, language, number=number, text="TTTB ", focus_text=True)
    if action == "open":
        return await _page(request, c, language, number=number)
    centre = c.phone_centre()
    if centre is None:
        return await _page(request, c, language, number=number, text=text, status=409)
    try:
        await run_use_case(
            phone.text_from_phone, phone.TextFromPhone(number, text), uow_factory=c.uow, ctx=c.sms_context(),
            centre=centre, now=_now, actor=_actor(request),
        )  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return await _page(request, c, language, number=number, text=text, status=status_of(exc), errors=errors,
                           general=general)  # fmt: skip
    return await _page(request, c, language, number=number)
