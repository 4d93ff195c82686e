"""One contract per port, run on the in-memory fake and on the real adapter: same calls, same observable results.

This is what keeps the fakes of `subreg.adapters.memory` honest. First, as warehouse's `verifyClass`, every
implementation must declare every member of its port with the same parameters. Then every repository of the
unit of work runs on `MemoryUnitOfWork`, on SQLite and on PostgreSQL (when SUBREG_TEST_DATABASE_URL is
set); the blob store on `MemoryBlobStore` and `LocalBlobStore`; the clock on
`FixedClock` and `SystemClock`. What is compared: ordering, defaults, ids handed out in increasing order,
the current line of a reissued number, conflicts on a stale version, what commit keeps and rollback
discards, the constraints the database enforces, and the audit log's reads.

Where the backends may differ without a service noticing, the test does not look: the exact id values,
whether a timestamp the database stamped itself (`HistoryRow.at`, `DsrRow.received_at`) comes back
naive (SQLite) or aware (PostgreSQL), the order of `read_times`.
"""

from __future__ import annotations

import inspect
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from subreg.adapters.blob.local import LocalBlobStore
from subreg.adapters.clock import OPERATOR_TZ, SystemClock
from subreg.adapters.db.access_repo import SqlAuthRepository, SqlStaffProvinceRepository
from subreg.adapters.db.audit_repo import SqlAuditRepository
from subreg.adapters.db.counter_repo import SqlCounterRepository
from subreg.adapters.db.engine import create_engine_for, migrate
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
from subreg.adapters.db.sms_repo import SqlInboundRepository, SqlOutboxRepository, SqlRateRepository
from subreg.adapters.db.snapshot_repo import SqlSnapshotSource, SqlSnapshotStore
from subreg.adapters.db.tables import key_encryption_keys, metadata
from subreg.adapters.db.uow import SqlUnitOfWork
from subreg.adapters.memory import (
    ConstraintError,
    FixedClock,
    MemoryBlobStore,
    MemoryDatabase,
    MemoryUnitOfWork,
)
from subreg.adapters.memory.access import MemoryAuthRepository, MemoryStaffProvinceRepository
from subreg.adapters.memory.audit import MemoryAuditRepository
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
from subreg.adapters.memory.sms import MemoryInboundRepository, MemoryOutboxRepository, MemoryRateRepository
from subreg.domain.common.errors import ConflictError, CryptoError, NotFoundError
from subreg.domain.privacy.audit_chain import START, AuditDraft, AuditEntry, Checkpoint, seal, utc_timestamp
from subreg.services.access.ports import AccessUnitOfWork, AuthRepository, StaffProvinceRepository, StaffRepository
from subreg.services.backoffice.review_ports import ReviewRepository
from subreg.services.common.ports import AuditFilter, AuditRepository, BlobStore, Clock, UnitOfWork
from subreg.services.counter.ports import CounterRepository, CounterUnitOfWork
from subreg.services.privacy.ports import PrivacyRepository, PrivacyUnitOfWork
from subreg.services.registry.ports import (
    DocumentRepository,
    HistoryRepository,
    HolderRepository,
    PeopleRepository,
    PointOfSaleRepository,
    PortedNumbers,
    RegistryUnitOfWork,
    SubscriptionRepository,
)
from subreg.services.reports.ports import ReportsUnitOfWork, SnapshotSource, SnapshotStore
from subreg.services.sms.ports import (
    InboundRepository,
    OutboxRepository,
    RateRepository,
    Receipt,
    ReceiptMatch,
    SenderWindow,
    SmsUnitOfWork,
)
from tests.conftest import fresh_database

AUDIT_KEY = b"k" * 32
N1, N2, N3 = 84901234567, 84901234568, 84901234569
DOCUMENT, PERSON, OTHER = b"d" * 32, b"p" * 32, b"o" * 32  # blind indexes: a document's, people's


@dataclass
class Backend:
    """A unit-of-work factory on one backend, what that backend raises for a refused constraint, and a reader
    of a table's committed rows (for what no port reads back, such as the evaluation's dirty set)."""

    name: str
    uow: Callable[..., Any]
    constraint_error: type[Exception]
    kek_id: int
    rows: Callable[[str], list[dict[str, Any]]]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The in-memory fake, or a migrated SQL database (with one key-encryption key row for holders)."""
    if request.param == "memory":
        db = MemoryDatabase()
        yield Backend("memory", lambda key=AUDIT_KEY: MemoryUnitOfWork(db, audit_key=key), ConstraintError, 1, db.rows)
        return
    with fresh_database(request.param, tmp_path) as url:
        engine = create_engine_for(url)
        try:
            migrate(engine)
            with engine.begin() as c:
                row = {"wrapped_key": b"x" * 60, "master_key_id": "m", "purpose": "data", "active": True}
                kek = c.execute(insert(key_encryption_keys).values(row).returning(key_encryption_keys.c.id))
                kek_id = int(kek.scalar_one())

            def rows(table: str) -> list[dict[str, Any]]:
                with engine.connect() as c:
                    return [dict(r._mapping) for r in c.execute(select(metadata.tables[table]))]

            yield Backend(
                request.param, lambda key=AUDIT_KEY: SqlUnitOfWork(engine, audit_key=key), IntegrityError, kek_id, rows
            )
        finally:
            engine.dispose()


def holder(backend: Backend, blind: bytes | None = b"b" * 16, **changes: Any) -> dict[str, Any]:
    row = {
        "kind": "person",
        "id_type": "cccd",
        "id_blind": blind,
        "province_code": "079",
        "aad_ref": os.urandom(16),
        "kek_id": backend.kek_id,
        "wrapped_dek": b"w" * 61,
        "payload": b"p" * 40,
    }
    row.update(changes)
    return row


def line(msisdn: int, holder_id: int, **changes: Any) -> dict[str, Any]:
    row = {
        "msisdn": msisdn,
        "holder_id": holder_id,
        "subscriber_type": "individual",
        "payment_type": "prepaid",
        "activated_on": date(2016, 3, 1),
        "channel": "store",
        "point_of_sale_id": None,
        "point_of_sale_code": "HCM-Q1-01",
        "contract_number": None,
        "purpose": "personal_use",
        "status": "active",
        "complete": False,
        "missing": ("documents.portrait", "holder.id_issue_place"),
        "error_codes": (),
        "rule_set": "nd49-2017",
        "evaluated_on": date(2018, 3, 15),
        "version": 1,
    }
    row.update(changes)
    return row


def pos(uow: Any, code: str, kind: str = "store") -> int:
    return int(uow.points_of_sale.add({"code": code, "kind": kind, "name": f"Point {code}", "active": True}))


def staff(uow: Any, username: str, pos_id: int | None = None, role: str = "store_staff") -> int:
    return int(
        uow.staff.add(
            {"username": username, "display_name": username.title(), "role": role, "point_of_sale_id": pos_id,
             "password_hash": "$argon2id$x"}
        )
    )  # fmt: skip


def increasing(ids: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(ids))


def _members(protocol: type) -> dict[str, inspect.Signature | None]:
    """The methods (with their signatures) and properties a Protocol declares."""
    out: dict[str, inspect.Signature | None] = {}
    for name, value in vars(protocol).items():
        if name.startswith("_") and name not in ("__enter__", "__exit__"):
            continue
        if isinstance(value, property):
            out[name] = None
        elif callable(value):
            out[name] = inspect.signature(value)
    return out


PORTS: dict[type, tuple[type, ...]] = {
    SubscriptionRepository: (MemorySubscriptionRepository, SqlSubscriptionRepository),
    HolderRepository: (MemoryHolderRepository, SqlHolderRepository),
    DocumentRepository: (MemoryDocumentRepository, SqlDocumentRepository),
    HistoryRepository: (MemoryHistoryRepository, SqlHistoryRepository),
    PointOfSaleRepository: (MemoryPointOfSaleRepository, SqlPointOfSaleRepository),
    PeopleRepository: (MemoryPeopleRepository, SqlPeopleRepository),
    PortedNumbers: (MemoryPortedNumbers, SqlPortedNumbers),
    StaffRepository: (MemoryStaffRepository, SqlStaffRepository),
    AuthRepository: (MemoryAuthRepository, SqlAuthRepository),
    StaffProvinceRepository: (MemoryStaffProvinceRepository, SqlStaffProvinceRepository),
    SnapshotSource: (MemorySnapshotSource, SqlSnapshotSource),
    SnapshotStore: (MemorySnapshotStore, SqlSnapshotStore),
    CounterRepository: (MemoryCounterRepository, SqlCounterRepository),
    ReviewRepository: (MemoryReviewRepository, SqlReviewRepository),
    PrivacyRepository: (MemoryPrivacyRepository, SqlPrivacyRepository),
    AuditRepository: (MemoryAuditRepository, SqlAuditRepository),
    InboundRepository: (MemoryInboundRepository, SqlInboundRepository),
    OutboxRepository: (MemoryOutboxRepository, SqlOutboxRepository),
    RateRepository: (MemoryRateRepository, SqlRateRepository),
    UnitOfWork: (MemoryUnitOfWork, SqlUnitOfWork),
    BlobStore: (MemoryBlobStore, LocalBlobStore),
    Clock: (FixedClock, SystemClock),
}
# The units of work the services are given: their repositories must be the implementations above.
UNITS_OF_WORK = (
    RegistryUnitOfWork, CounterUnitOfWork, PrivacyUnitOfWork, AccessUnitOfWork, SmsUnitOfWork, ReportsUnitOfWork
)  # fmt: skip


@pytest.mark.parametrize(
    ("protocol", "implementations"),
    list(PORTS.items()),
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_every_implementation_has_every_member_of_its_port_with_the_same_parameters(protocol, implementations):
    """warehouse's `verifyClass`: the fake and the real adapter both declare what the Protocol declares."""
    for implementation in implementations:
        for name, signature in _members(protocol).items():
            member = inspect.getattr_static(implementation, name, None)
            assert member is not None, f"{implementation.__name__}.{name}"
            if signature is None:
                assert isinstance(member, property), f"{implementation.__name__}.{name}"
                continue
            params = [(p.name, p.kind) for p in inspect.signature(member).parameters.values()]
            assert params == [(p.name, p.kind) for p in signature.parameters.values()], (
                f"{implementation.__name__}.{name}"
            )


