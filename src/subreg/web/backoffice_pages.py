"""The back-office queue pages (`/backoffice`): take the next item, read its scans, confirm, next.

Keyboard only: the item page focuses the first field to fill; Enter confirms the form (saves, and the next
item opens), Esc sets the item aside (and the next opens), Tab moves between fields. Each pre-filled value
shows where it was read (QR, MRZ, printed text) and how sure the reading is. The scans are served by an
audited route that serves only the scans of the item the caller holds. Item ids (not personal) travel in
URLs; the values travel in POST bodies. Every page calls one use case of `services.backoffice.work_queue`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from subreg.api.deps import container, requires, run_use_case
from subreg.api.errors import status_of
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.backoffice.reading import FORM_FIELDS, Reading, Source
from subreg.domain.common.errors import ConflictError, NotFoundError, SubregError
from subreg.services.backoffice import work_queue as wq
from subreg.web.pos_pages import error_messages, page_lang, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_WORK = Permission.BACKOFFICE_WORK

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Hàng đợi hậu kiểm",
        "lead": "Bổ sung thông tin thuê bao từ ảnh giấy tờ đã lưu, hạn xử lý sớm nhất trước.",
        "next": "Lấy hồ sơ tiếp theo",
        "empty": "Hàng đợi trống: không còn hồ sơ nào để xử lý.",
        "open": "Đang chờ",
        "held": "đang được xử lý",
        "done": "Đã xong",
        "skipped": "Đã bỏ qua",
        "item": "Hồ sơ",
        "deadline": "Hạn xử lý",
        "number": "Số thuê bao",
        "missing": "Còn thiếu",
        "scans": "Ảnh giấy tờ",
        "unreadable": "Không đọc được ảnh này: hãy nhập tay theo ảnh.",
        "changed": "Thuê bao đã thay đổi từ khi vào hàng đợi: dưới đây là thông tin hiện tại, đã đọc lại.",
        "complete_now": "Thuê bao đã đủ thông tin: xác nhận để đóng hồ sơ.",
        "field": "Trường",
        "value": "Giá trị",
        "source": "Nguồn",
        "stored": "đã lưu",
        "typed": "nhập tay",
        "qr": "Mã QR",
        "mrz": "MRZ",
        "ocr": "Chữ in (OCR)",
        "disagree": "Các nguồn đọc khác nhau: kiểm tra ảnh",
        "confirm": "Xác nhận (Enter)",
        "skip": "Bỏ qua (Esc)",
        "shortcuts": "Phím tắt",
        "k_enter": "Enter: xác nhận và mở hồ sơ tiếp theo",
        "k_esc": "Esc: bỏ qua hồ sơ này",
        "k_tab": "Tab / Shift+Tab: trường tiếp / trước",
        "saved": "Đã lưu hồ sơ trước.",
        "saved_complete": "Đã lưu hồ sơ trước: thuê bao đã đủ thông tin, sẽ được khôi phục.",
        "version_changed": "Thuê bao vừa thay đổi: không có gì bị ghi đè. Xem lại thông tin hiện tại rồi xác nhận.",
        "item_not_held": "Hồ sơ này không còn thuộc về bạn (hết thời gian giữ). Hãy lấy hồ sơ tiếp theo.",
        "confidence": "độ tin cậy",
    },
    "en": {
        "title": "Back-office queue",
        "lead": "Complete subscriber information from the ID scans on file, oldest deadline first.",
        "next": "Take the next item",
        "empty": "The queue is empty: nothing left to work on.",
        "open": "Open",
        "held": "being worked on",
        "done": "Done",
        "skipped": "Set aside",
        "item": "Item",
        "deadline": "Deadline",
        "number": "Number",
        "missing": "Missing",
        "scans": "Scans",
        "unreadable": "This scan could not be read: type the values from the image.",
        "changed": "The line changed since it was queued: below is its current state, read again.",
        "complete_now": "The line is complete already: confirm to close the item.",
        "field": "Field",
        "value": "Value",
        "source": "Source",
        "stored": "stored",
        "typed": "typed",
        "qr": "QR code",
        "mrz": "MRZ",
        "ocr": "Printed text (OCR)",
        "disagree": "The sources disagree: check the scan",
        "confirm": "Confirm (Enter)",
        "skip": "Skip (Esc)",
        "shortcuts": "Shortcuts",
        "k_enter": "Enter: confirm and open the next item",
        "k_esc": "Esc: set this item aside",
        "k_tab": "Tab / Shift+Tab: next / previous field",
        "saved": "The previous item was saved.",
        "saved_complete": "The previous item was saved: the line is complete and will be restored.",
        "version_changed": "The line just changed: nothing was overwritten. Check its current state, then confirm.",
        "item_not_held": "This item is no longer yours (its hold ran out). Take the next item.",
        "confidence": "confidence",
    },
}


def _actor(request: Request) -> Actor:
    return request.state.actor  # type: ignore[no-any-return]  # set by `requires` (never None past it)


def _bt(language: str) -> dict[str, str]:
    return TEXTS["en" if language == "en" else "vi"]


async def _home(request: Request, c: Container, language: str, **context: Any) -> HTMLResponse:
    counts = await run_use_case(wq.queue_counts, uow=c.uow(), now=c.clock.now())
    return render(request, "backoffice/home.html", language, bt=_bt(language), counts=counts, **context)


@router.get("/backoffice", response_class=HTMLResponse, dependencies=[requires(_WORK)])
async def home(request: Request, language: str = Depends(page_lang), c: Container = Depends(container)) -> Response:
    """The queue's figures, the shortcuts, and the button that takes the next item."""
    return await _home(request, c, language)


