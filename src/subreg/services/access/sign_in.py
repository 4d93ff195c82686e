"""Sign-in with lockout: per account after failures in a row, per client address against password spraying.

Sign-in answers `invalid_credentials` alike for an unknown username, a wrong password and a disabled
account, and an unknown username costs one argon2 verification too, so neither the answer nor its
timing tells which usernames exist. `account_locked` is the one exception: after `max_failures`
failures in a row an account refuses even its right password for `lockout_minutes`. Every attempt goes
to `login_attempts`; a username that names no account is stored as `?` (people type phone numbers, or
their password, into the username field). The function commits itself: a failed sign-in must be
recorded (and counted towards the lockout) even though it ends in an error.

An address that failed `max_source_failures` times within `source_window_minutes` waits (429), except
for an account that signed in successfully from it within `trusted_source_days`: the staff of a store
behind one NAT keep working while one tablet mistypes or one attacker sprays (see `_held_back`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from subreg.domain.access import totp as totp_codes
from subreg.domain.common.errors import (
    AccountLockedError,
    InvalidCredentialsError,
    TooManyAttemptsError,
    TotpRequiredError,
)
from subreg.services.access._common import DUMMY_HASH, HASHER, actor_of, audit_event, utc_or_now, verify_password
from subreg.services.access.policy import AuthPolicy
from subreg.services.access.ports import AccessUnitOfWork, StaffAuthRow
from subreg.services.access.sessions import IssuedSession, new_session
from subreg.services.access.totp import open_secret, store_secret
from subreg.services.common.ports import Vault

__all__ = ["LoginResult", "authenticate"]

_UNKNOWN_USERNAME = "?"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful sign-in."""

    staff_id: int
    role: str
    must_change_password: bool
    second_factor: bool
    session: IssuedSession


def _locked(row: StaffAuthRow, at: datetime) -> bool:
    return row.locked_until is not None and row.locked_until > at


