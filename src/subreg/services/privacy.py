"""Data-subject rights, consent records, holder flags, crypto-shredding and retention.

- **Consent**: at registration the holder is shown a versioned text; `record_consent` stores the
  version and the SHA-256 of the exact text shown (the text itself lives in the code, versioned),
  so what a person agreed to can be proven later without storing it per person.
- **Requests** (`dsr_requests`): every request is logged with its deadline (received +
  `dsr_deadline_days`) and closed with an outcome code, never free text about the person.
- **Erasure is crypto-shredding**: the holder's wrapped data key is nulled (`erased_at` set), so the
  payload and images cannot be decrypted, in the live database and in every backup; image blobs are
  deleted as well. Decree 49 obliges the operator to keep subscriber information while a
  subscription lives and for the retention period after it ends: an erasure request before then is
  refused (`legal_retention`) and the holder restricted instead.
- **Retention**: `retention_sweep` shreds, set-based, every holder whose subscriptions were all
  terminated more than `retention_years` ago.

Every action here is written to the audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import ErasedError, FieldError, InputError, NotFoundError
from subreg.domain.common.msisdn import msisdn_from_key, msisdn_key, parse_msisdn
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services import audit_log, registry
from subreg.services.ports import BlobStore, HolderRow, UnitOfWork, Vault
from subreg.services.ports_audit import AuditFilter
from subreg.services.ports_privacy import DsrRow

__all__ = [
    "CONSENT_TEXTS",
    "DSR_KINDS",
    "RetentionResult",
    "consent_text",
    "export_request",
    "fulfil_request",
    "list_requests",
    "open_request",
    "record_consent",
    "retention_cutoff",
    "retention_sweep",
    "shred_holder",
]

DSR_KINDS = ("access", "export", "restrict", "object", "erase")
_EXPORT_KINDS = ("access", "export")
_FLAG_KINDS = ("restrict", "object", "erase")
PURPOSE_DSR = "dsr"
PURPOSE_RETENTION = "retention"

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


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _msisdn_int(msisdn: str | int | None) -> int | None:
    if msisdn is None or isinstance(msisdn, int):
        return msisdn
    e164 = parse_msisdn(msisdn)
    if e164 is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])
    return msisdn_key(e164)


def record_consent(
    uow: UnitOfWork,
    holder_id: int,
    msisdn: str | int | None,
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
            "msisdn": _msisdn_int(msisdn),
            "text_version": text_version,
            "text_sha256": digest,
            "accepted": bool(accepted),
            "shown_at": _now(now),
            "staff_id": actor.staff_id if actor else None,
            "point_of_sale_id": actor.point_of_sale_id if actor else None,
        }
    )
    audit_log.record(
        uow, actor=actor, action="consent:recorded", subject=audit_log.subject_for_holder(holder_id),
        details={"consent_id": consent_id, "version": text_version, "accepted": bool(accepted)}, now=now,
    )  # fmt: skip
    return consent_id


# --- finding the data subject ---------------------------------------------------------------------------


def _same_document(uow: UnitOfWork, holder: HolderRow) -> list[HolderRow]:
    """The holder and every other holder row under the same ID document (oldest first)."""
    if holder.id_blind is None:
        return [holder]
    found = uow.holders.find_by_blind(holder.id_blind)
    return found if any(h.id == holder.id for h in found) else [holder, *found]


def find_holder(
    uow: UnitOfWork, *, vault: Vault, rule_set: RuleSet, msisdn: str | None = None, id_number: str | None = None
) -> HolderRow:
    """The holder behind a phone number or an ID document number (InputError `holder_not_found`)."""
    if (msisdn is None) == (id_number is None):
        raise InputError([FieldError("msisdn", "required")])
    if msisdn is not None:
        key = _msisdn_int(msisdn)
        sub = uow.subscriptions.get(key) if key is not None else None
        holder = uow.holders.get(sub.holder_id) if sub else None
        if holder is None:
            raise InputError([FieldError("msisdn", "holder_not_found")])
        return holder
    doc_key = rule_set.document_key({"holder": {"id_number": id_number}})
    found = uow.holders.find_by_blind(vault.blind(doc_key)) if doc_key else []
    if not found:
        raise InputError([FieldError("id_number", "holder_not_found")])
    return found[0]


# --- requests -------------------------------------------------------------------------------------------


def open_request(
    uow: UnitOfWork,
    *,
    kind: str,
    actor: Actor | None,
    vault: Vault,
    rule_set: RuleSet,
    deadline_days: int,
    msisdn: str | None = None,
    id_number: str | None = None,
    now: datetime | None = None,
) -> DsrRow:
    """Log a data-subject request with its deadline (received + `deadline_days`), and commit."""
    audit_log.hold_appender_lock(uow)  # before reading: the unit will write (see hold_appender_lock)
    if kind not in DSR_KINDS:
        raise InputError([FieldError("kind", "invalid_choice")])
    holder = find_holder(uow, vault=vault, rule_set=rule_set, msisdn=msisdn, id_number=id_number)
    received = _now(now)
    due = received.astimezone(UTC).date() + timedelta(days=deadline_days)
    request_id = uow.privacy.add_request(
        {
            "kind": kind,
            "holder_id": holder.id,
            "status": "open",
            "received_at": received,
            "due_on": due,
            "staff_id": actor.staff_id if actor else None,
        }
    )
    audit_log.record(
        uow, actor=actor, action=AuditAction.DSR_RECEIVED, subject=audit_log.subject_for_holder(holder.id),
        purpose=PURPOSE_DSR, details={"request_id": request_id, "kind": kind, "due_on": due.isoformat()}, now=now,
    )  # fmt: skip
    uow.commit()
    row = uow.privacy.get_request(request_id)
    assert row is not None
    return row


def list_requests(uow: UnitOfWork, *, status: str | None = None, limit: int = 100) -> list[DsrRow]:
    """Requests, soonest deadline first."""
    return uow.privacy.list_requests(status=status, limit=limit)


def _request(uow: UnitOfWork, request_id: int, kinds: Sequence[str]) -> DsrRow:
    row = uow.privacy.get_request(request_id)
    if row is None:
        raise NotFoundError("request not found")
    if row.kind not in kinds or row.holder_id is None:
        raise InputError([FieldError("request_id", "dsr_not_open")])
    return row


def _holders_of(uow: UnitOfWork, row: DsrRow) -> list[HolderRow]:
    holder = uow.holders.get(row.holder_id) if row.holder_id is not None else None
    if holder is None:
        raise NotFoundError("holder not found")
    return _same_document(uow, holder)


def retention_cutoff(as_of: date, years: int) -> datetime:
    """Midnight UTC `years` before `as_of` (29 February falls back to the 28th)."""
    try:
        day = as_of.replace(year=as_of.year - years)
    except ValueError:
        day = as_of.replace(year=as_of.year - years, day=28)
    return datetime.combine(day, time(0), tzinfo=UTC)


def fulfil_request(
    uow: UnitOfWork,
    request_id: int,
    *,
    actor: Actor | None,
    blobs: BlobStore,
    retention_years: int,
    now: datetime | None = None,
) -> DsrRow:
    """Carry out a restrict, object or erase request, close it with an outcome code, and commit.

    Erasure is refused while a subscription is live or within the legal retention period after its
    termination (`legal_retention`); the holder is then restricted instead.
    """
    audit_log.hold_appender_lock(uow)
    row = _request(uow, request_id, _FLAG_KINDS)
    if row.status != "open":
        raise InputError([FieldError("request_id", "dsr_not_open")])
    moment = _now(now)
    holders = _holders_of(uow, row)
    ids = [h.id for h in holders]
    to_delete: list[str] = []
    if row.kind == "restrict":
        status, outcome = "done", "restricted"
        for holder_id in ids:
            uow.privacy.set_flags(holder_id, restricted=True)
    elif row.kind == "object":
        status, outcome = "done", "objected"
        for holder_id in ids:
            uow.privacy.set_flags(holder_id, objected=True)
    else:
        subs = uow.subscriptions.list_by_holders(ids)
        live = any(s.status != "terminated" for s in subs)
        cutoff = retention_cutoff(moment.astimezone(UTC).date(), retention_years)
        eligible = set(uow.privacy.retention_candidates(terminated_before=cutoff, limit=len(ids), holder_ids=ids))
        if live or any(s.holder_id not in eligible for s in subs):
            status, outcome = "refused", "legal_retention"
            for holder_id in ids:
                uow.privacy.set_flags(holder_id, restricted=True)
        else:
            status, outcome = "done", "erased"
            for holder_id in ids:
                to_delete += _shred(uow, holder_id, actor=actor, reason=PURPOSE_DSR, now=moment)
    uow.privacy.close_request(row.id, status=status, outcome=outcome, closed_at=moment)
    audit_log.record(
        uow, actor=actor, action="dsr:closed", subject=audit_log.subject_for_holder(ids[0]), purpose=PURPOSE_DSR,
        details={"request_id": row.id, "kind": row.kind, "status": status, "outcome": outcome}, now=moment,
    )  # fmt: skip
    uow.commit()
    _delete_blobs(blobs, to_delete)
    closed = uow.privacy.get_request(row.id)
    assert closed is not None
    return closed


# --- crypto-shredding and retention ---------------------------------------------------------------------


def _shred(uow: UnitOfWork, holder_id: int, *, actor: Actor | None, reason: str, now: datetime) -> list[str]:
    """Null the wrapped DEK, stamp `erased_at`, log it; the blob keys to delete after commit."""
    flags = uow.privacy.flags(holder_id)
    if flags is None:
        raise NotFoundError("holder not found")
    if flags.erased_at is not None:
        return []
    keys = uow.privacy.blob_keys_of(holder_id)
    uow.privacy.shred(holder_id, erased_at=now)
    audit_log.record(
        uow, actor=actor, action=AuditAction.DSR_ERASURE, subject=audit_log.subject_for_holder(holder_id),
        purpose=reason, details={"reason": reason, "blobs": len(keys)}, now=now,
    )  # fmt: skip
    return keys


def _delete_blobs(blobs: BlobStore, keys: Sequence[str]) -> None:
    # After commit: if the transaction had rolled back, the images would still be needed. A failure
    # here leaves ciphertext that nothing can decrypt any more (its key is gone).
    for key in keys:
        blobs.delete(key)


def shred_holder(
    uow: UnitOfWork,
    holder_id: int,
    *,
    actor: Actor | None,
    reason: str,
    blobs: BlobStore,
    now: datetime | None = None,
) -> int:
    """Crypto-shred one holder (payload and images unreadable for good), commit, delete the image
    blobs; how many blobs were deleted. Idempotent."""
    audit_log.hold_appender_lock(uow)
    keys = _shred(uow, holder_id, actor=actor, reason=reason, now=_now(now))
    uow.commit()
    _delete_blobs(blobs, keys)
    return len(keys)


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What a retention sweep found and did."""

    cutoff: str
    candidates: int
    shredded: int
    blobs_deleted: int
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


