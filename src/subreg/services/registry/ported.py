"""The MNP list: loading the national MNP database's export (`subreg numbers load-ported`), and its counts.

Since 16/11/2018 a number's prefix does not prove its operator (docs/rules.md P2): the numbers ported in
to this operator and out of it decide, with the ranges of the setting `operator_ranges`. The export lists
millions of numbers. A load streams it in chunks into ONE transaction: a bad line, an error or a kill
leaves the previous list as it was, and readers (the counter) keep seeing it until the commit. Any bad line
refuses the whole load: a number that cannot be read might be one ported out, and with `--replace` it would
silently leave the list. The bad lines are reported by line number, field and code, never by value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from subreg.domain.common.errors import FieldError
from subreg.domain.common.msisdn import parse_msisdn
from subreg.domain.common.operator_numbers import PORTED_IN, PORTED_OUT
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.registry.ports import PortedCounts, PortedSource, RegistryUnitOfWork

__all__ = ["BAD_LINES_KEPT", "PortedLoad", "load_ported", "ported_counts"]

BAD_LINES_KEPT = 100  # bad lines reported in detail; the rest are counted
_DIRECTIONS = {PORTED_IN: PORTED_IN, PORTED_OUT: PORTED_OUT}
_CHUNK = 10_000

Progress = Callable[[int, int], None]  # (byte offset, rows read)


@dataclass(slots=True)
class PortedLoad:
    """What a load did: the numbers read per direction, the size of the list a `--replace` dropped, and the
    bad lines (nothing is written when there is one)."""

    rows: int = 0
    ported_in: int = 0
    ported_out: int = 0
    replaced: int = 0
    bad_lines: int = 0
    bad: list[tuple[int, FieldError]] = field(default_factory=list)  # the first BAD_LINES_KEPT lines' errors

    @property
    def loaded(self) -> bool:
        """Whether the list was written (no bad line)."""
        return self.bad_lines == 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON summary of `subreg numbers load-ported --json`."""
        return {
            "loaded": self.loaded,
            "rows": self.rows,
            "ported_in": self.ported_in,
            "ported_out": self.ported_out,
            "replaced": self.replaced,
            "bad_lines": self.bad_lines,
            "errors": [{"line": line, "field": e.field, "code": e.code} for line, e in self.bad],
        }


def _judge(msisdn: str, direction: str) -> tuple[int, str] | list[FieldError]:
    """(key, direction) of one data line, or its errors."""
    errors = []
    e164 = parse_msisdn(msisdn) if msisdn else None
    if e164 is None:
        errors.append(FieldError("msisdn", "invalid_msisdn" if msisdn else "required"))
    chosen = _DIRECTIONS.get(direction.lower())
    if chosen is None:
        errors.append(FieldError("direction", "invalid_choice" if direction else "required"))
    if errors or e164 is None or chosen is None:
        return errors
    return int(e164[1:]), chosen


def load_ported(
    source: PortedSource,
    *,
    uow: RegistryUnitOfWork,
    replace: bool,
    now: datetime,
    progress: Progress | None = None,
    chunk: int = _CHUNK,
) -> PortedLoad:
    """Load an MNP export in one transaction: numbers ported in and out (a number listed again takes the new
    direction); with `replace`, the list becomes exactly the file. Audited as `ported_numbers:loaded`."""
    result = PortedLoad()
    rows: list[tuple[int, str]] = []
    offset = 0
    with uow:
        if replace:
            result.replaced = uow.ported.clear()
        for line, offset, item in source.items():
            if isinstance(item, FieldError):
                _note_bad_line(result, line, [item])
                continue
            judged = _judge(*item)
            if isinstance(judged, list):
                _note_bad_line(result, line, judged)
                continue
            result.rows += 1
            if judged[1] == PORTED_IN:
                result.ported_in += 1
            else:
                result.ported_out += 1
            if result.bad_lines:
                continue  # the load is refused already: read on only to report the other bad lines
            rows.append(judged)
            if len(rows) >= chunk:
                uow.ported.put_many(rows, loaded_at=now)
                rows = []
                if progress is not None:
                    progress(offset, result.rows)
        if result.bad_lines:
            uow.rollback()
            return result
        uow.ported.put_many(rows, loaded_at=now)
        audit_trail.record(
            uow, actor=None, action=AuditAction.PORTED_NUMBERS_LOADED, subject="ported_numbers",
            details={"rows": result.rows, "in": result.ported_in, "out": result.ported_out, "replace": replace,
                     "replaced": result.replaced},
            now=now,
        )  # fmt: skip
        uow.commit()
    if progress is not None:
        progress(offset, result.rows)
    return result


def _note_bad_line(result: PortedLoad, line: int, errors: list[FieldError]) -> None:
    result.bad_lines += 1
    if result.bad_lines <= BAD_LINES_KEPT:
        result.bad.extend((line, e) for e in errors)


def ported_counts(*, uow: RegistryUnitOfWork) -> PortedCounts:
    """How many numbers the MNP list holds per direction, and when it was last loaded."""
    with uow:
        return uow.ported.counts()
