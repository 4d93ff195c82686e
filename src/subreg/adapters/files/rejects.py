"""The import's reject file: a UTF-8 CSV (with BOM, for spreadsheets) of the rows an import refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["REJECT_HEADER", "CsvRejectFile"]

REJECT_HEADER = ("line", "field", "code", "message", "original")


class CsvRejectFile:
    """`services.registry.ports.RejectSink`: cut back to its committed size on resume, appended per batch,
    flushed before the batch commits (`size`)."""

    def __init__(self, path: Path, committed: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "r+b" if path.exists() and committed else "w+b"
        self.file = path.open(mode)
        self.file.truncate(committed)
        self.file.seek(committed)
        if committed == 0:
            self.file.write(b"\xef\xbb\xbf")  # spreadsheet programs need the BOM to read UTF-8
            self._write([REJECT_HEADER])

    def _write(self, rows: Sequence[Sequence[Any]]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        self.file.write(buf.getvalue().encode("utf-8"))

    def add(self, rows: Sequence[tuple[int, str, str, str, str]]) -> None:
        """Append (line, field, code, message, original text) rows."""
        if rows:
            self._write(rows)

    def size(self) -> int:
        """Bytes written so far, flushed."""
        self.file.flush()
        return self.file.tell()

    def close(self) -> None:
        """Close the file."""
        self.file.close()