@pytest.mark.parametrize("protocol", UNITS_OF_WORK, ids=lambda p: p.__name__)
def test_every_unit_of_work_has_every_repository_its_port_declares(protocol, backend):
    """A repository a unit-of-work Protocol declares (`people: PeopleRepository`) is there, and is one of the
    implementations checked above: a repository added to a port and to one unit of work only is caught."""
    with backend.uow() as uow:
        for name, port in get_type_hints(protocol).items():
            repository = getattr(uow, name, None)
            assert repository is not None, f"{backend.name}: {protocol.__name__}.{name}"
            assert type(repository) in PORTS[port], f"{backend.name}: {protocol.__name__}.{name}"


class TestReviewRepository:
    """The review items' lease and decisions, the same on the fake and both databases."""

    def test_submit_joins_a_lines_pending_item_and_claims_skip_leased_and_own_work(self, backend):
        now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
        with backend.uow() as uow:
            first = uow.reviews.submit(subscription_id=7, kind="registration", flags="card_mismatch", version=1,
                                       point_of_sale_id=1, submitted_by=50, now=now)  # fmt: skip
            same = uow.reviews.submit(subscription_id=7, kind="update", flags="narrow_image", version=2,
                                      point_of_sale_id=1, submitted_by=50, now=now)  # fmt: skip
            other = uow.reviews.submit(subscription_id=8, kind="update", flags="fourth_sim", version=1,
                                       point_of_sale_id=2, submitted_by=60, now=now + timedelta(seconds=1))  # fmt: skip
            uow.commit()
        assert same == first
        until = now + timedelta(minutes=10)
        with backend.uow() as uow:
            item = uow.reviews.get(first)
            assert (item.flags, item.version_seen, item.kind) == (("card_mismatch", "narrow_image"), 2, "registration")
            assert uow.reviews.claim_next(50, now=now, until=until, exclude_pos=None).id == other  # not own work
            assert uow.reviews.claim_next(51, now=now, until=until, exclude_pos=1) is None  # other is leased
            assert uow.reviews.claim_next(51, now=now, until=until, exclude_pos=None).id == first
            assert uow.reviews.held_by(51, now=now).id == first
            assert uow.reviews.pending_count() == 2
            assert not uow.reviews.decide(first, staff_id=50, decision="approved", reason="other", note="x", now=now)
            assert uow.reviews.decide(first, staff_id=51, decision="rejected", reason="person_mismatch", note=None,
                                      now=now)  # fmt: skip
            uow.commit()
        with backend.uow() as uow:
            assert uow.reviews.latest_verdict(7).decision == "rejected"
            assert uow.reviews.latest_for(7).state == "decided"
            assert [i.id for i in uow.reviews.list_pending(limit=10)] == [other]
            later = until + timedelta(seconds=1)  # the lease on `other` ended: anyone may take it
            assert (
                uow.reviews.claim_next(51, now=later, until=later + timedelta(minutes=1), exclude_pos=None).id == other
            )


