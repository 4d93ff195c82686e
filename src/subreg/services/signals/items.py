"""What the signal lists hold: signals with their facts, lines and newest decision (nothing personal)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from subreg.domain.signals.review import SignalKind, is_open

__all__ = ["LineRef", "SignalItem", "SignalList"]


@dataclass(frozen=True, slots=True)
class LineRef:
    """A line as a list shows it: its id (to open it through the audited card) and its masked number."""

    line_id: int
    masked: str


@dataclass(frozen=True, slots=True)
class SignalItem:
    """One signal: its key, its facts (numbers, codes, days; nothing personal), its lines, its newest decision."""

    kind: SignalKind
    key: str
    facts: Mapping[str, Any]
    lines: tuple[LineRef, ...] = ()
    decision: str | None = None
    reason: str | None = None
    decided_at: datetime | None = None

    @property
    def open(self) -> bool:
        return is_open(self.decision)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "kind": str(self.kind), "key": self.key, "facts": dict(self.facts),
            "lines": [{"line_id": r.line_id, "number": r.masked} for r in self.lines],
            "decision": self.decision, "reason": self.reason,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class SignalList:
    """A kind's signals (open ones only unless asked), and how many are open and closed in all."""

    kind: SignalKind
    items: tuple[SignalItem, ...]
    open_count: int
    closed_count: int
    settings: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "kind": str(self.kind), "open": self.open_count, "closed": self.closed_count,
            "settings": dict(self.settings), "signals": [i.as_dict() for i in self.items],
        }  # fmt: skip
