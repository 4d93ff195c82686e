"""The batch file exchange with the population database (how the 2022-23 reconciliation was done).

Request file (`subreg verify population --batch-out FILE`): CSV, UTF-8, header
`ref,id_number,full_name,date_of_birth`, one line per subscription to match (`ref` = the subscription id).
Answer file (`--batch-in FILE`): CSV, header `ref,id_number,full_name,date_of_birth`, each field
`match`, `mismatch` or `not_found`. The request file holds personal data: it is written with mode 0600 and
its handling is the operator's exchange procedure (docs/verification.md).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.verification.population import FieldResult, PopulationAnswer, PopulationQuery

__all__ = ["HEADER", "BatchRequestWriter", "read_answers", "read_requests", "write_answers"]

HEADER = ("ref", "id_number", "full_name", "date_of_birth")
_RESULTS = {r.value: r for r in FieldResult}
MAX_ERRORS = 20


class BatchRequestWriter:
    """Writes the request file (CSV, mode 0600); use as a context manager."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(HEADER)
        self.count = 0

    def write(self, queries: Sequence[PopulationQuery]) -> None:
        """Append these queries."""
        self._csv.writerows((q.ref, q.id_number, q.full_name, q.date_of_birth) for q in queries)
        self.count += len(queries)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BatchRequestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_answers(path: Path) -> list[PopulationAnswer]:
    """Every answer of an answer file, validated first (nothing is stored when a line is bad).

    InputError: `batch_in.header` (`invalid_format`), `batch_in.line[N].<column>` (`invalid_choice` for a
    result, `invalid_format` for a ref or a short line), a repeated ref is `invalid_format` too; at most 20 listed."""
    answers: list[PopulationAnswer] = []
    errors: list[FieldError] = []
    seen: set[int] = set()
    with path.open(encoding="utf-8", newline="") as f:
        rows: Iterator[list[str]] = csv.reader(f)
        header = next(rows, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise InputError([FieldError("batch_in.header", "invalid_format")])
        for n, row in enumerate(rows, start=2):
            if len(errors) >= MAX_ERRORS:
                break
            if len(row) != 4:
                errors.append(FieldError(f"batch_in.line[{n}]", "invalid_format"))
                continue
            ref, *fields = row
            if not ref.isdigit():
                errors.append(FieldError(f"batch_in.line[{n}].ref", "invalid_format"))
                continue
            results = []
            for column, value in zip(HEADER[1:], fields, strict=True):
                result = _RESULTS.get(value.strip())
                if result is None:
                    errors.append(FieldError(f"batch_in.line[{n}].{column}", "invalid_choice"))
                results.append(result)
            line = int(ref)
            if line in seen:
                errors.append(FieldError(f"batch_in.line[{n}].ref", "invalid_format"))  # a repeated ref
                continue
            seen.add(line)
            if None not in results:
                answers.append(PopulationAnswer(line, *results))  # type: ignore[arg-type]
    if errors:
        raise InputError(errors)
    return answers


def write_answers(path: Path, answers: Sequence[PopulationAnswer]) -> None:
    """Write an answer file (what the database's side sends back; tests and the reference registry use it)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(HEADER)
        out.writerows((a.ref, a.id_number.value, a.full_name.value, a.date_of_birth.value) for a in answers)


def read_requests(path: Path) -> list[PopulationQuery]:
    """Every query of a request file (the database's side of the exchange; tests and the reference registry)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        next(rows, None)
        return [PopulationQuery(int(r), i, n, d) for r, i, n, d in rows]