def _fail(
    uow: AccessUnitOfWork,
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
    audit_event(
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


@dataclass(frozen=True, slots=True)
class _FirstLook:
    """What sign-in found before any write: the account, whether the address must wait, the password check."""

    row: StaffAuthRow | None
    held_back: bool = False
    checked: str | None = None  # the hash the password was checked against (None: not checked)
    ok: bool = False


def _source_hash(vault: Vault | None, source: str | None) -> bytes | None:
    # A keyed hash of the client's address, domain-separated: the address itself is never stored.
    return vault.blind(f"login-source\x00{source}")[:16] if source and vault is not None else None


def _held_back(
    uow: AccessUnitOfWork, row: StaffAuthRow | None, source_hash: bytes | None, at: datetime, policy: AuthPolicy
) -> bool:
    """Whether the address failed too often lately, and the account is not one that signed in from it lately.

    Many tablets of a store share one address behind a NAT: one mistyping tablet, or one attacker, must not
    lock the whole store out. Its staff keep signing in (each account still locks on its own failures);
    unknown accounts, and accounts that never signed in from there, wait (password spraying).
    """
    if source_hash is None:
        return False
    since = at - timedelta(minutes=policy.source_window_minutes)
    if uow.auth.failures_from(source_hash, since=since) < policy.max_source_failures:
        return False
    if row is None or policy.trusted_source_days <= 0:
        return True
    trusted_since = at - timedelta(days=policy.trusted_source_days)
    return not uow.auth.signed_in_from(row.id, source_hash, since=trusted_since)


def _first_look(
    uow: AccessUnitOfWork,
    username: str,
    password: str,
    *,
    source_hash: bytes | None,
    at: datetime,
    policy: AuthPolicy,
) -> _FirstLook:
    """Read the account and the address's record, end the transaction, then check the password.

    The reads end before the password is checked: argon2 takes ~0.1 s, and on SQLite a transaction that
    read before another writer committed can no longer write (made the writer first instead, it would hold
    every counter's update for that time). The writes then start as the writer and read again.
    """
    row = uow.auth.staff_by_username(username) if 0 < len(username) <= 64 else None
    held_back = _held_back(uow, row, source_hash, at, policy)
    uow.rollback()
    if held_back:
        # Refused before the password is looked at: the answer says nothing about it.
        return _FirstLook(row=None, held_back=True)
    if row is None:
        verify_password(DUMMY_HASH, password)  # an unknown name costs the time a real check does
        return _FirstLook(row=None)
    if _locked(row, at):
        return _FirstLook(row=row)
    return _FirstLook(row=row, checked=row.password_hash, ok=verify_password(row.password_hash, password))


def _second_factor(
    uow: AccessUnitOfWork,
    row: StaffAuthRow,
    totp: str | None,
    *,
    vault: Vault | None,
    username: str,
    at: datetime,
    fail: Callable[..., NoReturn],
) -> bool:
    """Check the one-time code of an account with a confirmed second factor; whether it had one."""
    if row.totp_secret is None:
        return False
    if vault is None:
        raise ValueError("a vault is needed to check the second factor of this account")
    state = open_secret(row, vault)
    if not state.get("confirmed"):
        return False
    if not totp:
        uow.auth.add_attempt(at=at, username=username, staff_id=row.id, success=False, reason="totp_required")
        uow.commit()
        raise TotpRequiredError("totp_required")
    step = totp_codes.verify(bytes.fromhex(state["s"]), totp, at, last_step=state.get("last"))
    if step is None:
        fail(row=row, reason="bad_totp")
    store_secret(uow, row.id, vault, {**state, "last": step})
    return True


def _open_session(
    uow: AccessUnitOfWork,
    row: StaffAuthRow,
    password: str,
    *,
    username: str,
    kind: str,
    second_factor: bool,
    source_hash: bytes | None,
    at: datetime,
    policy: AuthPolicy,
) -> LoginResult:
    """Record the success (the address's record too), reset the failures, open the session; commit."""
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": at}
    if HASHER.check_needs_rehash(row.password_hash):
        values["password_hash"] = HASHER.hash(password)
    uow.auth.update_staff(row.id, values)
    uow.auth.add_attempt(at=at, username=username, staff_id=row.id, success=True, reason="ok", source_hash=source_hash)
    session = new_session(uow, row, kind=kind, second_factor=second_factor, at=at, policy=policy)
    audit_event(
        uow, actor=actor_of(row), action="auth:login", subject=f"staff:{row.id}", now=at, kind=kind,
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


def authenticate(
    uow: AccessUnitOfWork,
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
    TooManyAttemptsError when `source` (the client's address) failed too often lately, over any accounts,
    unless this account signed in from it within `policy.trusted_source_days` (counted by a keyed hash of
    the address, which needs the vault; the address itself is not stored).
    """
    policy = policy or AuthPolicy()
    at = utc_or_now(now)
    username = username.strip()
    source_hash = _source_hash(vault, source)
    fail = functools.partial(_fail, uow, username=username, at=at, policy=policy, source_hash=source_hash)
    first = _first_look(uow, username, password, source_hash=source_hash, at=at, policy=policy)
    uow.lock_for_write()
    if first.held_back:
        fail(row=None, reason="too_many_attempts", count=False)
    row = uow.auth.staff_by_id(first.row.id) if first.row is not None else None
    if row is None:
        fail(row=None, reason="unknown")
    if _locked(row, at):
        fail(row=row, reason="locked", count=False)
    # Not checked (it was locked), or the password changed in between: check it now.
    ok = first.ok if first.checked == row.password_hash else verify_password(row.password_hash, password)
    if not ok:
        fail(row=row, reason="bad_password")
    if not row.active:
        # Checked after the password, and answered like a wrong one: a disabled account is not an oracle.
        fail(row=row, reason="disabled", count=False)
    second_factor = _second_factor(uow, row, totp, vault=vault, username=username, at=at, fail=fail)
    return _open_session(
        uow, row, password, username=username, kind=kind, second_factor=second_factor, source_hash=source_hash,
        at=at, policy=policy,
    )  # fmt: skip
