"""In-memory `BiometricRepository` (as `adapters.db.biometric_repo`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from subreg.adapters.memory._store import Transaction

__all__ = ["MemoryBiometricRepository"]


class MemoryBiometricRepository:
    """Verification rows and sealed templates in the fake database."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    def add_verification(self, row: Mapping[str, Any]) -> int:
        """Append one row to `verifications`; its id."""
        return int(self._tx().insert("verifications", dict(row)))

    def holder_key(self, holder_id: int) -> tuple[int, bytes | None] | None:
        """The holder's KEK id and wrapped DEK (None: unknown holder)."""
        row = self._tx().get("holders", holder_id)
        return None if row is None else (int(row["kek_id"]), row["wrapped_dek"])

    def add_template(self, row: Mapping[str, Any]) -> int:
        """Store one sealed template; its id."""
        return int(self._tx().insert("biometric_templates", dict(row)))

    def templates_of(self, holder_id: int, *, kind: str, today: date) -> Sequence[Mapping[str, Any]]:
        """The holder's unexpired templates of a kind, newest first."""
        rows = self._tx().scan(
            "biometric_templates",
            lambda r: (
                r["holder_id"] == holder_id
                and r["kind"] == kind
                and (r["expires_on"] in (None,) or r["expires_on"] >= today)
            ),
        )
        return sorted((dict(r) for r in rows), key=lambda r: -r["id"])

    def delete_expired_templates(self, today: date) -> int:
        """Delete every template whose `expires_on` is before `today`."""
        tx = self._tx()
        gone = [
            r["id"]
            for r in tx.scan("biometric_templates", lambda r: r["expires_on"] is not None and r["expires_on"] < today)
        ]
        for key in gone:
            tx.delete("biometric_templates", key)
        return len(gone)
