"""The signal pages (`/signals`): one work list per fraud or quality signal for compliance officers.

`GET /signals?kind=...` lists a kind's open signals (`reports:read`; `all=1` also the closed ones); each row's
form posts a decision with a reason code and an optional note to `POST /signals/review` (`signals:review`,
CSRF like every form); `POST /signals/open-line` opens a signal's line through the counter's audited card read
(purpose `enforcement`: masked, as a compliance officer sees any line). The pages hold no rule: each calls one
use case of `services.signals.lists`. Nothing personal is shown, and the line id travels in a form body, never
in a URL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from subreg.api.deps import container, counter_context, requires, run_use_case
from subreg.api.errors import status_of
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission, can
from subreg.domain.common.errors import FieldError, InputError, SubregError
from subreg.domain.signals.review import REASONS, Decision, SignalKind
from subreg.services import counter
from subreg.services.counter.commands import LookUpNumber
from subreg.services.signals import lists
from subreg.web.pos_pages import error_messages, page_lang, render
from subreg.web.signal_texts import signal_texts

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _actor(request: Request) -> Actor:
    return request.state.actor  # type: ignore[no-any-return]  # set by `requires` (never None past it)


def _text(value: object, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


async def _page(
    request: Request, c: Container, language: str, kind: str, *, show_all: bool = False, status: int = 200,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    actor = _actor(request)
    found = None
    general: list[str] = list(context.pop("general", []))
    try:
        found = await run_use_case(
            lists.list_signals, kind, uow=c.uow(), options=c.signal_options(), actor=actor, today=c.clock.today(),
            now=c.clock.now(), documents=c.registry(), hasher=c.portrait_hasher(), include_closed=show_all,
        )  # fmt: skip
    except SubregError as exc:
        errors, more = error_messages(exc, language)
        general += more + list(errors.values())
        status = status_of(exc)
    return render(
        request, "signals/list.html", language, status=status, t=signal_texts(language), kinds=list(SignalKind),
        kind=kind, found=found, show_all=show_all, reasons=REASONS, decisions=list(Decision),
        can_decide=can(actor.role, Permission.SIGNALS_REVIEW),
        can_open=can(actor.role, Permission.SUBSCRIPTION_READ), general=general, **context,
    )  # fmt: skip


@router.get("/signals", response_class=HTMLResponse, dependencies=[requires(Permission.REPORTS_READ)])
async def signals_page(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """One kind's work list (default: the first kind)."""
    kind = request.query_params.get("kind") or str(SignalKind.OVER_LIMIT)
    show_all = request.query_params.get("all") == "1"
    return await _page(request, c, language, kind[:32], show_all=show_all,
                       saved=request.query_params.get("saved") == "1")  # fmt: skip


@router.post("/signals/review", response_class=HTMLResponse, dependencies=[requires(Permission.SIGNALS_REVIEW)])
async def review_submit(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Store a decision; back to the list (the signal leaves it when reviewed or dismissed)."""
    form = await request.form()
    values = {name: _text(form.get(name), 600) for name in ("kind", "key", "decision", "reason", "note")}
    kind = values["kind"][:32] or str(SignalKind.OVER_LIMIT)
    try:
        await run_use_case(
            lists.review_signal, values, uow=c.uow(), options=c.signal_options(), actor=_actor(request),
            today=c.clock.today(), now=c.clock.now(), documents=c.registry(), hasher=c.portrait_hasher(),
        )  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return await _page(request, c, language, kind, status=status_of(exc), errors=errors,
                           general=general + list(errors.values()), failed_key=values["key"])  # fmt: skip
    return RedirectResponse(f"/signals?kind={kind}&lang={language}&saved=1", status_code=303)


@router.post("/signals/open-line", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_READ)])
async def open_line(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """A signal's line as the counter's card shows it to this role (audited `subscription:read`, purpose
    `enforcement`)."""
    form = await request.form()
    line = _text(form.get("line"), 20)
    kind = _text(form.get("kind"), 32) or str(SignalKind.OVER_LIMIT)
    try:
        if not line.isdigit():
            raise InputError([FieldError("line", "invalid_format")])
        number = await run_use_case(lists.line_to_open, int(line), uow=c.uow(), actor=_actor(request))
        card = await run_use_case(
            counter.lookup_by_msisdn, LookUpNumber(number, "enforcement"), uow=c.uow(),
            ctx=counter_context(request, c), actor=_actor(request),
        )  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return await _page(request, c, language, kind, status=status_of(exc), general=general + list(errors.values()))
    return render(request, "pos/card.html", language, cards=[card], purpose="enforcement")
