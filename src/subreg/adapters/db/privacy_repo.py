"""SQL repository: Data-subject requests, consents, holder flags, crypto-shredding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select, update

from subreg.adapters.db.tables import biometric_templates, consents, documents, dsr_requests, holders, subscriptions
from subreg.services.privacy.ports import ConsentRow, DsrRow, HolderFlags

__all__ = ["SqlPrivacyRepository"]


def _dsr(row: Any) -> DsrRow:
    return DsrRow(**{k: row._mapping[k] for k in DsrRow.__slots__})  # type: ignore[attr-defined]


def _consent(row: Any) -> ConsentRow:
    m = row._mapping
    return ConsentRow(**{k: m[k] for k in ConsentRow.__slots__})  # type: ignore[attr-defined]


# Read on every counter transaction; built once (see repositories.py).
_HOLDER_FLAGS = select(holders.c.id, holders.c.restricted, holders.c.objected, holders.c.erased_at).where(
    holders.c.id == bindparam("id")
)


class SqlPrivacyRepository:
    """Data-subject requests, consents, holder flags, crypto-shredding."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add_request(self, row: Mapping[str, Any]) -> int:
        """Insert a data-subject request; its id."""
        return int(self._c.execute(insert(dsr_requests).values(**row).returning(dsr_requests.c.id)).scalar_one())

    def get_request(self, request_id: int) -> DsrRow | None:
        """One request."""
        row = self._c.execute(select(dsr_requests).where(dsr_requests.c.id == request_id)).first()
        return None if row is None else _dsr(row)

    def list_requests(self, *, status: str | None = None, limit: int = 100) -> list[DsrRow]:
        """Requests, soonest deadline first."""
        query = select(dsr_requests).order_by(dsr_requests.c.due_on, dsr_requests.c.id).limit(limit)
        if status is not None:
            query = query.where(dsr_requests.c.status == status)
        return [_dsr(r) for r in self._c.execute(query)]

    def requests_of(self, holder_ids: Sequence[int]) -> list[DsrRow]:
        """Every request about these holders, oldest first."""
        query = select(dsr_requests).where(dsr_requests.c.holder_id.in_(list(holder_ids))).order_by(dsr_requests.c.id)
        return [_dsr(r) for r in self._c.execute(query)]

    def close_request(self, request_id: int, *, status: str, outcome: str, closed_at: datetime) -> None:
        """Mark a request done or refused, with an outcome code."""
        self._c.execute(
            update(dsr_requests)
            .where(dsr_requests.c.id == request_id)
            .values(status=status, outcome=outcome, closed_at=closed_at)
        )

    def flags(self, holder_id: int) -> HolderFlags | None:
        """A holder's flags."""
        row = self._c.execute(_HOLDER_FLAGS, {"id": holder_id}).first()
        if row is None:
            return None
        return HolderFlags(int(row.id), bool(row.restricted), bool(row.objected), row.erased_at)

    def set_flags(self, holder_id: int, *, restricted: bool | None = None, objected: bool | None = None) -> None:
        """Set or clear the restriction / objection flags."""
        values: dict[str, Any] = {}
        if restricted is not None:
            values["restricted"] = restricted
        if objected is not None:
            values["objected"] = objected
        if values:
            self._c.execute(update(holders).where(holders.c.id == holder_id).values(**values, updated_at=func.now()))

    def add_consent(self, row: Mapping[str, Any]) -> int:
        """Insert a consent record; its id."""
        return int(self._c.execute(insert(consents).values(**row).returning(consents.c.id)).scalar_one())

    def consents_of(self, holder_ids: Sequence[int]) -> list[ConsentRow]:
        """Consent records of these holders, oldest first."""
        query = select(consents).where(consents.c.holder_id.in_(list(holder_ids))).order_by(consents.c.id)
        return [_consent(r) for r in self._c.execute(query)]

    def shred(self, holder_id: int, *, erased_at: datetime) -> None:
        """Forget the wrapped DEK (payload and images become unreadable) and stamp the erasure time."""
        self._c.execute(
            update(holders)
            .where(holders.c.id == holder_id)
            .values(wrapped_dek=None, erased_at=erased_at, updated_at=func.now())
        )
        # Biometric templates are sealed under the same DEK (unreadable from now on); the rows go as well.
        self._c.execute(delete(biometric_templates).where(biometric_templates.c.holder_id == holder_id))

    def blob_keys_of(self, holder_id: int) -> list[str]:
        """Blob keys of every stored document of the holder's subscriptions."""
        query = (
            select(documents.c.blob_key)
            .join(subscriptions, subscriptions.c.id == documents.c.subscription_id)
            .where(subscriptions.c.holder_id == holder_id, documents.c.blob_key.is_not(None))
            .order_by(documents.c.id)
        )
        return [r.blob_key for r in self._c.execute(query)]

    def retention_candidates(
        self, *, terminated_before: datetime, limit: int, holder_ids: Sequence[int] | None = None
    ) -> list[int]:
        """Holders not yet shredded whose every subscription is terminated, none changed since
        `terminated_before` (its `updated_at`: a later change only keeps the data longer)."""
        if self._c.dialect.name == "sqlite":
            # SQLite keeps timestamps as naive UTC text; compare like with like.
            terminated_before = terminated_before.astimezone(UTC).replace(tzinfo=None)
        live = func.sum(case((subscriptions.c.status != "terminated", 1), else_=0))
        query = (
            select(holders.c.id)
            .join(subscriptions, subscriptions.c.holder_id == holders.c.id)
            .where(and_(holders.c.wrapped_dek.is_not(None), holders.c.erased_at.is_(None)))
            .group_by(holders.c.id)
            .having(and_(live == 0, func.max(subscriptions.c.updated_at) < terminated_before))
            .order_by(holders.c.id)
            .limit(limit)
        )
        if holder_ids is not None:
            query = query.where(holders.c.id.in_(list(holder_ids)))
        return [int(r.id) for r in self._c.execute(query)]
