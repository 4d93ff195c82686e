"""The phone simulator in headless Chromium: sign in, open it from the counter's navigation, pick a sample number,
text TTTB and TTTB <ID> to 1414, read the replies; a long reply is one joined bubble; a role without access is
refused. The screenshot goes to build/screenshots/ (`make screenshots`: docs/screenshots/phone-simulator.png)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.records import complete_record

pytestmark = pytest.mark.slow

COMPLETE = "0915000001"
INCOMPLETE = "0915000002"  # the same holder's second line, without its images: a long reply
ID_NUMBER = complete_record()["holder"]["id_number"]


def _seed(live_server: Any) -> None:
    live_server.seed(complete_record(msisdn=COMPLETE, point_of_sale="STORE-1"))
    incomplete = complete_record(msisdn=INCOMPLETE, point_of_sale="STORE-1")
    incomplete["documents"] = {"confirmation_form": "blob:c1"}
    live_server.seed(incomplete)


def _send(page: Any, text: str) -> None:
    before = page.locator("[data-testid=bubble-mt]").count()
    page.fill("#text", text)
    page.click("[data-testid=send]")
    page.wait_for_function("n => document.querySelectorAll('[data-testid=bubble-mt]').length > n", arg=before)


def _open(page: Any, number: str) -> None:
    page.click(f"[data-testid=demo-number][value='{number}']")
    page.wait_for_selector("[data-testid=phone]")
    assert page.locator("[data-testid=phone-number]").inner_text() == number


def test_a_subscriber_texts_1414_from_the_simulated_phone(page, live_server):
    _seed(live_server)
    sign_in(page, *live_server.staff("store_staff", "STORE-1"))
    page.click("nav.tools a[href^='/pos/phone']")
    page.wait_for_url("**/pos/phone?lang=vi")
    assert page.locator("h1").inner_text() == "Mô phỏng điện thoại"

    # A long reply (the incomplete line lists what is missing) arrives as several SMS, shown joined as one.
    _open(page, INCOMPLETE)
    assert page.input_value("#text") == "TTTB"
    _send(page, "TTTB")
    replies = page.locator("[data-testid=bubble-mt]")
    assert replies.count() == 1
    long_reply = replies.first
    assert "chua day du" in long_reply.locator("[data-testid=bubble-text]").inner_text().lower()
    segments = long_reply.locator("[data-testid=bubble-segments]").inner_text()
    assert int(re.match(r"\d+", segments).group()) >= 2, segments
    assert long_reply.locator("[data-testid=bubble-encoding]").inner_text() == "GSM 7-bit"

    # TTTB from the complete line: the masked name, birth and ID, and that the information is complete.
    _open(page, COMPLETE)
    assert page.locator("[data-testid=bubble-mt]").count() == 0  # another phone, another screen
    _send(page, "TTTB")
    status = page.locator("[data-testid=bubble-mt] [data-testid=bubble-text]").last.inner_text()
    assert re.search(r"Nguy[eễ]n", status)
    assert ID_NUMBER not in status
    assert ID_NUMBER[-4:] in status
    assert "day du" in status.lower()
    assert "chua day du" not in status.lower()
    assert page.locator("[data-testid=bubble-mo] [data-testid=bubble-text]").last.inner_text() == "TTTB"

    # The TTTB <ID> button prefills the text; the holder's numbers come back masked.
    page.click("[data-testid=id-template]")
    assert page.input_value("#text") == "TTTB "
    _send(page, f"TTTB {ID_NUMBER}")
    listing = page.locator("[data-testid=bubble-mt] [data-testid=bubble-text]").last.inner_text()
    assert COMPLETE[-4:] in listing
    assert INCOMPLETE[-4:] in listing
    assert COMPLETE not in listing
    assert INCOMPLETE not in listing
    assert page.locator("[data-testid=bubble-mo]").count() == 2
    # Neither the number nor the text ever went into a URL.
    assert COMPLETE not in page.url
    assert ID_NUMBER not in page.url
    screenshot(page, "phone-simulator")


def test_a_role_without_access_is_refused_and_not_offered_the_link(page, live_server):
    sign_in(page, *live_server.staff("agent", "AGENT-1"))
    assert page.locator("nav.tools a[href^='/pos/phone']").count() == 0
    response = page.goto("/pos/phone")
    assert response.status == 403
    assert "sms:simulate" in page.content()
