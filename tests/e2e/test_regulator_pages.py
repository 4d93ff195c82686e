"""The regulator's report page through the web app: a compliance officer picks a period and sees the figures of
the generated data, downloads the three formats; bad periods and provinces are named on the form; counter staff
are refused."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date

import pytest
from openpyxl import load_workbook

from subreg.domain.reports.regulator import FIGURES
from tests.e2e.test_phone_pages import _app, _signed_in
from tests.integration import regulator_data

START, END = date(2026, 1, 1), date(2026, 2, 28)
QUERY = f"from={START.isoformat()}&to={END.isoformat()}"


@pytest.fixture
def web(tmp_path) -> Iterator:
    with _app(tmp_path, operator_name="Mạng Thử Nghiệm") as client:
        data = regulator_data.generate(seed=11, n=200)
        regulator_data.write(client.app.state.container.engine, data)
        client.data = data
        yield client


def _totals(data) -> list[int]:
    want = regulator_data.expected(data, START, END)
    return [sum(p.get(name, 0) for p in want.values()) for name in FIGURES]


def test_a_compliance_officer_sees_the_figures_and_downloads_every_format(web):
    _signed_in(web, "compliance_officer")
    empty_form = web.get("/reports/regulator?lang=en")
    assert empty_form.status_code == 200
    assert 'name="from"' in empty_form.text
    assert 'data-testid="report"' not in empty_form.text
    page = web.get(f"/reports/regulator?lang=en&{QUERY}")
    assert page.status_code == 200
    shown = [
        int(re.search(rf'data-testid="total-{f}">([\d,]+)<', page.text).group(1).replace(",", "")) for f in FIGURES
    ]
    assert shown == _totals(web.data)
    assert "Mạng Thử Nghiệm" in page.text
    links = dict(
        re.findall(r'href="(/reports/regulator/download\?[^"]+)" [^>]*data-testid="download-(\w+)"', page.text)
    )
    links = {fmt: url.replace("&amp;", "&") for url, fmt in links.items()}
    assert set(links) == {"xlsx", "csv", "html"}
    xlsx = web.get(links["xlsx"])
    assert xlsx.status_code == 200
    assert "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content), data_only=True)
    sheet = book["By province"]
    assert [sheet.cell(sheet.max_row, 3 + i).value for i in range(len(FIGURES))] == _totals(web.data)
    rows = list(csv.DictReader(io.StringIO(web.get(links["csv"]).content.decode("utf-8-sig"))))
    assert [int(rows[-1][f]) for f in FIGURES] == _totals(web.data)
    printable = web.get(links["html"])
    assert printable.headers["content-type"].startswith("text/html")
    assert "inline" in printable.headers["content-disposition"]
    assert "Mạng Thử Nghiệm" in printable.text
    assert "@page" in printable.text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-03-01&to=2026-02-01", "to", "The end of the period is before its start"),
        ("from=2026-03-01&to=2099-02-01", "to", "Date is in the future"),
        (f"{QUERY}&province=001,123", "province", "No province has this code"),
    ],
)
def test_bad_input_is_named_on_the_form(web, query, field, message):
    _signed_in(web, "compliance_officer")
    page = web.get(f"/reports/regulator?lang=en&{query}")
    assert page.status_code == 422
    assert re.search(rf'data-testid="error-{field}">{message}', page.text), page.text
    assert 'data-testid="report"' not in page.text


def test_a_period_without_data_says_so(web):
    _signed_in(web, "compliance_officer")
    page = web.get("/reports/regulator?lang=en&from=2001-01-01&to=2001-01-31")
    assert page.status_code == 200
    assert 'data-testid="empty"' in page.text


def test_a_bad_download_format_is_refused_with_field_and_code(web):
    _signed_in(web, "compliance_officer")
    refused = web.get(f"/reports/regulator/download?{QUERY}&format=pdf")
    assert refused.status_code == 422
    error = refused.json()["error"]["errors"][0]
    assert (error["field"], error["code"]) == ("format", "invalid_choice")
    assert error["message"]


def test_counter_staff_may_not_read_reports(web):
    _signed_in(web, "store_staff")
    assert web.get(f"/reports/regulator?{QUERY}").status_code == 403
    assert web.get(f"/reports/regulator/download?{QUERY}&format=csv").status_code == 403
