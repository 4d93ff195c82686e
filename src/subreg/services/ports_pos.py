"""Ports: Point of sale: serving visits, counter transactions, bill payments, network orders."""

from __future__ import annotations

from typing import Protocol

__all__ = ["CounterRepository"]


class CounterRepository(Protocol):
    """Implemented by `subreg.adapters.db.pos_repo.SqlCounterRepository`."""
