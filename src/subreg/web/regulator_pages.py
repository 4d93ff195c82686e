"""The regulator's report page (`/reports/regulator`) for compliance officers (permission `reports:read`): pick a
period (and provinces), see the figures by province and in total, download them as xlsx, CSV or the printable
HTML page (print it to PDF from the browser, or headless: docs/reports.md).

The page calls `services.reports.regulator.regulator_report`, which checks the period and the provinces; it holds
no rule. A regional manager (the `regional_manager` role, when the permission matrix has it) sees only the
provinces its account names (`staff_provinces`): `_scope` is the hook. Nothing personal is shown: counts only.
Periods and province codes travel in the URL; they are not personal data.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from subreg.api.deps import container, requires, run_use_case
from subreg.api.errors import status_of
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Permission
from subreg.domain.common.errors import FieldError, InputError, SubregError
from subreg.domain.reports.regulator import FIGURES, FORMATS, UNKNOWN_PROVINCE, province_name
from subreg.services.reports.regulator import RegulatorRequest, regulator_report
from subreg.web.pos_pages import error_messages, page_lang, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_READ = [requires(Permission.REPORTS_READ)]
_REGIONAL_MANAGER = "regional_manager"  # the role added with the dashboard (issue 15); scoped to its provinces
_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
_TEXTS = {
    "vi": {
        "reports_regulator": "Báo cáo cơ quan quản lý",
        "rr_lead": "Số liệu thuê bao theo tỉnh của điểm giao dịch, tính từ lịch sử sự kiện có ngày tháng: mọi kỳ trong "
        "quá khứ đều chính xác, kể cả những ngày không có ảnh chụp số liệu.",
        "rr_from": "Từ ngày",
        "rr_to": "Đến ngày",
        "rr_provinces": "Mã tỉnh (tuỳ chọn)",
        "rr_provinces_hint": "Mã 3 số, cách nhau bởi dấu phẩy, ví dụ 001, 079; unknown = không rõ điểm giao dịch",
        "rr_show": "Xem báo cáo",
        "rr_download": "Tải về",
        "rr_xlsx": "Excel (xlsx)",
        "rr_csv": "CSV",
        "rr_html": "Bản in (HTML, in ra PDF để ký)",
        "rr_scope": "Tài khoản chỉ xem các tỉnh",
        "rr_no_scope": "Tài khoản chưa được giao tỉnh nào.",
    },
    "en": {
        "reports_regulator": "Regulator's report",
        "rr_lead": "Subscription figures by province of the point of sale, computed from the dated history of events: "
        "any past period is exact, even for days without a snapshot.",
        "rr_from": "From",
        "rr_to": "To",
        "rr_provinces": "Province codes (optional)",
        "rr_provinces_hint": "3-digit codes separated by commas, e.g. 001, 079; unknown = no known point of sale",
        "rr_show": "Show the report",
        "rr_download": "Download",
        "rr_xlsx": "Excel (xlsx)",
        "rr_csv": "CSV",
        "rr_html": "Printable page (HTML; print it to PDF to sign)",
        "rr_scope": "This account sees the provinces",
        "rr_no_scope": "No province is assigned to this account.",
    },
}


def _scope(request: Request, c: Container) -> tuple[str, ...] | None:
    """The provinces the caller may see: a regional manager's own (none: nothing), everyone else's all (None)."""
    actor = request.state.actor
    if str(getattr(actor.role, "value", actor.role)) == _REGIONAL_MANAGER:
        return c.regulator_figures().staff_provinces(actor.staff_id)
    return None


def _last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def _query(request: Request) -> tuple[str, str, str]:
    q = request.query_params
    return (q.get("from") or "")[:20], (q.get("to") or "")[:20], (q.get("province") or "")[:400]


async def _report(request: Request, c: Container, start: str, end: str, provinces: str) -> Any:
    return await run_use_case(
        regulator_report, RegulatorRequest(start, end, provinces or None), figures=c.regulator_figures(),
        options=c.report_options(), now=c.clock.now(), scope=_scope(request, c),
    )  # fmt: skip


@router.get("/reports/regulator", response_class=HTMLResponse, dependencies=_READ)
async def regulator_page(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """The form, and the report when a period is given."""
    start, end, provinces = _query(request)
    renderer = c.regulator_renderer(language)
    t_report = dict(renderer.labels)
    scope = _scope(request, c)
    context: dict[str, Any] = {"report": None, "downloads": {}, "scope": scope, "r": t_report, "figures": FIGURES}
    status = 200
    if not start and not end:
        first, last = _last_month(c.clock.today())
        start, end = first.isoformat(), last.isoformat()
    else:
        try:
            report = await _report(request, c, start, end, provinces)
        except SubregError as exc:
            status = status_of(exc)
            context["errors"], context["general"] = error_messages(exc, language)
        else:
            params = {"from": start, "to": end, "lang": language} | ({"province": provinces} if provinces else {})
            context["report"] = report
            context["rows"] = [
                {"code": r.province, "values": r.values(),
                 "name": t_report["unknown"] if r.province == UNKNOWN_PROVINCE else province_name(r.province)}
                for r in report.rows
            ]  # fmt: skip
            context["downloads"] = {
                fmt: f"/reports/regulator/download?{urlencode(params | {'format': fmt})}" for fmt in FORMATS
            }
    t = {**_texts(language)}
    return render(
        request, "reports/regulator.html", language, t=t, start=start, end=end, provinces=provinces,
        number=renderer.number, status=status, **context,
    )  # fmt: skip


def _texts(language: str) -> dict[str, str]:
    from subreg.web import i18n

    return i18n.texts(language) | _TEXTS["en" if language == "en" else "vi"]


@router.get("/reports/regulator/download", dependencies=_READ)
async def regulator_download(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """The report as `format` (xlsx, csv or html): an attachment, but the printable page opens in the browser."""
    start, end, provinces = _query(request)
    fmt = request.query_params.get("format", "")
    if fmt not in FORMATS:
        raise InputError([FieldError("format", "invalid_choice")])
    report = await _report(request, c, start, end, provinces)
    data = c.regulator_renderer(language).render(report, fmt)
    name = f"regulator-report-{report.period.start.isoformat()}-{report.period.end.isoformat()}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        data, media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"', "Cache-Control": "no-store"},
    )  # fmt: skip
