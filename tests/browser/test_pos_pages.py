"""The counter's whole flows in headless Chromium: sign in, look up, the gate, update with the camera
and the card's QR code, registration of a 4th SIM, of an under-14 (with a guardian) and of an
organization (with its users), bill payment. Screenshots go to build/screenshots/ (`make screenshots`:
docs/screenshots/)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from subreg.adapters.db.tables import bill_payments, documents, network_orders, subscriptions
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.fixtures.images import CARD_HOLDER, card_back_jpeg, card_front_jpeg, paper_jpeg, portrait_jpeg
from tests.records import FOREIGNER, complete_record

pytestmark = pytest.mark.slow


def _incomplete(msisdn: str, *, status: str = "active", drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A store's record without images (and without the `drop` holder fields)."""
    record = complete_record(msisdn=msisdn, point_of_sale="STORE-1", status=status)
    record["documents"] = {"confirmation_form": "blob:c1"}
    for name in drop:
        record["holder"].pop(name)
    return record


def _rows(live: LiveServer, table: Any) -> list[Any]:
    with live.container.engine.connect() as conn:
        return list(conn.execute(select(table)))


def _jpeg(name: str, data: bytes) -> dict[str, Any]:
    return {"name": f"{name}.jpg", "mimeType": "image/jpeg", "buffer": data}


def _scripted(page: Any) -> None:
    """Wait until pos.js has set up the page (it shows the camera buttons): a file chosen before is not seen."""
    page.locator(".camera [data-role=buttons]").first.wait_for()


def test_look_up_refused_by_the_gate_update_with_the_camera_and_the_qr_code(page, live_server):
    number = "0901234567"
    live_server.seed(_incomplete(number, status="one_way_locked", drop=("address", "id_issue_date")))
    sign_in(page, *live_server.staff(), shot="00-login")
    screenshot(page, "01-lookup")

    # Look up: any common form of the number; the card says what is missing.
    page.fill("#msisdn", "+84 90 123 4567")
    page.select_option("#purpose", "transaction")
    page.click("[data-testid=lookup-form] button[type=submit]")
    card = page.locator("[data-testid=sub-card]")
    assert "Khoá một chiều" in card.locator("[data-testid=status]").inner_text()
    assert "Chưa đầy đủ" in card.locator("[data-testid=compliance]").inner_text()
    missing = card.locator("[data-testid=missing]").inner_text()
    assert "ảnh chân dung" in missing
    assert "ngày cấp" in missing
    assert "0791******56" in card.locator("[data-testid=holder]").inner_text()  # masked for a transaction
    screenshot(page, "02-card")

    # The gate: a SIM replacement is refused, with the reason and the way into the update.
    page.select_option("[data-testid=tx-form] select", "sim_replacement")
    page.click("[data-testid=tx-form] button[type=submit]")
    refused = page.locator("[data-testid=gate-refused]")
    assert "chưa đầy đủ" in refused.inner_text()
    assert "ảnh mặt trước giấy tờ" in page.locator("[data-testid=gate-missing]").inner_text()
    screenshot(page, "03-gate-refused")
    page.click("[data-testid=update-now]")

    # The update form is pre-filled with what is known.
    page.wait_for_selector("[data-testid=update-form]")
    assert page.input_value("#holder-full_name") == "Nguyễn Thị Ánh"
    assert page.input_value("#holder-address") == ""

    # Portrait from the (fake) camera: start, preview, retake, capture; compressed to JPEG in the page.
    portrait = page.locator(".camera[data-kind=portrait]")
    portrait.locator("[data-action=start]").click()
    page.wait_for_selector(".camera[data-kind=portrait][data-live='1']")
    portrait.locator("[data-action=take]").click()
    page.wait_for_selector(".camera[data-kind=portrait][data-ready='1']")
    portrait.locator("[data-action=retake]").click()
    page.wait_for_selector(".camera[data-kind=portrait][data-live='1']")
    portrait.locator("[data-action=take]").click()
    page.wait_for_selector(".camera[data-kind=portrait] [data-action=retake]:not(.hidden)")
    captured = page.evaluate(
        "() => { const f = document.querySelector('#file-portrait').files[0]; return [f.type, f.size]; }"
    )
    assert captured[0] == "image/jpeg"
    assert 5_000 < captured[1] < 400_000

    # The card's photo is uploaded; its QR code fills the empty holder fields.
    page.set_input_files("#file-id_front", _jpeg("id_front", card_front_jpeg()))
    page.wait_for_selector(".camera[data-kind=id_front][data-parsed^='qr']")
    assert page.input_value("#holder-address") == CARD_HOLDER["address"]
    assert page.input_value("#holder-id_issue_date") == CARD_HOLDER["id_issue_date"]
    # The card names the holder differently from the record: the known value stays, the card's is shown beside it.
    assert page.input_value("#holder-full_name") == "Nguyễn Thị Ánh"
    assert "invalid" in (page.get_attribute("#holder-full_name", "class") or "")
    assert CARD_HOLDER["full_name"] in page.locator(".card-differs").inner_text()
    page.set_input_files("#file-id_back", _jpeg("id_back", card_back_jpeg()))
    page.wait_for_selector(".camera[data-kind=id_back][data-ready='1']")
    screenshot(page, "04-update")

    page.click("[data-testid=save]")
    saved = page.locator("[data-testid=saved]")
    assert "Thông tin thuê bao đã đầy đủ" in saved.inner_text()
    assert page.locator("[data-testid=unlock-queued]").is_visible()
    assert "Đầy đủ" in page.locator("[data-testid=compliance]").inner_text()
    screenshot(page, "05-update-saved")
    (order,) = [o for o in _rows(live_server, network_orders) if o.action == "unlock"]
    assert (order.status, order.reason) == ("queued", "information_complete")

    # Now the gate lets the SIM replacement through.
    page.select_option("[data-testid=tx-form] select", "sim_replacement")
    page.click("[data-testid=tx-form] button[type=submit]")
    assert page.locator("[data-testid=tx-done]").is_visible()