def retention_sweep(
    uow: UnitOfWork,
    *,
    as_of: date,
    years: int,
    actor: Actor | None,
    blobs: BlobStore,
    dry_run: bool = False,
    batch_size: int = 500,
    now: datetime | None = None,
) -> RetentionResult:
    """Shred every holder whose subscriptions were all terminated before `as_of` - `years`.

    Candidates come from one set-based query per batch; each batch commits on its own (a crash
    loses at most one batch of work, never consistency).
    """
    audit_log.hold_appender_lock(uow)
    cutoff = retention_cutoff(as_of, years)
    moment = _now(now)
    if dry_run:
        found = uow.privacy.retention_candidates(terminated_before=cutoff, limit=10_000_000)
        return RetentionResult(cutoff.date().isoformat(), len(found), 0, 0, True)
    shredded = deleted = 0
    while True:
        audit_log.hold_appender_lock(uow)  # each batch is a transaction of its own
        ids = uow.privacy.retention_candidates(terminated_before=cutoff, limit=batch_size)
        keys: list[str] = []
        for holder_id in ids:
            keys += _shred(uow, holder_id, actor=actor, reason=PURPOSE_RETENTION, now=moment)
        uow.commit()
        _delete_blobs(blobs, keys)
        shredded += len(ids)
        deleted += len(keys)
        if len(ids) < batch_size:
            break
    return RetentionResult(cutoff.date().isoformat(), shredded, shredded, deleted, False)


