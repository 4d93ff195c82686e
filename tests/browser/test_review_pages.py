"""The review queue in headless Chromium: a supervisor opens the queue from the navigation, takes the next
flagged registration, sees the record beside its images, and sends it back for a new photo with a reason. The
screenshot goes to build/screenshots/ (`make screenshots`: docs/screenshots/review-queue.png)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.fixtures.images import registration_images
from tests.records import complete_record

pytestmark = pytest.mark.slow


def test_a_supervisor_sends_a_flagged_registration_back_for_a_new_photo(page, live_server: Any):
    live_server.seed(complete_record(msisdn="0904000001", point_of_sale="HN-CG-02"), images=registration_images())
    c = live_server.container
    with c.uow() as uow:
        line = uow.subscriptions.get(84904000001)
        flags = "card_mismatch,narrow_image"
        uow.reviews.submit(subscription_id=line.id, kind="registration", flags=flags, version=line.version,
                           point_of_sale_id=None, submitted_by=None, now=c.clock.now())  # fmt: skip
        uow.commit()
    sign_in(page, *live_server.staff("supervisor", "HN-HK-01"))
    page.click("nav.tools a[href^='/review']")
    page.wait_for_selector("[data-testid=pending]")
    assert "1" in page.locator("[data-testid=pending]").inner_text()
    page.click("[data-testid=take-next]")
    page.wait_for_selector("[data-testid=decide-form]")
    assert "QR/MRZ khác dữ liệu nhập" in page.locator("[data-testid=flags]").inner_text()
    images = page.locator("[data-testid=images] img")
    assert images.count() >= 3
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=images] img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.check("input[name=decision][value=sent_back]")
    page.select_option("select[name=reason]", "portrait_unclear")
    page.fill("textarea[name=note]", "Ảnh chân dung bị lóa, chụp lại")
    screenshot(page, "review-queue")
    page.click("[data-testid=save-decision]")
    page.wait_for_selector("[data-testid=saved]")
    with c.uow() as uow:
        item = uow.reviews.latest_for(line.id)
    assert (item.decision, item.reason) == ("sent_back", "portrait_unclear")
