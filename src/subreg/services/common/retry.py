"""Running a use case again when the embedded database says it was busy (`BusyError`).

SQLite lets one writer commit at a time, and a transaction that read before another writer committed
cannot write any more: its unit of work rolls back and raises `BusyError`. The use case has written
nothing, so it can simply run again (a sign-in re-checks the password, an update re-reads the
subscription). PostgreSQL waits on row locks instead and never raises it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from subreg.domain.common.errors import BusyError

__all__ = ["ATTEMPTS", "retrying"]

T = TypeVar("T")
ATTEMPTS = 4


def retrying(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, run again (up to ATTEMPTS in all) while it raises BusyError."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn(*args, **kwargs)
        except BusyError:
            if attempt == ATTEMPTS:
                raise
            # A short, jittered pause: the writer that got in first is usually done within milliseconds.
            time.sleep(random.uniform(0.002, 0.010) * attempt)  # noqa: S311 - timing jitter, not a secret
    raise AssertionError("unreachable")
