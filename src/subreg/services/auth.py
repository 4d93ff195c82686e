"""Staff identities: accounts, sign-in with lockout, sessions and API tokens, passwords, TOTP.

Privacy and security decisions, in one place:

- Passwords are argon2id hashes (argon2-cffi defaults, the format `demo_data` writes); a hash made
  with older parameters is replaced on the next successful sign-in.
- Sign-in answers `invalid_credentials` alike for an unknown username, a wrong password and a
  disabled account, and an unknown username costs one argon2 verification too, so neither the
  answer nor its timing tells which usernames exist. `account_locked` is the one exception: after
  `max_failures` failures in a row an account refuses even its right password for `lockout_minutes`.
- Every attempt goes to `login_attempts`. A username that names no account is stored as `?`: people
  type phone numbers, or their password, into the username field.
- Session tokens and API tokens are 256-bit random strings given to the client once; the database
  keeps only their SHA-256, so a leaked backup hands out no live session. Web sessions carry a CSRF
  token, stored the same way. Changing or resetting a password revokes the account's other sessions.
- TOTP secrets are sealed with a data key of their own (vault `new_data_key`), bound to the account
  by the AAD `staff-totp:<id>`; the column holds the wrapped key and the ciphertext together
  (`_pack_secret`), so rotating the master key (which re-wraps KEKs) keeps them readable.

Every function here works in the unit of work it is given and commits it itself: a failed sign-in
must be recorded (and counted towards the lockout) even though it ends in an error.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from subreg.domain.access import totp as totp_codes
from subreg.domain.access.permissions import POS_KIND_BY_ROLE, Actor, Role
from subreg.domain.common.errors import (
    AccountLockedError,
    ConflictError,
    FieldError,
    FieldValueError,
    InputError,
    InvalidCredentialsError,
    NotFoundError,
    TooManyAttemptsError,
    TotpRequiredError,
)
from subreg.services import audit_log
from subreg.services.ports import UnitOfWork, Vault
from subreg.services.ports_auth import SessionRow, StaffAuthRow

__all__ = [
    "SESSION_KINDS",
    "AuthPolicy",
    "IssuedSession",
    "LoginResult",
    "SessionInfo",
    "StaffAccount",
    "admin_reset_password",
    "authenticate",
    "change_password",
    "check_password_policy",
    "confirm_totp",
    "create_staff",
    "disable_staff",
    "enroll_totp",
    "hash_token",
    "issue_session",
    "list_staff",
    "logout",
    "resolve",
    "resolve_session",
]

SESSION_KINDS = ("web", "api")
MIN_PASSWORD_LENGTH = 10
_UNKNOWN_USERNAME = "?"
# How often a session's last_seen_at is written at most (a write per request would be wasteful).
_TOUCH_EVERY = timedelta(minutes=5)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that case costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """Sign-in rules, taken from settings by the entrypoints (`from_settings`)."""

    session_minutes: int = 480
    max_failures: int = 5
    lockout_minutes: int = 15
    # Failed sign-ins from one client address, over any accounts, before it must wait: the per-account
    # lockout alone lets one address try a few passwords on every account (password spraying).
    max_source_failures: int = 20
    source_window_minutes: int = 15
    totp_roles: frozenset[str] = frozenset()
    issuer: str = "subreg"

    @classmethod
    def from_settings(cls, settings: Any) -> AuthPolicy:
        """The policy from `subreg.config.Settings` (session_minutes, login_max_failures, ...)."""
        roles = frozenset(r.strip() for r in str(settings.totp_roles or "").split(",") if r.strip())
        return cls(
            session_minutes=int(settings.session_minutes),
            max_failures=int(settings.login_max_failures),
            lockout_minutes=int(settings.lockout_minutes),
            max_source_failures=int(settings.login_max_source_failures),
            source_window_minutes=int(settings.login_source_window_minutes),
            totp_roles=roles,
        )

    def needs_totp(self, role: str) -> bool:
        """Whether accounts of `role` must use a second factor."""
        return role in self.totp_roles


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new session: the token (and CSRF token for the web), shown to the client once."""

    session_id: int
    kind: str
    token: str
    csrf_token: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful sign-in."""

    staff_id: int
    role: str
    must_change_password: bool
    second_factor: bool
    session: IssuedSession


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


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """An account as listed to administrators: no hash, no secret."""

    id: int
    username: str
    display_name: str
    role: str
    pos_code: str | None
    active: bool
    locked: bool
    totp_enrolled: bool
    must_change_password: bool
    last_login_at: datetime | None


def hash_token(token: str) -> bytes:
    """SHA-256 of a session, API or CSRF token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _audit(
    uow: UnitOfWork,
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
    audit_log.record(uow, actor=actor, action=action, subject=subject, details=details or None, now=now)


def _actor(row: StaffAuthRow) -> Actor:
    role: Role | str
    try:
        role = Role(row.role)
    except ValueError:
        role = row.role  # deny by default: an unknown role is refused by `can`/`authorize`
    return Actor(staff_id=row.id, role=role, point_of_sale_id=row.point_of_sale_id, pos_kind=row.pos_kind)


# --- passwords -----------------------------------------------------------------------------------


def check_password_policy(password: str, *, username: str, field: str = "password") -> None:
    """Refuse a password shorter than 10 characters or equal to the username (any case)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldValueError("password_too_short", field)
    if password.strip().casefold() == username.strip().casefold():
        raise FieldValueError("password_same_as_username", field)


def _generate_password() -> str:
    # 16 URL-safe characters from 12 random bytes: 96 bits, readable aloud, above every policy.
    return secrets.token_urlsafe(12)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- accounts ------------------------------------------------------------------------------------


def create_staff(
    uow: UnitOfWork,
    username: str,
    display_name: str,
    role: str,
    pos_code: str | None,
    password: str | None = None,
    *,
    must_change_password: bool | None = None,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> str:
    """Create an account bound to a point of sale; the password (generated when None), shown once.

    A generated password must be changed at first sign-in unless `must_change_password` says otherwise.
    Counter roles need a point of sale of their kind; back-office roles may have none. Commits.
    """
    username = username.strip()
    errors: list[FieldError] = []
    if not username or len(username) > 64 or any(ch.isspace() for ch in username):
        errors.append(FieldError("username", "invalid_format"))
    if not display_name.strip() or len(display_name) > 200:
        errors.append(FieldError("display_name", "invalid_format"))
    try:
        role_ = Role(role)
    except ValueError:
        errors.append(FieldError("role", "invalid_choice"))
        raise InputError(errors) from None
    pos_id: int | None = None
    expected_kind = POS_KIND_BY_ROLE.get(role_)
    if pos_code:
        pos = uow.points_of_sale.get_by_code(pos_code)
        if pos is None:
            errors.append(FieldError("pos", "unknown_point_of_sale"))
        elif expected_kind is not None and pos.kind != expected_kind:
            errors.append(FieldError("pos", "pos_kind_mismatch"))
        else:
            pos_id = pos.id
    elif expected_kind is not None:
        errors.append(FieldError("pos", "required"))
    generated = password is None
    if password is None:
        password = _generate_password()
    else:
        try:
            check_password_policy(password, username=username)
        except InputError as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputError(errors)
    if uow.auth.staff_by_username(username) is not None:
        raise InputError([FieldError("username", "duplicate_username")])
    at = _utc(now)
    staff_id = uow.staff.add(
        {
            "username": username,
            "display_name": display_name.strip(),
            "role": role_.value,
            "point_of_sale_id": pos_id,
            "password_hash": _hasher.hash(password),
            "active": True,
        }
    )
    uow.auth.update_staff(
        staff_id,
        {
            "password_changed_at": at,
            "must_change_password": generated if must_change_password is None else must_change_password,
        },
    )
    _audit(
        uow, actor=actor, action="staff:created", subject=f"staff:{staff_id}", now=at, role=role_.value, pos_id=pos_id
    )
    uow.commit()
    return password


def list_staff(uow: UnitOfWork, *, now: datetime | None = None) -> list[StaffAccount]:
    """Every account, without hashes or secrets."""
    at = _utc(now)
    return [
        StaffAccount(
            id=r.id,
            username=r.username,
            display_name=r.display_name,
            role=r.role,
            pos_code=r.pos_code,
            active=r.active,
            locked=r.locked_until is not None and r.locked_until > at,
            totp_enrolled=r.totp_secret is not None,
            must_change_password=r.must_change_password,
            last_login_at=r.last_login_at,
        )
        for r in uow.auth.list_staff()
    ]


def _staff_or_404(uow: UnitOfWork, who: str | int) -> StaffAuthRow:
    # An int is an account id (what URLs carry: a username may contain a name), a str a username.
    row = uow.auth.staff_by_id(who) if isinstance(who, int) else uow.auth.staff_by_username(who)
    if row is None:
        raise NotFoundError("unknown_staff")
    return row


def disable_staff(
    uow: UnitOfWork, username: str | int, *, actor: Actor | None = None, now: datetime | None = None
) -> None:
    """Disable an account and end all its sessions. Commits."""
    row = _staff_or_404(uow, username)
    at = _utc(now)
    uow.auth.update_staff(row.id, {"active": False})
    uow.auth.revoke_sessions_of(row.id, at=at)
    _audit(uow, actor=actor, action="staff:updated", subject=f"staff:{row.id}", now=at, change="disabled")
    uow.commit()


def admin_reset_password(
    uow: UnitOfWork, username: str | int, *, actor: Actor | None = None, now: datetime | None = None
) -> str:
    """Give an account a new generated password that must be changed at next sign-in; the password.

    Also unlocks the account, forgets its TOTP enrolment (a lost phone is the usual reason for a
    reset) and ends its sessions. Commits.
    """
    row = _staff_or_404(uow, username)
    at = _utc(now)
    password = _generate_password()
    uow.auth.update_staff(
        row.id,
        {
            "password_hash": _hasher.hash(password),
            "password_changed_at": at,
            "must_change_password": True,
            "failed_logins": 0,
            "locked_until": None,
            "totp_secret": None,
        },
    )
    uow.auth.revoke_sessions_of(row.id, at=at)
    _audit(uow, actor=actor, action="staff:updated", subject=f"staff:{row.id}", now=at, change="password_reset")
    uow.commit()
    return password


# --- sign-in and sessions ------------------------------------------------------------------------


def _locked(row: StaffAuthRow, at: datetime) -> bool:
    return row.locked_until is not None and row.locked_until > at


def _fail(
    uow: UnitOfWork,
    *,
    row: StaffAuthRow | None,
    username: str,
    reason: str,
    at: datetime,
    policy: AuthPolicy,
    count: bool = True,
    source_hash: bytes | None = None,
) -> NoReturn:
    """Record a failed attempt, count it towards the lockout, commit, and raise the answer."""
    locked = False
    # Counted in the database, not from the row read earlier: parallel guesses all count.
    if row is not None and count and uow.auth.count_failure(row.id) >= policy.max_failures:
        uow.auth.update_staff(
            row.id, {"locked_until": at + timedelta(minutes=policy.lockout_minutes), "failed_logins": 0}
        )
        locked = True
    uow.auth.add_attempt(
        at=at, username=username if row is not None else _UNKNOWN_USERNAME, staff_id=row.id if row else None,
        success=False, reason=reason, source_hash=source_hash,
    )  # fmt: skip
    _audit(
        uow,
        actor=None,
        action="auth:login_failed",
        subject=f"staff:{row.id}" if row is not None else None,
        now=at,
        reason=reason,
        locked=locked,
    )
    uow.commit()
    if reason == "too_many_attempts":
        raise TooManyAttemptsError("too_many_attempts")
    if reason == "locked" or locked:
        raise AccountLockedError("account_locked")
    raise InvalidCredentialsError("invalid_credentials")


def _new_session(
    uow: UnitOfWork, row: StaffAuthRow, *, kind: str, second_factor: bool, at: datetime, policy: AuthPolicy
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


def authenticate(
    uow: UnitOfWork,
    username: str,
    password: str,
    totp: str | None = None,
    *,
    kind: str = "api",
    vault: Vault | None = None,
    policy: AuthPolicy | None = None,
    now: datetime | None = None,
    source: str | None = None,
) -> LoginResult:
    """Check a username and password (and TOTP code when enrolled) and open a session. Commits.

    Raises InvalidCredentialsError (unknown, wrong, disabled: one answer), AccountLockedError,
    TotpRequiredError when the account has a second factor and no code was given, or
    TooManyAttemptsError when `source` (the client's address) failed too often lately, over any accounts
    (counted by a keyed hash of the address, which needs the vault; the address itself is not stored).
    """
    policy = policy or AuthPolicy()
    at = _utc(now)
    username = username.strip()
    source_hash = vault.blind(f"login-source\x00{source}")[:16] if source and vault is not None else None
    fail = functools.partial(_fail, uow, username=username, at=at, policy=policy, source_hash=source_hash)
    since = at - timedelta(minutes=policy.source_window_minutes)
    # The reads end before the password is checked: argon2 takes ~0.1 s, and on SQLite a transaction that
    # read before another writer committed can no longer write (made the writer first instead, it would
    # hold every counter's update for that time). The writes then start as the writer and read again.
    limited = source_hash is not None and uow.auth.failures_from(source_hash, since=since) >= policy.max_source_failures
    row = uow.auth.staff_by_username(username) if not limited and 0 < len(username) <= 64 else None
    uow.rollback()
    checked, ok = None, False  # the hash the password was checked against, and the answer
    if not limited:
        if row is None:
            _verify(_DUMMY_HASH, password)  # an unknown name costs the time a real check does
        elif not _locked(row, at):
            checked, ok = row.password_hash, _verify(row.password_hash, password)
    uow.lock_for_write()
    if limited:
        # Refused before the password is looked at: the answer says nothing about it.
        fail(row=None, reason="too_many_attempts", count=False)
    row = uow.auth.staff_by_id(row.id) if row is not None else None
    if row is None:
        fail(row=None, reason="unknown")
    if _locked(row, at):
        fail(row=row, reason="locked", count=False)
    if checked != row.password_hash:  # not checked (it was locked), or changed in between
        ok = _verify(row.password_hash, password)
    if not ok:
        fail(row=row, reason="bad_password")
    if not row.active:
        # Checked after the password, and answered like a wrong one: a disabled account is not an oracle.
        fail(row=row, reason="disabled", count=False)
    second_factor = False
    if row.totp_secret is not None:
        if vault is None:
            raise ValueError("a vault is needed to check the second factor of this account")
        state = _open_secret(row, vault)
        if state.get("confirmed"):
            if not totp:
                uow.auth.add_attempt(at=at, username=username, staff_id=row.id, success=False, reason="totp_required")
                uow.commit()
                raise TotpRequiredError("totp_required")
            step = totp_codes.verify(bytes.fromhex(state["s"]), totp, at, last_step=state.get("last"))
            if step is None:
                fail(row=row, reason="bad_totp")
            _store_secret(uow, row.id, vault, {**state, "last": step})
            second_factor = True
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": at}
    if _hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = _hasher.hash(password)
    uow.auth.update_staff(row.id, values)
    uow.auth.add_attempt(at=at, username=username, staff_id=row.id, success=True, reason="ok", source_hash=source_hash)
    session = _new_session(uow, row, kind=kind, second_factor=second_factor, at=at, policy=policy)
    _audit(
        uow, actor=_actor(row), action="auth:login", subject=f"staff:{row.id}", now=at, kind=kind,
        second_factor=second_factor,
    )  # fmt: skip
    uow.commit()
    return LoginResult(
        staff_id=row.id,
        role=row.role,
        must_change_password=row.must_change_password,
        second_factor=second_factor,
        session=session,
    )


def issue_session(
    uow: UnitOfWork,
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
    session = _new_session(
        uow, row, kind=kind, second_factor=second_factor, at=_utc(now), policy=policy or AuthPolicy()
    )
    uow.commit()
    return session


def _live_session(uow: UnitOfWork, token: str | None, at: datetime) -> tuple[SessionRow, StaffAuthRow] | None:
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
    uow: UnitOfWork,
    token: str | None,
    *,
    kind: str | None = None,
    policy: AuthPolicy | None = None,
    now: datetime | None = None,
) -> SessionInfo | None:
    """The live session of `token` (of `kind` when given), or None: unknown, expired, revoked, disabled."""
    policy = policy or AuthPolicy()
    at = _utc(now)
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
        actor=_actor(row),
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


def resolve(uow: UnitOfWork, token: str | None, *, now: datetime | None = None) -> Actor | None:
    """The actor of a live session or API token, or None (expired, revoked, unknown, disabled)."""
    info = resolve_session(uow, token, now=now)
    return None if info is None else info.actor


def logout(uow: UnitOfWork, token: str | None, *, now: datetime | None = None) -> bool:
    """Revoke the session of `token`; whether there was a live one. Commits."""
    at = _utc(now)
    found = _live_session(uow, token, at)
    if found is None:
        return False
    session, row = found
    uow.auth.update_session(session.id, {"revoked_at": at})
    _audit(uow, actor=_actor(row), action="auth:logout", subject=f"staff:{row.id}", now=at, kind=session.kind)
    uow.commit()
    return True


def change_password(
    uow: UnitOfWork,
    staff_id: int,
    old_password: str,
    new_password: str,
    *,
    keep_session: int | None = None,
    now: datetime | None = None,
) -> None:
    """Change one's own password (the old one is required); other sessions are revoked. Commits."""
    row = uow.auth.staff_by_id(staff_id)
    uow.rollback()  # argon2 runs outside any transaction (see `authenticate`)
    if row is None or not row.active:
        raise NotFoundError("unknown_staff")
    if not _verify(row.password_hash, old_password):
        raise FieldValueError("wrong_password", "old_password")
    check_password_policy(new_password, username=row.username, field="new_password")
    if new_password == old_password:
        raise FieldValueError("password_unchanged", "new_password")
    new_hash = _hasher.hash(new_password)
    uow.lock_for_write()
    current = uow.auth.staff_by_id(staff_id)
    if current is None or not current.active or current.password_hash != row.password_hash:
        raise ConflictError("password changed meanwhile")  # another change (or a reset) got in first
    at = _utc(now)
    uow.auth.update_staff(row.id, {"password_hash": new_hash, "password_changed_at": at, "must_change_password": False})
    uow.auth.revoke_sessions_of(row.id, at=at, keep=keep_session)
    _audit(uow, actor=_actor(row), action="staff:updated", subject=f"staff:{row.id}", now=at, change="password_changed")
    uow.commit()


# --- TOTP ----------------------------------------------------------------------------------------

_PACK = struct.Struct(">IH")  # kek_id, length of the wrapped DEK


def _aad(staff_id: int) -> bytes:
    return f"staff-totp:{staff_id}".encode("ascii")


def _pack_secret(kek_id: int, wrapped: bytes, ciphertext: bytes) -> bytes:
    """`staff.totp_secret` = kek_id (4 bytes) | len(wrapped DEK) (2 bytes) | wrapped DEK | ciphertext."""
    return _PACK.pack(kek_id, len(wrapped)) + wrapped + ciphertext


def _store_secret(uow: UnitOfWork, staff_id: int, vault: Vault, state: dict[str, Any]) -> None:
    dek, kek_id, wrapped = vault.new_data_key()
    sealed = vault.seal(dek, json.dumps(state, separators=(",", ":")).encode("ascii"), _aad(staff_id))
    uow.auth.update_staff(staff_id, {"totp_secret": _pack_secret(kek_id, wrapped, sealed)})


def _open_secret(row: StaffAuthRow, vault: Vault) -> dict[str, Any]:
    """The TOTP state of an account: `s` active secret (hex) when `confirmed`, `p` pending one, `last` step."""
    blob = row.totp_secret or b""
    kek_id, size = _PACK.unpack_from(blob)
    start = _PACK.size
    dek = vault.unwrap(kek_id, blob[start : start + size])
    state: dict[str, Any] = json.loads(vault.open(dek, blob[start + size :], _aad(row.id)))
    return state


def enroll_totp(uow: UnitOfWork, staff_id: int, *, vault: Vault, issuer: str = "subreg") -> str:
    """Start TOTP enrolment; the otpauth:// URI to show as a QR code. Commits.

    The new secret stays pending until `confirm_totp` sees a valid code from it. An already confirmed
    secret keeps guarding sign-in meanwhile, so a stolen session cannot quietly swap the factor out.
    """
    row = uow.auth.staff_by_id(staff_id)
    if row is None or not row.active:
        raise NotFoundError("unknown_staff")
    state = _open_secret(row, vault) if row.totp_secret is not None else {"s": None, "confirmed": False, "last": None}
    secret = secrets.token_bytes(20)  # 160 bits, the RFC 4226 recommendation for HMAC-SHA1
    _store_secret(uow, row.id, vault, {**state, "p": secret.hex()})
    uow.commit()
    return totp_codes.provisioning_uri(secret, account=row.username, issuer=issuer)


def confirm_totp(
    uow: UnitOfWork,
    staff_id: int,
    code: str,
    *,
    vault: Vault,
    session_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Confirm enrolment with a code from the app; from now on sign-in needs one. Commits.

    The confirming session counts as second-factor verified.
    """
    row = uow.auth.staff_by_id(staff_id)
    if row is None or not row.active:
        raise NotFoundError("unknown_staff")
    state = _open_secret(row, vault) if row.totp_secret is not None else {}
    if not state.get("p"):
        raise FieldValueError("totp_not_enrolled", "totp")
    step = totp_codes.verify(bytes.fromhex(state["p"]), code, _utc(now))
    if step is None:
        raise FieldValueError("invalid_totp", "totp")
    _store_secret(uow, row.id, vault, {"s": state["p"], "confirmed": True, "last": step, "p": None})
    if session_id is not None:
        uow.auth.update_session(session_id, {"second_factor": True})
    _audit(
        uow, actor=_actor(row), action="staff:updated", subject=f"staff:{row.id}", now=_utc(now), change="totp_enrolled"
    )
    uow.commit()
