"""Import sources: an operator's export (CSV, JSON lines, Parquet) as rows with their byte offsets.

What the importer needs beyond `records_io`: the ORIGINAL text of each row (for the reject file), the
byte offset just after it (to resume after a kill by seeking, not re-reading), other encodings than
UTF-8, and column mappings.

Encodings: UTF-8 with or without a byte-order mark, and Windows-1258 (Vietnamese ANSI, Python codec
`cp1258`, which writes tones as combining marks). `encoding="auto"` takes UTF-8 when the first MiB
decodes as UTF-8 and Windows-1258 otherwise (Vietnamese text in Windows-1258 is never valid UTF-8:
its letters are bytes >= 0x80 standing alone). Every non-ASCII line is NFC-normalized, so "Nguyễn"
typed with combining marks and with precomposed letters is the same name.

Rows are yielded as `(line, end_line, end_offset, raw_text, record_or_FieldError)`; a line that cannot be read
(undecodable, bad JSON, oversized) yields a FieldError and reading goes on. Memory is constant: 1 MiB
chunks, one row at a time.
"""

from __future__ import annotations

import csv
import hashlib
import os
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import orjson

from subreg.adapters.files.records_io import MAX_LINE_BYTES
from subreg.adapters.files.rejects import CsvRejectFile
from subreg.domain.common.errors import FieldError, UnreadableInputError
from subreg.domain.compliance.records import CSV_COLUMNS, flatten, unflatten
from subreg.domain.registry.column_mapping import ColumnMapping, apply_mapping

__all__ = ["ENCODINGS", "SOURCE_FORMATS", "ImportFileSystem", "Row", "Source", "fingerprint", "open_source"]

SOURCE_FORMATS = ("auto", "csv", "jsonl", "parquet")
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp1258")
_ENCODING_ALIASES = {"utf8": "utf-8", "windows-1258": "cp1258", "cp-1258": "cp1258", "win1258": "cp1258"}
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20
_KNOWN = frozenset(CSV_COLUMNS)

Row = tuple[int, int, int, str, dict[str, Any] | FieldError]


