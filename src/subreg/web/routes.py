"""The landing page (the point-of-sale pages are in `web/pos_pages.py`, sign-in in `web/auth_pages.py`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from subreg import __version__
from subreg.api.deps import lang, requires

router = APIRouter(include_in_schema=False)
_templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

_TEXT = {
    "vi": {
        "title": "subreg — Cơ sở dữ liệu thông tin thuê bao tập trung",
        "lead": "Quản lý thông tin thuê bao di động theo Nghị định 49/2017/NĐ-CP.",
        "api": "Tài liệu API (OpenAPI)",
        "health": "Tình trạng hệ thống",
        "check": "Kiểm tra hồ sơ thuê bao",
        "check_hint": "Gửi bản ghi tới POST /api/v1/checks hoặc dùng lệnh",
        "other": "English",
    },
    "en": {
        "title": "subreg — Central subscriber database",
        "lead": "Mobile subscriber information under Decree 49/2017/ND-CP.",
        "api": "API documentation (OpenAPI)",
        "health": "System health",
        "check": "Check subscriber records",
        "check_hint": "POST records to /api/v1/checks or run",
        "other": "Tiếng Việt",
    },
}


@router.get("/", response_class=HTMLResponse, dependencies=[requires("public:home")])
async def home(request: Request, language: str = Depends(lang)) -> HTMLResponse:
    """Landing page with links to the API and the health check."""
    return _templates.TemplateResponse(
        request,
        "home.html",
        {
            "t": _TEXT[language],
            "lang": language,
            "other_lang": "en" if language == "vi" else "vi",
            "version": __version__,
        },
    )
