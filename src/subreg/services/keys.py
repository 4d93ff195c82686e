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
from typing import Any, Protocol

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services import audit_log
from subreg.services.ports import UnitOfWork

__all__ = ["KeyRing", "RotationResult", "rotate_master_key"]


class KeyRing(Protocol):
    """The master key as the deployment holds it (implemented by `adapters.vault.FileKeyRing`)."""

    @property
    def from_env(self) -> bool: ...

    def fingerprint(self, key: bytes | None = None) -> str: ...

    def read_key_file(self, path: Path) -> bytes: ...

    def stage(self, new_key: bytes) -> None: ...

    def rewrap(self, uow: Any, new_key: bytes) -> int: ...

    def install(self, new_key: bytes, *, keep_old: bool, stamp: str) -> Path | None: ...

    def discard_staged(self) -> None: ...


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
        audit_log.record(
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
