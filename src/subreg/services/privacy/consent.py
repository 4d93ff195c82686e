"""Consent: the versioned texts shown at registration, and the record of what each holder was shown.

At registration the holder is shown a versioned text; `record_consent` stores the version and the
SHA-256 of the exact text shown (the text itself lives in the code, versioned), so what a person
agreed to can be proven later without storing it per person.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldError, InputError
from subreg.services.common import audit_trail
from subreg.services.privacy._subjects import now_or
from subreg.services.privacy.ports import PrivacyUnitOfWork

__all__ = ["CONSENT_TEXTS", "Consents", "consent_text", "record_consent"]

# The consent texts shown at registration, by version (Vietnamese first, English). A new wording is a
# new version: never edit a published one, its hash is what past consents point to.
CONSENT_TEXTS: dict[str, tuple[str, str]] = {
    "2026-01": (
        "Tôi đồng ý để nhà mạng thu thập và xử lý thông tin cá nhân, ảnh giấy tờ tùy thân và ảnh chân "
        "dung của tôi chỉ để quản lý thông tin thuê bao theo Nghị định 49/2017/NĐ-CP, Luật Viễn thông và "
        "Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15. Dữ liệu được mã hoá, chỉ người có nhiệm vụ mới được "
        "xem, mọi lần truy cập đều được ghi nhật ký. Tôi có quyền xem, nhận bản sao, yêu cầu hạn chế, "
        "phản đối xử lý và yêu cầu xoá khi hết thời hạn lưu trữ theo luật định.",
        "I agree that the operator collects and processes my personal information, ID document images "
        "and portrait only to manage subscriber information under Decree 49/2017/ND-CP, the "
        "Telecommunications Law and the Personal Data Protection Law 91/2025/QH15. The data is "
        "encrypted, only staff who need it may see it, and every access is logged. I may see it, get a "
        "copy, ask for restriction, object to processing, and ask for erasure once the legal retention "
        "period has ended.",
    ),
}


def consent_text(version: str, lang: str = "vi") -> str:
    """The consent text of `version` in `lang` (InputError for an unknown version)."""
    texts = CONSENT_TEXTS.get(version)
    if texts is None:
        raise InputError([FieldError("text_version", "invalid_choice")])
    return texts[1] if lang == "en" else texts[0]


def record_consent(
    uow: PrivacyUnitOfWork,
    holder_id: int,
    subscription_id: int | None,
    text_version: str,
    accepted: bool,
    actor: Actor | None,
    *,
    text: str | None = None,
    now: datetime | None = None,
) -> int:
    """Store that `holder_id` was shown consent text `text_version` (its SHA-256) and the answer.

    `text` is the exact text shown; by default the Vietnamese text of that version. In the caller's
    transaction; the consent is also written to the audit log.
    """
    shown = text if text is not None else consent_text(text_version)
    digest = hashlib.sha256(shown.encode("utf-8")).hexdigest()
    consent_id = uow.privacy.add_consent(
        {
            "holder_id": holder_id,
            "subscription_id": subscription_id,
            "text_version": text_version,
            "text_sha256": digest,
            "accepted": bool(accepted),
            "shown_at": now_or(now),
            "staff_id": actor.staff_id if actor else None,
            "point_of_sale_id": actor.point_of_sale_id if actor else None,
        }
    )
    audit_trail.record(
        uow, actor=actor, action="consent:recorded", subject=audit_trail.subject_for_holder(holder_id),
        details={"consent_id": consent_id, "version": text_version, "accepted": bool(accepted)}, now=now,
    )  # fmt: skip
    return consent_id


class Consents:
    """`privacy.ports.ConsentRecorder`: `record_consent`, as the counter calls it in its own transaction."""

    def record(
        self,
        uow: PrivacyUnitOfWork,
        holder_id: int,
        subscription_id: int | None,
        text_version: str,
        accepted: bool,
        actor: Actor | None,
        *,
        text: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Store the consent shown and the answer; its id."""
        return record_consent(uow, holder_id, subscription_id, text_version, accepted, actor, text=text, now=now)
