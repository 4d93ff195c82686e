"""The data subject's copy of their data: a ZIP archive (README in Vietnamese and English, data.json, images/)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

import orjson

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import ErasedError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.common.ports import AuditFilter, Vault
from subreg.services.privacy._subjects import holders_of, now_or, request_row
from subreg.services.privacy.consent import CONSENT_TEXTS
from subreg.services.privacy.ports import PrivacyUnitOfWork
from subreg.services.privacy.requests import EXPORT_KINDS, PURPOSE_DSR
from subreg.services.registry.ports import SubscriptionWriter

__all__ = ["export_request"]

_README = """\
BẢN SAO DỮ LIỆU CÁ NHÂN / COPY OF PERSONAL DATA
================================================

Yêu cầu số / Request no.: {request_id}   Lập lúc / Generated at (UTC): {generated_at}

[Tiếng Việt]
Tệp này chứa toàn bộ dữ liệu cá nhân nhà mạng đang lưu về Quý khách, theo yêu cầu của Quý khách
(Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15):
  - data.json: thông tin chủ thuê bao, các thuê bao, lịch sử thay đổi, các lần đồng ý điều khoản,
    các yêu cầu của Quý khách và nhật ký truy cập (ai - theo vai trò và điểm giao dịch - đã xem
    hoặc sửa dữ liệu, khi nào, vì mục đích gì);
  - images/: ảnh giấy tờ tùy thân và ảnh chân dung đã lưu.
Vui lòng giữ tệp này cẩn thận: nó chứa dữ liệu cá nhân của Quý khách.

[English]
This archive holds all the personal data the operator keeps about you, as you requested
(Personal Data Protection Law 91/2025/QH15):
  - data.json: holder information, subscriptions, change history, consents given, your requests,
    and the access log (who - by role and point of sale - read or changed your data, when, why);
  - images/: the stored ID document images and portrait.
Please keep this file safe: it contains your personal data.
"""


_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _number_of(uow: PrivacyUnitOfWork, subscription_id: int | None) -> str | None:
    line = uow.subscriptions.get_by_id(subscription_id) if subscription_id is not None else None
    return msisdn_from_key(line.msisdn) if line is not None else None


def _access_log(uow: PrivacyUnitOfWork, subjects: Sequence[str]) -> list[dict[str, Any]]:
    entries = []
    if subjects:
        for e in uow.audit.search(AuditFilter(subjects=tuple(subjects), limit=100_000)):
            # Staff ids are left out: they identify employees, whose data is not the subject's to see;
            # role and point of sale say who acted.
            entries.append(
                {"at": e.at, "role": e.actor_role, "point_of_sale_id": e.point_of_sale_id, "action": e.action,
                 "purpose": e.purpose, "fields": list(e.fields)}
            )  # fmt: skip
    return sorted(entries, key=lambda x: x["at"])


def export_request(
    uow: PrivacyUnitOfWork,
    request_id: int,
    *,
    actor: Actor | None,
    vault: Vault,
    registry: SubscriptionWriter,
    now: datetime | None = None,
) -> bytes:
    """A ZIP archive of everything held about the request's data subject (README.txt in Vietnamese
    and English, data.json, images/), logged as `dsr:export`; closes the request and commits."""
    audit_trail.hold_appender_lock(uow)
    row = request_row(uow, request_id, EXPORT_KINDS)
    moment = now_or(now)
    holders = holders_of(uow, row)
    ids = [h.id for h in holders]
    data: dict[str, Any] = {
        "request": {k: _jsonable(v) for k, v in asdict(row).items() if k != "staff_id"},
        "generated_at": moment.isoformat(),
        "holders": [],
        "subscriptions": [],
        "consents": [
            {
                "msisdn": _number_of(uow, c.subscription_id),
                "text_version": c.text_version,
                "text_sha256": c.text_sha256,
                "accepted": c.accepted,
                "shown_at": _jsonable(c.shown_at),
                "text": CONSENT_TEXTS.get(c.text_version, ("", ""))[0] or None,
            }
            for c in uow.privacy.consents_of(ids)
        ],
        "requests": [
            {k: _jsonable(v) for k, v in asdict(r).items() if k != "staff_id"} for r in uow.privacy.requests_of(ids)
        ],
    }
    for holder_id in ids:
        flags = uow.privacy.flags(holder_id)
        data["holders"].append(
            {"holder_id": holder_id, "restricted": flags.restricted if flags else False,
             "objected": flags.objected if flags else False,
             "erased_at": _jsonable(flags.erased_at) if flags else None}
        )  # fmt: skip
    files: dict[str, bytes] = {}
    subjects = [audit_trail.subject_for_holder(i) for i in ids]
    for sub in uow.subscriptions.list_by_holders(ids):
        e164 = msisdn_from_key(sub.msisdn)
        # The line's entries, and those written before lines had ids (keyed by the number).
        subjects += [audit_trail.subject_for_line(sub.id), audit_trail.subject_for_msisdn(vault, e164)]
        entry: dict[str, Any] = {"msisdn": e164}
        try:
            entry["record"] = registry.record_of(sub, uow=uow)
        except ErasedError:
            entry["record"] = None
            entry["erased"] = True
        entry["history"] = [
            {"at": _jsonable(h.at), "action": h.action, "channel": h.channel, "changes": h.changes}
            for h in uow.history.list_for(sub.id)
        ]
        entry["documents"] = []
        for doc in uow.documents.list_for(sub.id):
            item: dict[str, Any] = {"id": doc.id, "kind": doc.kind, "content_type": doc.content_type}
            if doc.blob_key and not entry.get("erased"):
                _, content = registry.read_document(doc.id, uow=uow)
                name = f"images/{doc.id}-{doc.kind}.{_EXTENSIONS.get(doc.content_type or '', 'bin')}"
                files[name] = content
                item["file"] = name
            elif doc.external_ref:
                item["reference"] = doc.external_ref
            entry["documents"].append(item)
        data["subscriptions"].append(entry)
    data["access_log"] = _access_log(uow, subjects)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        readme = _README.format(request_id=row.id, generated_at=moment.strftime("%Y-%m-%d %H:%M"))
        archive.writestr("README.txt", readme.encode("utf-8"))
        archive.writestr("data.json", orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
        for name, content in files.items():
            archive.writestr(name, content)
    audit_trail.record(
        uow, actor=actor, action=AuditAction.DSR_EXPORT, subject=audit_trail.subject_for_holder(ids[0]),
        fields=["holder", "subscriptions", "documents", "history", "consents"], purpose=PURPOSE_DSR,
        details={"request_id": row.id, "images": len(files)}, now=moment,
    )  # fmt: skip
    if row.status == "open":
        uow.privacy.close_request(row.id, status="done", outcome="exported", closed_at=moment)
    uow.commit()
    return buffer.getvalue()
