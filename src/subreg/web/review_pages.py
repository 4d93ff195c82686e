"""The supervisor's review queue (`/review`): take the next flagged item, look at it, decide.

`GET /review` shows how many items wait and the one held; `POST /review/next` claims the next one (the held one
first) and opens it at `GET /review/items/{id}`: the line now, in clear, with its images (each one fetched
through the audited document route, purpose `review`), the flags and the version the page shows. `POST
/review/items/{id}/decide` posts the decision, a reason code and free text with that version: a line changed
meanwhile is refused (`review_stale`) and the page is shown again with the new state. Every page needs
`review:decide`; the pages hold no rule: each calls one use case of `services.backoffice.review`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from subreg.api.deps import container, requires, run_use_case
from subreg.api.errors import status_of
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.backoffice.review import REASONS, Decision
from subreg.domain.common.errors import SubregError
from subreg.services.backoffice import review
from subreg.web.pos_pages import error_messages, page_lang, render

__all__ = ["TEXTS", "router"]

router = APIRouter(include_in_schema=False)
_GATE = [requires(Permission.REVIEW_DECIDE)]

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Kiểm duyệt",
        "lead": "Đăng ký và cập nhật bị gắn cờ chờ kiểm soát viên duyệt, cũ nhất trước.",
        "pending": "Đang chờ",
        "held": "Bạn đang giữ mục",
        "next": "Nhận mục tiếp theo",
        "none": "Không còn mục nào bạn được nhận.",
        "item": "Mục kiểm duyệt",
        "flags": "Lý do gắn cờ",
        "kind": "Loại",
        "pos": "Điểm bán",
        "version": "Phiên bản",
        "changed": "Thuê bao đã thay đổi sau khi được gắn cờ: trang hiển thị trạng thái mới.",
        "stale": "Thuê bao vừa thay đổi: xem trạng thái mới và quyết định lại.",
        "decision": "Quyết định",
        "reason": "Lý do",
        "note": "Ghi chú (không ghi dữ liệu cá nhân)",
        "save": "Lưu quyết định",
        "holder": "Chủ thuê bao",
        "documents": "Ảnh giấy tờ",
        "lease": "Giữ đến",
        "status": "Trạng thái",
        "saved": "Đã lưu quyết định.",
        "registration": "Đăng ký mới",
        "update": "Cập nhật",
        "signal": "Cảnh báo gian lận được chuyển lên",
        "approved": "Duyệt",
        "rejected": "Từ chối",
        "sent_back": "Trả lại: chụp lại ảnh",
        "card_mismatch": "QR/MRZ khác dữ liệu nhập",
        "fourth_sim": "SIM thứ 4 trở lên",
        "fraud_signal": "Dấu hiệu gian lận",
        "narrow_image": "Ảnh đạt sát ngưỡng",
        "agent_anomaly": "Bất thường của đại lý",
        "resubmitted": "Nộp lại sau từ chối/trả lại",
        "documents_consistent": "Giấy tờ khớp",
        "customer_confirmed": "Khách hàng đã xác nhận",
        "known_customer": "Khách hàng quen",
        "document_forged": "Giấy tờ giả",
        "person_mismatch": "Ảnh không phải chủ giấy tờ",
        "card_data_mismatch": "Dữ liệu thẻ không khớp",
        "over_sim_limit": "Vượt số SIM",
        "fraud_suspected": "Nghi gian lận",
        "portrait_unclear": "Ảnh chân dung không rõ",
        "card_unclear": "Ảnh giấy tờ không rõ",
        "portrait_not_holder": "Ảnh chân dung không đúng người",
        "document_missing": "Thiếu giấy tờ",
        "other": "Khác (ghi rõ)",
    },
    "en": {
        "title": "Review",
        "lead": "Flagged registrations and updates waiting for a supervisor, oldest first.",
        "pending": "Waiting",
        "held": "You hold item",
        "next": "Take the next item",
        "none": "No item left that you may take.",
        "item": "Review item",
        "flags": "Flagged because",
        "kind": "Kind",
        "pos": "Point of sale",
        "version": "Version",
        "changed": "The line changed after it was flagged: the page shows its new state.",
        "stale": "The line just changed: look at its new state and decide again.",
        "decision": "Decision",
        "reason": "Reason",
        "note": "Note (no personal data)",
        "save": "Save the decision",
        "holder": "Holder",
        "documents": "Document images",
        "lease": "Held until",
        "status": "Status",
        "saved": "Decision saved.",
        "registration": "Registration",
        "update": "Update",
        "signal": "Escalated fraud signal",
        "approved": "Approve",
        "rejected": "Reject",
        "sent_back": "Send back: take a new photo",
        "card_mismatch": "QR/MRZ differs from typed data",
        "fourth_sim": "4th SIM or more",
        "fraud_signal": "Fraud signal",
        "narrow_image": "Image passed narrowly",
        "agent_anomaly": "Agent anomaly",
        "resubmitted": "Resubmitted after a rejection or send-back",
        "documents_consistent": "Documents consistent",
        "customer_confirmed": "Customer confirmed",
        "known_customer": "Known customer",
        "document_forged": "Forged document",
        "person_mismatch": "Portrait is not the card's holder",
        "card_data_mismatch": "Card data mismatch",
        "over_sim_limit": "Over the SIM limit",
        "fraud_suspected": "Fraud suspected",
        "portrait_unclear": "Portrait unclear",
        "card_unclear": "Card photo unclear",
        "portrait_not_holder": "Portrait of someone else",
        "document_missing": "Document missing",
        "other": "Other (explain)",
    },
}


def _actor(request: Request) -> Actor:
    return request.state.actor  # type: ignore[no-any-return]  # set by `requires`


def _text(value: object, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _page(request: Request, language: str, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, template, language, status=status, rt=TEXTS[language], reasons=REASONS,
                  decisions=list(Decision), **context)  # fmt: skip


@router.get("/review", response_class=HTMLResponse, dependencies=_GATE)
async def queue_page(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """How many items wait, the one held, the button to take the next."""
    status = await run_use_case(review.queue_status, uow=c.uow(), actor=_actor(request), now=c.clock.now())
    return _page(request, language, "review/queue.html", queue=status, empty=request.query_params.get("empty") == "1",
                 saved=request.query_params.get("saved") == "1")  # fmt: skip


@router.post("/review/next", response_class=HTMLResponse, dependencies=_GATE)
async def take_next(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Claim the next item (the held one first) and open it."""
    item = await run_use_case(review.claim_next, uow=c.uow(), ctx=c.review_context(), actor=_actor(request))
    if item is None:
        return RedirectResponse(f"/review?lang={language}&empty=1", status_code=303)
    return RedirectResponse(f"/review/items/{item}?lang={language}", status_code=303)


