"""`MemoryUnitOfWork`: the unit of work of every capability, on a `MemoryDatabase` (cosmicpython's fake UoW).

It has every repository `adapters.db.uow.SqlUnitOfWork` has, with the same semantics: `with uow: ...;
uow.commit()`, leaving the block without commit discards the work, `rollback` discards what was done
since the last commit, and the unit stays usable after either. `lock_for_write` has nothing to do: one
thread works at a time and nothing is shared with another process.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from subreg.adapters.memory._store import MemoryDatabase, Transaction
from subreg.adapters.memory.access import MemoryAuthRepository, MemoryStaffProvinceRepository
from subreg.adapters.memory.audit import MemoryAuditRepository
from subreg.adapters.memory.biometrics import MemoryBiometricRepository
from subreg.adapters.memory.counter import MemoryCounterRepository
from subreg.adapters.memory.privacy import MemoryPrivacyRepository
from subreg.adapters.memory.registry import (
    MemoryDocumentRepository,
    MemoryHistoryRepository,
    MemoryHolderRepository,
    MemoryPeopleRepository,
    MemoryPointOfSaleRepository,
    MemoryPortedNumbers,
    MemoryStaffRepository,
    MemorySubscriptionRepository,
)
from subreg.adapters.memory.reports import MemorySnapshotSource, MemorySnapshotStore
from subreg.adapters.memory.review import MemoryReviewRepository
from subreg.adapters.memory.signals import MemorySignalRepository
from subreg.adapters.memory.sms import MemoryInboundRepository, MemoryOutboxRepository, MemoryRateRepository

__all__ = ["MemoryUnitOfWork"]


class MemoryUnitOfWork:
    """`with uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    def __init__(self, db: MemoryDatabase, *, audit_key: bytes | None = None) -> None:
        self._db = db
        self._transaction: Transaction | None = None
        tx = self._current
        self.subscriptions = MemorySubscriptionRepository(tx)
        self.holders = MemoryHolderRepository(tx)
        self.documents = MemoryDocumentRepository(tx)
        self.history = MemoryHistoryRepository(tx)
        self.people = MemoryPeopleRepository(tx)
        self.points_of_sale = MemoryPointOfSaleRepository(tx)
        self.ported = MemoryPortedNumbers(tx)
        self.staff = MemoryStaffRepository(tx)
        self.auth = MemoryAuthRepository(tx)
        self.audit = MemoryAuditRepository(tx, audit_key)
        self.privacy = MemoryPrivacyRepository(tx)
        self.inbound = MemoryInboundRepository(tx)
        self.outbox = MemoryOutboxRepository(tx)
        self.rates = MemoryRateRepository(tx)
        self.counter = MemoryCounterRepository(tx)
        self.staff_provinces = MemoryStaffProvinceRepository(tx)
        self.snapshot_source = MemorySnapshotSource(tx)
        self.snapshots = MemorySnapshotStore(tx)
        self.signals = MemorySignalRepository(tx)
        self.reviews = MemoryReviewRepository(tx)
        self.biometrics = MemoryBiometricRepository(tx)

    def _current(self) -> Transaction:
        if self._transaction is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._transaction

    def __enter__(self) -> Self:
        if self._transaction is not None:
            raise RuntimeError("unit of work is not re-entrant")
        self._transaction = Transaction(self._db)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            transaction.rollback()

    def commit(self) -> None:
        """Make the work visible to every other unit; this one stays usable."""
        self._current().commit()

    def rollback(self) -> None:
        """Discard everything since the last commit; the unit stays usable."""
        self._current().rollback()

    def lock_for_write(self) -> None:
        """Nothing to lock (see the module docstring); refused outside the block like the SQL unit's."""
        self._current()
