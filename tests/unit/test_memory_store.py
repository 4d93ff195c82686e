"""What the in-memory database does that no contract test can compare: it is stricter than SQL where SQL is
silent, and its transactions merge their commits row by row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import UniqueConstraint

from subreg.adapters.db.tables import metadata
from subreg.adapters.memory import ConstraintError, FixedClock, MemoryDatabase, MemoryUnitOfWork
from subreg.adapters.memory._store import TABLES


def pos(code: str) -> dict[str, object]:
    return {"code": code, "kind": "store", "name": code}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_table_of_the_fake_is_the_databases(name):
    """Every column the fake declares exists in `adapters.db.tables` with the same NOT NULL, and the key, the
    UNIQUE constraints and the foreign keys are the same (a column renamed in a migration fails here).
    The one exception: the fake has no key-encryption-key table, so `holders.kek_id` references nothing."""
    fake, real = TABLES[name], metadata.tables[name]
    for column, spec in fake.columns.items():
        assert column in real.c, f"{name}.{column}"
        assert real.c[column].nullable == spec.nullable or real.c[column].primary_key, f"{name}.{column}"
    assert [c.name for c in real.primary_key] == (list(fake.key) if isinstance(fake.key, tuple) else [fake.key])
    unique = {tuple(c.name for c in i.columns) for i in real.indexes if i.unique}
    unique |= {tuple(c.name for c in u.columns) for u in real.constraints if isinstance(u, UniqueConstraint)}
    unique |= {(c.name,) for c in real.columns if c.unique}
    assert set(fake.unique) == unique
    references = {fk.parent.name: fk.column.table.name for fk in real.foreign_keys}
    references.pop("kek_id" if name == "holders" else "", None)
    assert dict(fake.references) == references


class TestMemoryDatabase:
    def test_a_batch_whose_rows_name_different_columns_is_refused(self):
        # SQLAlchemy's executemany takes the first row's columns: a column only a later row names is dropped.
        with MemoryUnitOfWork(MemoryDatabase()) as uow, pytest.raises(ValueError, match="same columns"):
            uow.history.append_many(
                [{"subscription_id": 1, "action": "created"}, {"subscription_id": 1, "action": "x", "channel": "s"}]
            )

    def test_an_unknown_column_is_a_programming_error(self):
        with MemoryUnitOfWork(MemoryDatabase()) as uow, pytest.raises(ValueError, match="unknown column"):
            uow.points_of_sale.add({**pos("A"), "colour": "red"})

    def test_a_missing_required_column_is_refused(self):
        with MemoryUnitOfWork(MemoryDatabase()) as uow, pytest.raises(ConstraintError, match="NOT NULL"):
            uow.points_of_sale.add({"code": "A", "kind": "store"})

    def test_units_committing_different_rows_keep_each_others_work(self):
        db = MemoryDatabase()
        with MemoryUnitOfWork(db) as first, MemoryUnitOfWork(db) as second:
            pos_id = first.points_of_sale.add(pos("A"))
            first.commit()
            second.points_of_sale.add(pos("B"))
            second.commit()
            assert [p.code for p in first.points_of_sale.list_all()] == ["A", "B"]
            assert second.points_of_sale.get_by_code("A").id == pos_id

    def test_the_database_clock_stamps_server_defaults(self):
        clock = FixedClock(datetime(2015, 1, 1, tzinfo=UTC))
        db = MemoryDatabase(clock)
        with MemoryUnitOfWork(db) as uow:
            uow.history.append({"subscription_id": 1, "action": "created"})
            uow.commit()
            assert uow.history.list_for(1)[0].at == clock.now()
        assert db.rows("subscription_history")[0]["changes"] == "{}"
