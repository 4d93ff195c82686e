"""One SQLite writer at a time, queued in arrival order, across the threads and processes of a host.

SQLite has one writer at a time and its busy handler *polls* for the lock (sleeping up to 100 ms
between tries): writers that pile up on it are served in no order and the unlucky ones wait whole
seconds. A unit of work that declares itself a writer (`counter.lock_for_write()`) first passes this
gate: a lock per engine for the threads of this process, then an exclusive `flock` on
`<database>-writer.lock` for the processes (the kernel queues them and frees the lock when a holder
dies). The database lock is then almost always free when the writer asks SQLite for it. Writers that
do not pass the gate (short audit appends of read-only requests) still meet SQLite's own lock.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path

from sqlalchemy import Engine

__all__ = ["WriterGate", "writer_gate_for"]

# Longer than SQLite's busy timeout: a thread that cannot pass by then goes on to SQLite's own lock (and
# its error), so a unit of work nested in another one on the same thread cannot deadlock here.
_WAIT_S = 15.0


class WriterGate:
    """`enter()` before the first write of a transaction, `leave()` when it ends (commit or rollback)."""

    def __init__(self, lock_file: Path | None) -> None:
        self._threads = threading.Lock()
        self._lock_file = lock_file
        self._fd: int | None = None
        self._pid = 0  # the process that opened `_fd`: a forked child shares it, so it opens its own

    def enter(self) -> bool:
        """Wait for our turn; False when it did not come in time (the caller goes on without the gate)."""
        if not self._threads.acquire(timeout=_WAIT_S):
            return False
        if self._lock_file is not None:
            try:
                if self._fd is None or self._pid != os.getpid():
                    # flock belongs to the open file: a descriptor inherited across fork would let parent
                    # and child hold "the" lock at once.
                    self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                    self._pid = os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # releases the GIL while it waits
            except OSError:
                self._threads.release()
                return False
        return True

    def leave(self) -> None:
        """Let the next writer in."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


_gates: weakref.WeakKeyDictionary[Engine, WriterGate] = weakref.WeakKeyDictionary()
_gates_guard = threading.Lock()


def writer_gate_for(engine: Engine) -> WriterGate | None:
    """The gate of a SQLite engine (shared by its units of work); None for other databases."""
    if engine.dialect.name != "sqlite":
        return None
    with _gates_guard:
        gate = _gates.get(engine)
        if gate is None:
            database = engine.url.database
            on_disk = bool(database) and database != ":memory:" and not database.startswith("file:")
            gate = _gates[engine] = WriterGate(Path(f"{database}-writer.lock") if on_disk else None)
        return gate
