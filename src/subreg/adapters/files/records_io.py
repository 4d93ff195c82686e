"""Streaming readers and writers of subscription records: JSON lines and CSV, in constant memory.

Readers never stop at a bad line: they yield `(line_number, FieldError)` for it (`invalid_json`,
`invalid_encoding`, `invalid_format` for a JSON value that is not an object, `too_long` for a line
over `MAX_LINE_BYTES`) and go on. Only input that is unreadable as a whole (binary data, text that
is not UTF-8, a format that is neither JSON lines nor CSV with known columns) raises
`UnreadableInputError`, which the CLI maps to exit code 2.

Input is read in 1 MiB chunks and split on newlines; a line longer than `MAX_LINE_BYTES` is skipped
without being held in memory. UTF-8 with or without a byte-order mark is accepted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

import orjson

from subreg.domain.common.errors import FieldError, UnreadableInputError
from subreg.domain.compliance.records import CSV_COLUMNS, flatten, unflatten

__all__ = [
    "FORMATS",
    "MAX_LINE_BYTES",
    "UnreadableInputError",
    "detect_format",
    "read_records",
    "write_csv",
    "write_jsonl",
]

FORMATS = ("auto", "jsonl", "csv")
MAX_LINE_BYTES = 1 << 20
_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
_KNOWN_COLUMNS = frozenset(CSV_COLUMNS)
# A line-level problem concerns the whole record: its field path is the root, "".
_ROOT = ""
_TOO_LONG = object()


def _lines(stream: BinaryIO, first: bytes) -> Iterator[bytes | object]:
    """Lines of `first` + the rest of `stream`, without terminators; `_TOO_LONG` for oversized lines."""
    chunk = first
    tail = b""
    skipping = False  # inside an oversized line: drop bytes until its newline
    while chunk:
        parts = chunk.split(b"\n")
        parts[0] = tail + parts[0]
        tail = parts.pop()
        for part in parts:
            if skipping:
                skipping = False
                yield _TOO_LONG
            elif len(part) > MAX_LINE_BYTES:
                yield _TOO_LONG
            else:
                yield part
        if len(tail) > MAX_LINE_BYTES:
            skipping = True
            tail = b""
        elif skipping:
            tail = b""
        chunk = stream.read(_CHUNK)
    if skipping:
        yield _TOO_LONG
    elif tail:
        yield tail


def _head(stream: BinaryIO) -> bytes:
    head = stream.read(_CHUNK) or b""
    if not isinstance(head, bytes):
        raise UnreadableInputError("the input must be a binary stream")
    return head[3:] if head.startswith(_BOM) else head


def _sniff(head: bytes) -> None:
    """Refuse input that is not text: NUL bytes, or mostly lines that are not UTF-8."""
    if b"\x00" in head:
        raise UnreadableInputError("the input is binary, not text")
    sample = [line for line in head.split(b"\n")[:32] if line.strip()]
    if len(head) == _CHUNK and len(sample) > 1:
        sample.pop()  # the last line of a full chunk may be cut inside a character
    bad = 0
    for line in sample:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
    if sample and bad * 2 > len(sample):
        raise UnreadableInputError("the input is not UTF-8 text")


def _first_line(head: bytes) -> bytes:
    for line in head.split(b"\n"):
        if line.strip():
            return line.strip()
    return b""


def _csv_dialect(header_line: str) -> tuple[str, list[str]] | None:
    # The delimiter that yields the most known columns; None when no delimiter yields any.
    best: tuple[int, str, list[str]] | None = None
    for delimiter in (",", ";", "\t"):
        columns = [c.strip() for c in next(csv.reader([header_line], delimiter=delimiter), [])]
        known = sum(1 for c in columns if c in _KNOWN_COLUMNS)
        if known and (best is None or known > best[0]):
            best = (known, delimiter, columns)
    return None if best is None else (best[1], best[2])


def detect_format(head: bytes) -> str:
    """`jsonl` or `csv` for the first bytes of an input; raises UnreadableInputError otherwise."""
    first = _first_line(head[3:] if head.startswith(_BOM) else head)
    if not first:
        return "jsonl"  # empty input: no records either way
    if first[:1] == b"{":
        return "jsonl"
    if first[:1] == b"[":
        raise UnreadableInputError("a JSON array is not supported; use JSON lines (one object per line)")
    try:
        header = first.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableInputError("the input is not UTF-8 text") from None
    if _csv_dialect(header) is None:
        raise UnreadableInputError("unknown format: neither JSON lines nor CSV with known columns")
    return "csv"


def read_records(stream: BinaryIO, fmt: str = "auto") -> Iterator[tuple[int, dict[str, Any] | FieldError]]:
    """(line number, record or FieldError) for each record of a JSON-lines or CSV byte stream."""
    if fmt not in FORMATS:
        raise UnreadableInputError("unknown format")
    head = _head(stream)
    _sniff(head)
    kind = detect_format(head) if fmt == "auto" else fmt
    if kind == "csv":
        return _read_csv(_lines(stream, head))
    return _read_jsonl(_lines(stream, head))


def _read_jsonl(lines: Iterator[bytes | object]) -> Iterator[tuple[int, dict[str, Any] | FieldError]]:
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    n = 0
    for line in lines:
        n += 1
        if line is _TOO_LONG:
            yield n, FieldError(_ROOT, "too_long")
            continue
        try:
            value = loads(line)  # type: ignore[arg-type]
        except decode_error:
            if not line.strip():  # type: ignore[attr-defined]
                continue  # blank lines separate nothing and are not records
            try:
                line.decode("utf-8")  # type: ignore[attr-defined]
            except UnicodeDecodeError:
                yield n, FieldError(_ROOT, "invalid_encoding")
            else:
                yield n, FieldError(_ROOT, "invalid_json")
            continue
        if value.__class__ is dict:
            yield n, value
        else:
            yield n, FieldError(_ROOT, "invalid_format")


def _decoded(lines: Iterator[bytes | object], bad: set[int]) -> Iterator[str]:
    # csv.reader needs text with the line ends (quoted cells may span lines). Undecodable lines are
    # noted in `bad` and decoded with replacement characters so that the parser keeps its place.
    n = 0
    for line in lines:
        n += 1
        if line is _TOO_LONG:
            bad.add(-n)
            yield "\n"
            continue
        try:
            yield line.decode("utf-8") + "\n"  # type: ignore[attr-defined]
        except UnicodeDecodeError:
            bad.add(n)
            yield line.decode("utf-8", "replace") + "\n"  # type: ignore[attr-defined]


def _read_csv(lines: Iterator[bytes | object]) -> Iterator[tuple[int, dict[str, Any] | FieldError]]:
    bad: set[int] = set()
    text = _decoded(lines, bad)
    header_line = next(text, None)
    if header_line is None or not header_line.strip():
        return
    if bad:
        raise UnreadableInputError("the CSV header is not UTF-8 text")
    dialect = _csv_dialect(header_line)
    if dialect is None:
        raise UnreadableInputError("the CSV header names no known column")
    delimiter, columns = dialect
    reader = csv.reader(text, delimiter=delimiter)
    end = 1  # physical line of the header
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # csv.Error's text names the problem, never the cell's content.
            start, end = end + 1, reader.line_num + 1
            yield start, FieldError(_ROOT, "too_long" if "field limit" in str(exc) else "invalid_format")
            continue
        start, end = end + 1, reader.line_num + 1
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if bad:
            lines_of_row = range(start, end + 1)
            if any(-n in bad for n in lines_of_row):
                yield start, FieldError(_ROOT, "too_long")
            elif any(n in bad for n in lines_of_row):
                yield start, FieldError(_ROOT, "invalid_encoding")
            else:
                yield start, unflatten(dict(zip(columns, cells, strict=False)))
            bad.difference_update([n for n in bad if abs(n) <= end])
        else:
            yield start, unflatten(dict(zip(columns, cells, strict=False)))


def write_jsonl(records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
    """Write one JSON object per line; returns the number of records."""
    dumps = orjson.dumps
    batch: list[bytes] = []
    n = 0
    for record in records:
        batch.append(dumps(record))
        n += 1
        if len(batch) >= 1024:
            batch.append(b"")
            stream.write(b"\n".join(batch))
            batch.clear()
    if batch:
        batch.append(b"")
        stream.write(b"\n".join(batch))
    return n


def write_csv(records: Iterable[Mapping[str, Any]], stream: BinaryIO) -> int:
    """Write records as CSV with the fixed `CSV_COLUMNS` header; returns the number of records.

    Columns are fixed up front so that writing streams; keys outside the data dictionary are dropped.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
    try:
        # "\r\n" (the csv default) makes the writer quote cells holding either line-end character.
        writer = csv.writer(text)
        writer.writerow(CSV_COLUMNS)
        n = 0
        for record in records:
            row = flatten(record)
            writer.writerow([row.get(c, "") for c in CSV_COLUMNS])
            n += 1
        text.flush()
    finally:
        text.detach()  # the caller owns (and closes) the binary stream
    return n
