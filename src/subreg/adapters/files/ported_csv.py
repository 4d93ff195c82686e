"""The MNP export (`subreg numbers load-ported`): a CSV with a header naming `msisdn` and `direction`.

Read line by line (millions of lines, constant memory): each data line becomes (line number, byte offset
after it, (msisdn text, direction text)), or a FieldError for a line that cannot be read (not UTF-8, a
column missing); the values are judged by the service. UTF-8, with or without a BOM; `,` or `;` between
fields (the header's), other columns ignored, blank lines skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from subreg.domain.common.errors import FieldError

__all__ = ["PortedCsv", "PortedItem"]

PortedItem = tuple[int, int, tuple[str, str] | FieldError]
_COLUMNS = ("msisdn", "direction")


def _split(text: str, delimiter: str) -> list[str]:
    if '"' not in text:
        return text.split(delimiter)  # the common case, ~10x cheaper than a csv.reader per line
    return next(csv.reader([text], delimiter=delimiter), [])


class PortedCsv:
    """One MNP export file, opened for reading (`services.registry.ports.PortedSource`); close it when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = path.open("rb")
        self.size = path.stat().st_size

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def items(self) -> Iterator[PortedItem]:
        """The data lines in order; a header without both columns is one error at line 1 and nothing else."""
        offset = 0
        columns: tuple[int, int] | None = None
        delimiter = ","
        width = 0
        for n, raw in enumerate(self._file, start=1):
            offset += len(raw)
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                yield n, offset, FieldError("", "invalid_encoding")
                if columns is None:
                    return
                continue
            if not text:
                continue
            if columns is None:
                delimiter = ";" if ";" in text and "," not in text else ","
                names = [name.strip().lower() for name in _split(text, delimiter)]
                missing = [c for c in _COLUMNS if c not in names]
                if missing:
                    yield n, offset, FieldError(missing[0], "required")
                    return
                columns = (names.index("msisdn"), names.index("direction"))
                width = max(columns) + 1
                continue
            fields = _split(text, delimiter)
            if len(fields) < width:
                yield n, offset, FieldError("direction" if len(fields) > columns[0] else "msisdn", "required")
                continue
            yield n, offset, (fields[columns[0]].strip(), fields[columns[1]].strip())
        if columns is None:
            yield 1, offset, FieldError("msisdn", "required")  # an empty file: no header
