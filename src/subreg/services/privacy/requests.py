"""Data-subject requests (Law 91/2025/QH15): logged with their deadline, carried out, closed with an outcome.

Every request is logged with its deadline (received + `dsr_deadline_days`) and closed with an outcome
code, never free text about the person. Erasure is refused while a subscription is live or within the
legal retention period after it ends (`legal_retention`): Decree 49 obliges the operator to keep
subscriber information that long; the holder is then restricted instead. Every action is written to
the audit log in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.common.ports import BlobStore, Vault
from subreg.services.privacy._subjects import find_holder, holders_of, now_or, request_row
from subreg.services.privacy.ports import DsrRow, PrivacyUnitOfWork
from subreg.services.privacy.shredding import delete_blobs, retention_cutoff, shred_one

__all__ = ["DSR_KINDS", "EXPORT_KINDS", "PURPOSE_DSR", "fulfil_request", "list_requests", "open_request"]

DSR_KINDS = ("access", "export", "restrict", "object", "erase")
EXPORT_KINDS = ("access", "export")
_FLAG_KINDS = ("restrict", "object", "erase")
PURPOSE_DSR = "dsr"


def open_request(
    uow: PrivacyUnitOfWork,
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
    audit_trail.hold_appender_lock(uow)  # before reading: the unit will write (see hold_appender_lock)
    if kind not in DSR_KINDS:
        raise InputError([FieldError("kind", "invalid_choice")])
    holder = find_holder(uow, vault=vault, rule_set=rule_set, msisdn=msisdn, id_number=id_number)
    received = now_or(now)
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
    audit_trail.record(
        uow, actor=actor, action=AuditAction.DSR_RECEIVED, subject=audit_trail.subject_for_holder(holder.id),
        purpose=PURPOSE_DSR, details={"request_id": request_id, "kind": kind, "due_on": due.isoformat()}, now=now,
    )  # fmt: skip
    uow.commit()
    row = uow.privacy.get_request(request_id)
    assert row is not None
    return row


def list_requests(uow: PrivacyUnitOfWork, *, status: str | None = None, limit: int = 100) -> list[DsrRow]:
    """Requests, soonest deadline first."""
    return uow.privacy.list_requests(status=status, limit=limit)


def fulfil_request(
    uow: PrivacyUnitOfWork,
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
    audit_trail.hold_appender_lock(uow)
    row = request_row(uow, request_id, _FLAG_KINDS)
    if row.status != "open":
        raise InputError([FieldError("request_id", "dsr_not_open")])
    moment = now_or(now)
    holders = holders_of(uow, row)
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
                to_delete += shred_one(uow, holder_id, actor=actor, reason=PURPOSE_DSR, now=moment)
    uow.privacy.close_request(row.id, status=status, outcome=outcome, closed_at=moment)
    audit_trail.record(
        uow, actor=actor, action="dsr:closed", subject=audit_trail.subject_for_holder(ids[0]), purpose=PURPOSE_DSR,
        details={"request_id": row.id, "kind": row.kind, "status": status, "outcome": outcome}, now=moment,
    )  # fmt: skip
    uow.commit()
    delete_blobs(blobs, to_delete)
    closed = uow.privacy.get_request(row.id)
    assert closed is not None
    return closed
