"""The audit chain's head checkpoint as a small text file (`var/audit.head`), outside the database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from subreg.domain.privacy.audit_chain import Checkpoint

__all__ = ["FileAuditHead"]


@dataclass(frozen=True, slots=True)
class FileAuditHead:
    """`seq hash key-fingerprint` on one line; replaced atomically (temp file, fsync, rename)."""

    path: Path

    def read(self) -> tuple[Checkpoint, str] | None:
        """The stored checkpoint and key fingerprint, or None when there is none (or it is unreadable)."""
        try:
            parts = self.path.read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            return None
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        return Checkpoint(int(parts[0]), parts[1]), parts[2]

    def write(self, checkpoint: Checkpoint, fingerprint: str) -> None:
        """Replace the file atomically (temp file, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="ascii") as fh:
            fh.write(f"{checkpoint.seq} {checkpoint.hash} {fingerprint}\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
