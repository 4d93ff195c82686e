"""The dashboard in headless Chromium: a compliance officer opens it from the navigation, picks a period of
eleven daily snapshots and sees the charts (inline SVG with titles) and their CSV links; a regional manager sees
only its province. The screenshot goes to build/screenshots/ (`make screenshots`: docs/screenshots/)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from subreg.services.access import set_provinces
from tests.browser.conftest import screenshot, sign_in
from tests.report_data import AS_OF, generate, load_sql

pytestmark = pytest.mark.slow
FIRST = AS_OF - timedelta(days=10)


@pytest.fixture(scope="module")
def snapshots(live_server: Any) -> None:
    c = live_server.container
    load_sql(c.engine, generate(seed=5, n=600))
    for i in range(11):  # a little progress every day: some lines completed before each day's snapshot
        with c.engine.begin() as conn:
            conn.execute(text("UPDATE subscriptions SET verdict = 0, contract_needed = false, missing_mask = 0 "
                              "WHERE id % 13 = :r"), {"r": i})  # fmt: skip
        c.take_snapshot(FIRST + timedelta(days=i))


def test_a_compliance_officer_reads_the_dashboard_of_a_period(page, live_server: Any, snapshots: None):
    sign_in(page, *live_server.staff("compliance_officer", None))
    page.click("nav.tools a[href^='/reports']")
    page.wait_for_url("**/reports?lang=vi")
    page.fill("#from", FIRST.isoformat())
    page.fill("#to", AS_OF.isoformat())
    page.click("[data-testid=period-form] button[type=submit]")
    page.wait_for_selector("[data-testid=chart-progress] svg")
    for chart in ("progress", "funnel", "campaign", "pos", "provinces"):
        assert page.locator(f"[data-testid=chart-{chart}] svg title").count() >= 1, chart
        assert page.locator(f"[data-testid=csv-{chart}]").count() == 1
    assert page.locator("[data-testid=chart-progress] svg rect[fill]").count() >= 22  # two series x 11 days
    assert "toàn mạng" in page.locator("[data-testid=scope]").inner_text()
    page.set_viewport_size({"width": 1100, "height": 900})
    screenshot(page, "reports-dashboard")
    csv = page.request.get(f"{live_server.url}/reports/dashboard/progress.csv?from={FIRST}&to={AS_OF}")
    assert csv.ok
    assert len(csv.text().strip().splitlines()) == 12  # a header and eleven days


def test_a_regional_manager_sees_its_province_only(page, live_server: Any, snapshots: None):
    username, password = live_server.staff("regional_manager", None)
    with live_server.container.uow() as uow:
        set_provinces(uow, username, ["079"])
    sign_in(page, username, password, "/reports")
    page.goto(f"{live_server.url}/reports?lang=en&from={FIRST}&to={AS_OF}")
    page.wait_for_selector("[data-testid=chart-provinces] svg")
    assert page.locator("[data-testid=scope]").inner_text() == "Scope: provinces 079."
    # The numbers' table is in a closed <details>: its text, not its (hidden) rendering.
    cells = page.locator("[data-testid=table-provinces] tbody tr td:first-child").all_text_contents()
    assert cells == ["079"]
