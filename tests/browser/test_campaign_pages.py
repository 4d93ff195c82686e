"""The campaign pages in headless Chromium: a compliance officer opens them from the navigation, ticks a cohort,
previews it (size, samples, planned finish, the warning that it takes days), creates the draft and starts, pauses
and resumes it. The screenshot goes to build/screenshots/ (`make screenshots`: docs/screenshots/)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.integration.campaign_lines import Line, seed_lines

pytestmark = pytest.mark.slow


def test_a_compliance_officer_previews_creates_and_starts_a_campaign(page, live_server: Any):
    seed_lines(live_server.container.engine, [Line(phase=1 + i % 2) for i in range(20)])
    sign_in(page, *live_server.staff("compliance_officer", None))
    page.click("nav.tools a[href^='/campaigns']")
    page.wait_for_url("**/campaigns?lang=vi")
    page.click("[data-testid=new-campaign]")
    page.fill("#name", "Đợt 1 — chân dung")
    page.fill("#start_on", "2026-12-10")
    page.fill("#hours", "08:00-09:00")
    page.fill("#repeats", "2")
    page.fill("#rate_per_bind", "1")
    page.check("input[name=phases][value='1']")
    page.click("[data-testid=preview-button]")
    page.wait_for_selector("[data-testid=preview]")
    assert page.locator("[data-testid=preview-size]").inner_text() == "10"
    assert page.locator("[data-testid=sample-text]").count() == 3
    assert "Kéo dài 2 ngày: 2 đợt" in page.locator("[data-testid=preview-span]").inner_text()
    assert page.is_checked("input[name=phases][value='1']")  # the form kept what was ticked
    screenshot(page, "campaign-preview")

    page.click("[data-testid=create-button]")
    page.wait_for_selector("[data-testid=created]")
    assert page.locator("[data-testid=state]").inner_text() == "Bản nháp"
    page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=pause]")
    assert page.locator("[data-testid=state]").inner_text() == "Đang gửi"
    page.click("[data-testid=pause]")
    page.wait_for_selector("[data-testid=resume]")
    assert page.locator("[data-testid=state]").inner_text() == "Tạm dừng"
    page.click("[data-testid=resume]")
    page.wait_for_selector("[data-testid=pause]")
    page.goto("/campaigns?lang=en")
    assert page.locator("[data-testid=campaign-state]").first.inner_text() == "Running"
