"""The signal pages in headless Chromium: a compliance officer opens the work list from the navigation, sees an
ID document with four lines and no contract (masked numbers only), escalates it with a reason, and switches to
another list. The screenshot goes to build/screenshots/ (`make screenshots`: docs/screenshots/fraud-signals.png)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.records import complete_record, with_holder

pytestmark = pytest.mark.slow


def _store(server: Any, number: str, id_number: str, point: str) -> None:
    c = server.container
    record = with_holder(complete_record(msisdn=number, point_of_sale=point), id_number=id_number)
    with c.uow() as uow:
        c.registry().store(record, uow=uow, as_of=date(2026, 11, 28), actor=None, channel="store")
        uow.commit()


def test_a_compliance_officer_escalates_a_signal(page, live_server: Any):
    for i in range(4):
        _store(live_server, f"090400000{i}", "079190123456", ("HN-HK-01", "HN-HK-01", "HN-CG-02", "HN-CG-02")[i])
    _store(live_server, "0904000010", "079190654321", "HCM-Q1-01")
    sign_in(page, *live_server.staff("compliance_officer", None))
    page.click("nav.tools a[href^='/signals']")
    page.wait_for_url("**/signals?lang=vi")
    rows = page.locator("[data-testid=signal-row]")
    assert rows.count() == 1
    assert "079190123456" not in page.content()
    row = rows.first
    row.locator("select[name=decision]").select_option("escalated")
    row.locator("select[name=reason]").select_option("suspected_fraud")
    row.locator("input[name=note]").fill("Chuyển bộ phận chống gian lận")
    row.locator("button[type=submit]").last.click()
    page.wait_for_selector("[data-testid=saved]")
    assert page.locator("[data-testid=signal-state]").first.inner_text().startswith("Chuyển cấp")
    screenshot(page, "fraud-signals")
    page.click("[data-testid=signal-kinds] a[href*='kind=multi_pos_day']")
    page.wait_for_selector("[data-testid=signal-counts]")
    assert page.locator("[data-testid=signal-row]").count() == 1  # 4 registrations at 2 points today
