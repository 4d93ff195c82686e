"""Column mappings (pure): an operator's export columns and date formats -> the data dictionary.

A mapping is a small TOML document (parsed with the standard library; the caller reads the file):

    [columns]                       # operator column -> data-dictionary path (CSV_COLUMNS)
    SO_TB = "msisdn"
    HO_TEN = "holder.full_name"
    NGAY_SINH = "holder.date_of_birth"
    LOAI_GT = "holder.id_type"

    [dates]
    format = "%d/%m/%Y"             # strptime format of every date field (default: ISO YYYY-MM-DD)
    "holder.date_of_birth" = "%d%m%Y"   # a per-field format wins

    [values."holder.id_type"]       # optional value translation (exact match after trimming)
    CMND = "cmnd"
    CCCD = "cccd"

    [options]
    keep_unmapped = false           # true: columns that already carry data-dictionary names pass through

Applying a mapping to a flat row (column -> cell) gives a flat row keyed by data-dictionary paths;
dates that do not parse with the declared format are left as given, so the rule set reports
`invalid_date` on them (the row is imported as invalid, nothing is lost).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.records import CSV_COLUMNS

__all__ = ["DATE_PATHS", "ColumnMapping", "apply_mapping", "parse_mapping"]

_KNOWN = frozenset(CSV_COLUMNS)
DATE_PATHS = frozenset(c for c in CSV_COLUMNS if c.endswith(("_date", "date_of_birth")) or c in ("activated_on",))
_ISO = "%Y-%m-%d"


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """A parsed mapping: renames, date formats per path, value translations per path."""

    columns: Mapping[str, str] = field(default_factory=dict)
    date_formats: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    keep_unmapped: bool = False

    @property
    def identity(self) -> bool:
        """True when applying it changes nothing (no mapping file given)."""
        return not self.columns and not self.date_formats and not self.values


def _bad(path: str, code: str = "invalid_format") -> InputError:
    return InputError([FieldError(path, code)])


def _check_format(fmt: Any, where: str) -> str:
    if not isinstance(fmt, str) or "%" not in fmt:
        raise _bad(where)
    return fmt


def parse_mapping(text: str) -> ColumnMapping:
    """Parse a mapping document; InputError (field = the offending TOML key) when it is wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise _bad("mapping", "invalid_format") from None
    columns_doc = doc.get("columns", {})
    if not isinstance(columns_doc, dict):
        raise _bad("columns")
    columns: dict[str, str] = {}
    for source, target in columns_doc.items():
        if not isinstance(target, str) or target not in _KNOWN:
            raise _bad(f"columns.{source}", "invalid_choice")
        columns[str(source).strip()] = target
    dates_doc = doc.get("dates", {})
    if not isinstance(dates_doc, dict):
        raise _bad("dates")
    default = dates_doc.get("format")
    formats: dict[str, str] = {}
    if default is not None:
        fmt = _check_format(default, "dates.format")
        formats = dict.fromkeys(DATE_PATHS, fmt)
    for path, fmt in dates_doc.items():
        if path == "format":
            continue
        if path not in DATE_PATHS:
            raise _bad(f"dates.{path}", "invalid_choice")
        formats[path] = _check_format(fmt, f"dates.{path}")
    values_doc = doc.get("values", {})
    if not isinstance(values_doc, dict):
        raise _bad("values")
    values: dict[str, dict[str, str]] = {}
    for path, table in values_doc.items():
        if path not in _KNOWN:
            raise _bad(f"values.{path}", "invalid_choice")
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise _bad(f"values.{path}")
        values[path] = {str(k).strip(): v for k, v in table.items()}
    options = doc.get("options", {})
    keep = bool(options.get("keep_unmapped", False)) if isinstance(options, dict) else False
    return ColumnMapping(columns, {p: f for p, f in formats.items() if f != _ISO}, values, keep)


def _date(cell: str, fmt: str) -> str:
    try:
        return datetime.strptime(cell.strip(), fmt).date().isoformat()
    except ValueError:
        return cell


def apply_mapping(mapping: ColumnMapping, row: Mapping[str, str | None]) -> dict[str, str]:
    """The flat row (data-dictionary path -> cell) of an operator's row; empty cells are dropped."""
    if mapping.identity:
        return {k: v for k, v in row.items() if v}
    out: dict[str, str] = {}
    columns = mapping.columns
    keep = mapping.keep_unmapped or not columns
    for source, cell in row.items():
        if not cell:
            continue
        path = columns.get(source)
        if path is None:
            if not keep or source not in _KNOWN:
                continue
            path = source
        table = mapping.values.get(path)
        if table is not None:
            cell = table.get(cell.strip(), cell)
        fmt = mapping.date_formats.get(path)
        if fmt is not None:
            cell = _date(cell, fmt)
        out[path] = cell
    return out
