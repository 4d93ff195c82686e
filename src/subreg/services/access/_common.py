"""What the staff-identity use cases share: token hashing, the password hasher, the audit entry, the actor.

Passwords are argon2id hashes (argon2-cffi defaults, the format `demo_data` writes); a hash made with
older parameters is replaced on the next successful sign-in. Session, API and CSRF tokens are 256-bit
random strings given to the client once; the database keeps only their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from subreg.domain.access.permissions import Actor, Role
from subreg.services.access.ports import AccessUnitOfWork, StaffAuthRow
from subreg.services.common import audit_trail

__all__ = ["DUMMY_HASH", "HASHER", "actor_of", "audit_event", "hash_token", "utc_or_now", "verify_password"]

HASHER = PasswordHasher()


# Verified against when the username is unknown, so that case costs the same time as a wrong password.
DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


def hash_token(token: str) -> bytes:
    """SHA-256 of a session, API or CSRF token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def utc_or_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def audit_event(
    uow: AccessUnitOfWork,
    *,
    actor: Actor | None,
    action: str,
    subject: str | None = None,
    now: datetime | None = None,
    **details: Any,
) -> None:
    """Append a sign-in or account event to the audit log, in the caller's transaction.

    Details are codes and ids only; never the username typed by a failed sign-in (it may be a phone
    number or a mistyped password).
    """
    audit_trail.record(uow, actor=actor, action=action, subject=subject, details=details or None, now=now)


def actor_of(row: StaffAuthRow) -> Actor:
    role: Role | str
    try:
        role = Role(row.role)
    except ValueError:
        role = row.role  # deny by default: an unknown role is refused by `can`/`authorize`
    return Actor(staff_id=row.id, role=role, point_of_sale_id=row.point_of_sale_id, pos_kind=row.pos_kind)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return bool(HASHER.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
