"""SQL repository: the verification trail (`verifications`) and sealed biometric templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select

from subreg.adapters.db.tables import biometric_templates, holders, verifications

__all__ = ["SqlBiometricRepository"]


class SqlBiometricRepository:
    """Verification rows and biometric templates (sealed by the caller under the holder's DEK)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add_verification(self, row: Mapping[str, Any]) -> int:
        """Append one row to `verifications`; its id."""
        return int(self._c.execute(insert(verifications).values(**row).returning(verifications.c.id)).scalar_one())

    def holder_key(self, holder_id: int) -> tuple[int, bytes | None] | None:
        """The holder's KEK id and wrapped DEK (None: unknown holder)."""
        row = self._c.execute(select(holders.c.kek_id, holders.c.wrapped_dek).where(holders.c.id == holder_id)).first()
        return None if row is None else (int(row.kek_id), row.wrapped_dek)

    def add_template(self, row: Mapping[str, Any]) -> int:
        """Store one sealed template; its id."""
        query = insert(biometric_templates).values(**row).returning(biometric_templates.c.id)
        return int(self._c.execute(query).scalar_one())

    def templates_of(self, holder_id: int, *, kind: str, today: date) -> Sequence[Mapping[str, Any]]:
        """The holder's unexpired templates of a kind, newest first."""
        t = biometric_templates
        query = (
            select(t.c.id, t.c.model, t.c.payload, t.c.expires_on)
            .where(t.c.holder_id == holder_id, t.c.kind == kind, or_(t.c.expires_on.is_(None), t.c.expires_on >= today))
            .order_by(t.c.id.desc())
        )
        return [dict(r._mapping) for r in self._c.execute(query)]

    def delete_expired_templates(self, today: date) -> int:
        """Delete, in one statement, every template whose `expires_on` is before `today`."""
        return int(
            self._c.execute(delete(biometric_templates).where(biometric_templates.c.expires_on < today)).rowcount
        )
