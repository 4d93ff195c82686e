"""SQL repository: Data-subject requests, consents, holder flags, crypto-shredding."""

from __future__ import annotations

from sqlalchemy import Connection

__all__ = ["SqlPrivacyRepository"]


class SqlPrivacyRepository:
    """Data-subject requests, consents, holder flags, crypto-shredding."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection
