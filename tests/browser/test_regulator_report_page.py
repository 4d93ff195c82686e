"""The regulator's report in headless Chromium: a compliance officer opens it from the navigation, asks for a
period and sees the totals of the generated data (screenshot `regulator-report.png`); the printable page is
printed to PDF by Chromium (what gets signed) and the PDF carries the operator's name."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from subreg.domain.reports.regulator import FIGURES
from tests.browser.conftest import screenshot, sign_in
from tests.integration import regulator_data

pytestmark = pytest.mark.slow
OPERATOR = "Mạng Di Động Thử Nghiệm"


def _pdf_title(pdf: bytes) -> str:
    """The document title Chromium writes into the PDF's information dictionary (hex UTF-16, or a literal)."""
    found = re.search(rb"/Title\s*<([0-9A-Fa-f]+)>", pdf)
    if found:
        return bytes.fromhex(found.group(1).decode()).decode("utf-16")
    literal = re.search(rb"/Title\s*\((.*?)(?<!\\)\)", pdf, re.S)
    assert literal, "the PDF has no title"
    return literal.group(1).decode("latin-1")


def test_a_compliance_officer_reads_the_report_and_prints_it_to_pdf(page, live_server: Any, tmp_path):
    data = regulator_data.generate(seed=21, n=250)
    regulator_data.write(live_server.container.engine, data)
    live_server.container.settings.operator_name = OPERATOR  # read by every report (Container.report_options)
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    want = regulator_data.expected(data, start, end)

    sign_in(page, *live_server.staff("compliance_officer", None))
    page.click("nav.tools a[href^='/reports/regulator']")
    page.wait_for_url("**/reports/regulator?lang=vi")
    page.fill("#from", start.isoformat())
    page.fill("#to", end.isoformat())
    page.click("[data-testid=period-form] button[type=submit]")
    page.wait_for_selector("[data-testid=report]")
    for name in FIGURES:
        shown = page.locator(f"[data-testid=total-{name}]").inner_text()
        assert int(shown.replace(".", "")) == sum(p.get(name, 0) for p in want.values()), name
    assert page.locator("[data-testid=operator]").inner_text() == OPERATOR
    screenshot(page, "regulator-report")

    printable = page.locator("[data-testid=download-html]").get_attribute("href")
    page.goto(printable)
    assert page.locator("[data-testid=operator]").text_content() == OPERATOR  # shown in capitals (CSS)
    pdf_path = tmp_path / "regulator-report.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf_path), prefer_css_page_size=True, print_background=True)
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 1
    assert OPERATOR in _pdf_title(pdf)
