"""SQL repository: Staff sign-in: sessions, tokens, login attempts, lockout."""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["SqlAuthRepository"]


class SqlAuthRepository:
    """Staff sign-in: sessions, tokens, login attempts, lockout."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection
