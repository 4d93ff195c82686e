"""The SQLAlchemy unit of work: one connection, one transaction, rolled back unless committed.

On SQLite, a unit of work that declares itself a writer (`counter.lock_for_write()`) queues at the
engine's `WriterGate` first and holds it until its transaction ends (see `writer_gate`). A unit that reads
and only then writes can find that another writer committed in between: SQLite refuses the write at once
(SQLITE_BUSY_SNAPSHOT: its snapshot is stale, waiting cannot help). Leaving the block, that error becomes
`BusyError`: nothing was written, and `services.common.retry.retrying` runs the use case again.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from subreg.adapters.db.access_repo import SqlAuthRepository, SqlStaffProvinceRepository
from subreg.adapters.db.audit_repo import SqlAuditRepository
from subreg.adapters.db.biometric_repo import SqlBiometricRepository
from subreg.adapters.db.campaign_repo import SqlCampaignRepository
from subreg.adapters.db.counter_repo import SqlCounterRepository
from subreg.adapters.db.enforcement_repo import SqlEnforcementRepository, SqlOrderRepository
from subreg.adapters.db.ported_repo import SqlPortedNumbers
from subreg.adapters.db.privacy_repo import SqlPrivacyRepository
from subreg.adapters.db.registry_repo import (
    SqlDocumentRepository,
    SqlHistoryRepository,
    SqlHolderRepository,
    SqlPeopleRepository,
    SqlPointOfSaleRepository,
    SqlStaffRepository,
    SqlSubscriptionRepository,
)
from subreg.adapters.db.review_repo import SqlReviewRepository
from subreg.adapters.db.signal_repo import SqlSignalRepository
from subreg.adapters.db.sms_repo import SqlInboundRepository, SqlOutboxRepository, SqlRateRepository
from subreg.adapters.db.snapshot_repo import SqlSnapshotSource, SqlSnapshotStore
from subreg.adapters.db.work_queue_repo import SqlWorkQueueRepository
from subreg.adapters.db.writer_gate import writer_gate_for
from subreg.domain.common.errors import BusyError

__all__ = ["SqlUnitOfWork"]

_SQLITE_BUSY = 5  # the primary result code; BUSY_SNAPSHOT (517) and a busy timeout share it


def _sqlite_busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == _SQLITE_BUSY


class SqlUnitOfWork:
    """`with uow: ...; uow.commit()` — leaving the block without commit rolls back (cosmicpython)."""

    def __init__(self, engine: Engine, *, audit_key: bytes | None = None) -> None:
        self._engine = engine
        self._audit_key = audit_key  # HMAC key of the audit chain (kept out of the database)
        self._connection: Connection | None = None
        self._gate = writer_gate_for(engine)
        self._gate_held = False

    @property
    def connection(self) -> Connection:
        """The open connection (only inside `with`); for adapters that need raw SQL."""
        if self._connection is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._connection

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("unit of work is not re-entrant")
        # No BEGIN yet: the connection begins at its first statement (SQLAlchemy's autobegin, which the
        # engine's "begin" hook turns into SQLite's BEGIN), so an unused unit, or one whose last commit is
        # followed by nothing, costs no empty transaction.
        self._connection = self._engine.connect()
        c = self._connection
        self.subscriptions = SqlSubscriptionRepository(c)
        self.holders = SqlHolderRepository(c)
        self.documents = SqlDocumentRepository(c)
        self.history = SqlHistoryRepository(c)
        self.people = SqlPeopleRepository(c)
        self.points_of_sale = SqlPointOfSaleRepository(c)
        self.ported = SqlPortedNumbers(c)
        self.staff = SqlStaffRepository(c)
        self.auth = SqlAuthRepository(c)
        self.audit = SqlAuditRepository(c, self._audit_key)
        self.privacy = SqlPrivacyRepository(c)
        self.counter = SqlCounterRepository(c, self._pass_gate if self._gate is not None else None)
        self.inbound = SqlInboundRepository(c)
        self.outbox = SqlOutboxRepository(c)
        self.rates = SqlRateRepository(c)
        self.enforcement = SqlEnforcementRepository(c)
        self.orders = SqlOrderRepository(c)
        self.campaigns = SqlCampaignRepository(c)
        self.staff_provinces = SqlStaffProvinceRepository(c)
        self.snapshot_source = SqlSnapshotSource(c)
        self.snapshots = SqlSnapshotStore(c)
        self.signals = SqlSignalRepository(c)
        self.reviews = SqlReviewRepository(c)
        self.work_queue = SqlWorkQueueRepository(c)
        self.biometrics = SqlBiometricRepository(c)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            self._leave_gate()
            connection.close()
        if isinstance(exc, OperationalError) and _sqlite_busy(exc):
            raise BusyError("database busy, retry") from exc

    def commit(self) -> None:
        """Commit; the unit stays usable (its next statement begins a new transaction)."""
        try:
            self.connection.commit()
        finally:
            self._release_audit()
            self._leave_gate()

    def rollback(self) -> None:
        """Discard everything since the last commit; the unit stays usable."""
        try:
            self.connection.rollback()
        finally:
            self._release_audit()
            self._leave_gate()

    def _release_audit(self) -> None:
        audit = getattr(self, "audit", None)  # absent outside the `with` block (the call is refused anyway)
        if audit is not None:
            audit.release()

    def lock_for_write(self) -> None:
        """Make the transaction a writer now, before it reads (`counter.lock_for_write`)."""
        self.counter.lock_for_write()

    def _pass_gate(self) -> None:
        """Queue behind this process's other SQLite writers (see the module's docstring)."""
        if self._gate is not None and not self._gate_held:
            self._gate_held = self._gate.enter()

    def _leave_gate(self) -> None:
        if self._gate is not None and self._gate_held:
            self._gate_held = False
            self._gate.leave()
