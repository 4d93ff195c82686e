"""Helpers of the wired SMS end-to-end tests (Kannel, SMPP): waiting for a condition, reading a table back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, select

from subreg.bootstrap import bootstrap
from subreg.config import Settings


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether `condition` came true within `timeout` seconds (polled every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def table_rows(settings: Settings, table: Table, *where: Any) -> list[Any]:
    """The rows of `table` (matching `where`) in the configured database, read through a fresh container."""
    container = bootstrap(settings)
    try:
        with container.engine.connect() as c:
            return [r._mapping for r in c.execute(select(table).where(*where))]
    finally:
        container.close()
