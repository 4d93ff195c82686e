"""The MNP list in the database (`ported_numbers`), on SQLite and PostgreSQL: migration, look-ups, loads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from subreg.adapters.db.bulk import open_bulk_session
from subreg.adapters.db.engine import _alembic_config, create_engine_for, migrate
from subreg.adapters.db.ported_repo import EnginePortedLookup
from subreg.adapters.db.uow import SqlUnitOfWork
from subreg.services.registry.ports import PortedCounts

LOADED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def load(engine, rows, *, replace: bool = False, at: datetime = LOADED) -> None:
    with SqlUnitOfWork(engine) as uow:
        if replace:
            uow.ported.clear()
        uow.ported.put_many(rows, loaded_at=at)
        uow.commit()


class TestMigration:
    def test_0009_adds_the_table_after_0008_and_removes_it_on_downgrade(self, database_url):
        engine = create_engine_for(database_url)
        try:
            migrate(engine, revision="0008_login_signed_in")
            assert "ported_numbers" not in inspect(engine).get_table_names()
            migrate(engine)
            insp = inspect(engine)
            assert insp.get_pk_constraint("ported_numbers")["constrained_columns"] == ["msisdn"]
            assert {c["name"] for c in insp.get_columns("ported_numbers")} == {"msisdn", "direction", "loaded_at"}
            config = _alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, "0008_login_signed_in")
            assert "ported_numbers" not in inspect(engine).get_table_names()
        finally:
            engine.dispose()

    def test_a_direction_is_in_or_out(self, engine):
        (check,) = inspect(engine).get_check_constraints("ported_numbers")
        assert check["name"] == "ck_ported_numbers_direction"
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(text("INSERT INTO ported_numbers (msisdn, direction) VALUES (84901234567, 'up')"))


class TestPortedNumbers:
    def test_directions_of_names_only_the_listed_numbers(self, engine):
        load(engine, [(84981234567, "in"), (84901234567, "out")])
        with SqlUnitOfWork(engine) as uow:
            found = uow.ported.directions_of([84981234567, 84901234567, 84931234567, 84981234567])
        assert found == {84981234567: "in", 84901234567: "out"}

    def test_a_number_listed_again_takes_the_new_direction(self, engine):
        load(engine, [(84981234567, "in")])
        load(engine, [(84981234567, "out"), (84981234567, "in"), (84931234567, "out")], at=LATER)
        with SqlUnitOfWork(engine) as uow:
            assert uow.ported.directions_of([84981234567, 84931234567]) == {84981234567: "in", 84931234567: "out"}
            assert uow.ported.counts() == PortedCounts(ported_in=1, ported_out=1, loaded_at=LATER)

    def test_replacing_the_list_drops_what_the_new_one_lacks(self, engine):
        load(engine, [(84981234567, "in"), (84901234567, "out")])
        load(engine, [(84931234567, "out")], replace=True)
        with SqlUnitOfWork(engine) as uow:
            assert uow.ported.directions_of([84981234567, 84901234567, 84931234567]) == {84931234567: "out"}

    def test_a_load_that_fails_leaves_the_previous_list(self, engine):
        load(engine, [(84981234567, "in")])
        with SqlUnitOfWork(engine) as uow:
            assert uow.ported.clear() == 1
            uow.ported.put_many([(84931234567, "out")], loaded_at=LATER)
            # no commit: the unit of work rolls back
        with SqlUnitOfWork(engine) as uow:
            assert uow.ported.directions_of([84981234567, 84931234567]) == {84981234567: "in"}

    def test_an_empty_list_counts_nothing(self, engine):
        with SqlUnitOfWork(engine) as uow:
            assert uow.ported.counts() == PortedCounts(ported_in=0, ported_out=0, loaded_at=None)
            assert uow.ported.directions_of([]) == {}

    def test_a_look_up_beyond_one_in_list_of_keys(self, engine):
        rows = [(84900000000 + i, "out" if i % 2 else "in") for i in range(12_000)]
        load(engine, rows)
        keys = [84900000000 + i for i in range(0, 24_000, 3)]
        expected = {k: d for k, d in rows if k in set(keys)}
        with SqlUnitOfWork(engine) as uow:
            assert uow.ported.directions_of(keys) == expected
        assert EnginePortedLookup(engine).directions_of(keys) == expected
        store = open_bulk_session(engine)
        try:
            assert store.ported_directions(keys) == expected
        finally:
            store.close()
