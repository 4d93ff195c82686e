"""`subreg import FILE.parquet` through the real command line: what is stored, and the error without pyarrow.

Runs on SQLite and PostgreSQL (the `container` fixture initialises the database the CLI imports into).
"""

from __future__ import annotations

import sys
import unicodedata
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from subreg.adapters.files.import_sources import _parquet_text
from subreg.adapters.files.records_io import write_jsonl
from subreg.cli.main import app
from subreg.domain.compliance.records import BOOL_FIELDS, INT_FIELDS, flatten
from subreg.domain.registry.column_mapping import DATE_PATHS
from subreg.services.registry.demo_data import generate_records
from tests.integration.test_import import AS_OF, dump_database

NAME = "Nguyễn Thị Hương"


@pytest.fixture
def cli(container, settings, monkeypatch) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SUBREG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SUBREG_ENV", "test")
    return CliRunner()


# pandas writes dates as timestamps, and integers with gaps as floats
TIMESTAMP_COLUMN = "holder.date_of_birth"


def _column(name: str, cells: list[str | None]) -> pa.Array:
    """A typed column where every value converts (dates, booleans, numbers), else strings: as exports are."""
    present = [c for c in cells if c is not None]
    try:
        if name == TIMESTAMP_COLUMN:
            stamps = [None if c is None else datetime.combine(date.fromisoformat(c), time(0)) for c in cells]
            return pa.array(stamps, pa.timestamp("ns"))
        if name in DATE_PATHS:
            return pa.array([None if c is None else date.fromisoformat(c) for c in cells], pa.date32())
        if name in BOOL_FIELDS and set(present) <= {"true", "false"}:
            return pa.array([None if c is None else c == "true" for c in cells], pa.bool_())
        if name in INT_FIELDS:
            return pa.array([None if c is None else float(int(c)) for c in cells], pa.float64())
    except ValueError:
        pass
    return pa.array(cells, pa.string())


def write_parquet(path: Path, records: list[dict[str, Any]]) -> pa.Table:
    rows = [flatten(r) for r in records]
    names = sorted({k for row in rows for k in row})
    table = pa.table({n: _column(n, [row.get(n) for row in rows]) for n in names})
    pq.write_table(table, path, row_group_size=7)  # several row groups: the reader goes through batches
    return table


def _records(n: int) -> list[dict[str, Any]]:
    records = list(generate_records(n, 9, as_of=AS_OF))
    first = next(r for r in records if r.get("subscriber_type") == "individual" and r.get("holder"))
    # Decomposed tone marks, as some exports write them: stored precomposed (NFC).
    first["holder"]["full_name"] = unicodedata.normalize("NFD", NAME)
    return records


def _import(cli: CliRunner, path: Path) -> dict[str, Any]:
    result = cli.invoke(app, ["import", str(path), "--quiet", "--json", "--workers", "1", "--as-of", "2018-03-15"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)["total"]


def test_a_parquet_export_is_stored_as_the_same_records_in_json_lines_would_be(cli, container, tmp_path):
    records = _records(40)
    path = tmp_path / "export.parquet"
    table = write_parquet(path, records)
    # Typed columns, not only strings (a date column with a malformed demo value would stay text).
    assert table.schema.field(TIMESTAMP_COLUMN).type == pa.timestamp("ns")
    assert table.schema.field("activated_on").type == pa.date32()

    total = _import(cli, path)
    assert total["imported"] + total["rejected"] == 40
    assert total["imported"] >= 38
    stored = dump_database(container.engine, container.vault)
    assert stored["counts"]["subscriptions"] == total["imported"]
    (holder,) = [r[-1]["holder"] for r in stored["records"] if r[-1].get("holder", {}).get("full_name") == NAME]
    (given,) = [
        r["holder"] for r in records if r.get("holder", {}).get("full_name") == unicodedata.normalize("NFD", NAME)
    ]
    assert holder["date_of_birth"] == given["date_of_birth"]  # from a timestamp column, back to the ISO date
    assert holder["id_number"] == given["id_number"]

    # The same records as JSON lines change nothing: Parquet stored exactly what they say.
    jsonl = tmp_path / "export.jsonl"
    with jsonl.open("wb") as f:
        write_jsonl(records, f)
    again = _import(cli, jsonl)
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, total["imported"])


def test_without_pyarrow_the_import_says_what_to_install(cli, container, tmp_path, monkeypatch):
    path = tmp_path / "export.parquet"
    write_parquet(path, _records(3))
    # As if pyarrow were not installed: importing it fails.
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = cli.invoke(app, ["import", str(path), "--quiet", "--workers", "1"])
    assert result.exit_code == 2
    message = " ".join(result.output.split())  # Rich wraps long lines
    assert "Parquet input needs the optional package pyarrow" in message
    assert "parquet extra" in message
    assert dump_database(container.engine, container.vault)["counts"]["subscriptions"] == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (date(1990, 3, 5), "1990-03-05"),
        (datetime(1990, 3, 5), "1990-03-05"),
        (datetime(2016, 3, 1, 10, 22), "2016-03-01T10:22:00"),
        (True, "true"),
        (False, "false"),
        (1990.0, "1990"),
        (0.5, "0.5"),
        (912345678, "912345678"),
        ("Hà Nội", "Hà Nội"),
    ],
)
def test_typed_cells_read_as_the_text_a_csv_would_hold(value, text):
    assert _parquet_text(value) == text