def fingerprint(path: Path, fmt: str, encoding: str, mapping_text: str) -> str:
    """Identifies one file's content cheaply: size, first and last 64 KiB, format, encoding, mapping."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(f"{size}\0{fmt}\0{encoding}\0".encode())
    h.update(mapping_text.encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 16))
        if size > 1 << 16:
            f.seek(max(0, size - (1 << 16)))
            h.update(f.read(1 << 16))
    return h.hexdigest()


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _detect_encoding(head: bytes) -> str:
    if head.startswith(_BOM):
        return "utf-8-sig"
    cut = head.rfind(b"\n") if len(head) == _CHUNK else len(head)
    try:
        head[: cut if cut > 0 else len(head)].decode("utf-8")
    except UnicodeDecodeError:
        return "cp1258"
    return "utf-8"


def _detect_format(path: Path, head: bytes) -> str:
    if head.startswith(b"PAR1") or path.suffix.lower() == ".parquet":
        return "parquet"
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return "csv"
    body = head[3:] if head.startswith(_BOM) else head
    first = body.lstrip()[:1]
    return "jsonl" if first == b"{" else "csv"


@dataclass
class Source:
    """An opened import file: format, encoding, size (bytes; rows for Parquet) and its rows."""

    path: Path
    format: str
    encoding: str
    size: int
    mapping: ColumnMapping
    delimiter: str = ","
    columns: tuple[str, ...] = ()
    data_start: int = 0  # byte offset of the first data row (after a BOM / the CSV header)

    def rows(self, start_offset: int = 0, start_line: int = 0, *, deferred: bool = False) -> Iterator[Row]:
        """Rows after `start_offset` (a value yielded before as end offset; 0 = from the start).

        `deferred=True` (JSON lines): the raw text and the record are the line's BYTES, to be turned
        into a record by `parse` and into text by `raw_text` - in worker processes, so that the
        reading process only splits lines.
        """
        if self.format == "parquet":
            return self._parquet(start_offset)
        offset = max(start_offset, self.data_start)
        line = start_line if start_offset else (1 if self.format == "csv" else 0)
        if self.format == "csv":
            return self._csv(offset, line)
        if deferred:
            return self._jsonl_deferred(offset, line)
        return self._jsonl(offset, line)

    def _jsonl_deferred(self, offset: int, line: int) -> Iterator[Row]:
        for n, end, data in self._lines(offset, line):
            if data is None:
                yield n, n, end, "", FieldError("", "too_long")
            elif data.strip():
                yield n, n, end, data, data  # type: ignore[misc]

    def raw_text(self, data: bytes | str) -> str:
        """The text of a raw line (for the reject file); undecodable bytes are replaced."""
        if isinstance(data, str):
            return data
        text = self._decode(data)
        return data.decode("utf-8", "replace") if text is None else text

    def parse(self, data: bytes) -> dict[str, Any] | FieldError:
        """The record of one JSON line, or the FieldError that rejects it."""
        text = self._decode(data)
        if text is None:
            return FieldError("", "invalid_encoding")
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return FieldError("", "invalid_json")
        if value.__class__ is not dict:
            return FieldError("", "invalid_format")
        if not self.mapping.identity:
            value = unflatten(apply_mapping(self.mapping, flatten(value)))
        return value

    # -- lines -------------------------------------------------------------------------------

    def _lines(self, offset: int, line: int) -> Iterator[tuple[int, int, bytes | None]]:
        """(line number, end offset, bytes without terminator or None when oversized)."""
        with self.path.open("rb") as f:
            f.seek(offset)
            pos = offset
            tail = b""
            skipping = False
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                parts = chunk.split(b"\n")
                parts[0] = tail + parts[0]
                tail = parts.pop()
                for part in parts:
                    line += 1
                    pos += len(part) + 1
                    if skipping:
                        skipping = False
                        yield line, pos, None
                    else:
                        yield line, pos, (part if len(part) <= MAX_LINE_BYTES else None)
                if len(tail) > MAX_LINE_BYTES:
                    pos += len(tail)
                    tail = b""
                    skipping = True
                elif skipping:
                    pos += len(tail)
                    tail = b""
            if skipping or tail:
                line += 1
                pos += len(tail)
                yield line, pos, (None if skipping else tail)

    def _decode(self, data: bytes) -> str | None:
        if data.isascii():
            return data.decode("ascii")
        try:
            return _nfc(data.decode(self.encoding))
        except UnicodeDecodeError:
            return None

    # -- JSON lines --------------------------------------------------------------------------

    def _jsonl(self, offset: int, line: int) -> Iterator[Row]:
        loads = orjson.loads
        identity = self.mapping.identity
        for n, end, data in self._lines(offset, line):
            if data is None:
                yield n, n, end, "", FieldError("", "too_long")
                continue
            text = self._decode(data)
            if text is None:
                yield n, n, end, data.decode("utf-8", "replace"), FieldError("", "invalid_encoding")
                continue
            if not text.strip():
                continue
            try:
                value = loads(text)
            except orjson.JSONDecodeError:
                yield n, n, end, text, FieldError("", "invalid_json")
                continue
            if value.__class__ is not dict:
                yield n, n, end, text, FieldError("", "invalid_format")
                continue
            if not identity:
                value = unflatten(apply_mapping(self.mapping, flatten(value)))
            yield n, n, end, text, value

    # -- CSV ---------------------------------------------------------------------------------

    def _csv(self, offset: int, line: int) -> Iterator[Row]:
        consumed: list[tuple[int, int, str | None]] = []

        def texts() -> Iterator[str]:
            for n, end, data in self._lines(offset, line):
                text = None if data is None else self._decode(data)
                consumed.append((n, end, text))
                yield "\n" if text is None else text + "\n"

        reader = csv.reader(texts(), delimiter=self.delimiter)
        columns = self.columns
        mapping = self.mapping
        while True:
            try:
                cells = next(reader)
                error: FieldError | None = None
            except StopIteration:
                return
            except csv.Error as exc:
                cells = []
                error = FieldError("", "too_long" if "field limit" in str(exc) else "invalid_format")
            got, consumed[:] = list(consumed), []
            if not got:
                return
            first, last, end = got[0][0], got[-1][0], got[-1][1]
            raw = "\n".join("" if t is None else t.rstrip("\r") for _, _, t in got)
            if error is None and any(t is None for _, _, t in got):
                error = FieldError("", "invalid_encoding")
            if error is not None:
                yield first, last, end, raw, error
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            row = dict(zip(columns, cells, strict=False))
            yield first, last, end, raw, unflatten(apply_mapping(mapping, row))

    # -- Parquet -----------------------------------------------------------------------------

    def _parquet(self, start_row: int) -> Iterator[Row]:
        pq = _pyarrow_parquet()
        table = pq.ParquetFile(self.path)
        n = 0
        for batch in table.iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                n += 1
                if n <= start_row:
                    continue
                flat = {str(k): _parquet_text(v) for k, v in row.items()}
                raw = orjson.dumps(flat).decode()
                yield n, n, n, raw, unflatten(apply_mapping(self.mapping, {k: _nfc(v) for k, v in flat.items()}))


def _parquet_text(value: Any) -> str:
    """A typed Parquet cell as the text a CSV export would hold.

    Dates written as timestamps (pandas' datetime64, the usual case) would otherwise read
    "1990-03-05 00:00:00" and fail as dates; booleans read `true`/`false`; a whole number stored as a
    float (a pandas integer column with gaps) loses its ".0".
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-not-found]  # optional dependency
    except ImportError:
        # No square brackets in the text: the command line prints it with Rich markup.
        raise UnreadableInputError(
            "Parquet input needs the optional package pyarrow: install subreg with its parquet extra"
        ) from None
    return pq