def test_a_wrong_image_gets_an_inline_error_and_the_typed_values_stay(page, live_server):
    number = "0901234570"
    live_server.seed(_incomplete(number, drop=("address",)))
    sign_in(page, *live_server.staff())
    page.fill("#msisdn", number)
    page.select_option("#purpose", "update")
    page.click("[data-testid=lookup-form] button[type=submit]")
    page.click("[data-testid=to-update]")
    page.fill("#holder-address", "5 Hàng Bài, Hoàn Kiếm, Hà Nội")
    _scripted(page)
    page.set_input_files("#file-portrait", _jpeg("portrait", card_back_jpeg()))  # a card, not a face
    page.wait_for_selector(".camera[data-kind=portrait][data-ready='1']")
    page.click("[data-testid=save]")
    error = page.locator("[data-error='documents.portrait']")
    error.wait_for()  # the refusal re-renders the form in place (pos.js keeps the other photos)
    assert error.is_visible()
    assert "khuôn mặt" in error.inner_text().lower()
    assert page.input_value("#holder-address") == "5 Hàng Bài, Hoàn Kiếm, Hà Nội"
    screenshot(page, "06-update-error")


def test_after_a_refusal_only_the_refused_photo_is_taken_again(page, live_server):
    number = "0901234571"
    record = _incomplete(number)
    live_server.seed(record)
    sign_in(page, *live_server.staff())
    page.fill("#msisdn", number)
    page.select_option("#purpose", "update")
    page.click("[data-testid=lookup-form] button[type=submit]")
    page.click("[data-testid=to-update]")
    _scripted(page)
    _choose(
        page, {"portrait": card_back_jpeg(), "id_front": card_front_jpeg(record["holder"]), "id_back": card_back_jpeg()}
    )  # fmt: skip  (the "portrait" shows no face)
    page.click("[data-testid=save]")
    page.locator("[data-error='documents.portrait']").wait_for()

    def chosen(kind: str) -> int:
        return int(page.eval_on_selector(f"#file-{kind}", "el => el.files.length"))

    # The card's two sides are still chosen, with their previews; only the portrait is empty.
    assert (chosen("id_front"), chosen("id_back"), chosen("portrait")) == (1, 1, 0)
    assert page.locator(".camera[data-kind=id_front] [data-role=preview]").is_visible()
    assert not page.locator(".camera[data-kind=id_front] [data-error]").count()
    _choose(page, {"portrait": portrait_jpeg()})
    page.click("[data-testid=save]")
    page.locator("[data-testid=saved]").wait_for()
    (line,) = [s.id for s in _rows(live_server, subscriptions) if s.msisdn == int("84" + number[1:])]
    kinds = {d.kind for d in _rows(live_server, documents) if d.subscription_id == line and d.blob_key}
    assert {"portrait", "id_front", "id_back"} <= kinds


