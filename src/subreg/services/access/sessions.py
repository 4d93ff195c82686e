"""Sessions and API tokens: opening, resolving a token to its caller, signing out."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldValueError, NotFoundError
from subreg.services.access._common import actor_of, audit_event, hash_token, utc_or_now
from subreg.services.access.policy import AuthPolicy
from subreg.services.access.ports import AccessUnitOfWork, SessionRow, StaffAuthRow

__all__ = [
    "SESSION_KINDS",
    "IssuedSession",
    "SessionInfo",
    "issue_session",
    "logout",
    "new_session",
    "resolve",
    "resolve_session",
]

SESSION_KINDS = ("web", "api")


# How often a session's last_seen_at is written at most (a write per request would be wasteful).
_TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new session: the token (and CSRF token for the web), shown to the client once."""

    session_id: int
    kind: str
    token: str
    csrf_token: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What a live session says about its caller (built by `resolve_session`)."""

    actor: Actor
    session_id: int
    kind: str
    username: str
    display_name: str
    pos_code: str | None
    csrf_hash: bytes | None
    second_factor: bool
    must_change_password: bool
    totp_enrollment_required: bool
    expires_at: datetime

    def csrf_ok(self, token: str | None) -> bool:
        """Whether `token` is this web session's CSRF token (constant-time comparison)."""
        if not token or self.csrf_hash is None:
            return False
        return hmac.compare_digest(hash_token(token), self.csrf_hash)


def new_session(
    uow: AccessUnitOfWork, row: StaffAuthRow, *, kind: str, second_factor: bool, at: datetime, policy: AuthPolicy
) -> IssuedSession:
    if kind not in SESSION_KINDS:
        raise FieldValueError("invalid_choice", "kind")
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32) if kind == "web" else None
    expires_at = at + timedelta(minutes=policy.session_minutes)
    session_id = uow.auth.add_session(
        {
            "token_hash": hash_token(token),
            "staff_id": row.id,
            "kind": kind,
            "csrf_hash": hash_token(csrf) if csrf else None,
            "second_factor": second_factor,
            "created_at": at,
            "expires_at": expires_at,
            "last_seen_at": at,
        }
    )
    return IssuedSession(session_id=session_id, kind=kind, token=token, csrf_token=csrf, expires_at=expires_at)


def issue_session(
    uow: AccessUnitOfWork,
    staff_id: int,
    *,
    kind: str = "api",
    second_factor: bool = False,
    policy: AuthPolicy | None = None,
    now: datetime | None = None,
) -> IssuedSession:
    """Open a session for an account without a password check (CLI tokens, tests). Commits."""
    row = uow.auth.staff_by_id(staff_id)
    if row is None or not row.active:
        raise NotFoundError("unknown_staff")
    session = new_session(
        uow, row, kind=kind, second_factor=second_factor, at=utc_or_now(now), policy=policy or AuthPolicy()
    )
    uow.commit()
    return session


def _live_session(uow: AccessUnitOfWork, token: str | None, at: datetime) -> tuple[SessionRow, StaffAuthRow] | None:
    if not token or len(token) > 256:
        return None
    session = uow.auth.session_by_hash(hash_token(token))
    if session is None or session.revoked_at is not None or session.expires_at <= at:
        return None
    row = uow.auth.staff_by_id(session.staff_id)
    if row is None or not row.active:
        return None
    return session, row


def resolve_session(
    uow: AccessUnitOfWork,
    token: str | None,
    *,
    kind: str | None = None,
    policy: AuthPolicy | None = None,
    now: datetime | None = None,
) -> SessionInfo | None:
    """The live session of `token` (of `kind` when given), or None: unknown, expired, revoked, disabled."""
    policy = policy or AuthPolicy()
    at = utc_or_now(now)
    found = _live_session(uow, token, at)
    if found is None:
        return None
    session, row = found
    if kind is not None and session.kind != kind:
        return None
    if session.last_seen_at is None or at - session.last_seen_at >= _TOUCH_EVERY:
        uow.auth.update_session(session.id, {"last_seen_at": at})
        uow.commit()
    return SessionInfo(
        actor=actor_of(row),
        session_id=session.id,
        kind=session.kind,
        username=row.username,
        display_name=row.display_name,
        pos_code=row.pos_code,
        csrf_hash=session.csrf_hash,
        second_factor=session.second_factor,
        must_change_password=row.must_change_password,
        totp_enrollment_required=policy.needs_totp(row.role) and not session.second_factor,
        expires_at=session.expires_at,
    )


def resolve(uow: AccessUnitOfWork, token: str | None, *, now: datetime | None = None) -> Actor | None:
    """The actor of a live session or API token, or None (expired, revoked, unknown, disabled)."""
    info = resolve_session(uow, token, now=now)
    return None if info is None else info.actor


def logout(uow: AccessUnitOfWork, token: str | None, *, now: datetime | None = None) -> bool:
    """Revoke the session of `token`; whether there was a live one. Commits."""
    at = utc_or_now(now)
    found = _live_session(uow, token, at)
    if found is None:
        return False
    session, row = found
    uow.auth.update_session(session.id, {"revoked_at": at})
    audit_event(uow, actor=actor_of(row), action="auth:logout", subject=f"staff:{row.id}", now=at, kind=session.kind)
    uow.commit()
    return True
