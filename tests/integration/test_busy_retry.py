"""SQLite: a unit of work that read before another writer committed cannot write; it raises BusyError
(nothing written) and `retrying` runs the use case again. Seen for real as sign-ins failing with
"database is locked" while counters saved updates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from subreg.adapters.db.engine import create_engine_for, migrate
from subreg.adapters.db.uow import SqlUnitOfWork
from subreg.domain.common.errors import BusyError
from subreg.services import access as auth
from subreg.services.access import accounts, sign_in
from subreg.services.common import retry
from tests.auth_helpers import make_staff


@pytest.fixture
def sqlite_engine(tmp_path: Path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'busy.db'}")
    migrate(engine)
    with engine.begin() as c:
        c.execute(text("INSERT INTO points_of_sale (code, kind, name, active) VALUES ('S1', 'store', 'one', 1)"))
    yield engine
    engine.dispose()


def _rename(uow: SqlUnitOfWork, name: str) -> None:
    uow.connection.execute(text("UPDATE points_of_sale SET name = :n WHERE code = 'S1'"), {"n": name})


def _name(engine) -> str:
    with engine.connect() as c:
        return str(c.execute(text("SELECT name FROM points_of_sale WHERE code = 'S1'")).scalar_one())


def _read_then_write(engine, name: str, *, interleave: bool) -> None:
    """Read, let another unit commit a write (when `interleave`), then write: a stale read snapshot."""
    with SqlUnitOfWork(engine) as uow:
        uow.points_of_sale.get_by_code("S1")  # the read that fixes the transaction's snapshot
        if interleave:
            with SqlUnitOfWork(engine) as other:
                _rename(other, "other")
                other.commit()
        _rename(uow, name)
        uow.commit()


def test_a_write_after_a_stale_read_raises_busy_and_writes_nothing(sqlite_engine):
    with pytest.raises(BusyError):
        _read_then_write(sqlite_engine, "mine", interleave=True)
    assert _name(sqlite_engine) == "other"


def test_retrying_runs_the_use_case_again_until_it_goes_through(sqlite_engine):
    calls: list[int] = []

    def use_case() -> str:
        calls.append(1)
        _read_then_write(sqlite_engine, "mine", interleave=len(calls) == 1)  # only the first run is raced
        return "done"

    assert retry.retrying(use_case) == "done"
    assert len(calls) == 2
    assert _name(sqlite_engine) == "mine"


def test_retrying_gives_up_after_its_attempts_and_lets_other_errors_through():
    calls: list[int] = []

    def always_busy() -> None:
        calls.append(1)
        raise BusyError("busy")

    with pytest.raises(BusyError):
        retry.retrying(always_busy)
    assert len(calls) == retry.ATTEMPTS

    def broken() -> None:
        calls.append(1)
        raise ValueError("not a busy database")

    calls.clear()
    with pytest.raises(ValueError, match="not a busy"):
        retry.retrying(broken)
    assert len(calls) == 1


class TestSignInWhileCountersWrite:
    """The password check (argon2, ~0.1 s) runs outside any transaction: a write committed meanwhile (a
    counter saving an update) no longer leaves the sign-in's transaction with a stale snapshot."""

    @pytest.fixture
    def container(self, container):
        if container.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only: PostgreSQL has no stale read snapshots for writers")
        return container

    def _with_a_write_during_the_check(self, container, monkeypatch) -> None:
        real = sign_in.verify_password

        def verify(password_hash: str, password: str) -> bool:
            with SqlUnitOfWork(container.engine) as other:  # another writer commits meanwhile
                _rename(other, "renamed during the check")
                other.commit()
            return real(password_hash, password)

        # Both use cases that check a password, where they look the checker up.
        monkeypatch.setattr(sign_in, "verify_password", verify)
        monkeypatch.setattr(accounts, "verify_password", verify)

    @pytest.fixture
    def account(self, container) -> tuple[str, str]:
        with SqlUnitOfWork(container.engine) as uow:
            uow.points_of_sale.add({"code": "S1", "kind": "store", "name": "one", "active": True})
            uow.commit()
        return make_staff(container, "store_staff")

    def test_a_sign_in_goes_through(self, container, account, monkeypatch):
        username, password = account
        self._with_a_write_during_the_check(container, monkeypatch)
        with container.uow() as uow:
            result = auth.authenticate(uow, username, password)
        assert result.session
        assert _name(container.engine) == "renamed during the check"

    def test_a_password_change_goes_through(self, container, account, monkeypatch):
        username, password = account
        with container.uow() as uow:
            staff_id = auth.authenticate(uow, username, password).staff_id
        self._with_a_write_during_the_check(container, monkeypatch)
        with container.uow() as uow:
            auth.change_password(uow, staff_id, password, "a new passphrase 2026 for the counter")
        monkeypatch.undo()
        with container.uow() as uow:
            assert auth.authenticate(uow, username, "a new passphrase 2026 for the counter").session
