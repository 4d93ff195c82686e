"""SQL repository: The append-only, hash-chained audit log."""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["SqlAuditRepository"]


class SqlAuditRepository:
    """The append-only, hash-chained audit log."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection
