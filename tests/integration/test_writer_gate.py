"""SQLite writers queue at the writer gate: across threads and processes, held until the transaction ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from subreg.adapters.db.engine import create_engine_for, migrate
from subreg.adapters.db.uow import SqlUnitOfWork
from subreg.adapters.db.writer_gate import writer_gate_for

HOLD_S = 0.6


@pytest.fixture
def sqlite_engine(tmp_path: Path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'gate.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def _second_writer_waits(engine, end_first) -> float:
    """Seconds a second writer waited while the first held the gate for HOLD_S, then ended with `end_first`."""
    entered = threading.Event()
    waited: list[float] = []

    def second() -> None:
        entered.wait()
        started = time.perf_counter()
        with SqlUnitOfWork(engine) as uow:
            uow.counter.lock_for_write()
            waited.append(time.perf_counter() - started)

    thread = threading.Thread(target=second)
    thread.start()
    with SqlUnitOfWork(engine) as uow:
        uow.counter.lock_for_write()
        entered.set()
        time.sleep(HOLD_S)
        end_first(uow)
        time.sleep(HOLD_S)  # the unit stays open: only the end of its transaction lets the next one in
    thread.join(timeout=10)
    return waited[0]


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_writer_waits_until_the_first_ends_its_transaction(sqlite_engine, end):
    waited = _second_writer_waits(sqlite_engine, lambda uow: getattr(uow, end)())
    assert HOLD_S * 0.8 <= waited < 2 * HOLD_S


def test_leaving_the_block_without_commit_lets_the_next_writer_in(sqlite_engine):
    def leave(uow: SqlUnitOfWork) -> None:
        uow.__exit__(None, None, None)

    waited = _second_writer_waits(sqlite_engine, leave)
    assert HOLD_S * 0.8 <= waited < 2 * HOLD_S


def test_a_reader_does_not_wait(sqlite_engine):
    with SqlUnitOfWork(sqlite_engine) as writer:
        writer.counter.lock_for_write()
        started = time.perf_counter()
        with SqlUnitOfWork(sqlite_engine) as reader:
            reader.subscriptions.get(84901234567)
        assert time.perf_counter() - started < HOLD_S


def test_a_writer_of_another_process_is_waited_for(sqlite_engine, tmp_path):
    url = str(sqlite_engine.url)
    holder = textwrap.dedent(f"""
        import sys, time
        from subreg.adapters.db.engine import create_engine_for
        from subreg.adapters.db.uow import SqlUnitOfWork
        engine = create_engine_for({url!r})
        with SqlUnitOfWork(engine) as uow:
            uow.counter.lock_for_write()
            print("held", flush=True)
            time.sleep({HOLD_S * 2})
            uow.commit()
    """)
    with subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout.readline().strip() == "held"
        gate = writer_gate_for(sqlite_engine)
        started = time.perf_counter()
        assert gate.enter()  # the gate alone, before SQLite's own lock is asked for
        waited = time.perf_counter() - started
        gate.leave()
        child.wait(timeout=30)
    assert waited >= HOLD_S  # queued on the lock file until the other process's transaction ended
    assert child.returncode == 0
    assert Path(f"{sqlite_engine.url.database}-writer.lock").exists()


@pytest.mark.postgres
def test_postgresql_has_no_gate(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    engine = create_engine_for(database_url)
    try:
        assert writer_gate_for(engine) is None
    finally:
        engine.dispose()


def _hold_gate_in_child(engine, held, release) -> None:
    gate = writer_gate_for(engine)  # the parent's gate object, inherited by fork
    assert gate.enter()
    held.set()
    release.wait(10)
    gate.leave()


def test_a_forked_process_does_not_share_the_parents_lock(sqlite_engine):
    import multiprocessing

    gate = writer_gate_for(sqlite_engine)
    assert gate.enter()  # the parent opens its lock file descriptor ...
    gate.leave()
    fork = multiprocessing.get_context("fork")
    held, release = fork.Event(), fork.Event()
    # ... and a child forked from it must take the lock on a descriptor of its own.
    child = fork.Process(target=_hold_gate_in_child, args=(sqlite_engine, held, release))
    child.start()
    try:
        assert held.wait(10)
        timer = threading.Timer(HOLD_S, release.set)
        timer.start()
        started = time.perf_counter()
        assert gate.enter()
        waited = time.perf_counter() - started
        gate.leave()
    finally:
        release.set()
        child.join(10)
    assert waited >= HOLD_S * 0.8
