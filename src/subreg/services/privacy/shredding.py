"""Crypto-shredding and retention: a holder's data key erased, so payload and images are unreadable for good.

The holder's wrapped data key is nulled (`erased_at` set), so the payload and images cannot be
decrypted, in the live database and in every backup; image blobs are deleted as well, after the
commit. `retention_sweep` shreds, set-based, every holder whose subscriptions were all terminated
more than `retention_years` ago.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import NotFoundError
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.common.ports import BlobStore
from subreg.services.privacy._subjects import now_or
from subreg.services.privacy.ports import PrivacyUnitOfWork

__all__ = [
    "PURPOSE_RETENTION",
    "RetentionResult",
    "delete_blobs",
    "retention_cutoff",
    "retention_sweep",
    "shred_holder",
    "shred_one",
]

PURPOSE_RETENTION = "retention"


def retention_cutoff(as_of: date, years: int) -> datetime:
    """Midnight UTC `years` before `as_of` (29 February falls back to the 28th)."""
    try:
        day = as_of.replace(year=as_of.year - years)
    except ValueError:
        day = as_of.replace(year=as_of.year - years, day=28)
    return datetime.combine(day, time(0), tzinfo=UTC)


def shred_one(uow: PrivacyUnitOfWork, holder_id: int, *, actor: Actor | None, reason: str, now: datetime) -> list[str]:
    """Null the wrapped DEK, stamp `erased_at`, log it; the blob keys to delete after commit."""
    flags = uow.privacy.flags(holder_id)
    if flags is None:
        raise NotFoundError("holder not found")
    if flags.erased_at is not None:
        return []
    keys = uow.privacy.blob_keys_of(holder_id)
    uow.privacy.shred(holder_id, erased_at=now)
    audit_trail.record(
        uow, actor=actor, action=AuditAction.DSR_ERASURE, subject=audit_trail.subject_for_holder(holder_id),
        purpose=reason, details={"reason": reason, "blobs": len(keys)}, now=now,
    )  # fmt: skip
    return keys


def delete_blobs(blobs: BlobStore, keys: Sequence[str]) -> None:
    # After commit: if the transaction had rolled back, the images would still be needed. A failure
    # here leaves ciphertext that nothing can decrypt any more (its key is gone).
    for key in keys:
        blobs.delete(key)


def shred_holder(
    uow: PrivacyUnitOfWork,
    holder_id: int,
    *,
    actor: Actor | None,
    reason: str,
    blobs: BlobStore,
    now: datetime | None = None,
) -> int:
    """Crypto-shred one holder (payload and images unreadable for good), commit, delete the image
    blobs; how many blobs were deleted. Idempotent."""
    audit_trail.hold_appender_lock(uow)
    keys = shred_one(uow, holder_id, actor=actor, reason=reason, now=now_or(now))
    uow.commit()
    delete_blobs(blobs, keys)
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
    uow: PrivacyUnitOfWork,
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
    audit_trail.hold_appender_lock(uow)
    cutoff = retention_cutoff(as_of, years)
    moment = now_or(now)
    if dry_run:
        found = uow.privacy.retention_candidates(terminated_before=cutoff, limit=10_000_000)
        return RetentionResult(cutoff.date().isoformat(), len(found), 0, 0, True)
    shredded = deleted = 0
    while True:
        audit_trail.hold_appender_lock(uow)  # each batch is a transaction of its own
        ids = uow.privacy.retention_candidates(terminated_before=cutoff, limit=batch_size)
        keys: list[str] = []
        for holder_id in ids:
            keys += shred_one(uow, holder_id, actor=actor, reason=PURPOSE_RETENTION, now=moment)
        uow.commit()
        delete_blobs(blobs, keys)
        shredded += len(ids)
        deleted += len(keys)
        if len(ids) < batch_size:
            break
    return RetentionResult(cutoff.date().isoformat(), shredded, shredded, deleted, False)
