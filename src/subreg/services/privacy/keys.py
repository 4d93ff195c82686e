"""Master key rotation and key status.

Rotating the master key re-wraps the few key-encryption keys (KEK rows) under a new master key in
one transaction; holder rows are never re-encrypted (their DEKs are wrapped by the KEKs, whose
values do not change). The audit chain key is derived from the blind-index key, which rotation does
not change, so the audit log verifies across rotations. The rotation is recorded (`keys:rotated`)
in the same transaction as the re-wrap, with the key fingerprints (public hashes, not keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.common.ports import UnitOfWork
from subreg.services.privacy.ports import KeyRing

__all__ = ["KeyStatus", "RotationResult", "key_status", "rotate_master_key"]


@dataclass(frozen=True, slots=True)
class RotationResult:
    """What a rotation did: KEK rows re-wrapped, fingerprints, and where the old key was kept."""

    rewrapped: int
    old_fingerprint: str
    new_fingerprint: str
    kept_old: Path | None


def rotate_master_key(
    uow: UnitOfWork,
    *,
    keyring: KeyRing,
    new_key: bytes,
    actor: Actor | None = None,
    keep_old: bool = False,
    now: datetime | None = None,
) -> RotationResult:
    """Re-wrap every KEK under `new_key`, commit, then install the new key file.

    A key that comes from the environment (SUBREG_MASTER_KEY) cannot be rewritten here: the new key
    must then be given as a file (`new_key` read from it), and the operator updates the secret store.
    """
    moment = now or datetime.now(UTC)
    old_fp, new_fp = keyring.fingerprint(), keyring.fingerprint(new_key)
    if old_fp == new_fp:
        raise InputError([FieldError("new_key", "invalid_choice")])
    keyring.stage(new_key)
    try:
        count = keyring.rewrap(uow, new_key)
        audit_trail.record(
            uow, actor=actor, action=AuditAction.KEYS_ROTATED, subject="keys:master",
            details={"rewrapped": count, "from": old_fp[:16], "to": new_fp[:16]}, now=moment,
        )  # fmt: skip
        uow.commit()
    except BaseException:
        uow.rollback()
        keyring.discard_staged()
        raise
    kept = keyring.install(new_key, keep_old=keep_old, stamp=moment.strftime("%Y%m%dT%H%M%SZ"))
    return RotationResult(count, old_fp, new_fp, kept)


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """The configured master key (fingerprint, source), each KEK and what it wraps, leftover key files."""

    master_key: dict[str, str]
    keks: list[dict[str, Any]]
    key_files: list[str]

    @property
    def healthy(self) -> bool:
        """Whether every KEK is wrapped by the configured master key."""
        return all(k["wrapped_by_configured_key"] for k in self.keks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (fingerprints are public hashes, never keys)."""
        return {"master_key": self.master_key, "keks": self.keks, "key_files": self.key_files}


def key_status(uow: UnitOfWork, *, keyring: KeyRing) -> KeyStatus:
    """What `subreg keys status` shows: nothing secret, only fingerprints and counts."""
    fingerprint = keyring.fingerprint()
    with uow:
        rows = keyring.kek_rows(uow)
    keks = [
        {
            "id": r["id"], "purpose": r["purpose"], "active": bool(r["active"]),
            "wrapped_by_configured_key": r["master_key_id"] == fingerprint,
            "holders": r["holders"], "shredded": r["shredded"],
        }
        for r in rows
    ]  # fmt: skip
    source = "env" if keyring.from_env else "file"
    return KeyStatus({"fingerprint": fingerprint[:16], "source": source}, keks, keyring.leftover_files())
