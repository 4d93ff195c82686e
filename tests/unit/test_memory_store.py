"""What the in-memory database does that no contract test can compare: it is stricter than SQL where SQL is
silent, and its transactions merge their commits row by row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from subreg.adapters.memory import ConstraintError, FixedClock, MemoryDatabase, MemoryUnitOfWork


def pos(code: str) -> dict[str, object]:
    return {"code": code, "kind": "store", "name": code}


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
