"""Schema, unit of work and repositories on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import date

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from subreg.adapters.db.engine import MIGRATIONS_DIR, migrate
from subreg.adapters.db.tables import metadata
from subreg.adapters.db.uow import SqlUnitOfWork
from subreg.domain.common.errors import ConflictError


def _kek(uow: SqlUnitOfWork) -> int:
    return uow.connection.execute(
        text(
            "INSERT INTO key_encryption_keys (wrapped_key, master_key_id, purpose, active) "
            "VALUES (:k, 'm', 'data', :a) RETURNING id"
        ),
        {"k": b"x" * 60, "a": True},
    ).scalar_one()


def _holder(kek_id: int, blind: bytes | None = b"b" * 16) -> dict:
    return {
        "kind": "person",
        "id_type": "cccd",
        "id_blind": blind,
        "province_code": "079",
        "aad_ref": os.urandom(16),
        "kek_id": kek_id,
        "wrapped_dek": b"w" * 61,
        "payload": b"p" * 40,
    }


def _subscription(msisdn: int, holder_id: int, **changes) -> dict:
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


class TestMigration:
    def test_upgrade_creates_every_table_of_the_metadata(self, engine):
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        assert "alembic_version" in tables

    def test_upgrade_twice_is_a_no_op(self, engine):
        migrate(engine)
        head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        assert head is not None
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head

    def test_every_column_of_the_metadata_is_migrated(self, engine):
        # tables.py and the hand-written migrations must agree, column by column.
        # The one exception: SQLite's generated statistics key (migration 0010), which no writer sets.
        insp = inspect(engine)
        generated = {"subscriptions": {"stats_key"}} if engine.dialect.name == "sqlite" else {}
        for name, table in metadata.tables.items():
            migrated = {c["name"] for c in insp.get_columns(name)}
            assert {c.name for c in table.columns} | generated.get(name, set()) == migrated, name

    def test_lookup_indexes_exist(self, engine):
        insp = inspect(engine)
        assert any(ix["column_names"] == ["id_blind"] for ix in insp.get_indexes("holders"))
        assert any(ix["column_names"] == ["holder_id"] for ix in insp.get_indexes("subscriptions"))
        assert any(ix["column_names"] == ["subscription_id"] for ix in insp.get_indexes("documents"))
        assert any(ix["column_names"] == ["msisdn", "generation"] for ix in insp.get_indexes("subscriptions"))


class TestUnitOfWork:
    def test_leaving_without_commit_rolls_back(self, engine):
        with SqlUnitOfWork(engine) as uow:
            uow.points_of_sale.add({"code": "X1", "kind": "store", "name": "n", "active": True})
        with SqlUnitOfWork(engine) as uow:
            assert uow.points_of_sale.get_by_code("X1") is None

    def test_commit_persists_and_the_unit_stays_usable(self, engine):
        with SqlUnitOfWork(engine) as uow:
            uow.points_of_sale.add({"code": "X1", "kind": "store", "name": "n", "active": True})
            uow.commit()
            uow.points_of_sale.add({"code": "X2", "kind": "agent", "name": "n", "active": True})
        with SqlUnitOfWork(engine) as uow:
            assert [p.code for p in uow.points_of_sale.list_all()] == ["X1"]

    def test_an_exception_inside_the_block_rolls_back(self, engine):
        def work() -> None:
            with SqlUnitOfWork(engine) as uow:
                uow.points_of_sale.add({"code": "X1", "kind": "store", "name": "n", "active": True})
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            work()
        with SqlUnitOfWork(engine) as uow:
            assert uow.points_of_sale.list_all() == []

    def test_explicit_rollback_discards_since_last_commit(self, engine):
        with SqlUnitOfWork(engine) as uow:
            uow.points_of_sale.add({"code": "A", "kind": "store", "name": "n", "active": True})
            uow.commit()
            uow.points_of_sale.add({"code": "B", "kind": "store", "name": "n", "active": True})
            uow.rollback()
            uow.commit()
        with SqlUnitOfWork(engine) as uow:
            assert [p.code for p in uow.points_of_sale.list_all()] == ["A"]

    def test_repositories_are_unusable_outside_the_block(self, engine):
        uow = SqlUnitOfWork(engine)
        with pytest.raises(RuntimeError):
            uow.commit()


class TestRepositories:
    def test_subscription_round_trip_keeps_compliance_columns(self, engine):
        with SqlUnitOfWork(engine) as uow:
            hid = uow.holders.add(_holder(_kek(uow)))
            uow.subscriptions.add(_subscription(84901234567, hid))
            uow.commit()
        with SqlUnitOfWork(engine) as uow:
            sub = uow.subscriptions.get(84901234567)
        assert sub is not None
        assert sub.holder_id == hid
        assert sub.activated_on == date(2016, 3, 1)
        assert sub.missing == ("documents.portrait", "holder.id_issue_place")
        assert sub.error_codes == ()
        assert sub.complete is False

    def test_update_bumps_version_and_detects_a_concurrent_change(self, engine):
        with SqlUnitOfWork(engine) as uow:
            hid = uow.holders.add(_holder(_kek(uow)))
            uow.subscriptions.add(_subscription(84901234567, hid))
            line = uow.subscriptions.get(84901234567).id
            uow.subscriptions.update(line, {"status": "one_way_locked"}, expected_version=1)
            assert uow.subscriptions.get(84901234567).version == 2
            with pytest.raises(ConflictError):
                uow.subscriptions.update(line, {"status": "active"}, expected_version=1)

    def test_holders_by_blind_index_are_not_unique_and_list_their_subscriptions(self, engine):
        with SqlUnitOfWork(engine) as uow:
            kek = _kek(uow)
            ids = uow.holders.add_many([_holder(kek), _holder(kek, b"c" * 16), _holder(kek)])
            assert ids == sorted(ids)
            assert len(set(ids)) == 3
            uow.subscriptions.add_many([_subscription(84901234567, ids[0]), _subscription(84901234568, ids[2])])
            same = uow.holders.find_by_blind(b"b" * 16)
            assert [h.id for h in same] == [ids[0], ids[2]]
            subs = uow.subscriptions.list_by_holders([h.id for h in same])
            assert [s.msisdn for s in subs] == [84901234567, 84901234568]
            assert uow.subscriptions.existing([84901234567, 84900000000]) == {84901234567}
            assert uow.subscriptions.count() == 2

    def test_shred_forgets_the_wrapped_key_but_keeps_the_row(self, engine):
        with SqlUnitOfWork(engine) as uow:
            hid = uow.holders.add(_holder(_kek(uow)))
            uow.holders.shred(hid)
            holder = uow.holders.get(hid)
        assert holder.wrapped_dek is None
        assert holder.payload == b"p" * 40

    def test_documents_reference_an_existing_subscription(self, engine):
        with SqlUnitOfWork(engine) as uow:
            hid = uow.holders.add(_holder(_kek(uow)))
            line = uow.subscriptions.add(_subscription(84901234567, hid))
            doc_id = uow.documents.add({"subscription_id": line, "kind": "portrait", "blob_key": "a" * 32})
            assert uow.documents.get(doc_id).blob_key == "a" * 32
            assert [d.kind for d in uow.documents.list_for(line)] == ["portrait"]
            with pytest.raises(IntegrityError):
                uow.documents.add({"subscription_id": line + 1000, "kind": "portrait"})

    def test_staff_and_points_of_sale_round_trip(self, engine):
        with SqlUnitOfWork(engine) as uow:
            pos = uow.points_of_sale.add({"code": "HN-1", "kind": "store", "name": "Hoàn Kiếm", "active": True})
            uow.staff.add(
                {
                    "username": "u",
                    "display_name": "U",
                    "role": "store_staff",
                    "point_of_sale_id": pos,
                    "password_hash": "$argon2id$x",
                }
            )
            uow.commit()
        with SqlUnitOfWork(engine) as uow:
            member = uow.staff.get_by_username("u")
            assert member.point_of_sale_id == pos
            assert member.active is True
            assert uow.points_of_sale.get_by_code("HN-1").name == "Hoàn Kiếm"
            with pytest.raises(IntegrityError):
                uow.staff.add({"username": "u", "display_name": "V", "role": "agent", "password_hash": "h"})


class TestHistoryIsAppendOnly:
    def _one_entry(self, engine) -> None:
        with SqlUnitOfWork(engine) as uow:
            uow.history.append(
                {
                    "subscription_id": 7,
                    "channel": "store",
                    "action": "created",
                    "changes": {"fields": ["msisdn"]},
                }
            )
            uow.commit()

    def test_entries_are_appended_and_read_back_in_order(self, engine):
        self._one_entry(engine)
        self._one_entry(engine)
        with SqlUnitOfWork(engine) as uow:
            entries = uow.history.list_for(7)
        assert [e.action for e in entries] == ["created", "created"]
        assert entries[0].changes == {"fields": ["msisdn"]}
        assert entries[0].at is not None

    @pytest.mark.parametrize(
        "statement",
        ["UPDATE subscription_history SET action = 'updated'", "DELETE FROM subscription_history"],
    )
    def test_the_database_refuses_update_and_delete(self, engine, statement):
        self._one_entry(engine)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
        with SqlUnitOfWork(engine) as uow:
            assert [e.action for e in uow.history.list_for(7)] == ["created"]
