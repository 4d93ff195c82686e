"""Row identifiers in paths, queries and bodies: positive, and no larger than a database row id can be.

A larger number names no row; SQLite cannot even bind it (an OverflowError past 2**63 - 1, which was a
500). Declared on the parameter, it is refused like any other invalid value (422) and documented.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

__all__ = ["MAX_ROW_ID", "RowIdPath"]

MAX_ROW_ID = 2**63 - 1  # PostgreSQL BIGINT and SQLite INTEGER

RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
