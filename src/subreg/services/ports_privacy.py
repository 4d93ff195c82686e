"""Ports: Data-subject requests, consents, holder flags, crypto-shredding."""

from __future__ import annotations

from typing import Protocol

__all__ = ["PrivacyRepository"]


class PrivacyRepository(Protocol):
    """Implemented by `subreg.adapters.db.privacy_repo.SqlPrivacyRepository`."""