class TestUnitOfWork:
    def test_commit_keeps_and_the_unit_stays_usable(self, backend):
        with backend.uow() as uow:
            pos(uow, "A")
            uow.commit()
            pos(uow, "B")
            uow.commit()
            pos(uow, "C")
        with backend.uow() as uow:
            assert [p.code for p in uow.points_of_sale.list_all()] == ["A", "B"]

    def test_leaving_without_commit_discards(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            uow.subscriptions.add(line(N1, hid))
        with backend.uow() as uow:
            assert uow.subscriptions.get(N1) is None
            assert uow.holders.get(hid) is None

    def test_an_exception_inside_the_block_discards(self, backend):
        def work() -> None:
            with backend.uow() as uow:
                pos(uow, "A")
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            work()
        with backend.uow() as uow:
            assert uow.points_of_sale.list_all() == []

    def test_rollback_discards_since_the_last_commit_only(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            line_id = uow.subscriptions.add(line(N1, hid))
            uow.commit()
            uow.subscriptions.update(line_id, {"status": "one_way_locked"}, expected_version=1)
            uow.holders.shred(hid)
            pos(uow, "B")
            uow.rollback()
            assert uow.subscriptions.get(N1).status == "active"
            assert uow.holders.get(hid).wrapped_dek is not None
            assert uow.points_of_sale.list_all() == []
            pos(uow, "C")
            uow.commit()
        with backend.uow() as uow:
            assert (uow.subscriptions.get(N1).version, [p.code for p in uow.points_of_sale.list_all()]) == (1, ["C"])

    def test_work_is_seen_by_another_unit_only_once_committed(self, backend):
        with backend.uow() as writer:
            pos(writer, "A")
            with backend.uow() as reader:
                assert reader.points_of_sale.get_by_code("A") is None
            writer.commit()
        with backend.uow() as reader:
            assert reader.points_of_sale.get_by_code("A") is not None

    def test_the_unit_is_refused_outside_its_block_and_is_not_re_entrant(self, backend):
        uow = backend.uow()
        with pytest.raises(RuntimeError):
            uow.commit()
        with uow:
            uow.lock_for_write()
            uow.counter.lock_for_write()
            with pytest.raises(RuntimeError), uow:
                pass
        with pytest.raises(RuntimeError):
            uow.rollback()


class TestSubscriptions:
    def test_a_line_round_trips_with_its_compliance_columns(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            line_id = uow.subscriptions.add(line(N1, hid, error_codes=("holder.gender:id_gender_mismatch",)))
            uow.commit()
        with backend.uow() as uow:
            sub = uow.subscriptions.get(N1)
            assert uow.subscriptions.get_by_id(line_id) == sub
        assert (sub.id, sub.msisdn, sub.generation, sub.holder_id, sub.version) == (line_id, N1, 1, hid, 1)
        assert (sub.activated_on, sub.evaluated_on) == (date(2016, 3, 1), date(2018, 3, 15))
        assert sub.missing == ("documents.portrait", "holder.id_issue_place")
        assert sub.error_codes == ("holder.gender:id_gender_mismatch",)
        assert (sub.complete, sub.status, sub.point_of_sale_code, sub.rule_set) == (
            False, "active", "HCM-Q1-01", "nd49-2017"
        )  # fmt: skip

    def test_the_evaluation_columns_round_trip_and_default_to_nothing_needed(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            plain = uow.subscriptions.add(line(N1, hid))
            tagged = uow.subscriptions.add(
                line(N2, hid, verdict=1, contract_needed=True, valid_until=date(2026, 11, 30), person_key=PERSON,
                     has_contract=True)
            )  # fmt: skip
            uow.commit()
        with backend.uow() as uow:
            first, second = uow.subscriptions.get_by_id(plain), uow.subscriptions.get_by_id(tagged)
            uow.subscriptions.update(
                plain, {"contract_needed": True, "valid_until": date(2027, 1, 4), "person_key": OTHER},
                expected_version=1,
            )  # fmt: skip
            uow.subscriptions.update(
                tagged, {"contract_needed": False, "valid_until": None, "person_key": None}, expected_version=1
            )
            uow.commit()
            updated = uow.subscriptions.get_by_id(plain), uow.subscriptions.get_by_id(tagged)
        assert (first.contract_needed, first.valid_until, first.person_key, first.has_contract) == (
            False, None, None, False
        )  # fmt: skip
        assert (second.contract_needed, second.valid_until, second.person_key, second.has_contract) == (
            True, date(2026, 11, 30), PERSON, True
        )  # fmt: skip
        assert type(second.person_key) is bytes
        assert [(s.contract_needed, s.valid_until, s.person_key, s.version) for s in updated] == [
            (True, date(2027, 1, 4), OTHER, 2), (False, None, None, 2)
        ]  # fmt: skip

    def test_a_reissued_number_shows_its_latest_line_and_keeps_the_old_one(self, backend):
        with backend.uow() as uow:
            first, second = uow.holders.add_many([holder(backend), holder(backend, b"c" * 16)])
            old = uow.subscriptions.add(line(N1, first, status="terminated"))
            new = uow.subscriptions.add(line(N1, second, generation=2))
            uow.subscriptions.add(line(N2, first, status="terminated"))
            uow.commit()
        with backend.uow() as uow:
            assert uow.subscriptions.get(N1).id == new
            assert [(s.id, s.generation) for s in uow.subscriptions.lines_of(N1)] == [(old, 1), (new, 2)]
            assert uow.subscriptions.get_by_id(old).status == "terminated"
            assert uow.subscriptions.existing([N1, N2, N3]) == {N1}  # N2's only line is terminated
            current = uow.subscriptions.current_lines([N1, N2, N3, N1])
            assert {k: v.id for k, v in current.items()} == {N1: new, N2: uow.subscriptions.get(N2).id}
            assert uow.subscriptions.get(N3) is None
            assert uow.subscriptions.lines_of(N3) == []
            assert uow.subscriptions.count() == 3

    def test_lines_of_holders_come_by_number_then_generation(self, backend):
        with backend.uow() as uow:
            a, b, c = uow.holders.add_many([holder(backend), holder(backend), holder(backend)])
            ids = uow.subscriptions.add_many(  # a batch's rows name the same columns
                [line(N3, a, generation=1), line(N1, b, generation=1, status="terminated"), line(N2, a, generation=1),
                 line(N1, a, generation=2)]
            )  # fmt: skip
            assert increasing(ids)
            assert len(set(ids)) == 4
            uow.commit()
            found = uow.subscriptions.list_by_holders([a, b, c])
            assert [(s.msisdn, s.generation) for s in found] == [(N1, 1), (N1, 2), (N2, 1), (N3, 1)]
            assert [s.msisdn for s in uow.subscriptions.list_by_holder(a)] == [N1, N2, N3]
            assert uow.subscriptions.list_by_holders([]) == []
            assert uow.subscriptions.list_by_holder(c) == []

    def test_examples_are_active_lines_complete_and_incomplete_alternately(self, backend):
        with backend.uow() as uow:
            h = uow.holders.add(holder(backend))
            uow.subscriptions.add_many([
                line(N1, h, complete=False), line(N2, h, complete=True), line(N3, h, complete=False),
                line(N3 + 1, h, complete=True, status="terminated"), line(N3 + 2, h, complete=True),
            ])  # fmt: skip
            uow.commit()
            assert [s.msisdn for s in uow.subscriptions.examples(limit=10)] == [N2, N1, N3 + 2, N3]
            assert [s.msisdn for s in uow.subscriptions.examples(limit=3)] == [N2, N1, N3 + 2]

    def test_ids_are_handed_out_in_increasing_order(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            first = uow.subscriptions.add(line(N1, hid))
            uow.commit()
            more = uow.subscriptions.add_many([line(N2, hid), line(N3, hid)])
            uow.commit()
        assert increasing([first, *more])
        with backend.uow() as uow:
            assert uow.subscriptions.add_many([]) == []

    def test_an_update_bumps_the_version_and_a_stale_version_conflicts(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            line_id = uow.subscriptions.add(line(N1, hid))
            uow.subscriptions.update(
                line_id, {"status": "one_way_locked", "missing": ("holder.address",), "complete": False},
                expected_version=1,
            )  # fmt: skip
            sub = uow.subscriptions.get(N1)
            assert (sub.version, sub.status, sub.missing) == (2, "one_way_locked", ("holder.address",))
            with pytest.raises(ConflictError):
                uow.subscriptions.update(line_id, {"status": "active"}, expected_version=1)
            with pytest.raises(ConflictError):
                uow.subscriptions.update(line_id + 1000, {"status": "active"}, expected_version=1)
            uow.subscriptions.update(line_id, {"missing": "", "complete": True}, expected_version=2)
            sub = uow.subscriptions.get(N1)
            assert (sub.version, sub.missing, sub.complete, sub.status) == (3, (), True, "one_way_locked")

    def test_an_update_after_another_unit_committed_one_conflicts(self, backend):
        with backend.uow() as uow:
            line_id = uow.subscriptions.add(line(N1, uow.holders.add(holder(backend))))
            uow.commit()

        def race() -> None:
            with backend.uow() as slow:
                seen = slow.subscriptions.get(N1)
                with backend.uow() as fast:
                    fast.subscriptions.update(line_id, {"status": "one_way_locked"}, expected_version=seen.version)
                    fast.commit()
                slow.subscriptions.update(line_id, {"status": "terminated"}, expected_version=seen.version)

        # ConflictError (PostgreSQL, the fake); BusyError, a ConflictError, on SQLite (its snapshot is stale).
        with pytest.raises(ConflictError):
            race()
        with backend.uow() as uow:
            assert (uow.subscriptions.get(N1).status, uow.subscriptions.get(N1).version) == ("one_way_locked", 2)

    def test_a_number_has_one_line_per_generation_and_a_line_needs_its_holder(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            uow.subscriptions.add(line(N1, hid))
            uow.commit()
            with pytest.raises(backend.constraint_error):
                uow.subscriptions.add(line(N1, hid))
        with backend.uow() as uow, pytest.raises(backend.constraint_error):
            uow.subscriptions.add(line(N2, hid + 1000))


class TestPeople:
    def test_a_document_counts_towards_itself_until_linked_and_a_link_moves_its_lines(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            ids = uow.subscriptions.add_many(
                [line(N3, hid, person_key=DOCUMENT, generation=1),
                 line(N1, hid, person_key=DOCUMENT, generation=1, status="terminated"),
                 line(N1, hid, person_key=DOCUMENT, generation=2), line(N2, hid, person_key=PERSON, generation=1),
                 line(N3, hid, person_key=None, generation=2)]
            )  # fmt: skip
            uow.commit()
        by_id = dict(zip(ids, ["N3/1", "N1/1", "N1/2", "N2/1", "N3/2"], strict=True))
        with backend.uow() as uow:
            assert uow.people.person_of_document(DOCUMENT) is None
            assert uow.people.persons_of_documents([DOCUMENT, PERSON]) == {}
            assert [by_id[s.id] for s in uow.people.lines_of_person(DOCUMENT)] == ["N1/1", "N1/2", "N3/1"]
            assert uow.people.link(DOCUMENT, PERSON) == 3  # terminated lines move too
            uow.commit()
        with backend.uow() as uow:
            assert uow.people.person_of_document(DOCUMENT) == PERSON
            assert uow.people.lines_of_person(DOCUMENT) == []
            moved = uow.people.lines_of_person(PERSON)
            assert [by_id[s.id] for s in moved] == ["N1/1", "N1/2", "N2/1", "N3/1"]  # by number, then generation
            assert {(s.person_key, s.version) for s in moved} == {(PERSON, 1)}  # moved without a new version
            # Linked again elsewhere: the link moves; the lines already moved stay with their person.
            assert uow.people.link(DOCUMENT, OTHER) == 0
            assert uow.people.link(OTHER, PERSON) == 0  # a key with no lines of its own
            uow.commit()
        with backend.uow() as uow:
            found = uow.people.persons_of_documents([DOCUMENT, OTHER, DOCUMENT, b"z" * 32])
            assert found == {DOCUMENT: OTHER, OTHER: PERSON}
            assert all(type(k) is bytes and type(v) is bytes for k, v in found.items())
            assert len(uow.people.lines_of_person(PERSON)) == 4
            assert uow.people.persons_of_documents([]) == {}

    def test_a_link_is_kept_only_when_committed(self, backend):
        with backend.uow() as uow:
            uow.people.link(DOCUMENT, PERSON)
            uow.rollback()
            assert uow.people.person_of_document(DOCUMENT) is None
            uow.people.link(DOCUMENT, OTHER)
            uow.commit()
        with backend.uow() as uow:
            assert uow.people.person_of_document(DOCUMENT) == OTHER

    def test_dirty_people_are_recorded_once_each_and_none_is_ignored(self, backend):
        with backend.uow() as uow:
            uow.people.mark_dirty([PERSON, None, PERSON, OTHER])
            uow.people.mark_dirty([])
            uow.people.mark_dirty([None])
            uow.commit()
            uow.people.mark_dirty([OTHER, DOCUMENT])  # already marked: no error, still once
            uow.commit()
            uow.people.mark_dirty([b"y" * 32])
            uow.rollback()
        assert sorted(bytes(r["person_key"]) for r in backend.rows("evaluation_dirty")) == sorted(
            [DOCUMENT, OTHER, PERSON]
        )


class TestPortedNumbers:
    def test_a_load_is_kept_only_when_committed_and_read_by_the_numbers_at_hand(self, backend):
        t1, t2 = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
        with backend.uow() as uow:
            assert uow.ported.counts().loaded_at is None
            uow.ported.put_many([(N1, "in"), (N2, "out"), (N1, "out")], loaded_at=t1)  # the later line wins
            uow.commit()
        with backend.uow() as uow:
            assert uow.ported.directions_of([N1, N2, N3, N2]) == {N1: "out", N2: "out"}
            assert uow.ported.directions_of([]) == {}
            counts = uow.ported.counts()
            assert (counts.ported_in, counts.ported_out, counts.loaded_at) == (0, 2, t1)
            # --replace: the old list stays until the new one commits.
            assert uow.ported.clear() == 2
            uow.ported.put_many([(N3, "in")], loaded_at=t2)
            assert uow.ported.directions_of([N1, N3]) == {N3: "in"}
            uow.rollback()
            assert uow.ported.directions_of([N1, N3]) == {N1: "out"}
            uow.ported.clear()
            uow.ported.put_many([(N3, "in"), (N1, "in")], loaded_at=t2)
            uow.commit()
        with backend.uow() as uow:
            assert uow.ported.directions_of([N1, N2, N3]) == {N1: "in", N3: "in"}
            counts = uow.ported.counts()
            assert (counts.ported_in, counts.ported_out, counts.loaded_at) == (2, 0, t2)

    def test_a_direction_is_in_or_out(self, backend):
        with backend.uow() as uow, pytest.raises(backend.constraint_error):
            uow.ported.put_many([(N1, "up")], loaded_at=datetime(2026, 11, 1, tzinfo=UTC))


class TestHolders:
    def test_holders_round_trip_and_share_a_blind_index_oldest_first(self, backend):
        with backend.uow() as uow:
            ids = uow.holders.add_many([holder(backend), holder(backend, b"c" * 16), holder(backend)])
            single = uow.holders.add(holder(backend, None, kind="organization", id_type="organization"))
            uow.commit()
        assert increasing([*ids, single])
        with backend.uow() as uow:
            first = uow.holders.get(ids[0])
            assert [h.id for h in uow.holders.find_by_blind(b"b" * 16)] == [ids[0], ids[2]]
            both = uow.holders.find_many_by_blind([b"c" * 16, b"b" * 16, b"z" * 16])
            assert [h.id for h in both] == ids
            assert uow.holders.find_by_blind(b"z" * 16) == []
            organization = uow.holders.get(single)
            assert uow.holders.get(single + 1000) is None
        assert (first.kind, first.id_type, first.id_blind, first.province_code) == ("person", "cccd", b"b" * 16, "079")
        assert (first.kek_id, first.wrapped_dek, first.payload) == (backend.kek_id, b"w" * 61, b"p" * 40)
        assert isinstance(first.aad_ref, bytes)
        assert len(first.aad_ref) == 16
        assert (organization.id_blind, organization.kind) == (None, "organization")

    def test_the_payload_is_replaced_and_shredding_keeps_the_row(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            uow.holders.update_payload(hid, b"q" * 44, province_code=None)
            uow.commit()
            uow.holders.shred(hid)
            uow.commit()
        with backend.uow() as uow:
            shredded = uow.holders.get(hid)
        assert (shredded.payload, shredded.province_code, shredded.wrapped_dek) == (b"q" * 44, None, None)


class TestDocuments:
    def test_documents_of_a_line_come_oldest_first_with_their_defaults(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            a, b = uow.subscriptions.add_many([line(N1, hid), line(N2, hid)])
            first = uow.documents.add({"subscription_id": a, "kind": "portrait", "blob_key": "a" * 32,
                                       "content_type": "image/jpeg", "size": 10})  # fmt: skip
            uow.documents.add_many(  # a batch's rows name the same columns
                [{"subscription_id": b, "kind": "id_front", "blob_key": None, "external_ref": "blob:f1"},
                 {"subscription_id": a, "kind": "confirmation_form", "blob_key": None, "external_ref": "blob:c1"},
                 {"subscription_id": a, "kind": "portrait", "blob_key": "b" * 32, "external_ref": None}]
            )  # fmt: skip
            uow.documents.add_many([])
            uow.commit()
        with backend.uow() as uow:
            docs = uow.documents.list_for(a)
            assert uow.documents.get(first) == docs[0]
            assert uow.documents.get(first + 1000) is None
            assert uow.documents.list_for(a + b + 1000) == []
        assert [(d.kind, d.blob_key, d.external_ref) for d in docs] == [
            ("portrait", "a" * 32, None), ("confirmation_form", None, "blob:c1"), ("portrait", "b" * 32, None)
        ]  # fmt: skip
        assert increasing([d.id for d in docs])
        assert (docs[0].content_type, docs[0].size) == ("image/jpeg", 10)
        assert (docs[1].content_type, docs[1].size) == (None, None)
        assert (docs[0].created_by_staff_id, docs[0].point_of_sale_id, docs[0].subscription_id) == (None, None, a)

    def test_blob_keys_are_found_by_prefix_in_byte_order(self, backend):
        keys = ["abcd" + "0" * 28, "abcd" + "z" * 28, "abcd" + "_" * 28, "abce" + "0" * 28, "Abcd" + "0" * 28]
        with backend.uow() as uow:
            sub = uow.subscriptions.add(line(N1, uow.holders.add(holder(backend))))
            uow.documents.add_many([{"subscription_id": sub, "kind": "portrait", "blob_key": k} for k in keys])
            uow.documents.add({"subscription_id": sub, "kind": "portrait", "external_ref": "x"})
            uow.commit()
            assert uow.documents.blob_keys_with_prefix("abcd") == set(keys[:3])
            assert uow.documents.blob_keys_with_prefix("zz") == set()

    def test_a_document_needs_its_line_and_a_blob_key_is_used_once(self, backend):
        with backend.uow() as uow:
            sub = uow.subscriptions.add(line(N1, uow.holders.add(holder(backend))))
            uow.documents.add({"subscription_id": sub, "kind": "portrait", "blob_key": "a" * 32})
            uow.documents.add({"subscription_id": sub, "kind": "id_front"})
            uow.documents.add({"subscription_id": sub, "kind": "id_back"})  # several NULL keys are fine
            uow.commit()
            with pytest.raises(backend.constraint_error):
                uow.documents.add({"subscription_id": sub, "kind": "id_back", "blob_key": "a" * 32})
        with backend.uow() as uow, pytest.raises(backend.constraint_error):
            uow.documents.add({"subscription_id": sub + 1000, "kind": "portrait"})


class TestHistory:
    def test_entries_are_appended_and_read_back_oldest_first_through_json(self, backend):
        with backend.uow() as uow:
            uow.history.append({"subscription_id": 7, "channel": "store", "action": "created",
                                "changes": {"fields": ("msisdn", "holder")}})  # fmt: skip
            uow.history.append_many(  # a batch's rows name the same columns
                [{"subscription_id": 8, "actor_staff_id": None, "channel": None, "action": "created", "changes": {}},
                 {"subscription_id": 7, "actor_staff_id": 3, "channel": "store", "action": "updated",
                  "changes": {"fields": ["activated_on"], "values": {"activated_on": [date(2016, 3, 1), None]}}},
                 {"subscription_id": 7, "actor_staff_id": None, "channel": None, "action": "status_changed",
                  "changes": None}]
            )  # fmt: skip
            uow.history.append_many([])
            uow.commit()
        with backend.uow() as uow:
            entries = uow.history.list_for(7)
            other = uow.history.list_for(8)
        assert [e.action for e in entries] == ["created", "updated", "status_changed"]
        assert increasing([e.id for e in entries])
        assert entries[0].changes == {"fields": ["msisdn", "holder"]}
        assert entries[1].changes == {"fields": ["activated_on"], "values": {"activated_on": ["2016-03-01", None]}}
        assert entries[2].changes == {}
        assert (entries[1].actor_staff_id, entries[1].channel, entries[0].actor_staff_id) == (3, "store", None)
        assert all(e.at is not None and e.subscription_id == 7 for e in entries)
        assert [e.changes for e in other] == [{}]

    def test_there_is_no_way_to_change_or_remove_an_entry(self, backend):
        with backend.uow() as uow:
            public = {name for name in dir(uow.history) if not name.startswith("_")}
        assert public == {"append", "append_many", "list_for"}


class TestPointsOfSaleAndStaff:
    def test_points_of_sale_come_by_code_and_codes_are_unique(self, backend):
        with backend.uow() as uow:
            b = pos(uow, "HN-2", "agent")
            a = uow.points_of_sale.add({"code": "HN-1", "kind": "store", "name": "Hoàn Kiếm", "province_code": "001"})
            uow.commit()
            assert increasing([b, a])
            assert [(p.code, p.id, p.active) for p in uow.points_of_sale.list_all()] == [
                ("HN-1", a, True), ("HN-2", b, True)
            ]  # fmt: skip
            found = uow.points_of_sale.get_by_code("HN-1")
            assert (found.kind, found.name, found.province_code) == ("store", "Hoàn Kiếm", "001")
            assert uow.points_of_sale.get_by_code("NOPE") is None
            with pytest.raises(backend.constraint_error):
                pos(uow, "HN-1")

    def test_staff_come_by_username_and_usernames_are_unique(self, backend):
        with backend.uow() as uow:
            store = pos(uow, "S-1")
            b = staff(uow, "bao", store)
            a = staff(uow, "an", role="auditor")
            uow.commit()
            assert [(s.username, s.id) for s in uow.staff.list_all()] == [("an", a), ("bao", b)]
            found = uow.staff.get_by_username("bao")
            assert (found.display_name, found.role, found.point_of_sale_id, found.active) == (
                "Bao", "store_staff", store, True
            )  # fmt: skip
            assert found.password_hash == "$argon2id$x"
            assert uow.staff.get_by_username("nobody") is None
            with pytest.raises(backend.constraint_error):
                staff(uow, "an")


class TestAuth:
    def test_accounts_carry_their_point_of_sale_and_sign_in_defaults(self, backend):
        with backend.uow() as uow:
            store = pos(uow, "S-1")
            lan = staff(uow, "lan", store)
            staff(uow, "an", role="auditor")
            uow.commit()
            row = uow.auth.staff_by_username("lan")
            assert uow.auth.staff_by_id(lan) == row
            assert [r.username for r in uow.auth.list_staff()] == ["an", "lan"]
            assert uow.auth.staff_by_id(lan + 1000) is None
            assert uow.auth.staff_by_username("nobody") is None
            auditor = uow.auth.staff_by_username("an")
        assert (row.pos_code, row.pos_kind, auditor.pos_code, auditor.pos_kind) == ("S-1", "store", None, None)
        assert (row.active, row.failed_logins, row.locked_until, row.totp_secret) == (True, 0, None, None)
        assert (row.password_changed_at, row.must_change_password, row.last_login_at) == (None, False, None)

    def test_account_changes_come_back_timezone_aware(self, backend):
        locked = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
        with backend.uow() as uow:
            lan = staff(uow, "lan")
            uow.auth.update_staff(lan, {"locked_until": locked, "totp_secret": b"\x00\x01secret",
                                        "must_change_password": True, "last_login_at": locked})  # fmt: skip
            assert [uow.auth.count_failure(lan) for _ in range(3)] == [1, 2, 3]
            uow.commit()
            row = uow.auth.staff_by_id(lan)
        assert (row.locked_until, row.last_login_at) == (locked, locked)
        assert row.locked_until.utcoffset() == timedelta(0)
        assert (row.totp_secret, row.must_change_password, row.failed_logins) == (b"\x00\x01secret", True, 3)

    def test_failures_from_a_source_count_within_the_window(self, backend):
        t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        here, there = b"h" * 16, b"t" * 16
        with backend.uow() as uow:
            lan = staff(uow, "lan")
            for i, (reason, success, source) in enumerate(
                [("bad_password", False, here), ("unknown", False, here), ("totp_required", False, here),
                 ("ok", True, here), ("bad_password", False, there), ("bad_password", False, None)]
            ):  # fmt: skip
                uow.auth.add_attempt(at=t0 + timedelta(minutes=i), username="lan" if i else "x" * 80,
                                     staff_id=lan if i % 2 else None, success=success, reason=reason,
                                     source_hash=source)  # fmt: skip
            uow.commit()
            assert uow.auth.failures_from(here, since=t0) == 2
            assert uow.auth.failures_from(here, since=t0 + timedelta(minutes=1)) == 1
            assert uow.auth.failures_from(here, since=t0 + timedelta(minutes=2)) == 0
            assert uow.auth.failures_from(there, since=t0) == 1
            assert uow.auth.failures_from(b"n" * 16, since=t0) == 0

    def test_a_source_is_trusted_by_the_accounts_that_signed_in_from_it_within_the_window(self, backend):
        t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        here, there = b"h" * 16, b"t" * 16
        with backend.uow() as uow:
            lan, an, mai = staff(uow, "lan"), staff(uow, "an"), staff(uow, "mai")
            for minute, (who, success, reason, source) in enumerate(
                [(lan, True, "ok", here), (an, False, "bad_password", here), (an, True, "ok", there),
                 (mai, False, "totp_required", here), (lan, True, "ok", None), (mai, True, "ok", here)]
            ):  # fmt: skip
                uow.auth.add_attempt(at=t0 + timedelta(minutes=minute), username="u", staff_id=who, success=success,
                                     reason=reason, source_hash=source)  # fmt: skip
            uow.commit()
        with backend.uow() as uow:
            assert uow.auth.signed_in_from(lan, here, since=t0) is True  # `since` itself counts
            assert uow.auth.signed_in_from(lan, here, since=t0 + timedelta(seconds=1)) is False
            assert uow.auth.signed_in_from(lan, there, since=t0) is False
            assert uow.auth.signed_in_from(an, here, since=t0) is False  # a failure trusts nothing
            assert uow.auth.signed_in_from(an, there, since=t0) is True
            assert uow.auth.signed_in_from(mai, here, since=t0 + timedelta(minutes=4)) is True
            assert uow.auth.signed_in_from(mai, here, since=t0 + timedelta(minutes=6)) is False

    def test_sessions_are_found_by_token_hash_changed_and_revoked(self, backend):
        t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        with backend.uow() as uow:
            lan, an = staff(uow, "lan"), staff(uow, "an")
            ids = [
                uow.auth.add_session({"token_hash": bytes([i]) * 32, "staff_id": lan, "kind": "web",
                                      "csrf_hash": b"c" * 32, "expires_at": t0 + timedelta(hours=8)})
                for i in range(3)
            ]  # fmt: skip
            other = uow.auth.add_session({"token_hash": b"o" * 32, "staff_id": an, "kind": "api",
                                          "second_factor": True, "expires_at": t0})  # fmt: skip
            uow.commit()
            assert increasing([*ids, other])
            first = uow.auth.session_by_hash(b"\x00" * 32)
            assert (first.id, first.staff_id, first.kind, first.csrf_hash, first.second_factor) == (
                ids[0], lan, "web", b"c" * 32, False
            )  # fmt: skip
            assert (first.expires_at, first.last_seen_at, first.revoked_at) == (t0 + timedelta(hours=8), None, None)
            assert uow.auth.session_by_hash(b"n" * 32) is None
            uow.auth.update_session(ids[0], {"last_seen_at": t0, "second_factor": True})
            uow.auth.update_session(ids[1], {"revoked_at": t0})
            assert uow.auth.revoke_sessions_of(lan, at=t0 + timedelta(minutes=1), keep=ids[0]) == 1
            assert uow.auth.revoke_sessions_of(lan, at=t0 + timedelta(minutes=2)) == 1
            assert uow.auth.revoke_sessions_of(lan, at=t0 + timedelta(minutes=3)) == 0
            uow.commit()
            kept, revoked, last = (uow.auth.session_by_hash(bytes([i]) * 32) for i in range(3))
            assert (kept.last_seen_at, kept.second_factor, kept.revoked_at) == (t0, True, t0 + timedelta(minutes=2))
            assert revoked.revoked_at == t0
            assert last.revoked_at == t0 + timedelta(minutes=1)
            assert uow.auth.session_by_hash(b"o" * 32).revoked_at is None
            with pytest.raises(backend.constraint_error):
                uow.auth.add_session({"token_hash": b"o" * 32, "staff_id": an, "kind": "api", "expires_at": t0})


class TestCounter:
    def test_a_visit_serves_its_line_until_it_expires(self, backend):
        t0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
        hanoi = timezone(timedelta(hours=7))
        with backend.uow() as uow:
            a, b = pos(uow, "A", "agent"), pos(uow, "B", "agent")
            v1 = uow.counter.open_visit(1, point_of_sale_id=a, staff_id=None, opened_at=t0,
                                        expires_at=t0 + timedelta(minutes=30))  # fmt: skip
            v2 = uow.counter.open_visit(1, point_of_sale_id=b, staff_id=7, opened_at=t0.astimezone(hanoi),
                                        expires_at=(t0 + timedelta(minutes=10)).astimezone(hanoi))  # fmt: skip
            uow.counter.open_visit(2, point_of_sale_id=b, staff_id=7, opened_at=t0, expires_at=t0 + timedelta(hours=1))
            uow.commit()
            assert increasing([v1, v2])
            assert uow.counter.serving_pos_ids(1, now=t0) == {a, b}
            assert uow.counter.serving_pos_ids(1, now=(t0 + timedelta(minutes=10)).astimezone(hanoi)) == {a}
            assert uow.counter.serving_pos_ids(1, now=t0 + timedelta(minutes=30)) == set()
            assert uow.counter.serving_pos_ids(3, now=t0) == set()

    def test_transactions_of_a_line_come_oldest_first_in_utc(self, backend):
        t0 = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=7)))
        with backend.uow() as uow:
            ids = [
                uow.counter.add_transaction({"subscription_id": 1, "kind": kind, "outcome": outcome,
                                             "refusal_code": code, "at": t0 + timedelta(minutes=i), "staff_id": 3,
                                             "point_of_sale_id": None})
                for i, (kind, outcome, code) in enumerate(
                    [("sim_replacement", "refused", "update_required"), ("bill_payment", "done", None)]
                )
            ]  # fmt: skip
            uow.counter.add_transaction({"subscription_id": 2, "kind": "package_change", "outcome": "done",
                                         "at": t0})  # fmt: skip
            uow.commit()
            found = uow.counter.list_transactions(1)
            assert uow.counter.list_transactions(3) == []
        assert [t.id for t in found] == ids
        assert increasing(ids)
        assert [(t.kind, t.outcome, t.refusal_code, t.staff_id) for t in found] == [
            ("sim_replacement", "refused", "update_required", 3), ("bill_payment", "done", None, 3)
        ]  # fmt: skip
        assert found[0].at == t0
        assert found[0].at.utcoffset() == timedelta(0)

    def test_payments_and_network_orders_are_recorded_with_their_defaults(self, backend):
        with backend.uow() as uow:
            store = pos(uow, "S-1")
            p1 = uow.counter.add_payment({"subscription_id": 1, "amount_vnd": 50_000, "reference": "INV-1",
                                          "paid_at": datetime(2026, 11, 28, tzinfo=UTC), "staff_id": None,
                                          "point_of_sale_id": store})  # fmt: skip
            p2 = uow.counter.add_payment({"subscription_id": 1, "amount_vnd": 1})
            o1 = uow.counter.add_network_order({"subscription_id": 1, "action": "unlock", "status": "queued",
                                                "reason": "information_complete", "created_by_staff_id": 3,
                                                "priority": 3})  # fmt: skip
            o2 = uow.counter.add_network_order({"subscription_id": 1, "action": "lock_one_way", "reason": "deadline"})
            o3 = uow.counter.add_network_order({"subscription_id": 1, "action": "unlock", "status": "sent",
                                                "reason": "information_complete"})  # fmt: skip
            uow.counter.add_network_order({"subscription_id": 2, "action": "terminate", "reason": "deadline"})
            uow.commit()
            every = uow.counter.list_network_orders(1)
            queued = uow.counter.list_network_orders(1, status="queued")
            assert uow.counter.point_of_sale_code(store) == "S-1"
            assert uow.counter.point_of_sale_code(store + 1000) is None
        assert increasing([p1, p2])
        assert [o.id for o in every] == [o1, o2, o3]
        assert [(o.action, o.status, o.priority, o.created_by_staff_id) for o in queued] == [
            ("unlock", "queued", 3, 3), ("lock_one_way", "queued", 5, None)
        ]  # fmt: skip
        assert (every[0].reason, every[0].subscription_id) == ("information_complete", 1)


class TestPrivacy:
    def test_requests_come_soonest_deadline_first_and_are_closed_with_an_outcome(self, backend):
        t0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
        with backend.uow() as uow:
            h1, h2 = uow.holders.add_many([holder(backend), holder(backend)])
            ids = [
                uow.privacy.add_request({"kind": kind, "holder_id": h, "status": "open", "received_at": t0,
                                         "due_on": due, "staff_id": None})
                for kind, h, due in [("export", h1, date(2026, 4, 1)), ("erase", h2, date(2026, 3, 20)),
                                     ("object", h1, date(2026, 4, 1)), ("access", None, date(2026, 3, 25))]
            ]  # fmt: skip
            uow.commit()
            first = uow.privacy.get_request(ids[0])
            assert (first.kind, first.holder_id, first.status, first.due_on) == ("export", h1, "open", date(2026, 4, 1))
            assert (first.closed_at, first.outcome, first.staff_id) == (None, None, None)
            assert uow.privacy.get_request(ids[-1] + 1000) is None
            uow.privacy.close_request(ids[1], status="refused", outcome="legal_retention", closed_at=t0)
            uow.commit()
            assert [r.id for r in uow.privacy.list_requests()] == [ids[1], ids[3], ids[0], ids[2]]
            assert [r.id for r in uow.privacy.list_requests(status="open")] == [ids[3], ids[0], ids[2]]
            assert [r.id for r in uow.privacy.list_requests(limit=2)] == [ids[1], ids[3]]
            assert [r.id for r in uow.privacy.requests_of([h2, h1])] == ids[:3]
            assert uow.privacy.requests_of([]) == []
            closed = uow.privacy.get_request(ids[1])
            assert (closed.status, closed.outcome) == ("refused", "legal_retention")
            assert closed.closed_at is not None

    def test_flags_default_off_and_are_set_one_at_a_time(self, backend):
        with backend.uow() as uow:
            hid = uow.holders.add(holder(backend))
            assert uow.privacy.flags(hid) == type(uow.privacy.flags(hid))(hid, False, False, None)
            uow.privacy.set_flags(hid, restricted=True)
            uow.privacy.set_flags(hid, objected=True)
            uow.privacy.set_flags(hid, restricted=False)
            uow.privacy.set_flags(hid)
            uow.commit()
            flags = uow.privacy.flags(hid)
            assert uow.privacy.flags(hid + 1000) is None
        assert (flags.holder_id, flags.restricted, flags.objected, flags.erased_at) == (hid, False, True, None)

    def test_consents_come_oldest_first(self, backend):
        t0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
        with backend.uow() as uow:
            h1, h2 = uow.holders.add_many([holder(backend), holder(backend)])
            ids = [
                uow.privacy.add_consent({"holder_id": h, "subscription_id": sub, "text_version": "2026-01",
                                         "text_sha256": "a" * 64, "accepted": accepted, "shown_at": t0,
                                         "staff_id": 3, "point_of_sale_id": None})
                for h, sub, accepted in [(h2, 5, True), (h1, None, False), (h2, None, True)]
            ]  # fmt: skip
            uow.commit()
            found = uow.privacy.consents_of([h2])
            assert uow.privacy.consents_of([]) == []
            assert [c.id for c in uow.privacy.consents_of([h1, h2])] == ids
        assert increasing(ids)
        assert [(c.holder_id, c.subscription_id, c.accepted, c.text_version) for c in found] == [
            (h2, 5, True, "2026-01"), (h2, None, True, "2026-01")
        ]  # fmt: skip
        assert (found[0].text_sha256, found[0].staff_id, found[0].point_of_sale_id) == ("a" * 64, 3, None)

    def test_shredding_forgets_the_key_and_names_the_blobs_to_delete(self, backend):
        erased = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
        with backend.uow() as uow:
            h1, h2 = uow.holders.add_many([holder(backend), holder(backend)])
            a, b, c = uow.subscriptions.add_many([line(N1, h1), line(N2, h1), line(N3, h2)])
            uow.documents.add_many(
                [{"subscription_id": b, "kind": "portrait", "blob_key": "b" * 32},
                 {"subscription_id": a, "kind": "portrait", "blob_key": "a" * 32},
                 {"subscription_id": a, "kind": "id_front", "blob_key": None},
                 {"subscription_id": c, "kind": "portrait", "blob_key": "c" * 32}]
            )  # fmt: skip
            uow.commit()
            assert uow.privacy.blob_keys_of(h1) == ["b" * 32, "a" * 32]
            assert uow.privacy.blob_keys_of(h2 + 1000) == []
            uow.privacy.shred(h1, erased_at=erased)
            uow.commit()
            assert uow.holders.get(h1).wrapped_dek is None
            assert uow.holders.get(h2).wrapped_dek is not None
            assert uow.privacy.flags(h1).erased_at is not None

    def test_retention_candidates_have_every_line_terminated_before_the_cutoff(self, backend):
        with backend.uow() as uow:
            ended, live, mixed, none, shredded, other = uow.holders.add_many([holder(backend) for _ in range(6)])
            for row in [line(N1, ended, status="terminated"), line(N1, other, generation=2, status="terminated"),
                        line(N2, live), line(N3, mixed, status="terminated"), line(N3, mixed, generation=2),
                        line(84901234570, shredded, status="terminated")]:  # fmt: skip
                uow.subscriptions.add(row)
            uow.privacy.shred(shredded, erased_at=datetime(2026, 1, 1, tzinfo=UTC))
            uow.commit()
            now = datetime.now(UTC)
            later, earlier = now + timedelta(days=1), now - timedelta(days=1)
            assert uow.privacy.retention_candidates(terminated_before=later, limit=10) == [ended, other]
            assert uow.privacy.retention_candidates(terminated_before=later, limit=1) == [ended]
            assert uow.privacy.retention_candidates(terminated_before=later, limit=10, holder_ids=[other, live]) == [
                other
            ]
            assert uow.privacy.retention_candidates(terminated_before=earlier, limit=10) == []
            assert none not in uow.privacy.retention_candidates(terminated_before=later, limit=10)


def entries(n: int, *, key: bytes = AUDIT_KEY, start: Checkpoint = START) -> list[AuditEntry]:
    """`n` sealed entries chained after `start`: staff 1 and 2, reads and an ID lookup, two points of sale."""
    t0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    out: list[AuditEntry] = []
    prev = start
    for i in range(n):
        draft = AuditDraft(
            seq=prev.seq + 1,
            at=utc_timestamp(t0 + timedelta(minutes=i)),
            actor_staff_id=None if i == 0 else 1 + i % 2,
            actor_role=None if i == 0 else ("store_staff" if i % 2 else "agent"),
            point_of_sale_id=None if i == 0 else 10 + i % 2,
            action=("auth:login", "subscription:read", "lookup:by_id")[i % 3],
            subject=f"line:{i % 4}",
            fields=("holder.full_name",) if i % 3 else (),
            purpose="transaction" if i % 3 else None,
            request_id=f"r{i}",
            details={"n": i, "nested": {"b": [1, 2], "a": "x"}},
        )
        entry = seal(draft, prev.hash, key)
        out.append(entry)
        prev = Checkpoint(entry.seq, entry.hash)
    return out


class TestAudit:
    def test_an_empty_log_starts_the_chain(self, backend):
        with backend.uow() as uow:
            assert uow.audit.head() == START
            assert uow.audit.lock_head() == START
            assert uow.audit.get(1) is None
            assert list(uow.audit.iter_entries()) == []
            assert uow.audit.search(AuditFilter()) == []
            assert uow.audit.chain_key == AUDIT_KEY
        with backend.uow(None) as uow, pytest.raises(CryptoError):
            _ = uow.audit.chain_key

    def test_entries_come_back_as_appended_in_seq_order(self, backend):
        log = entries(7)
        with backend.uow() as uow:
            head = START
            for entry in log[:4]:
                assert uow.audit.lock_head() == head
                uow.audit.insert(entry)
                head = Checkpoint(entry.seq, entry.hash)
            uow.commit()
            for entry in log[4:]:
                uow.audit.insert(entry)
            uow.rollback()
            assert uow.audit.head() == Checkpoint(4, log[3].hash)
            for entry in log[4:]:
                uow.audit.insert(entry)
            uow.commit()
        with backend.uow() as uow:
            assert list(uow.audit.iter_entries()) == log
            assert list(uow.audit.iter_entries(after_seq=2, batch_size=2)) == log[2:]
            assert uow.audit.get(3) == log[2]
            assert uow.audit.find_by_hash(log[5].hash) == log[5]
            assert uow.audit.find_by_hash("f" * 64) is None
            assert uow.audit.head() == Checkpoint(7, log[6].hash)
            with pytest.raises(backend.constraint_error):
                uow.audit.insert(log[0])

    def test_search_filters_and_pages_newest_first(self, backend):
        log = entries(9)
        with backend.uow() as uow:
            for entry in log:
                uow.audit.insert(entry)
            uow.commit()
            search = uow.audit.search

            def seqs(**criteria: Any) -> list[int]:
                return [e.seq for e in search(AuditFilter(**criteria))]

            assert search(AuditFilter()) == list(reversed(log))
            assert seqs(staff_id=1) == [9, 7, 5, 3]
            assert seqs(subjects=("line:1", "line:2")) == [7, 6, 3, 2]
            assert seqs(since=log[2].at, until=log[5].at) == [5, 4, 3]
            assert seqs(purpose="transaction", action="lookup:by_id") == [9, 6, 3]
            assert seqs(limit=2) == [9, 8]
            assert seqs(limit=0) == [9]
            assert seqs(before_seq=4, limit=2) == [3, 2]
            assert seqs(staff_id=2, subjects=("line:3",), action="subscription:read") == [8]

    def test_activity_counts_reads_lookups_and_transactions_per_staff(self, backend):
        log = entries(9)
        with backend.uow() as uow:
            for entry in log:
                uow.audit.insert(entry)
            uow.commit()
            counts = uow.audit.activity(
                since=log[1].at, until=None, read_actions=["subscription:read"], lookup_actions=["lookup:by_id"],
                transaction_actions=["auth:login", "counter:transaction"],
            )  # fmt: skip
            reads = sorted(uow.audit.read_times(since=None, until=log[7].at, read_actions=["subscription:read"]))
        # Staff 1 (agent, point 10) acted at i = 2, 4, 6, 8; staff 2 (store, point 11) at 1, 3, 5, 7; i = 0 is nobody.
        assert counts.reads == {1: 1, 2: 2}  # i = 4; 1, 7
        assert counts.id_lookups == {1: 2, 2: 1}  # i = 2, 8; 5
        assert counts.transactions == {1: 1, 2: 1}  # auth:login at i = 6; 3
        assert counts.roles == {1: "agent", 2: "store_staff"}
        assert reads == [(1, 10, log[4].at), (2, 11, log[1].at)]  # until i = 7


T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
HANOI = timezone(timedelta(hours=7))


def mo(backend: Backend, gateway_id: str | None = "g1", transport: str = "smpp:a", **changes: Any) -> dict[str, Any]:
    row = {
        "received_at": T0, "transport": transport, "gateway_id": gateway_id, "sender": N1, "recipient": "1414",
        "coding": "gsm7", "state": "received", "kek_id": backend.kek_id, "wrapped_dek": b"w" * 61,
        "payload": b"m" * 40,
    }  # fmt: skip
    row.update(changes)
    return row


def mt(backend: Backend, recipient: int = N1, priority: int = 0, due: datetime = T0, **changes: Any) -> dict[str, Any]:
    row = {
        "kind": "reply" if priority == 0 else "campaign", "priority": priority, "recipient": recipient,
        "sender": "1414", "encoding": "gsm7", "part_count": 1, "state": "pending", "attempts": 0,
        "next_attempt_at": due, "kek_id": backend.kek_id, "wrapped_dek": b"w" * 61, "payload": b"t" * 40,
        "created_at": T0, "inbound_id": None,
    }  # fmt: skip
    row.update(changes)
    return row


class TestSmsInbound:
    def test_a_redelivery_is_stored_once_by_transport_and_gateway_id_but_never_without_one(self, backend):
        with backend.uow() as uow:
            first = uow.inbound.add(mo(backend, "g1"))
            again = uow.inbound.add(mo(backend, "g1", sender=N2))
            other_transport = uow.inbound.add(mo(backend, "g1", transport="kannel:main"))
            no_id = [uow.inbound.add(mo(backend, None)), uow.inbound.add(mo(backend, None))]
            uow.commit()
            after_commit = uow.inbound.add(mo(backend, "g1"))
            later = uow.inbound.add(mo(backend, "g2"))  # the unit is still usable after a skipped insert
            uow.commit()
            stored = uow.inbound.unanswered(limit=10)
        assert (again, after_commit) == (None, None)
        ids = [first, other_transport, *no_id, later]
        assert all(isinstance(i, int) for i in ids)
        assert increasing(ids)  # type: ignore[arg-type]
        assert [r["id"] for r in stored] == ids
        assert [(r["transport"], r["gateway_id"], r["sender"]) for r in stored] == [
            ("smpp:a", "g1", N1), ("kannel:main", "g1", N1), ("smpp:a", None, N1), ("smpp:a", None, N1),
            ("smpp:a", "g2", N1),
        ]  # fmt: skip

    def test_marked_mo_leave_the_unanswered_which_come_oldest_first(self, backend):
        received = datetime(2026, 11, 28, 10, 0, tzinfo=HANOI)
        with backend.uow() as uow:
            a, b, c = (uow.inbound.add(mo(backend, f"g{n}", received_at=received)) for n in range(3))
            uow.inbound.mark(b, state="answered", at=T0)  # type: ignore[arg-type]
            uow.commit()
            assert [r["id"] for r in uow.inbound.unanswered(limit=10)] == [a, c]
            assert [r["id"] for r in uow.inbound.unanswered(limit=1)] == [a]
            uow.inbound.mark(a, state="dropped", at=T0)  # type: ignore[arg-type]
            uow.commit()
            rows = uow.inbound.unanswered(limit=10)
        assert [r["id"] for r in rows] == [c]
        row = rows[0]
        assert (row["state"], row["recipient"], row["coding"], row["kek_id"]) == ("received", "1414", "gsm7",
                                                                                  backend.kek_id)  # fmt: skip
        assert (bytes(row["payload"]), bytes(row["wrapped_dek"]), row["answered_at"]) == (b"m" * 40, b"w" * 61, None)
        assert row["received_at"] == received
        assert row["received_at"].utcoffset() == timedelta(0)
        assert set(row) == {c.name for c in metadata.tables["sms_inbound"].columns}
        marked = {r["id"]: r for r in backend.rows("sms_inbound")}
        assert (marked[a]["state"], marked[b]["state"]) == ("dropped", "answered")


class TestSmsOutbox:
    def test_claim_takes_due_rows_by_priority_then_due_time_then_id_and_leases_them(self, backend):
        minute = timedelta(minutes=1)
        with backend.uow() as uow:
            campaign = uow.outbox.add(mt(backend, priority=2, due=T0))
            late = uow.outbox.add(mt(backend, due=(T0 + minute).astimezone(HANOI)))
            first = uow.outbox.add(mt(backend, due=T0))
            second = uow.outbox.add(mt(backend, due=T0.astimezone(HANOI)))
            future = uow.outbox.add(mt(backend, due=T0 + 60 * minute))
            uow.outbox.add(mt(backend, due=T0, state="accepted"))
            uow.outbox.add(mt(backend, due=T0, state="simulated"))
            uow.commit()
            now, lease = T0 + 5 * minute, T0 + 65 * minute
            claimed = uow.outbox.claim(now=now.astimezone(HANOI), lease_until=lease.astimezone(HANOI), limit=3)
            uow.commit()
            assert [r.id for r in claimed] == [first, second, late]
            leased = uow.outbox.get(first)
            assert (leased.state, leased.next_attempt_at) == ("sending", lease)
            assert leased.next_attempt_at.utcoffset() == timedelta(0)
            assert [r.id for r in uow.outbox.claim(now=now, lease_until=lease, limit=10)] == [campaign]
            uow.commit()
            assert uow.outbox.claim(now=now, lease_until=lease, limit=10) == []  # every lease is running
            # The leases end: what was never settled is due again (the one due before the leases end first).
            again = uow.outbox.claim(now=lease + minute, lease_until=lease + 61 * minute, limit=10)
            uow.commit()
        assert [r.id for r in again] == [future, late, first, second, campaign]  # equal leases: by id
        assert {r["state"] for r in backend.rows("sms_outbox") if r["id"] in (first, campaign)} == {"sending"}

    def test_rows_round_trip_and_come_newest_first_to_a_recipient(self, backend):
        with backend.uow() as uow:
            inbound_id = uow.inbound.add(mo(backend))
            a = uow.outbox.add(mt(backend, inbound_id=inbound_id, part_count=2, encoding="ucs2"))
            b = uow.outbox.add(mt(backend, recipient=N2, priority=1, kind="notice"))
            c = uow.outbox.add(mt(backend))
            uow.commit()
            row = uow.outbox.get(a)
            assert uow.outbox.get(c + 1000) is None
            assert [r.id for r in uow.outbox.for_recipient(N1, limit=10)] == [c, a]
            assert [r.id for r in uow.outbox.for_recipient(N1, limit=1)] == [c]
            assert [r.id for r in uow.outbox.for_recipient(N2, limit=10)] == [b]
            assert uow.outbox.for_recipient(N3, limit=10) == []
        assert increasing([a, b, c])
        assert (row.id, row.priority, row.recipient, row.sender, row.encoding, row.part_count) == (
            a, 0, N1, "1414", "ucs2", 2
        )  # fmt: skip
        assert (row.state, row.attempts, row.inbound_id, row.kind, row.last_error) == ("pending", 0, inbound_id,
                                                                                       "reply", None)  # fmt: skip
        assert (row.kek_id, bytes(row.wrapped_dek), bytes(row.payload)) == (backend.kek_id, b"w" * 61, b"t" * 40)  # type: ignore[arg-type]
        assert (row.next_attempt_at, row.created_at) == (T0, T0)

    def test_a_row_is_settled_and_needs_its_inbound_message(self, backend):
        at = datetime(2026, 11, 28, 10, 5, tzinfo=HANOI)
        with backend.uow() as uow:
            a = uow.outbox.add(mt(backend))
            uow.outbox.settle(a, {"state": "pending", "attempts": 1, "last_error": "ESME_RTHROTTLED",
                                  "next_attempt_at": at})  # fmt: skip
            uow.commit()
            retried = uow.outbox.get(a)
            uow.outbox.settle(a, {"state": "accepted", "attempts": 2, "last_error": None, "accepted_at": at,
                                  "transport": "builtin"})  # fmt: skip
            uow.commit()
            accepted = uow.outbox.get(a)
        assert (retried.state, retried.attempts, retried.last_error, retried.next_attempt_at) == (
            "pending", 1, "ESME_RTHROTTLED", at
        )  # fmt: skip
        assert (accepted.state, accepted.attempts, accepted.last_error) == ("accepted", 2, None)
        stored = backend.rows("sms_outbox")[0]
        assert (stored["transport"], stored["final_at"]) == ("builtin", None)
        with backend.uow() as uow, pytest.raises(backend.constraint_error):
            uow.outbox.add(mt(backend, inbound_id=12345))

    def test_receipts_find_their_message_and_complete_it_part_by_part(self, backend):
        at = datetime(2026, 11, 28, 10, 6, tzinfo=HANOI)
        with backend.uow() as uow:
            a = uow.outbox.add(mt(backend, part_count=2))
            b = uow.outbox.add(mt(backend))
            uow.outbox.add_submits(a, "builtin", ["7.1", "7.2"])
            uow.outbox.add_submits(a, "builtin", ["7.1", "7.2"])  # a resubmit the centre deduplicated
            uow.outbox.add_submits(b, "builtin", [])
            uow.outbox.add_submits(b, "smpp", ["7.1"])  # the same id from another transport is another part
            uow.commit()
            unknown = uow.outbox.apply_receipt(Receipt("builtin", "9.9", "delivered", at))
            second = uow.outbox.apply_receipt(Receipt("builtin", "7.2", "delivered", at))
            first = uow.outbox.apply_receipt(Receipt("builtin", "7.1", "failed", at, error="X"))
            other = uow.outbox.apply_receipt(Receipt("smpp", "7.1", "unknown", at))
            uow.commit()
        assert unknown is None
        assert second == ReceiptMatch(a, False, ("accepted", "delivered"))
        assert first == ReceiptMatch(a, True, ("failed", "delivered"))
        assert other == ReceiptMatch(b, False, ("unknown",))
        submits = sorted(backend.rows("sms_submits"), key=lambda r: r["message_id"])
        assert [(r["message_id"], r["transport"], r["outbox_id"], r["part"], r["state"]) for r in submits] == [
            ("builtin:7.1", "builtin", a, 1, "failed"), ("builtin:7.2", "builtin", a, 2, "delivered"),
            ("smpp:7.1", "smpp", b, 1, "unknown"),
        ]  # fmt: skip
        with backend.uow() as uow, pytest.raises(backend.constraint_error):
            uow.outbox.add_submits(b + 1000, "builtin", ["8.1"])

    def test_the_batch_forms_do_what_the_single_ones_do(self, backend):
        at = datetime(2026, 11, 28, 10, 6, tzinfo=HANOI)
        with backend.uow() as uow:
            a = uow.outbox.add(mt(backend, part_count=2))
            b = uow.outbox.add(mt(backend))
            c = uow.outbox.add(mt(backend))
            uow.outbox.add_submits_many([(a, "builtin", ["5.1", "5.2"]), (b, "builtin", ["6.1"]), (c, "builtin", [])])
            uow.outbox.add_submits_many([(b, "builtin", ["6.9"])])  # a resubmit with a new id replaces the old
            uow.outbox.settle_many([(a, {"state": "accepted", "attempts": 1, "accepted_at": at}),
                                    (b, {"state": "accepted", "attempts": 1, "accepted_at": at}),
                                    (c, {"state": "pending", "attempts": 1, "last_error": "throttled"})])  # fmt: skip
            uow.commit()
            matches = uow.outbox.apply_receipts([
                Receipt("builtin", "5.1", "delivered", at), Receipt("builtin", "6.1", "delivered", at),
                Receipt("builtin", "6.9", "delivered", at), Receipt("builtin", "5.2", "failed", at),
            ])  # fmt: skip
            uow.commit()
        assert matches == [
            ReceiptMatch(a, True, ("delivered", "failed")), None, ReceiptMatch(b, True, ("delivered",)),
            ReceiptMatch(a, True, ("delivered", "failed")),
        ]  # fmt: skip
        rows = {r["id"]: r for r in backend.rows("sms_outbox")}
        assert [(rows[i]["state"], rows[i]["attempts"], rows[i]["last_error"]) for i in (a, b, c)] == [
            ("accepted", 1, None), ("accepted", 1, None), ("pending", 1, "throttled")]  # fmt: skip
        assert rows[a]["accepted_at"].replace(tzinfo=None) == at.astimezone(UTC).replace(tzinfo=None)
        assert sorted(r["message_id"] for r in backend.rows("sms_submits")) == ["builtin:5.1", "builtin:5.2",
                                                                                "builtin:6.9"]  # fmt: skip


class TestSmsRates:
    def test_a_window_round_trips_in_utc_and_is_replaced(self, backend):
        start = datetime(2026, 11, 28, 10, 0, 30, tzinfo=HANOI)
        with backend.uow() as uow:
            assert uow.rates.window(N1) is None
            uow.rates.put(SenderWindow(N1, start, 1, False))
            uow.rates.put(SenderWindow(N2, T0, 5, True))
            uow.commit()
            first = uow.rates.window(N1)
            uow.rates.put(SenderWindow(N1, start + timedelta(hours=1), 21, True))
            uow.commit()
        with backend.uow() as uow:
            replaced, other, none = uow.rates.window(N1), uow.rates.window(N2), uow.rates.window(N3)
        assert first == SenderWindow(N1, start, 1, False)
        assert first.window_start.utcoffset() == timedelta(0)
        assert replaced == SenderWindow(N1, start + timedelta(hours=1), 21, True)
        assert other == SenderWindow(N2, T0, 5, True)
        assert none is None
        assert len(backend.rows("sms_senders")) == 2


class TestSmsUnitOfWork:
    def test_commit_keeps_and_rollback_discards_the_sms_tables(self, backend):
        with backend.uow() as uow:
            kept_mo = uow.inbound.add(mo(backend, "g1"))
            kept_mt = uow.outbox.add(mt(backend, inbound_id=kept_mo))
            uow.outbox.add_submits(kept_mt, "builtin", ["1.1"])
            uow.rates.put(SenderWindow(N1, T0, 1, False))
            uow.commit()
            lost_mo = uow.inbound.add(mo(backend, "g2"))
            lost_mt = uow.outbox.add(mt(backend, inbound_id=lost_mo))
            uow.outbox.add_submits(lost_mt, "builtin", ["2.1"])
            uow.outbox.settle(kept_mt, {"state": "accepted"})
            uow.inbound.mark(kept_mo, state="answered", at=T0)  # type: ignore[arg-type]
            uow.rates.put(SenderWindow(N1, T0, 2, False))
            uow.rates.put(SenderWindow(N2, T0, 1, False))
            uow.rollback()
            assert [r["id"] for r in uow.inbound.unanswered(limit=10)] == [kept_mo]
            uow.inbound.add(mo(backend, "g3"))  # left without commit
        with backend.uow() as uow:
            assert [r["id"] for r in uow.inbound.unanswered(limit=10)] == [kept_mo]
            assert [(r.id, r.state) for r in uow.outbox.for_recipient(N1, limit=10)] == [(kept_mt, "pending")]
            assert uow.outbox.apply_receipt(Receipt("builtin", "2.1", "delivered", T0)) is None
            assert uow.rates.window(N1) == SenderWindow(N1, T0, 1, False)
            assert uow.rates.window(N2) is None
            assert uow.inbound.add(mo(backend, "g2")) is not None  # the rolled-back MO is not a redelivery


@pytest.fixture(params=["memory", "local"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return MemoryBlobStore() if request.param == "memory" else LocalBlobStore(tmp_path / "blobs")


class TestBlobStore:
    def test_put_get_exists_delete(self, blobs):
        key = "ab12" + "c" * 28
        assert not blobs.exists(key)
        with pytest.raises(NotFoundError):
            blobs.get(key)
        blobs.put(key, b"ciphertext")
        assert (blobs.exists(key), blobs.get(key)) == (True, b"ciphertext")
        blobs.put(key, b"replaced")
        assert blobs.get(key) == b"replaced"
        blobs.delete(key)
        blobs.delete(key)  # idempotent
        assert not blobs.exists(key)

    def test_keys_must_be_plain_random_tokens(self, blobs):
        for bad in ("short", "../../etc/passwd" + "x" * 10, "a" * 65, "a/b" + "c" * 20, "a.b" + "c" * 20):
            with pytest.raises(ValueError, match="invalid blob key"):
                blobs.put(bad, b"x")
            with pytest.raises(ValueError, match="invalid blob key"):
                blobs.exists(bad)
        with pytest.raises(ValueError, match="invalid blob key"):
            blobs.put_many({"a" * 32: b"ok", "bad": b"x"})

    def test_scan_lists_every_key_in_key_order_with_when_it_was_written(self, blobs):
        before = datetime.now(UTC) - timedelta(seconds=2)
        keys = ["ffff" + "0" * 28, "0000" + "1" * 28, "00ff" + "2" * 28, "0000" + "0" * 28, "Z" * 16, "a-_" + "b" * 30]
        blobs.put_many({k: k.encode() for k in keys[:3]})
        for k in keys[3:]:
            blobs.put(k, b"x")
        after = datetime.now(UTC) + timedelta(seconds=2)
        found = list(blobs.scan())
        assert [k for k, _ in found] == sorted(keys)
        assert all(before <= at <= after and at.utcoffset() == timedelta(0) for _, at in found)
        assert blobs.remove_stale_temporaries(after) == 0


@pytest.fixture(params=["fixed", "system"])
def clock(request: pytest.FixtureRequest) -> Any:
    return FixedClock(datetime.now(UTC)) if request.param == "fixed" else SystemClock()


class TestClock:
    def test_now_is_aware_utc_and_today_is_the_operators_date(self, clock):
        now = clock.now()
        assert now.utcoffset() == timedelta(0)
        assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
        assert clock.today() == clock.now().astimezone(OPERATOR_TZ).date()


class TestFixedClock:
    def test_it_stays_where_it_is_set_and_moves_when_told(self):
        clock = FixedClock(datetime(2026, 11, 27, 18, 30, tzinfo=UTC))
        assert clock.today() == date(2026, 11, 28)  # already the 28th in Vietnam
        assert clock.now() == clock.now()
        clock.advance(timedelta(hours=6))
        assert clock.now() == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)
        clock.set(datetime(2027, 1, 1, tzinfo=timezone(timedelta(hours=7))), today=date(2030, 1, 1))
        assert (clock.now(), clock.today()) == (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), date(2030, 1, 1))
        with pytest.raises(ValueError, match="aware"):
            FixedClock(datetime(2026, 1, 1))


class TestSmsInboundSentBy:
    def test_what_a_number_sent_comes_newest_first_and_only_its_own(self, backend):
        at = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)

        def mo(sender: int, n: int) -> dict[str, Any]:
            return {"received_at": at + timedelta(seconds=n), "transport": "builtin", "gateway_id": None,
                    "sender": sender, "recipient": "1414", "coding": "gsm7", "state": "received",
                    "kek_id": backend.kek_id, "wrapped_dek": b"w" * 61, "payload": b"p" * 40}  # fmt: skip

        with backend.uow() as uow:
            first, other, second = (uow.inbound.add(mo(N1, 1)), uow.inbound.add(mo(N2, 2)), uow.inbound.add(mo(N1, 3)))
            uow.commit()
            sent = uow.inbound.sent_by(N1, limit=10)
            assert [r["id"] for r in sent] == [second, first]
            assert sent[0]["received_at"] == at + timedelta(seconds=3)
            assert [r["id"] for r in uow.inbound.sent_by(N1, limit=1)] == [second]
            assert [r["id"] for r in uow.inbound.sent_by(N2, limit=10)] == [other]
            assert uow.inbound.sent_by(N3, limit=10) == []