async def _item_page(request: Request, c: Container, language: str, item_id: int, *, status: int = 200,
                     **context: Any) -> HTMLResponse:  # fmt: skip
    try:
        shown = await run_use_case(
            review.show_item, item_id, uow=c.uow(), ctx=c.review_context(), actor=_actor(request)
        )
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return _page(request, language, "review/queue.html", status=status_of(exc), queue=None,
                     general=general + list(errors.values()))  # fmt: skip
    return _page(request, language, "review/item.html", status=status, shown=shown, **context)


@router.get("/review/items/{item_id}", response_class=HTMLResponse, dependencies=_GATE)
async def item_page(
    item_id: int, request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """The held item and its line now (audited read, purpose `review`)."""
    return await _item_page(request, c, language, item_id)


@router.post("/review/items/{item_id}/decide", response_class=HTMLResponse, dependencies=_GATE)
async def decide_item(
    item_id: int, request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Store the decision; a stale version or bad input shows the item again with the reason."""
    form = await request.form()
    values = {name: _text(form.get(name), 600) for name in ("decision", "reason", "note", "version")}
    version = int(values["version"]) if values["version"].isdigit() else None
    cmd = review.DecideReview(item_id, values["decision"] or None, values["reason"] or None, values["note"] or None,
                              version)  # fmt: skip
    try:
        await run_use_case(review.decide, cmd, uow=c.uow(), ctx=c.review_context(), actor=_actor(request))
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return await _item_page(request, c, language, item_id, status=status_of(exc), errors=errors,
                                general=general, stale=exc.code == "review_stale", form=values)  # fmt: skip
    return RedirectResponse(f"/review?lang={language}&saved=1", status_code=303)
