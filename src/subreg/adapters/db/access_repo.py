"""SQL repository: Staff sign-in: sessions, tokens, login attempts, lockout."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, true, update

from subreg.adapters.db.tables import auth_sessions, login_attempts, points_of_sale, staff, staff_provinces
from subreg.services.access.ports import SessionRow, StaffAuthRow

__all__ = ["SqlAuthRepository", "SqlStaffProvinceRepository"]


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for DateTime(timezone=True); everything we store is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _bytes(value: Any) -> bytes | None:
    # psycopg returns memoryview for BYTEA.
    return None if value is None else bytes(value)


_STAFF_COLUMNS = (
    staff.c.id,
    staff.c.username,
    staff.c.display_name,
    staff.c.role,
    staff.c.point_of_sale_id,
    points_of_sale.c.code.label("pos_code"),
    points_of_sale.c.kind.label("pos_kind"),
    staff.c.password_hash,
    staff.c.active,
    staff.c.failed_logins,
    staff.c.locked_until,
    staff.c.totp_secret,
    staff.c.password_changed_at,
    staff.c.must_change_password,
    staff.c.last_login_at,
)


def _staff(row: Row[Any]) -> StaffAuthRow:
    m = row._mapping
    return StaffAuthRow(
        id=m["id"],
        username=m["username"],
        display_name=m["display_name"],
        role=m["role"],
        point_of_sale_id=m["point_of_sale_id"],
        pos_code=m["pos_code"],
        pos_kind=m["pos_kind"],
        password_hash=m["password_hash"],
        active=bool(m["active"]),
        failed_logins=int(m["failed_logins"] or 0),
        locked_until=_aware(m["locked_until"]),
        totp_secret=_bytes(m["totp_secret"]),
        password_changed_at=_aware(m["password_changed_at"]),
        must_change_password=bool(m["must_change_password"]),
        last_login_at=_aware(m["last_login_at"]),
    )


# Read on every signed-in request; built once (see repositories.py: a statement keeps its cache key).
_SELECT_STAFF = select(*_STAFF_COLUMNS).select_from(
    staff.outerjoin(points_of_sale, staff.c.point_of_sale_id == points_of_sale.c.id)
)
_STAFF_BY_ID = _SELECT_STAFF.where(staff.c.id == bindparam("id"))
# One probe of the partial index on successes (`ix_login_attempts_signed_in`), however many failures there are.
_SIGNED_IN_FROM = (
    select(login_attempts.c.id)
    .where(
        login_attempts.c.staff_id == bindparam("staff_id"),
        login_attempts.c.source_hash == bindparam("source_hash"),
        login_attempts.c.success == true(),
        login_attempts.c.at >= bindparam("since"),
    )
    .limit(1)
)
_SESSION_BY_HASH = select(
    auth_sessions.c.id, auth_sessions.c.staff_id, auth_sessions.c.kind, auth_sessions.c.csrf_hash,
    auth_sessions.c.second_factor, auth_sessions.c.expires_at, auth_sessions.c.last_seen_at, auth_sessions.c.revoked_at,
).where(auth_sessions.c.token_hash == bindparam("token_hash"))  # fmt: skip


class SqlAuthRepository:
    """Staff sign-in: sessions, tokens, login attempts, lockout."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def staff_by_username(self, username: str) -> StaffAuthRow | None:
        """One account by its username."""
        row = self._c.execute(_SELECT_STAFF.where(staff.c.username == username)).first()
        return None if row is None else _staff(row)

    def staff_by_id(self, staff_id: int) -> StaffAuthRow | None:
        """One account by id."""
        row = self._c.execute(_STAFF_BY_ID, {"id": staff_id}).first()
        return None if row is None else _staff(row)

    def list_staff(self) -> list[StaffAuthRow]:
        """Every account, by username."""
        return [_staff(r) for r in self._c.execute(_SELECT_STAFF.order_by(staff.c.username))]

    def update_staff(self, staff_id: int, values: Mapping[str, Any]) -> None:
        """Change columns of one account."""
        self._c.execute(update(staff).where(staff.c.id == staff_id).values(dict(values)))

    def count_failure(self, staff_id: int) -> int:
        """Add one to the account's consecutive failures, atomically; the new count."""
        stmt = (
            update(staff)
            .where(staff.c.id == staff_id)
            .values(failed_logins=staff.c.failed_logins + 1)
            .returning(staff.c.failed_logins)
        )
        return int(self._c.execute(stmt).scalar_one())

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
        """Record one sign-in attempt."""
        row = {"at": at, "username": username[:64], "staff_id": staff_id, "success": success, "reason": reason}
        self._c.execute(insert(login_attempts).values(**row, source_hash=source_hash))

    def failures_from(self, source_hash: bytes, *, since: datetime) -> int:
        """Failed sign-ins from one source since `since` (whatever the usernames tried; a password followed by
        the request for the one-time code is not a failure)."""
        c = login_attempts.c
        query = select(func.count()).where(
            c.source_hash == source_hash, c.at >= since, c.success.is_(False), c.reason != "totp_required"
        )
        return int(self._c.execute(query).scalar_one())

    def signed_in_from(self, staff_id: int, source_hash: bytes, *, since: datetime) -> bool:
        """Whether the account signed in successfully from one source since `since`."""
        found = self._c.execute(_SIGNED_IN_FROM, {"staff_id": staff_id, "source_hash": source_hash, "since": since})
        return found.first() is not None

    def add_session(self, row: Mapping[str, Any]) -> int:
        """Store a session; its id."""
        return int(self._c.execute(insert(auth_sessions).values(dict(row)).returning(auth_sessions.c.id)).scalar_one())

    def session_by_hash(self, token_hash: bytes) -> SessionRow | None:
        """The session whose token hashes to `token_hash`."""
        row = self._c.execute(_SESSION_BY_HASH, {"token_hash": token_hash}).first()
        if row is None:
            return None
        m = row._mapping
        return SessionRow(
            id=m["id"],
            staff_id=m["staff_id"],
            kind=m["kind"],
            csrf_hash=_bytes(m["csrf_hash"]),
            second_factor=bool(m["second_factor"]),
            expires_at=_utc(m["expires_at"]),
            last_seen_at=_aware(m["last_seen_at"]),
            revoked_at=_aware(m["revoked_at"]),
        )

    def update_session(self, session_id: int, values: Mapping[str, Any]) -> None:
        """Change columns of one session."""
        self._c.execute(update(auth_sessions).where(auth_sessions.c.id == session_id).values(dict(values)))

    def revoke_sessions_of(self, staff_id: int, *, at: datetime, keep: int | None = None) -> int:
        """Revoke every live session of an account except `keep`; how many were revoked."""
        c = auth_sessions.c
        stmt = update(auth_sessions).where(c.staff_id == staff_id, c.revoked_at.is_(None))
        if keep is not None:
            stmt = stmt.where(c.id != keep)
        return int(self._c.execute(stmt.values(revoked_at=at)).rowcount)


class SqlStaffProvinceRepository:
    """`staff_provinces`: the provinces a regional manager's account sees."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def provinces_of(self, staff_id: int) -> frozenset[str]:
        rows = self._c.execute(select(staff_provinces.c.province_code).where(staff_provinces.c.staff_id == staff_id))
        return frozenset(r[0] for r in rows)

    def replace_provinces(self, staff_id: int, codes: frozenset[str]) -> None:
        self._c.execute(delete(staff_provinces).where(staff_provinces.c.staff_id == staff_id))
        if codes:
            self._c.execute(
                insert(staff_provinces), [{"staff_id": staff_id, "province_code": c} for c in sorted(codes)]
            )