def _fill_holder(page: Any, holder: dict[str, Any]) -> None:
    for name in ("full_name", "nationality", "id_number", "id_issue_place", "address"):
        page.fill(f"#holder-{name}", holder[name])
    for name in ("date_of_birth", "id_issue_date", "id_expiry_date"):
        page.fill(f"#holder-{name}", holder[name])
    page.select_option("#holder-gender", holder["gender"])
    page.select_option("#holder-id_type", holder["id_type"])


def _choose(page: Any, images: dict[str, bytes]) -> None:
    """Choose a file for each image slot, then wait until the script has compressed each one."""
    for kind, data in images.items():
        page.set_input_files(f"#file-{kind}", _jpeg(kind, data))
    for kind in images:
        page.wait_for_selector(f".camera[data-kind={kind}][data-ready='1']")


def _attach(page: Any, *, contract: bool) -> None:
    _scripted(page)
    images = {"portrait": portrait_jpeg(), "id_front": card_front_jpeg(), "id_back": card_back_jpeg(),
              "confirmation_form": paper_jpeg()}  # fmt: skip
    if contract:
        images["contract"] = paper_jpeg("HOP DONG")
    _choose(page, images)


def test_a_fourth_sim_needs_a_contract_number(page, live_server):
    holder = copy.deepcopy(complete_record()["holder"])
    holder["id_number"] = "079190123456"
    for i, number in enumerate(("0902000001", "0902000002", "0902000003")):
        live_server.seed(complete_record(msisdn=number, point_of_sale="STORE-1", activated_on=f"2019-0{i + 1}-01"))
    sign_in(page, *live_server.staff(), next_path="/pos/register")

    page.fill("#msisdn", "0902000004")
    _fill_holder(page, holder)
    _attach(page, contract=False)
    screenshot(page, "07-register")
    page.click("[data-testid=register-submit]")
    refused = page.locator("[data-testid=register-refused]")
    refused.wait_for()  # re-rendered in place: the photos stay chosen
    assert refused.is_visible()
    assert refused.locator("[data-field=contract_number]").count() == 1
    assert page.locator("#contract_number").get_attribute("aria-invalid") == "true"
    screenshot(page, "08-register-refused")

    # The refusal was about the contract: the photos already taken stay chosen, only the contract is added.
    for kind in ("portrait", "id_front", "id_back", "confirmation_form"):
        assert page.eval_on_selector(f"#file-{kind}", "el => el.files.length") == 1, kind
    page.fill("#contract_number", "HD-2026-0001")
    _fill_holder(page, holder)
    _choose(page, {"contract": paper_jpeg("HOP DONG")})
    page.click("[data-testid=register-submit]")
    ok = page.locator("[data-testid=register-ok]")
    assert "+84902000004" in ok.inner_text()
    screenshot(page, "09-register-ok")


def test_a_bill_is_paid_and_the_update_offered_in_the_same_visit(page, live_server):
    number = "0903000001"
    live_server.seed(_incomplete(number))
    sign_in(page, *live_server.staff(), next_path="/pos/pay")
    page.fill("#msisdn", "84903000001")
    page.fill("#amount_vnd", "185.000")
    page.click("[data-testid=pay-form] button[type=submit]")
    assert "185.000" in page.locator("[data-testid=paid]").inner_text()
    offer = page.locator("[data-testid=pay-offer]")
    assert "ảnh chân dung" in offer.inner_text()
    screenshot(page, "10-pay")
    assert [p.amount_vnd for p in _rows(live_server, bill_payments)][-1] == 185_000
    page.click("[data-testid=pay-offer] [data-testid=update-now]")
    page.wait_for_selector("[data-testid=update-form]")


def test_english_on_request_and_remembered(page, live_server):
    sign_in(page, *live_server.staff())
    page.click("a.lang")
    assert page.locator("h1").inner_text() == "Look up a subscription"
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto("/pos/pay")
    assert page.locator("h1").inner_text() == "Pay a bill"
    screenshot(page, "11-english")


