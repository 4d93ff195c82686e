"""The enforcement page in headless Chromium: a compliance officer opens it from the navigation, previews a
day's sweep (nothing changes) and sees the timeline. The screenshot goes to build/screenshots/
(`make screenshots`: docs/screenshots/)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.browser.conftest import screenshot, sign_in
from tests.integration.campaign_lines import Line, seed_lines

pytestmark = pytest.mark.slow


def test_a_compliance_officer_previews_a_sweep_by_province(page, live_server: Any):
    seed_lines(live_server.container.engine, [Line(phase=1 + i % 2) for i in range(20)])
    with live_server.container.engine.connect() as c:
        incomplete = c.execute(text("SELECT count(*) FROM subscriptions WHERE verdict <> 0")).scalar()
    sign_in(page, *live_server.staff("compliance_officer", None))
    page.click("nav.tools a[href^='/pos/enforcement']")
    page.wait_for_url("**/pos/enforcement?lang=vi")
    assert page.locator("[data-testid=timeline-step]").count() == 3
    page.fill("#as_of", "2018-04-25")
    page.click("[data-testid=preview-form] button[type=submit]")
    page.wait_for_selector("[data-testid=preview]")
    assert page.locator("[data-testid=total-notify]").inner_text() == f"{incomplete:,}"
    screenshot(page, "enforcement-preview")
    with live_server.container.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM subscriptions WHERE enf_state IS NOT NULL")).scalar() == 0
