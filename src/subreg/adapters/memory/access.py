"""In-memory `AuthRepository`: accounts with their point of sale, sign-in attempts, sessions (as the SQL one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from subreg.adapters.memory._store import Row, Transaction
from subreg.services.access.ports import SessionRow, StaffAuthRow

__all__ = ["MemoryAuthRepository", "MemoryStaffProvinceRepository"]


def _aware(value: datetime | None) -> datetime | None:
    # What the SQL adapter hands back: every stored time is UTC, a naive one is read as UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


class MemoryAuthRepository:
    """Staff sign-in: sessions, tokens, login attempts, lockout."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    def _staff(self, m: Row) -> StaffAuthRow:
        pos = self._tx().get("points_of_sale", m["point_of_sale_id"]) if m["point_of_sale_id"] is not None else None
        return StaffAuthRow(
            id=m["id"],
            username=m["username"],
            display_name=m["display_name"],
            role=m["role"],
            point_of_sale_id=m["point_of_sale_id"],
            pos_code=pos["code"] if pos else None,
            pos_kind=pos["kind"] if pos else None,
            password_hash=m["password_hash"],
            active=bool(m["active"]),
            failed_logins=int(m["failed_logins"] or 0),
            locked_until=_aware(m["locked_until"]),
            totp_secret=_bytes(m["totp_secret"]),
            password_changed_at=_aware(m["password_changed_at"]),
            must_change_password=bool(m["must_change_password"]),
            last_login_at=_aware(m["last_login_at"]),
        )

    def staff_by_username(self, username: str) -> StaffAuthRow | None:
        """One account by its username."""
        for row in self._tx().scan("staff", lambda r: r["username"] == username):
            return self._staff(row)
        return None

    def staff_by_id(self, staff_id: int) -> StaffAuthRow | None:
        """One account by id."""
        row = self._tx().get("staff", staff_id)
        return None if row is None else self._staff(row)

    def list_staff(self) -> list[StaffAuthRow]:
        """Every account, by username."""
        return [self._staff(r) for r in sorted(self._tx().scan("staff"), key=lambda r: r["username"])]

    def update_staff(self, staff_id: int, values: Mapping[str, Any]) -> None:
        """Change columns of one account."""
        self._tx().update("staff", staff_id, dict(values))

    def count_failure(self, staff_id: int) -> int:
        """Add one to the account's consecutive failures; the new count."""
        tx = self._tx()
        row = tx.latest("staff", staff_id)
        if row is None:
            raise LookupError("no such staff account")  # SQL: scalar_one() on no row
        count = int(row["failed_logins"]) + 1
        tx.update("staff", staff_id, {**row, "failed_logins": count})
        return count

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
        self._tx().insert("login_attempts", {**row, "source_hash": source_hash})

    def failures_from(self, source_hash: bytes, *, since: datetime) -> int:
        """Failed sign-ins from one source since `since` (a request for the one-time code is not a failure)."""

        def counted(r: Row) -> bool:
            return (
                r["source_hash"] == source_hash
                and r["at"] >= since
                and not r["success"]
                and r["reason"] != "totp_required"
            )

        return sum(1 for _ in self._tx().scan("login_attempts", counted))

    def signed_in_from(self, staff_id: int, source_hash: bytes, *, since: datetime) -> bool:
        """Whether the account signed in successfully from one source since `since`."""

        def signed_in(r: Row) -> bool:
            return bool(
                r["staff_id"] == staff_id and r["source_hash"] == source_hash and r["success"] and r["at"] >= since
            )

        return any(True for _ in self._tx().scan("login_attempts", signed_in))

    def add_session(self, row: Mapping[str, Any]) -> int:
        """Store a session; its id."""
        return int(self._tx().insert("auth_sessions", dict(row)))

    def session_by_hash(self, token_hash: bytes) -> SessionRow | None:
        """The session whose token hashes to `token_hash`."""
        for m in self._tx().scan("auth_sessions", lambda r: r["token_hash"] == token_hash):
            expires_at = _aware(m["expires_at"])
            assert expires_at is not None  # NOT NULL
            return SessionRow(
                id=m["id"],
                staff_id=m["staff_id"],
                kind=m["kind"],
                csrf_hash=_bytes(m["csrf_hash"]),
                second_factor=bool(m["second_factor"]),
                expires_at=expires_at,
                last_seen_at=_aware(m["last_seen_at"]),
                revoked_at=_aware(m["revoked_at"]),
            )
        return None

    def update_session(self, session_id: int, values: Mapping[str, Any]) -> None:
        """Change columns of one session."""
        self._tx().update("auth_sessions", session_id, dict(values))

    def revoke_sessions_of(self, staff_id: int, *, at: datetime, keep: int | None = None) -> int:
        """Revoke every live session of an account except `keep`; how many were revoked."""
        tx = self._tx()
        live = [
            r["id"]
            for r in tx.scan("auth_sessions", lambda r: r["staff_id"] == staff_id and r["revoked_at"] is None)
            if r["id"] != keep
        ]
        for session_id in live:
            tx.update("auth_sessions", session_id, {"revoked_at": at})
        return len(live)


class MemoryStaffProvinceRepository:
    """`staff_provinces` (as the SQL one)."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    def provinces_of(self, staff_id: int) -> frozenset[str]:
        return frozenset(
            r["province_code"] for r in self._tx().scan("staff_provinces", lambda r: r["staff_id"] == staff_id)
        )

    def replace_provinces(self, staff_id: int, codes: frozenset[str]) -> None:
        tx = self._tx()
        for row in list(tx.scan("staff_provinces", lambda r: r["staff_id"] == staff_id)):
            tx.delete("staff_provinces", (staff_id, row["province_code"]))
        for code in sorted(codes):
            tx.insert("staff_provinces", {"staff_id": staff_id, "province_code": code})
