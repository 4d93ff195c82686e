"""Ports of staff identity: accounts, sessions and tokens, sign-in attempts and lockout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from subreg.services.common.ports import UnitOfWork
from subreg.services.registry.ports import PointOfSaleRepository

__all__ = [
    "AccessUnitOfWork",
    "AuthRepository",
    "SessionRow",
    "StaffAuthRow",
    "StaffProvinceRepository",
    "StaffRepository",
    "StaffRow",
]


@dataclass(frozen=True, slots=True)
class StaffAuthRow:
    """A staff account with its sign-in state and its point of sale (code and kind)."""

    id: int
    username: str
    display_name: str
    role: str
    point_of_sale_id: int | None
    pos_code: str | None
    pos_kind: str | None
    password_hash: str
    active: bool
    failed_logins: int
    locked_until: datetime | None
    totp_secret: bytes | None
    password_changed_at: datetime | None
    must_change_password: bool
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session or API token as stored (only hashes of the token and of the CSRF token)."""

    id: int
    staff_id: int
    kind: str
    csrf_hash: bytes | None
    second_factor: bool
    expires_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class AuthRepository(Protocol):
    """Implemented by `subreg.adapters.db.access_repo.SqlAuthRepository`. Datetimes are aware (UTC)."""

    def staff_by_username(self, username: str) -> StaffAuthRow | None:
        """One account by its username."""
        ...

    def staff_by_id(self, staff_id: int) -> StaffAuthRow | None:
        """One account by id."""
        ...

    def list_staff(self) -> list[StaffAuthRow]:
        """Every account, by username."""
        ...

    def update_staff(self, staff_id: int, values: Mapping[str, Any]) -> None:
        """Change columns of one account (sign-in state, password hash, TOTP secret, active...)."""
        ...

    def count_failure(self, staff_id: int) -> int:
        """Add one to the account's consecutive failures in one statement (no lost update); the new count."""
        ...

    def add_attempt(
        self,
        *,
        at: datetime,
        username: str,
        staff_id: int | None,
        success: bool,
        reason: str,
        source_hash: bytes | None = None,
    ) -> None:
        """Record one sign-in attempt (`source_hash`: keyed hash of where it came from)."""
        ...

    def failures_from(self, source_hash: bytes, *, since: datetime) -> int:
        """Failed sign-ins from one source since `since` (whatever the usernames tried)."""
        ...

    def signed_in_from(self, staff_id: int, source_hash: bytes, *, since: datetime) -> bool:
        """Whether the account signed in successfully from one source since `since`."""
        ...

    def add_session(self, row: Mapping[str, Any]) -> int:
        """Store a session (token_hash, staff_id, kind, csrf_hash, second_factor, expires_at); its id."""
        ...

    def session_by_hash(self, token_hash: bytes) -> SessionRow | None:
        """The session whose token hashes to `token_hash`."""
        ...

    def update_session(self, session_id: int, values: Mapping[str, Any]) -> None:
        """Change columns of one session (revoked_at, last_seen_at, second_factor)."""
        ...

    def revoke_sessions_of(self, staff_id: int, *, at: datetime, keep: int | None = None) -> int:
        """Revoke every live session of an account except `keep`; how many were revoked."""
        ...


@dataclass(frozen=True, slots=True)
class StaffRow:
    """A staff account (the password hash never leaves the adapter layer except for login)."""

    id: int
    username: str
    display_name: str
    role: str
    point_of_sale_id: int | None
    password_hash: str
    active: bool


class StaffRepository(Protocol):
    def add(self, row: Mapping[str, Any]) -> int:
        """Insert; the id."""
        ...

    def get_by_username(self, username: str) -> StaffRow | None:
        """By username."""
        ...

    def list_all(self) -> list[StaffRow]:
        """All, by username."""
        ...


class StaffProvinceRepository(Protocol):
    """The provinces a regional manager's account sees (`staff_provinces`; no row: none)."""

    def provinces_of(self, staff_id: int) -> frozenset[str]:
        """The province codes of one account."""
        ...

    def replace_provinces(self, staff_id: int, codes: frozenset[str]) -> None:
        """Make `codes` the account's provinces (the others removed)."""
        ...


class AccessUnitOfWork(UnitOfWork, Protocol):
    """What staff identity use cases touch: accounts, sessions and sign-in attempts, points of sale."""

    staff: StaffRepository
    auth: AuthRepository
    points_of_sale: PointOfSaleRepository
    staff_provinces: StaffProvinceRepository
