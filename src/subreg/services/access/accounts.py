"""Staff accounts: creation bound to a point of sale, listing, disabling, password resets and changes."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from subreg.domain.access.permissions import POS_KIND_BY_ROLE, Actor, Role
from subreg.domain.common.errors import ConflictError, FieldError, FieldValueError, InputError, NotFoundError
from subreg.domain.id_documents.numbers import PROVINCES
from subreg.services.access._common import HASHER, actor_of, audit_event, utc_or_now, verify_password
from subreg.services.access.ports import AccessUnitOfWork, StaffAuthRow

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "StaffAccount",
    "admin_reset_password",
    "change_password",
    "check_password_policy",
    "create_staff",
    "disable_staff",
    "list_staff",
    "set_provinces",
]

MIN_PASSWORD_LENGTH = 10


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
    provinces: tuple[str, ...] = ()  # a regional manager's provinces


def _provinces(role: Role, codes: Iterable[str]) -> tuple[frozenset[str], list[FieldError]]:
    """The province codes given for an account, validated: known codes (`PROVINCES`), regional managers only."""
    wanted = frozenset(c.strip() for c in codes)
    if not wanted:
        return wanted, []
    if role != Role.REGIONAL_MANAGER:
        return wanted, [FieldError("provinces", "provinces_not_allowed")]
    errors = [FieldError("provinces", "unknown_province_code") for c in sorted(wanted) if c not in PROVINCES][:1]
    return wanted, errors


def check_password_policy(password: str, *, username: str, field: str = "password") -> None:
    """Refuse a password shorter than 10 characters or equal to the username (any case)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldValueError("password_too_short", field)
    if password.strip().casefold() == username.strip().casefold():
        raise FieldValueError("password_same_as_username", field)


def _generate_password() -> str:
    # 16 URL-safe characters from 12 random bytes: 96 bits, readable aloud, above every policy.
    return secrets.token_urlsafe(12)


def create_staff(
    uow: AccessUnitOfWork,
    username: str,
    display_name: str,
    role: str,
    pos_code: str | None,
    password: str | None = None,
    *,
    must_change_password: bool | None = None,
    provinces: Iterable[str] = (),
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
    wanted, province_errors = _provinces(role_, provinces)
    errors.extend(province_errors)
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
    at = utc_or_now(now)
    staff_id = uow.staff.add(
        {
            "username": username,
            "display_name": display_name.strip(),
            "role": role_.value,
            "point_of_sale_id": pos_id,
            "password_hash": HASHER.hash(password),
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
    if wanted:
        uow.staff_provinces.replace_provinces(staff_id, wanted)
    audit_event(
        uow, actor=actor, action="staff:created", subject=f"staff:{staff_id}", now=at, role=role_.value, pos_id=pos_id
    )
    uow.commit()
    return password


def set_provinces(
    uow: AccessUnitOfWork,
    username: str | int,
    provinces: Iterable[str],
    *,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> frozenset[str]:
    """Make `provinces` the provinces a regional manager's account sees (its reports' scope). Commits."""
    row = _staff_or_404(uow, username)
    try:
        role = Role(row.role)
    except ValueError:
        raise InputError([FieldError("role", "invalid_choice")]) from None
    wanted, errors = _provinces(role, provinces)
    if not wanted and role != Role.REGIONAL_MANAGER:
        errors = [FieldError("provinces", "provinces_not_allowed")]
    if errors:
        raise InputError(errors)
    at = utc_or_now(now)
    uow.staff_provinces.replace_provinces(row.id, wanted)
    audit_event(uow, actor=actor, action="staff:updated", subject=f"staff:{row.id}", now=at,
                change="provinces", provinces=",".join(sorted(wanted)))  # fmt: skip
    uow.commit()
    return wanted


def list_staff(uow: AccessUnitOfWork, *, now: datetime | None = None) -> list[StaffAccount]:
    """Every account, without hashes or secrets."""
    at = utc_or_now(now)
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
            # Only regional managers have provinces: one small look-up each (accounts, not lines).
            provinces=tuple(sorted(uow.staff_provinces.provinces_of(r.id))) if r.role == Role.REGIONAL_MANAGER else (),
        )
        for r in uow.auth.list_staff()
    ]


def _staff_or_404(uow: AccessUnitOfWork, who: str | int) -> StaffAuthRow:
    # An int is an account id (what URLs carry: a username may contain a name), a str a username.
    row = uow.auth.staff_by_id(who) if isinstance(who, int) else uow.auth.staff_by_username(who)
    if row is None:
        raise NotFoundError("unknown_staff")
    return row


def disable_staff(
    uow: AccessUnitOfWork, username: str | int, *, actor: Actor | None = None, now: datetime | None = None
) -> None:
    """Disable an account and end all its sessions. Commits."""
    row = _staff_or_404(uow, username)
    at = utc_or_now(now)
    uow.auth.update_staff(row.id, {"active": False})
    uow.auth.revoke_sessions_of(row.id, at=at)
    audit_event(uow, actor=actor, action="staff:updated", subject=f"staff:{row.id}", now=at, change="disabled")
    uow.commit()


def admin_reset_password(
    uow: AccessUnitOfWork, username: str | int, *, actor: Actor | None = None, now: datetime | None = None
) -> str:
    """Give an account a new generated password that must be changed at next sign-in; the password.

    Also unlocks the account, forgets its TOTP enrolment (a lost phone is the usual reason for a
    reset) and ends its sessions. Commits.
    """
    row = _staff_or_404(uow, username)
    at = utc_or_now(now)
    password = _generate_password()
    uow.auth.update_staff(
        row.id,
        {
            "password_hash": HASHER.hash(password),
            "password_changed_at": at,
            "must_change_password": True,
            "failed_logins": 0,
            "locked_until": None,
            "totp_secret": None,
        },
    )
    uow.auth.revoke_sessions_of(row.id, at=at)
    audit_event(uow, actor=actor, action="staff:updated", subject=f"staff:{row.id}", now=at, change="password_reset")
    uow.commit()
    return password


def change_password(
    uow: AccessUnitOfWork,
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
    if not verify_password(row.password_hash, old_password):
        raise FieldValueError("wrong_password", "old_password")
    check_password_policy(new_password, username=row.username, field="new_password")
    if new_password == old_password:
        raise FieldValueError("password_unchanged", "new_password")
    new_hash = HASHER.hash(new_password)
    uow.lock_for_write()
    current = uow.auth.staff_by_id(staff_id)
    if current is None or not current.active or current.password_hash != row.password_hash:
        raise ConflictError("password changed meanwhile")  # another change (or a reset) got in first
    at = utc_or_now(now)
    uow.auth.update_staff(row.id, {"password_hash": new_hash, "password_changed_at": at, "must_change_password": False})
    uow.auth.revoke_sessions_of(row.id, at=at, keep=keep_session)
    audit_event(
        uow, actor=actor_of(row), action="staff:updated", subject=f"staff:{row.id}", now=at, change="password_changed"
    )
    uow.commit()
