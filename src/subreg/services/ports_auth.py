"""Ports: Staff sign-in: sessions, tokens, login attempts, lockout."""

from __future__ import annotations

from typing import Protocol

__all__ = ["AuthRepository"]


class AuthRepository(Protocol):
    """Implemented by `subreg.adapters.db.auth_repo.SqlAuthRepository`."""
