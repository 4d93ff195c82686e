"""The back-office queue in headless Chromium, keyboard only: Enter takes the next item, the form comes pre-filled
from the card's QR code and printed text (each value with its source and confidence), Enter confirms and opens the
next item, Esc sets one aside. Saves docs/screenshots/backoffice-queue.png (`make screenshots`) and prints the
items per hour of a scripted session confirming pre-filled items."""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest
from sqlalchemy import select

from subreg.adapters.db.tables import backoffice_items, field_provenance
from subreg.services.backoffice import work_queue as wq
from tests.browser.conftest import screenshot, sign_in
from tests.integration.backoffice_data import seed_line

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr not installed"),
]


def test_back_office_staff_work_the_queue_with_the_keyboard_only(page, live_server: Any):
    c = live_server.container
    for n in range(1, 8):
        seed_line(c, 700 + n, missing=("id_issue_place", "date_of_birth"))
    assert wq.fill_queue(uow=c.uow(), ctx=c.work_context()) == 7
    sign_in(page, *live_server.staff("backoffice", None), next_path="/backoffice")
    assert page.locator("[data-testid=shortcuts] li").count() == 3
    page.keyboard.press("Enter")  # the autofocused "take the next item"
    page.wait_for_selector("[data-testid=item-form]")
    assert page.locator("[data-testid=scan]").count() == 2
    assert page.input_value("[data-testid=input-date_of_birth]") == "1990-05-17"
    assert page.locator("[data-testid=source-date_of_birth] [data-source]").get_attribute("data-source") == "qr"
    assert "99%" in page.inner_text("[data-testid=confidence-date_of_birth]")
    place = page.input_value("[data-testid=input-id_issue_place]")
    assert place == "Cục Cảnh sát QLHC về TTXH"
    assert page.evaluate("document.activeElement.name") == "f_date_of_birth"  # the first field to fill
    screenshot(page, "backoffice-queue")

    page.keyboard.press("Enter")  # confirm: saved, the next item opens
    page.wait_for_selector("[data-testid=saved]")
    page.keyboard.press("Escape")  # set the next one aside
    page.wait_for_url("**/backoffice/items/**")
    page.wait_for_selector("[data-testid=item-form]")

    # A scripted session confirming pre-filled items: items per hour (reading the scans included).
    started, done = time.monotonic(), 5
    for _ in range(done):
        assert page.input_value("[data-testid=input-date_of_birth]") == "1990-05-17"
        with page.expect_navigation():
            page.keyboard.press("Enter")
    elapsed = time.monotonic() - started
    print(f"\nback-office queue: {done} items confirmed in {elapsed:.1f} s = {done * 3600 / elapsed:.0f} items/hour")
    page.wait_for_selector("[data-testid=queue-empty]")
    with c.engine.connect() as conn:
        states = sorted(r.state for r in conn.execute(select(backoffice_items.c.state)))
        methods = {r.method for r in conn.execute(select(field_provenance.c.method))}
    assert states == ["done"] * 6 + ["skipped"]
    assert "qr" in methods