# --- export ---------------------------------------------------------------------------------------------

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


def _access_log(uow: UnitOfWork, subjects: Sequence[str]) -> list[dict[str, Any]]:
    entries = []
    for subject in subjects:
        for e in uow.audit.search(AuditFilter(subject=subject, limit=100_000)):
            # Staff ids are left out: they identify employees, whose data is not the subject's to see;
            # role and point of sale say who acted.
            entries.append(
                {"at": e.at, "role": e.actor_role, "point_of_sale_id": e.point_of_sale_id, "action": e.action,
                 "purpose": e.purpose, "fields": list(e.fields)}
            )  # fmt: skip
    return sorted(entries, key=lambda x: x["at"])


def export_request(
    uow: UnitOfWork,
    request_id: int,
    *,
    actor: Actor | None,
    vault: Vault,
    blobs: BlobStore,
    now: datetime | None = None,
) -> bytes:
    """A ZIP archive of everything held about the request's data subject (README.txt in Vietnamese
    and English, data.json, images/), logged as `dsr:export`; closes the request and commits."""
    audit_log.hold_appender_lock(uow)
    row = _request(uow, request_id, _EXPORT_KINDS)
    moment = _now(now)
    holders = _holders_of(uow, row)
    ids = [h.id for h in holders]
    data: dict[str, Any] = {
        "request": {k: _jsonable(v) for k, v in asdict(row).items() if k != "staff_id"},
        "generated_at": moment.isoformat(),
        "holders": [],
        "subscriptions": [],
        "consents": [
            {
                "msisdn": msisdn_from_key(c.msisdn) if c.msisdn else None,
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
    subjects = [audit_log.subject_for_holder(i) for i in ids]
    for sub in uow.subscriptions.list_by_holders(ids):
        e164 = msisdn_from_key(sub.msisdn)
        subjects.append(audit_log.subject_for_msisdn(vault, e164))
        entry: dict[str, Any] = {"msisdn": e164}
        try:
            entry["record"] = registry.get_subscription(sub.msisdn, uow=uow, vault=vault)
        except ErasedError:
            entry["record"] = None
            entry["erased"] = True
        entry["history"] = [
            {"at": _jsonable(h.at), "action": h.action, "channel": h.channel, "changes": h.changes}
            for h in uow.history.list_for(sub.msisdn)
        ]
        entry["documents"] = []
        for doc in uow.documents.list_for(sub.msisdn):
            item: dict[str, Any] = {"id": doc.id, "kind": doc.kind, "content_type": doc.content_type}
            if doc.blob_key and not entry.get("erased"):
                _, content = registry.read_document(doc.id, uow=uow, vault=vault, blobs=blobs)
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
    audit_log.record(
        uow, actor=actor, action=AuditAction.DSR_EXPORT, subject=audit_log.subject_for_holder(ids[0]),
        fields=["holder", "subscriptions", "documents", "history", "consents"], purpose=PURPOSE_DSR,
        details={"request_id": row.id, "images": len(files)}, now=moment,
    )  # fmt: skip
    if row.status == "open":
        uow.privacy.close_request(row.id, status="done", outcome="exported", closed_at=moment)
    uow.commit()
    return buffer.getvalue()
