"""The enforcement page (`/pos/enforcement`) for compliance officers: the timeline in force, what a sweep on a
given date would do (a dry run: nothing changes), and the network orders that failed, to queue again.

Nothing personal is shown: counts by province and action; failed orders by order and line id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from subreg.api.deps import container, requires, run_use_case
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Permission
from subreg.services.enforcement import orders
from subreg.services.enforcement.sweep import sweep
from subreg.web.pos_pages import page_lang, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


async def _page(request: Request, c: Container, language: str, *, as_of: date | None = None,
                error: str | None = None) -> HTMLResponse:  # fmt: skip
    options = c.enforcement_options()
    today = c.clock.today()
    timeline = options.timeline_on(as_of or today)
    report = None
    if as_of is not None and error is None:
        day = as_of
        report = await run_use_case(sweep, uow=c.uow(), as_of=day, now=datetime.now(UTC), options=options,
                                    notices=c.notices(), dry_run=True,
                                    prepare=lambda uow: c.reevaluate_within(uow, day))  # fmt: skip
    failed = await run_use_case(orders.failed_orders, uow=c.uow())
    return render(request, "pos/enforcement.html", language, timeline=timeline, today=today.isoformat(),
                  as_of=(as_of or today).isoformat(), report=report.as_dict() if report else None, failed=failed,
                  quarantine=options.quarantine_days, error=error, status=422 if error else 200)  # fmt: skip


@router.get("/pos/enforcement", response_class=HTMLResponse, dependencies=[requires(Permission.ENFORCEMENT_MANAGE)])
async def enforcement_page(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """The timeline in force and the failed orders."""
    return await _page(request, c, language)


@router.post("/pos/enforcement", response_class=HTMLResponse, dependencies=[requires(Permission.ENFORCEMENT_MANAGE)])
async def enforcement_submit(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """`preview` a sweep on a date (dry run), or `retry` failed orders."""
    form = await request.form()
    if form.get("action") == "retry":
        ids = [int(v) for v in form.getlist("order") if isinstance(v, str) and v.isdigit()]
        if ids:
            await run_use_case(orders.retry_orders, ids, uow=c.uow(), actor=request.state.actor, now=datetime.now(UTC))
        return RedirectResponse(f"/pos/enforcement?lang={language}", status_code=303)
    raw = form.get("as_of")
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        day = None
    if day is None:
        return await _page(request, c, language, error="as_of")
    return await _page(request, c, language, as_of=day)
