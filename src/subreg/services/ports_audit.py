"""Ports: The append-only, hash-chained audit log."""

from __future__ import annotations

from typing import Protocol

__all__ = ["AuditRepository"]


class AuditRepository(Protocol):
    """Implemented by `subreg.adapters.db.audit_repo.SqlAuditRepository`."""
