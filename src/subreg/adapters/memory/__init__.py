"""In-memory adapters of the ports, for tests that must run in milliseconds (cosmicpython's fakes).

`MemoryUnitOfWork` on a `MemoryDatabase` has every repository of the SQL unit of work, with the same
semantics (kept honest by `tests/integration/test_port_contracts.py`, which runs the same calls on the
fakes and on SQLite and PostgreSQL); `MemoryBlobStore`, `FixedClock` and `FakeImageInspector` stand in for
the local blob store, the system clock and the OpenCV image checks. There is no fake vault: the real
`adapters.crypto.vault.AesGcmVault`, built from keys held in memory, is fast enough.
"""

from subreg.adapters.memory._store import ConstraintError, MemoryDatabase
from subreg.adapters.memory.blob import MemoryBlobStore
from subreg.adapters.memory.clock import FixedClock
from subreg.adapters.memory.images import FakeImageInspector
from subreg.adapters.memory.uow import MemoryUnitOfWork

__all__ = [
    "ConstraintError",
    "FakeImageInspector",
    "FixedClock",
    "MemoryBlobStore",
    "MemoryDatabase",
    "MemoryUnitOfWork",
]