async def _next(request: Request, c: Container, language: str, notice: str | None = None) -> Response:
    item = await run_use_case(wq.next_item, uow=c.uow(), ctx=c.work_context(), actor=_actor(request))
    if item is None:
        return await _home(request, c, language, empty=True, notice=notice)
    suffix = f"&notice={notice}" if notice else ""
    return RedirectResponse(f"/backoffice/items/{item.id}?lang={language}{suffix}", status_code=303)


@router.post("/backoffice/next", dependencies=[requires(_WORK)])
async def take_next(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Lease the next item (or the one already held) and open it."""
    return await _next(request, c, language)


async def _item_page(
    request: Request, c: Container, language: str, item_id: int, *, status: int = 200, **context: Any
) -> HTMLResponse:
    bt = _bt(language)
    try:
        view = await run_use_case(wq.open_item, item_id, uow=c.uow(), ctx=c.work_context(), actor=_actor(request))
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        codes = [e.code for e in exc.errors]
        general = [bt[code] for code in codes if code in bt] or general + list(errors.values())
        return render(request, "backoffice/home.html", language, status=status_of(exc), bt=bt,
                      counts=await run_use_case(wq.queue_counts, uow=c.uow(), now=c.clock.now()),
                      general=general)  # fmt: skip
    return render(request, "backoffice/item.html", language, status=status, bt=bt, view=view,
                  missing_first=next((f.name for f in view.fields if f.stored is None and f.missing), None),
                  **context)  # fmt: skip


@router.get("/backoffice/items/{item_id}", response_class=HTMLResponse, dependencies=[requires(_WORK)])
async def item_page(
    request: Request, item_id: int, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """The held item: its scans beside the form pre-filled from them."""
    notice = request.query_params.get("notice")
    return await _item_page(
        request, c, language, item_id, notice=notice if notice in ("saved", "saved_complete") else None
    )


@router.get("/backoffice/items/{item_id}/scans/{document_id}", dependencies=[requires(_WORK)])
async def scan_image(request: Request, item_id: int, document_id: int, c: Container = Depends(container)) -> Response:
    """A scan of the held item's line (audited `document:image_viewed`, purpose `backoffice`)."""
    content_type, data = await run_use_case(
        wq.read_scan_image, item_id, document_id, uow=c.uow(), ctx=c.work_context(), actor=_actor(request)
    )
    return Response(data, media_type=content_type, headers={"Cache-Control": "no-store"})


def _offered(form: Any) -> dict[str, Reading]:
    """The readings the page offered (`src_<field>` = method|document id|confidence)."""
    out: dict[str, Reading] = {}
    for name in FORM_FIELDS:
        raw, value = form.get(f"src_{name}"), form.get(f"read_{name}")
        if not isinstance(raw, str) or not isinstance(value, str):
            continue
        parts = raw.split("|")
        if len(parts) != 3 or parts[0] not in (Source.QR, Source.MRZ, Source.OCR):
            continue
        try:
            document_id, confidence = int(parts[1]), float(parts[2])
        except ValueError:
            continue
        out[name] = Reading(name, value, Source(parts[0]), max(0.0, min(1.0, confidence)), document_id)
    return out


@router.post("/backoffice/items/{item_id}/save", response_class=HTMLResponse, dependencies=[requires(_WORK)])
async def save(
    request: Request, item_id: int, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Store the confirmed values, then open the next item."""
    form = await request.form()
    values = {n: v.strip()[:300] for n in FORM_FIELDS if isinstance(v := form.get(f"f_{n}"), str) and v.strip()}
    version = form.get("version")
    cmd = wq.SaveItem(item_id, int(version) if isinstance(version, str) and version.isdigit() else -1, values,
                      _offered(form))  # fmt: skip
    try:
        saved = await run_use_case(wq.save_item, cmd, uow=c.uow(), ctx=c.work_context(), actor=_actor(request))
    except SubregError as exc:
        bt = _bt(language)
        errors, general = error_messages(exc, language)
        codes = [e.code for e in exc.errors]
        general = [bt[code] for code in codes if code in bt] or general
        errors = {k.removeprefix("holder."): v for k, v in errors.items()}
        return await _item_page(request, c, language, item_id, status=status_of(exc), general=general,
                                errors=errors, typed=values)  # fmt: skip
    return await _next(request, c, language, "saved_complete" if saved.complete else "saved")


@router.post("/backoffice/items/{item_id}/skip", response_class=HTMLResponse, dependencies=[requires(_WORK)])
async def skip(
    request: Request, item_id: int, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Set the item aside, then open the next one."""
    form = await request.form()
    reason = form.get("reason")
    # Not held any more: nothing to set aside; the next item opens all the same.
    with contextlib.suppress(ConflictError, NotFoundError):
        await run_use_case(wq.skip_item, item_id, uow=c.uow(), ctx=c.work_context(), actor=_actor(request),
                           reason=reason if isinstance(reason, str) else "other")  # fmt: skip
    return await _next(request, c, language)