def _csv_header(line: str, mapping: ColumnMapping) -> tuple[str, tuple[str, ...]]:
    known = set(mapping.columns) | _KNOWN
    best: tuple[int, str, tuple[str, ...]] | None = None
    for delimiter in (",", ";", "\t", "|"):
        columns = tuple(c.strip() for c in next(csv.reader([line], delimiter=delimiter), []))
        score = sum(1 for c in columns if c in known)
        if score and (best is None or score > best[0]):
            best = (score, delimiter, columns)
    if best is None:
        raise UnreadableInputError("the CSV header names no known or mapped column")
    return best[1], best[2]


def open_source(path: Path, fmt: str = "auto", encoding: str = "auto", mapping: ColumnMapping | None = None) -> Source:
    """Open `path`: detect format and encoding, read the CSV header; UnreadableInputError otherwise."""
    mapping = mapping or ColumnMapping()
    encoding = _ENCODING_ALIASES.get(encoding.lower(), encoding.lower())
    if fmt not in SOURCE_FORMATS:
        raise UnreadableInputError("unknown format")
    if encoding not in ENCODINGS:
        raise UnreadableInputError("unknown encoding (utf-8, utf-8-sig, cp1258)")
    try:
        size = os.path.getsize(path)
        with path.open("rb") as f:
            head = f.read(_CHUNK)
    except OSError:
        raise UnreadableInputError("the file cannot be read") from None
    kind = _detect_format(path, head) if fmt == "auto" else fmt
    if kind == "parquet":
        pq = _pyarrow_parquet()
        rows = pq.ParquetFile(path).metadata.num_rows
        return Source(path, "parquet", "binary", rows, mapping)
    if b"\x00" in head:
        raise UnreadableInputError("the input is binary, not text")
    if encoding == "auto":
        encoding = _detect_encoding(head)
    start = 3 if head.startswith(_BOM) else 0
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    source = Source(path, kind, codec, size, mapping, data_start=start)
    if kind == "csv":
        body = head[start:]
        nl = body.find(b"\n")
        header = body if nl < 0 else body[:nl]
        try:
            text = _nfc(header.decode(codec)).rstrip("\r")
        except UnicodeDecodeError:
            raise UnreadableInputError("the CSV header cannot be decoded") from None
        source.delimiter, source.columns = _csv_header(text, mapping)
        source.data_start = start + (len(header) + 1 if nl >= 0 else len(header))
    return source


class ImportFileSystem:
    """`services.registry.ports.ImportFiles`: export files opened from disk, reject files written beside them."""

    def open_source(self, path: Path, fmt: str, encoding: str, mapping: ColumnMapping) -> Source:
        """`open_source`."""
        return open_source(path, fmt, encoding, mapping)

    def fingerprint(self, path: Path, fmt: str, encoding: str, mapping_text: str) -> str:
        """`fingerprint`."""
        return fingerprint(path, fmt, encoding, mapping_text)

    def open_rejects(self, path: Path, committed: int) -> CsvRejectFile:
        """The reject CSV, cut back to `committed` bytes."""
        return CsvRejectFile(path, committed)