# The guardian of an under-14 has a card of their own: its QR fills the guardian's fields, not the child's.
GUARDIAN = {
    "id_type": "cccd",
    "id_number": "001185012345",
    "full_name": "Trần Thị Mai",
    "date_of_birth": "1985-03-10",
    "gender": "female",
    "nationality": "VNM",
    "address": "8 Tràng Tiền, Hoàn Kiếm, Hà Nội",
    "id_issue_date": "2024-06-01",  # runs to the 60th birthday (issued within 2 years of the 40th)
}


def _stored_kinds(live: LiveServer, key: int) -> tuple[Any, set[str]]:
    (sub,) = [s for s in _rows(live, subscriptions) if s.msisdn == key]
    return sub, {d.kind for d in _rows(live, documents) if d.subscription_id == sub.id}


def test_an_under_14_needs_a_guardian_whose_card_is_photographed(page, live_server):
    sign_in(page, *live_server.staff(), next_path="/pos/register")
    guardian = page.locator("[data-testid=guardian-card]")
    assert not guardian.is_visible()
    page.fill("#msisdn", "0907000001")
    page.fill("#holder-full_name", "Nguyễn Văn Bé")
    page.fill("#holder-date_of_birth", "2018-02-03")
    # The script reveals the guardian's section as soon as the date says "under 14".
    assert page.is_checked("#under14")
    assert guardian.is_visible()
    page.click("[data-testid=register-submit]")

    # Refused: the reason is at the guardian's section (the server decided it from the date too).
    refused = page.locator("[data-testid=register-refused]")
    refused.wait_for()
    assert refused.locator("[data-field=guardian]").count() == 1
    error = page.locator("[data-error=guardian]")
    assert error.is_visible()
    assert "dưới 14 tuổi phải có người giám hộ" in error.inner_text()
    assert page.input_value("#holder-full_name") == "Nguyễn Văn Bé"

    # The guardian signs: their card's QR fills the guardian's fields (not the child's).
    _scripted(page)
    page.set_input_files("#file-portrait", _jpeg("portrait", portrait_jpeg()))
    page.set_input_files("#file-id_front", _jpeg("id_front", card_front_jpeg(GUARDIAN)))
    page.wait_for_selector(".camera[data-kind=id_front][data-parsed^='qr']")
    assert page.input_value("#guardian-full_name") == GUARDIAN["full_name"]
    assert page.input_value("#guardian-id_number") == GUARDIAN["id_number"]
    assert page.input_value("#holder-full_name") == "Nguyễn Văn Bé"
    page.set_input_files("#file-id_back", _jpeg("id_back", card_back_jpeg()))
    page.set_input_files("#file-confirmation_form", _jpeg("confirmation_form", paper_jpeg()))
    for kind in ("portrait", "id_front", "id_back", "confirmation_form"):
        page.wait_for_selector(f".camera[data-kind={kind}][data-ready='1']")
    page.select_option("#guardian-id_type", "cccd")
    page.fill("#guardian-id_issue_place", "Cục Cảnh sát QLHC về TTXH")
    page.fill("#guardian-relationship", "mẹ")
    screenshot(page, "12-register-under14")
    page.click("[data-testid=register-submit]")
    assert "+84907000001" in page.locator("[data-testid=register-ok]").inner_text()  # inner_text waits for it

    sub, kinds = _stored_kinds(live_server, 84907000001)
    assert (sub.subscriber_type, sub.status, sub.complete) == ("individual", "active", True)
    assert {"portrait", "id_front", "id_back", "confirmation_form"} <= kinds


