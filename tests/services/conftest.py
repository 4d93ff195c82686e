"""Service tests on the in-memory fakes (`tests.fakes`): no database, no disk, no OpenCV; the whole folder runs
in seconds. The same behaviour on SQLite and PostgreSQL is covered by `tests/integration`, and the fakes
themselves by `tests/integration/test_port_contracts.py`."""

from __future__ import annotations

import sys

import pytest
from argon2 import PasswordHasher

from tests.fakes import Fakes

# argon2id at its production cost takes ~0.1 s a hash; these parameters take well under a millisecond. The
# production defaults (`services.access._common.HASHER`) are untouched outside the tests of this folder.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CHEAP_DUMMY_HASH = CHEAP_HASHER.hash("an unknown username costs one verification too")


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """Every access module's hasher (and the dummy hash of unknown usernames) made cheap for the test."""
    import subreg.services.access  # noqa: F401 - loads every module that holds the hasher

    for name, module in list(sys.modules.items()):
        if name.startswith("subreg.services.access"):
            if hasattr(module, "HASHER"):
                monkeypatch.setattr(module, "HASHER", CHEAP_HASHER)
            if hasattr(module, "DUMMY_HASH"):
                monkeypatch.setattr(module, "DUMMY_HASH", CHEAP_DUMMY_HASH)
    return CHEAP_HASHER


@pytest.fixture
def fakes() -> Fakes:
    """The services wired on empty in-memory adapters, the clock at `tests.fakes.NOW`."""
    return Fakes.build()
