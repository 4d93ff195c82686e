"""SQL repository: Point of sale: serving visits, counter transactions, bill payments, network orders."""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["SqlCounterRepository"]


class SqlCounterRepository:
    """Point of sale: serving visits, counter transactions, bill payments, network orders."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection
