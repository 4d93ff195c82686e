"""The regulator's report on SQLite and PostgreSQL: its figures against counts made in Python from the generated
rows (tests/integration/regulator_data.py), for months, a quarter, single days and province filters; its bad
input; and its three formats read back (openpyxl, csv, the HTML text)."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from subreg.bootstrap import regulator_renderer
from subreg.domain.common.errors import InputError, PermissionDeniedError
from subreg.domain.reports.regulator import FIGURES
from subreg.services.reports.regulator import RegulatorRequest, regulator_report
from tests.integration import regulator_data

NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
PERIODS = [
    (date(2026, 1, 1), date(2026, 1, 31)),
    (date(2026, 2, 1), date(2026, 2, 28)),
    (date(2026, 3, 1), date(2026, 3, 31)),
    (date(2026, 4, 1), date(2026, 6, 30)),
    (date(2026, 3, 15), date(2026, 3, 15)),
    (date(2025, 12, 1), date(2026, 7, 31)),
]


@pytest.fixture
def generated(container):
    data = regulator_data.generate(seed=15)
    regulator_data.write(container.engine, data)
    return data


def _report(container, start, end, provinces=None, scope=None):
    return regulator_report(
        RegulatorRequest(start, end, provinces), figures=container.regulator_figures(),
        options=container.report_options(), now=NOW, scope=scope,
    )  # fmt: skip


def _nonzero(report) -> dict[str, dict[str, int]]:
    found = {}
    for row in report.rows:
        values = {name: v for name, v in zip(FIGURES, row.values(), strict=True) if v}
        if values:
            found[row.province] = values
    return found


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_every_figure_by_province_matches_the_count_made_from_the_generated_rows(container, generated, start, end):
    report = _report(container, start, end)
    want = regulator_data.expected(generated, start, end)
    assert _nonzero(report) == want
    for i, name in enumerate(FIGURES):
        assert report.total.values()[i] == sum(p.get(name, 0) for p in want.values())
    assert report.operator == container.settings.operator_name
    assert (report.period.start, report.period.end) == (start, end)
    assert any(want.values()), "the generated data should give every period something to count"


def test_every_figure_is_exercised_by_the_generated_data(generated):
    want = regulator_data.expected(generated, date(2025, 12, 1), date(2026, 7, 31))
    for name in FIGURES:
        assert sum(p.get(name, 0) for p in want.values()) > 0, name


def test_a_province_filter_keeps_those_provinces_only_in_their_order(container, generated):
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    report = _report(container, start, end, provinces="079,unknown,001")
    assert [row.province for row in report.rows] == ["001", "079", "unknown"]
    assert _nonzero(report) == regulator_data.expected(generated, start, end, {"001", "079", "unknown"})


def test_without_a_filter_every_province_has_a_row_and_unknown_comes_last(container, generated):
    report = _report(container, date(2026, 1, 1), date(2026, 1, 31))
    codes = [row.province for row in report.rows]
    assert len(codes) == 64
    assert codes[0] == "001"
    assert codes[-1] == "unknown"


def test_a_regional_scope_limits_the_report_and_refuses_other_provinces(container, generated):
    start, end = date(2026, 1, 1), date(2026, 1, 31)
    report = _report(container, start, end, scope=("079",))
    assert [row.province for row in report.rows] == ["079"]
    assert _nonzero(report) == regulator_data.expected(generated, start, end, {"079"})
    with pytest.raises(PermissionDeniedError) as refused:
        _report(container, start, end, provinces="001", scope=("079",))
    assert [(e.field, e.code) for e in refused.value.errors] == [("province", "province_out_of_scope")]
    assert _report(container, start, end, scope=()).rows == ()


@pytest.mark.parametrize(
    ("start", "end", "provinces", "errors"),
    [
        ("2026-03-01", "2026-02-01", None, [("to", "end_before_start")]),
        ("2026-12-01", "2026-12-09", None, [("to", "date_in_future")]),
        ("2027-01-01", "2027-01-31", None, [("from", "date_in_future"), ("to", "date_in_future")]),
        ("2026-02-30", "", None, [("from", "invalid_format"), ("to", "required")]),
        ("2026-01-01", "2026-01-31", "001,999", [("province", "unknown_province")]),
    ],
)
def test_bad_input_names_the_field_and_the_code(container, start, end, provinces, errors):
    with pytest.raises(InputError) as refused:
        _report(container, start, end, provinces)
    assert [(e.field, e.code) for e in refused.value.errors] == errors


def test_a_period_with_no_data_is_an_empty_report_that_says_so(container, generated):
    report = _report(container, date(2010, 1, 1), date(2010, 1, 31))
    assert report.empty
    assert not any(report.total.values())
    html = regulator_renderer(container.settings, "en").html(report)
    assert "No data for this period" in html


def test_the_xlsx_holds_the_sheets_formulas_and_cached_totals(container, generated):
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    report = _report(container, start, end)
    data = regulator_renderer(container.settings, "en").xlsx(report)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "By province"]
    sheet = book["By province"]
    total_row = len(report.rows) + 2
    assert sheet.cell(total_row, 1).value == "total"
    assert [sheet.cell(total_row, 3 + i).value for i in range(len(FIGURES))] == [
        f"=SUM({col}2:{col}{total_row - 1})" for col in "CDEFGHI"
    ]
    body = [[sheet.cell(r, c).value for c in range(3, 10)] for r in range(2, total_row)]
    assert [sum(col) for col in zip(*body, strict=True)] == list(report.total.values())
    summary = book["Summary"]
    assert summary["B2"].value == report.operator
    formulas = [row[1].value for row in summary.iter_rows() if isinstance(row[1].value, str) and "!" in row[1].value]
    assert formulas == [f"='By province'!{col}{total_row}" for col in "CDEFGHI"]
    cached = load_workbook(io.BytesIO(data), data_only=True)  # the values a viewer shows without calculating
    assert [cached["By province"].cell(total_row, 3 + i).value for i in range(7)] == list(report.total.values())
    shown = [row[1].value for row in cached["Summary"].iter_rows() if row[0].value in {
        "Subscriptions at the end of the period", "Updated in the period", "Registered in the period",
        "Locked one-way", "Locked two-way", "Terminated", "Restored"}]  # fmt: skip
    assert shown == list(report.total.values())
    assert book.calculation.fullCalcOnLoad


def test_the_csv_parses_with_a_row_per_province_and_the_total(container, generated):
    report = _report(container, date(2026, 2, 1), date(2026, 2, 28))
    text = regulator_renderer(container.settings, "vi").csv(report).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(report.rows) + 1
    assert rows[-1]["province_code"] == "total"
    assert [int(rows[-1][name]) for name in FIGURES] == list(report.total.values())
    assert {r["operator"] for r in rows} == {report.operator}
    assert {(r["from"], r["to"]) for r in rows} == {("2026-02-01", "2026-02-28")}
    by_code = {r["province_code"]: r for r in rows}
    assert by_code["001"]["province"] == "Hà Nội"
    for row in report.rows:
        assert [int(by_code[row.province][n]) for n in FIGURES] == list(row.values())


def test_an_operator_template_extends_the_shipped_one(container, generated, tmp_path):
    template = tmp_path / "operator-report.html"
    template.write_text('{% extends "builtin/regulator.html" %}{% block letterhead %}<p id="lh">CÔNG TY {{ operator }}'
                        "</p>{% endblock %}", encoding="utf-8")  # fmt: skip
    settings = container.settings.model_copy(update={"regulator_report_template": template})
    report = replace(_report(container, date(2026, 1, 1), date(2026, 1, 31)), operator="<b>Mạng X</b>")
    html = regulator_renderer(settings, "vi").html(report)
    assert '<p id="lh">CÔNG TY &lt;b&gt;Mạng X&lt;/b&gt;</p>' in html  # the operator's own block, escaped
    assert "Báo cáo tình hình thông tin thuê bao di động" in html  # the shipped blocks around it
    missing = settings.model_copy(update={"regulator_report_template": tmp_path / "absent.html"})
    with pytest.raises(InputError) as refused:
        regulator_renderer(missing)
    assert [(e.field, e.code) for e in refused.value.errors] == [("regulator_report_template", "not_found")]
