"""The compliance dashboard (`/reports`): progress over time, the enforcement funnel, campaign delivery, the
points of sale that update most and least, the provinces furthest behind; each chart's numbers as CSV.

Every page and CSV calls `services.reports.dashboard.read_dashboard`, which reads snapshots only and scopes
the figures to the reader (a regional manager sees the provinces its account names). The charts are inline
SVG drawn here (`report_svg`): nothing is fetched from elsewhere. Vietnamese by default, English with `?lang=en`.
"""

from __future__ import annotations

import csv
import io
from contextlib import suppress
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from subreg.api.deps import container, requires, run_use_case
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Permission, can
from subreg.domain.common.errors import ConflictError, InputError, NotFoundError
from subreg.domain.common.messages import message_for
from subreg.services.reports.dashboard import CHARTS, TOP, Dashboard, DashboardQuery, read_dashboard
from subreg.web import i18n
from subreg.web.pos_pages import page_lang, render
from subreg.web.report_svg import hbars, stacked_columns
from subreg.web.report_texts import report_label, report_texts

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _query(request: Request) -> DashboardQuery:
    q = request.query_params
    return DashboardQuery(q.get("from") or None, q.get("to") or None, q.get("province") or None)


def _svgs(board: Dashboard, t: dict[str, str], lang: str) -> dict[str, Any]:
    c = board.charts
    days = [r[0] for r in c["progress"].rows]
    svgs: dict[str, Any] = {
        "progress": stacked_columns(
            "progress", t["chart_progress"], t["chart_progress_desc"].format(start=board.start, end=board.end), days,
            [(t["s_complete"], [r[1] for r in c["progress"].rows]),
             (t["s_not_complete"], [r[2] for r in c["progress"].rows])],
        ),
        "funnel": hbars(
            "funnel", t["chart_funnel"], t["chart_funnel_desc"], [report_label(r[0], lang) for r in c["funnel"].rows],
            [(t["s_lines_now"], [r[1] for r in c["funnel"].rows]), (t["s_steps"], [r[2] for r in c["funnel"].rows])],
        ),
        "campaign": hbars(
            "campaign", t["chart_campaign"], t["chart_campaign_desc"],
            [report_label(r[0], lang) for r in c["campaign"].rows],
            [(t["s_all_sms"], [r[1] for r in c["campaign"].rows]),
             (t["s_period_sms"], [r[2] for r in c["campaign"].rows])],
        ),
    }  # fmt: skip
    pos = c["pos"].rows
    for name, rows in (("pos_most", pos[:TOP]), ("pos_least", list(reversed(pos[-TOP:])) if pos else [])):
        svgs[name] = hbars(
            name, t[f"chart_{name}"], t["chart_pos_desc"], [f"{r[0]} ({report_label(r[1], lang)})" for r in rows],
            [(t["s_updates"], [r[2] for r in rows]), (t["s_registrations"], [r[3] for r in rows])],
        )  # fmt: skip
    worst = c["provinces"].rows[:TOP]
    svgs["provinces"] = hbars(
        "provinces", t["chart_provinces"], t["chart_provinces_desc"], [report_label(r[0], lang) for r in worst],
        [(t["s_share"], [r[3] for r in worst])], unit=" %",
    )  # fmt: skip
    return svgs


async def _page(request: Request, c: Container, language: str, *, taken: str | None = None) -> Response:
    t = {**i18n.texts(language), **report_texts(language)}
    query = _query(request)
    errors: list[str] = []
    board = None
    try:
        board = await run_use_case(read_dashboard, query, uow=c.uow(), actor=request.state.actor,
                                   today=c.clock.today())  # fmt: skip
    except InputError as exc:
        errors = [message_for(e.code, e.field, language) for e in exc.errors]
    params = {k: v for k, v in (("from", query.start), ("to", query.end), ("province", query.province)) if v}
    csv_query = "?" + urlencode({"lang": language, **params})
    return render(
        request, "reports/dashboard.html", language, t=t, board=board, errors=errors, query=params,
        csv_query=csv_query, charts=_svgs(board, t, language) if board else {},
        can_snapshot=can(request.state.actor.role, Permission.REPORTS_SNAPSHOT), taken=taken,
        label=lambda code: report_label(code, language), status=422 if errors else 200,
    )  # fmt: skip


@router.get("/reports", response_class=HTMLResponse, dependencies=[requires(Permission.REPORTS_READ)])
async def dashboard_page(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """The dashboard of a period (`?from=&to=&province=`; default: the last 30 days, every province in scope)."""
    return await _page(request, c, language, taken=request.query_params.get("taken"))


@router.get("/reports/dashboard/{chart}.csv", dependencies=[requires(Permission.REPORTS_READ)])
async def chart_csv(chart: str, request: Request, c: Container = Depends(container)) -> Response:
    """One chart's numbers as CSV, with the page's period and the reader's scope."""
    if chart not in CHARTS:
        raise NotFoundError("unknown_chart")
    board = await run_use_case(read_dashboard, _query(request), uow=c.uow(), actor=request.state.actor,
                               today=c.clock.today())  # fmt: skip
    data = board.charts[chart]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(data.columns)
    writer.writerows(data.rows)
    name = f"subreg-{chart}-{board.start.isoformat()}-{board.end.isoformat()}.csv"
    return Response(
        buffer.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )  # fmt: skip


@router.post("/reports/snapshot", dependencies=[requires(Permission.REPORTS_SNAPSHOT)])
async def take_today(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Take today's snapshot (a compliance officer, when the dashboard has none); back to the dashboard."""
    day = c.clock.today()
    # Taken meanwhile (another officer, the worker): the dashboard shows it either way.
    with suppress(ConflictError):
        await run_use_case(c.take_snapshot, day, actor=request.state.actor)
    return RedirectResponse(f"/reports?lang={language}&taken={day.isoformat()}", status_code=303)
