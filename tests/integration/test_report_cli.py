"""`subreg report regulator` through Typer's runner: the three formats to a file or standard output, and bad input
as field, code and message with exit code 2 (never a traceback)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from subreg.bootstrap import bootstrap
from subreg.cli import report as report_cli
from subreg.cli.main import app
from subreg.config import Settings
from subreg.domain.reports.regulator import FIGURES
from tests.integration import regulator_data

START, END = date(2026, 2, 1), date(2026, 3, 31)
PERIOD = ["--from", START.isoformat(), "--to", END.isoformat()]


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.setenv("SUBREG_OPERATOR_NAME", "Mạng Di Động Thử")
    monkeypatch.chdir(tmp_path)
    r = CliRunner()
    assert r.invoke(app, ["init"]).exit_code == 0
    c = bootstrap(Settings())
    data = regulator_data.generate(seed=7, n=150)
    regulator_data.write(c.engine, data)
    c.close()
    return r, data


def _totals(data, provinces=None) -> list[int]:
    want = regulator_data.expected(data, START, END, provinces)
    return [sum(p.get(name, 0) for p in want.values()) for name in FIGURES]


def test_csv_goes_to_standard_output_by_default(runner):
    r, data = runner
    result = r.invoke(app, ["report", "regulator", *PERIOD])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    assert rows[-1]["province_code"] == "total"
    assert [int(rows[-1][n]) for n in FIGURES] == _totals(data)
    assert rows[0]["operator"] == "Mạng Di Động Thử"


def test_xlsx_to_a_file_and_the_format_from_its_extension(runner, tmp_path):
    r, data = runner
    out = tmp_path / "report.xlsx"
    result = r.invoke(app, ["report", "regulator", *PERIOD, "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    book = load_workbook(out, data_only=True)
    assert book.sheetnames == ["Summary", "By province"]
    sheet = book["By province"]
    assert [sheet.cell(sheet.max_row, 3 + i).value for i in range(len(FIGURES))] == _totals(data)


def test_xlsx_to_a_pipe_but_never_to_a_terminal(runner, monkeypatch):
    r, _ = runner
    piped = r.invoke(app, ["report", "regulator", *PERIOD, "--format", "xlsx"])
    assert piped.exit_code == 0
    assert piped.stdout_bytes[:2] == b"PK"  # a zip: the workbook
    monkeypatch.setattr(report_cli, "_stdout_is_terminal", lambda: True)
    refused = r.invoke(app, ["report", "regulator", *PERIOD, "--format", "xlsx"])
    assert refused.exit_code == 2
    assert "out: binary_to_terminal" in refused.stderr


def test_html_with_a_province_filter(runner):
    r, _data = runner
    result = r.invoke(app, ["report", "regulator", *PERIOD, "--format", "html", "--province", "079,001"])
    assert result.exit_code == 0, result.output
    assert "Mạng Di Động Thử" in result.stdout
    assert "Hồ Chí Minh" in result.stdout
    assert "Đà Nẵng" not in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "2026-03-01", "--to", "2026-02-01"], "to: end_before_start"),
        (["--from", "2026-03-01", "--to", "2099-01-01"], "to: date_in_future"),
        (["--from", "2026-13-01", "--to", "2026-02-01"], "from: invalid_format"),
        ([*PERIOD, "--province", "999"], "province: unknown_province"),
        ([*PERIOD, "--format", "pdf"], "format: invalid_choice"),
    ],
)
def test_bad_input_is_a_field_a_code_and_a_message(runner, args, expected):
    r, _ = runner
    result = r.invoke(app, ["report", "regulator", *args])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_an_empty_period_is_an_empty_report_that_says_so(runner):
    r, _ = runner
    result = r.invoke(app, ["report", "regulator", "--from", "2001-01-01", "--to", "2001-01-31"])
    assert result.exit_code == 0
    assert "No data for this period" in result.stderr


def test_help_has_an_example(runner):
    r, _ = runner
    for command in (["report", "--help"], ["report", "regulator", "--help"]):
        result = r.invoke(app, command)
        assert result.exit_code == 0
        assert "Example: subreg report regulator" in result.stdout