def test_an_organization_needs_its_list_of_users(page, live_server):
    sign_in(page, *live_server.staff(), next_path="/pos/register")
    organization = page.locator("[data-testid=organization-card]")
    assert not organization.is_visible()
    page.select_option("#subscriber_type", "organization")
    assert organization.is_visible()
    assert not page.locator("#under14").is_visible()
    assert "Người đại diện theo pháp luật" in page.locator("[data-testid=holder-card] h2").inner_text()
    rows = page.locator("[data-testid=user-row]")
    assert rows.count() == 3
    page.click("[data-testid=add-user]")  # the script adds a blank row, numbered, and moves the focus there
    assert rows.count() == 4
    assert page.evaluate("() => document.activeElement.name") == "organization.users[3].full_name"
    assert page.input_value("[name=user_rows]") == "4"

    page.fill("#msisdn", "0908000001")
    page.select_option("#payment_type", "postpaid")
    page.fill("#contract_number", "HD-TC-0002")
    page.fill("#organization-name", "Công ty TNHH Sông Hồng")
    page.fill("#organization-registration_number", "0101234567")
    page.fill("#organization-registration_date", "2015-09-01")
    page.fill("#organization-address", "25 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội")
    representative = copy.deepcopy(complete_record()["holder"])

    def attach() -> None:  # an organization signs a contract: no confirmation form (its box is hidden)
        _scripted(page)
        _fill_holder(page, representative)
        _choose(page, {"portrait": portrait_jpeg(), "id_front": card_front_jpeg(), "id_back": card_back_jpeg(),
                       "contract": paper_jpeg("HOP DONG"), "organization_certificate": paper_jpeg("GIAY CHUNG NHAN"),
                       "user_list": paper_jpeg("DANH SACH")})  # fmt: skip
        assert not page.locator(".camera[data-kind=confirmation_form]").is_visible()

    attach()
    page.press("#organization-name", "Enter")  # Enter registers (it is not "update the form")
    refused = page.locator("[data-testid=register-refused]")
    refused.wait_for()
    assert refused.locator("[data-field='organization.users']").count() == 1
    assert page.locator("[data-error='organization.users']").is_visible()
    assert organization.is_visible()
    assert page.input_value("#organization-name") == "Công ty TNHH Sông Hồng"  # typed values kept

    page.fill("#organization-users-0-full_name", "Lê Văn Hùng")
    page.fill("#organization-users-0-date_of_birth", "1992-07-20")
    page.select_option("#organization-users-0-id_type", "cccd")
    page.fill("#organization-users-0-id_number", "079092001234")
    page.fill("#organization-users-0-id_issue_date", "2022-01-15")
    page.fill("#organization-users-0-id_issue_place", "Cục Cảnh sát QLHC về TTXH")
    page.fill("#organization-line_user", "079092001234")  # the user of this line (Decree 49)
    attach()  # images are chosen again after a refusal (a browser never refills a file input)
    screenshot(page, "13-register-organization")
    page.click("[data-testid=register-submit]")
    assert "+84908000001" in page.locator("[data-testid=register-ok]").inner_text()

    sub, kinds = _stored_kinds(live_server, 84908000001)
    assert (sub.subscriber_type, sub.contract_number, sub.complete) == ("organization", "HD-TC-0002", True)
    assert {"organization_certificate", "user_list", "contract", "portrait", "id_front"} <= kinds


def test_a_passport_holder_photographs_the_passport_page(page, live_server):
    sign_in(page, *live_server.staff(), next_path="/pos/register")
    passport_slot, front = page.locator(".camera[data-kind=passport_page]"), page.locator(".camera[data-kind=id_front]")
    assert front.is_visible()
    assert not passport_slot.is_visible()
    page.fill("#msisdn", "0907000009")
    typed = ("full_name", "date_of_birth", "nationality", "id_number", "id_issue_date", "id_issue_place",
             "id_expiry_date", "address")  # fmt: skip
    for name in typed:
        page.fill(f"#holder-{name}", FOREIGNER[name])
    page.select_option("#holder-gender", FOREIGNER["gender"])
    # Choosing "passport" swaps the card's two sides for the passport's photo page.
    page.select_option("#holder-id_type", "passport")
    assert passport_slot.is_visible()
    assert not front.is_visible()
    _scripted(page)
    _choose(page, {"portrait": portrait_jpeg(), "passport_page": paper_jpeg("PASSPORT"),
                   "confirmation_form": paper_jpeg()})  # fmt: skip
    screenshot(page, "14-register-passport")
    page.click("[data-testid=register-submit]")
    assert "+84907000009" in page.locator("[data-testid=register-ok]").inner_text()
    sub, kinds = _stored_kinds(live_server, 84907000009)
    assert (sub.status, sub.complete) == ("active", True)
    assert kinds == {"portrait", "passport_page", "confirmation_form"}
