"""The point-of-sale pages without a browser (and without JavaScript): every form works as plain HTML.

Runs on SQLite and PostgreSQL (the `database_url` fixture); the browser flows are in test_pos_pages.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log, network_orders, subscriptions
from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from subreg.services.registry import store_subscription
from tests.auth_helpers import make_staff, web_login
from tests.fixtures.images import gif_bytes, three_images
from tests.records import FOREIGNER, complete_record

NUMBER = "0901234567"


@pytest.fixture
def client(database_url: str, tmp_path) -> Iterator[TestClient]:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url)
    init_storage(settings)
    with TestClient(create_app(settings)) as c:
        yield c


def seed(client: TestClient, *, status: str = "active") -> None:
    record = complete_record(point_of_sale="STORE-1", status=status)
    record["documents"] = {"confirmation_form": "blob:c1"}
    store(client, record)


def store(client: TestClient, record: dict[str, Any]) -> None:
    """Store a subscription as a legacy import would (no checks at the counter)."""
    c = client.app.state.container
    with c.uow() as uow:
        store_subscription(record, uow=uow, vault=c.vault, blobs=c.blobs, as_of=date(2026, 11, 28), actor=None,
                           channel="legacy_import", rule_set=c.rule_set)  # fmt: skip
        uow.commit()


def signed_in(client: TestClient, role: str = "store_staff") -> str:
    return web_login(client, *make_staff(client, role, "STORE-1"))


def files(images: dict[str, bytes]) -> dict[str, Any]:
    return {kind: (f"{kind}.jpg", data, "image/jpeg") for kind, data in images.items()}


def test_pages_need_a_signed_in_counter(client):
    response = client.get("/pos", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/pos")


def test_the_whole_update_works_without_javascript(client):
    seed(client, status="two_way_locked")
    csrf = signed_in(client)
    card = client.post("/pos/lookup", data={"csrf_token": csrf, "msisdn": "84 901 234 567", "purpose": "transaction"})
    assert card.status_code == 200
    assert "Khoá hai chiều" in card.text
    assert "0791******56" in card.text
    assert "079190123456" not in card.text  # masked for a transaction
    gate = client.post("/pos/transaction", data={"csrf_token": csrf, "msisdn": NUMBER, "kind": "sim_replacement"})
    assert gate.status_code == 409
    assert 'data-testid="update-now"' in gate.text
    assert "ảnh chân dung" in gate.text
    form = client.post("/pos/update-form", data={"csrf_token": csrf, "msisdn": NUMBER})
    assert 'value="079190123456"' in form.text  # pre-filled in clear for the update
    saved = client.post("/pos/update", data={"csrf_token": csrf, "msisdn": NUMBER}, files=files(three_images()))
    assert saved.status_code == 200, saved.text
    assert 'data-testid="unlock-queued"' in saved.text
    # Queued, not sent: nothing carries the queue to the network yet, and the page must not say otherwise.
    assert "Đã xếp lệnh mở khoá thuê bao vào hàng đợi gửi tới mạng (chưa gửi đi)." in saved.text
    assert "Thông tin thuê bao đã đầy đủ" in saved.text
    with client.app.state.container.engine.connect() as conn:
        orders = list(conn.execute(select(network_orders)))
        purposes = {r.purpose for r in conn.execute(select(audit_log)) if r.action == "subscription:read"}
    assert [(o.action, o.status) for o in orders] == [("unlock", "queued")]
    assert {"transaction", "update"} <= purposes


def test_errors_are_shown_at_their_field(client):
    seed(client)
    csrf = signed_in(client)
    bad = client.post("/pos/lookup", data={"csrf_token": csrf, "msisdn": "12", "purpose": "transaction"})
    assert bad.status_code == 422
    assert re.search(r'id="msisdn"[^>]*class="invalid" aria-invalid="true"', bad.text)
    images = {**three_images(), "id_back": gif_bytes()}
    refused = client.post("/pos/update", data={"csrf_token": csrf, "msisdn": NUMBER, "holder.address": "1 Phố Huế"},
                          files=files(images))  # fmt: skip
    assert refused.status_code == 422
    assert 'data-error="documents.id_back"' in refused.text
    assert 'value="1 Phố Huế"' in refused.text  # what staff typed is kept


def test_a_post_without_the_csrf_token_is_refused(client):
    seed(client)
    signed_in(client)
    response = client.post("/pos/lookup", data={"msisdn": NUMBER, "purpose": "transaction"})
    assert response.status_code == 403


def test_no_number_travels_in_a_url(client):
    seed(client)
    csrf = signed_in(client)
    card = client.post("/pos/lookup", data={"csrf_token": csrf, "msisdn": NUMBER, "purpose": "update"})
    urls = re.findall(r'(?:action|href|src)="([^"]*)"', card.text)
    assert urls
    assert not [u for u in urls if re.search(r"\d{6}", u)]


def test_english_is_chosen_once_and_remembered(client):
    signed_in(client)
    assert "Look up a subscription" in client.get("/pos?lang=en").text
    again = client.get("/pos")
    assert '<html lang="en">' in again.text
    assert "Tra cứu thuê bao" in client.get("/pos?lang=vi").text


def test_only_the_listed_static_files_are_served(client):
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/pos.js").status_code == 200
    assert client.get("/static/..%2Fpos_pages.py").status_code == 404
    assert client.get("/static/pos_pages.py").status_code == 404


def test_postpaid_suggestions_are_confirmed_without_asking_the_customer(client):
    from tests.fixtures.images import card_front_jpeg

    c = client.app.state.container
    record = complete_record(point_of_sale="STORE-1", payment_type="postpaid")
    del record["holder"]["address"]
    del record["documents"]
    with c.uow() as uow:
        store_subscription(record, uow=uow, vault=c.vault, blobs=c.blobs, as_of=date(2026, 11, 28), actor=None,
                           channel="legacy_import", rule_set=c.rule_set,
                           images={"id_front": card_front_jpeg()})  # fmt: skip
        uow.commit()
    csrf = signed_in(client)
    form = client.post("/pos/update-form", data={"csrf_token": csrf, "msisdn": NUMBER})
    assert 'data-testid="suggestions"' in form.text
    assert 'name="value.holder.address"' in form.text
    value = re.search(r'name="value.holder.address" value="([^"]+)"', form.text).group(1)
    confirmed = client.post(
        "/pos/suggestions",
        data={"csrf_token": csrf, "msisdn": NUMBER, "accept": "holder.address", "value.holder.address": value},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert 'data-testid="saved"' in confirmed.text
    assert "12 Lê Lợi" in confirmed.text


def test_look_up_by_id_document_is_for_operator_stores(client):
    seed(client)
    body = {"id_type": "cccd", "id_number": "079190123456", "id_purpose": "customer_request"}
    store = client.post("/pos/lookup-by-id", data={"csrf_token": signed_in(client), **body})
    assert store.status_code == 200
    assert store.text.count('data-testid="sub-card"') == 1
    client.cookies.clear()
    agent = client.post(
        "/pos/lookup-by-id", data={"csrf_token": web_login(client, *make_staff(client, "agent")), **body}
    )
    assert agent.status_code == 403


def test_an_agent_serves_another_points_customer_after_the_id_is_shown(client):
    seed(client)
    csrf = web_login(client, *make_staff(client, "agent", "AGENT-9"))
    refused = client.post("/pos/lookup", data={"csrf_token": csrf, "msisdn": NUMBER, "purpose": "transaction"})
    assert refused.status_code == 403
    assert 'data-testid="visit-form"' in refused.text
    assert 'name="id_number"' in refused.text
    wrong = client.post("/pos/visit", data={"csrf_token": csrf, "msisdn": NUMBER, "id_number": "079190000001"})
    assert wrong.status_code == 403
    shown = client.post("/pos/visit", data={"csrf_token": csrf, "msisdn": NUMBER, "id_number": "079190123456"})
    assert shown.status_code == 200
    assert 'data-testid="sub-card"' in shown.text


def test_derived_values_are_prefilled_and_marked_as_derived(client):
    c = client.app.state.container
    record = complete_record(point_of_sale="STORE-1")
    del record["holder"]["nationality"]
    store(client, record)
    csrf = signed_in(client)
    form = client.post("/pos/update-form", data={"csrf_token": csrf, "msisdn": NUMBER})
    assert form.status_code == 200
    assert 'data-derived="holder.nationality"' in form.text
    assert re.search(r'id="holder-nationality" name="holder.nationality" type="text" value="VNM"', form.text)
    # A prepaid subscription's form reads the record once (one audited read), no postpaid suggestions.
    with c.engine.connect() as conn:
        reads = [r for r in conn.execute(select(audit_log)) if r.action == "subscription:read"]
    assert len(reads) == 1
    assert 'data-testid="suggestions"' not in form.text


# --- registration of an under-14 and of an organization, without JavaScript ---------------------------

# A guardian with a card of their own (its QR names them), so that the card photographed is the signer's.
GUARDIAN = {
    "full_name": "Trần Thị Mai",
    "date_of_birth": "1985-03-10",
    "gender": "female",
    "id_type": "cccd",
    "id_number": "001185012345",
    # Issued at 38, within two years before the 40th birthday: valid until the 60th (Law 59/2014
    # Art. 21). A card issued in 2021, at 36, expired on 2025-03-10.
    "id_issue_date": "2023-04-10",
    "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
    "address": "8 Tràng Tiền, Hoàn Kiếm, Hà Nội",
}
CHILD = {"full_name": "Nguyễn Văn Bé", "date_of_birth": "2018-02-03"}
USER = {
    "full_name": "Lê Văn Hùng",
    "date_of_birth": "1992-07-20",
    "id_type": "cccd",
    "id_number": "079092001234",
    "id_issue_date": "2022-01-15",
    "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
}
ORGANIZATION = {
    "name": "Công ty TNHH Sông Hồng",
    "registration_number": "0101234567",
    "registration_date": "2015-09-01",
    "address": "25 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội",
    "line_user": "079092001234",  # the user of the line: one of the list (Decree 49)
}


def _fields(prefix: str, values: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}.{name}": value for name, value in values.items()}


def _stored(client: TestClient, msisdn: str) -> dict[str, Any]:
    from subreg.services.registry import get_subscription

    c = client.app.state.container
    with c.uow() as uow:
        return get_subscription(msisdn, uow=uow, vault=c.vault)


def _kinds(client: TestClient) -> set[str]:
    from subreg.adapters.db.tables import documents

    with client.app.state.container.engine.connect() as conn:
        return {r.kind for r in conn.execute(select(documents))}


def test_an_under_14_is_refused_without_a_guardian_then_registered_with_one(client):
    from tests.fixtures.images import card_back_jpeg, card_front_jpeg, paper_jpeg, portrait_jpeg

    csrf = signed_in(client)
    form = client.get("/pos/register")
    assert re.search(r'data-when="under14" class="card hidden"', form.text)  # an adult by default
    base = {"csrf_token": csrf, "msisdn": "0905000001", "subscriber_type": "individual", "payment_type": "prepaid",
            "consent": "yes", **_fields("holder", CHILD)}  # fmt: skip
    images = {"portrait": portrait_jpeg(), "id_front": card_front_jpeg(GUARDIAN), "id_back": card_back_jpeg(),
              "confirmation_form": paper_jpeg()}  # fmt: skip

    # The date of birth alone (no box ticked, no script) makes the page ask for the guardian, at its section.
    refused = client.post("/pos/register", data=base, files=files(images))
    assert refused.status_code == 409
    assert 'data-error="guardian"' in refused.text
    assert "Chủ thuê bao dưới 14 tuổi phải có người giám hộ" in refused.text
    assert re.search(r'data-when="under14" class="card"', refused.text)  # the guardian's section is shown
    assert 'name="under14" value="yes" id="under14" checked' in refused.text
    assert 'value="Nguyễn Văn Bé"' in refused.text  # typed values kept
    assert 'value="2018-02-03"' in refused.text

    # A guardian without the relationship: refused at that field, everything typed kept.
    partial = {**base, **_fields("guardian", GUARDIAN)}
    refused = client.post("/pos/register", data=partial, files=files(images))
    assert refused.status_code == 409
    assert re.search(r'id="guardian-relationship"[^>]*class="invalid" aria-invalid="true"', refused.text)
    assert "quan hệ của người giám hộ với chủ thuê bao" in refused.text
    assert 'value="001185012345"' in refused.text
    assert 'value="Trần Thị Mai"' in refused.text

    # In English, the message is English.
    english = client.post("/pos/register?lang=en", data=base, files=files(images))
    assert "A holder under 14 needs a guardian" in english.text

    # A file left in the (hidden) organization section of an individual's form is not sent on.
    images["user_list"] = paper_jpeg("DANH SACH")
    done = client.post("/pos/register", data={**partial, "guardian.relationship": "mẹ"}, files=files(images))
    assert done.status_code == 200, done.text
    assert 'data-testid="register-ok"' in done.text
    stored = _stored(client, "0905000001")
    assert stored["holder"]["full_name"] == CHILD["full_name"]
    assert "id_number" not in stored["holder"]  # a child may hold no ID
    assert (stored["guardian"]["id_number"], stored["guardian"]["relationship"]) == ("001185012345", "mẹ")
    assert _kinds(client) == {"portrait", "id_front", "id_back", "confirmation_form"}
    with client.app.state.container.engine.connect() as conn:
        (row,) = list(conn.execute(select(subscriptions)))
    assert (row.subscriber_type, row.status, row.complete) == ("individual", "active", True)


def test_an_adults_guardian_fields_are_ignored_unless_the_under_14_box_is_ticked(client):
    csrf = signed_in(client)
    data = {"csrf_token": csrf, "msisdn": "0905000002", "action": "refresh", **_fields("holder", GUARDIAN),
            **_fields("guardian", {"full_name": "X"})}  # fmt: skip
    page = client.post("/pos/register", data=data)
    assert page.status_code == 200
    assert re.search(r'data-when="under14" class="card hidden"', page.text)
    ticked = client.post("/pos/register", data={**data, "under14": "yes"})
    assert re.search(r'data-when="under14" class="card"', ticked.text)


def test_a_passport_holder_registers_with_the_passport_page_instead_of_the_card(client):
    from tests.fixtures.images import card_back_jpeg, card_front_jpeg, paper_jpeg, portrait_jpeg

    csrf = signed_in(client)
    blank = client.get("/pos/register")
    assert re.search(r'<div data-when="passport" class="hidden">', blank.text)  # a card holder by default
    base = {"csrf_token": csrf, "msisdn": "0905000009", "subscriber_type": "individual", "payment_type": "prepaid",
            "consent": "yes", **_fields("holder", FOREIGNER)}  # fmt: skip
    images = {"portrait": portrait_jpeg(), "confirmation_form": paper_jpeg()}

    # Without the passport page: refused, at that slot, which the page now shows instead of the card's sides.
    refused = client.post("/pos/register", data=base, files=files(images))
    assert refused.status_code == 409
    assert 'data-error="documents.passport_page"' in refused.text
    assert re.search(r'<div data-when="passport">', refused.text)
    assert re.search(r'<div data-when="card" class="hidden">', refused.text)

    # With it: registered. Card photos left in the hidden slots are not sent on.
    images |= {"passport_page": paper_jpeg("PASSPORT"), "id_front": card_front_jpeg(), "id_back": card_back_jpeg()}
    done = client.post("/pos/register", data=base, files=files(images))
    assert done.status_code == 200, done.text
    assert 'data-testid="register-ok"' in done.text
    assert _stored(client, "0905000009")["holder"]["id_number"] == "M12345678"
    assert _kinds(client) == {"portrait", "passport_page", "confirmation_form"}


def test_the_update_page_asks_a_passport_holder_for_the_passport_page(client):
    record = complete_record(point_of_sale="STORE-1")
    record["holder"] = dict(FOREIGNER)
    record["documents"] = {"confirmation_form": "blob:c1"}
    store(client, record)
    csrf = signed_in(client)
    page = client.post("/pos/update-form", data={"csrf_token": csrf, "msisdn": NUMBER})
    assert page.status_code == 200, page.text
    assert re.search(r'<div data-when="passport">', page.text)
    assert re.search(r'<div data-when="card" class="hidden">', page.text)


def test_an_organization_is_refused_without_users_then_registered_with_one(client):
    from tests.fixtures.images import paper_jpeg, registration_images

    csrf = signed_in(client)
    # Without JavaScript: choosing the type and "update the form" shows the organization's section ...
    shown = client.post("/pos/register", data={"csrf_token": csrf, "subscriber_type": "organization",
                                               "msisdn": "0906000001", "action": "refresh"})  # fmt: skip
    assert shown.status_code == 200
    assert re.search(r'data-when="organization" class="card"', shown.text)
    assert shown.text.count('data-testid="user-row"') == 3
    assert 'value="0906000001"' in shown.text
    # ... and "add a user" one more row.
    more = client.post("/pos/register", data={"csrf_token": csrf, "subscriber_type": "organization",
                                              "user_rows": "3", "action": "add_user"})  # fmt: skip
    assert more.text.count('data-testid="user-row"') == 4
    assert 'name="organization.users[3].full_name"' in more.text

    base = {"csrf_token": csrf, "msisdn": "0906000001", "subscriber_type": "organization", "payment_type": "postpaid",
            "contract_number": "HD-TC-0001", "consent": "yes", "user_rows": "3",
            **_fields("holder", complete_record()["holder"]), **_fields("organization", ORGANIZATION),
            "organization.signer_is_representative": "no"}  # fmt: skip
    images = {**registration_images(), "contract": paper_jpeg("HOP DONG"),
              "organization_certificate": paper_jpeg("GCN"), "user_list": paper_jpeg("DANH SACH")}  # fmt: skip
    refused = client.post("/pos/register", data=base, files=files(images))
    assert refused.status_code == 409
    assert 'data-error="organization.users"' in refused.text
    assert 'data-error="documents.authorization_letter"' in refused.text  # an authorized signer needs the letter
    assert 'value="Công ty TNHH Sông Hồng"' in refused.text
    assert 'value="0101234567"' in refused.text
    assert re.search(r'name="organization.signer_is_representative" value="no" checked', refused.text)

    # A user typed in the 2nd row without the place of issue: shown first, with the error at its field.
    row = _fields("organization.users[1]", {k: v for k, v in USER.items() if k != "id_issue_place"})
    images["authorization_letter"] = paper_jpeg("GIAY UY QUYEN")
    refused = client.post("/pos/register", data={**base, **row}, files=files(images))
    assert refused.status_code == 409
    assert re.search(r'id="organization-users-0-id_issue_place"[^>]*class="invalid"', refused.text)
    assert "nơi cấp của người sử dụng thứ 1" in refused.text
    assert re.search(r'name="organization.users\[0\].full_name" type="text" value="Lê Văn Hùng"', refused.text)

    done = client.post("/pos/register", data={**base, **_fields("organization.users[1]", USER)}, files=files(images))
    assert done.status_code == 200, done.text
    assert 'data-testid="register-ok"' in done.text
    stored = _stored(client, "0906000001")
    assert stored["organization"]["name"] == ORGANIZATION["name"]
    assert stored["organization"]["signer_is_representative"] is False
    assert [u["id_number"] for u in stored["organization"]["users"]] == [USER["id_number"]]
    assert {"organization_certificate", "user_list", "authorization_letter", "contract"} <= _kinds(client)
    with client.app.state.container.engine.connect() as conn:
        (sub,) = list(conn.execute(select(subscriptions)))
    assert (sub.subscriber_type, sub.contract_number, sub.complete) == ("organization", "HD-TC-0001", True)


def test_an_organizations_authorized_person_shows_their_own_card(client):
    from tests.fixtures.images import card_back_jpeg, card_front_jpeg, paper_jpeg, portrait_jpeg

    csrf = signed_in(client)
    representative = complete_record()["holder"]
    base = {"csrf_token": csrf, "msisdn": "0906000002", "subscriber_type": "organization", "payment_type": "postpaid",
            "contract_number": "HD-TC-0002", "consent": "yes", **_fields("holder", representative),
            **_fields("organization", ORGANIZATION), **_fields("organization.users[0]", USER)}  # fmt: skip
    # The person who came signs with their own chip card (the guardian's, here: someone not on the form).
    images = {"portrait": portrait_jpeg(), "id_front": card_front_jpeg(GUARDIAN), "id_back": card_back_jpeg(),
              "contract": paper_jpeg("HOP DONG"), "organization_certificate": paper_jpeg("GCN"),
              "user_list": paper_jpeg("DANH SACH"), "authorization_letter": paper_jpeg("GIAY UY QUYEN")}  # fmt: skip

    # Said to be the legal representative: that card is someone else's, refused.
    refused = client.post("/pos/register", data={**base, "organization.signer_is_representative": "yes"},
                          files=files(images))  # fmt: skip
    assert refused.status_code == 422
    assert 'data-error="documents.id_front"' in refused.text

    # An authorized person: their card is kept as a document; nothing of the representative is taken from it.
    form = {**base, "organization.signer_is_representative": "no"}
    page = client.post("/pos/register", data={**form, "action": "refresh"})
    assert re.search(r'<div data-when="card">', page.text)  # both kinds offered: whichever they show
    assert re.search(r'<div data-when="passport">', page.text)
    done = client.post("/pos/register", data=form, files=files(images))
    assert done.status_code == 200, done.text
    stored = _stored(client, "0906000002")
    assert stored["holder"]["id_number"] == representative["id_number"]
    assert stored["holder"]["full_name"] == representative["full_name"]
    assert {"id_front", "id_back", "authorization_letter"} <= _kinds(client)


def test_every_page_text_exists_in_both_languages():
    from subreg.web import i18n

    assert set(i18n.texts("vi")) == set(i18n.texts("en"))
    assert all(i18n.texts("vi")[k] != i18n.texts("en")[k] for k in ("guardian", "organization", "add_user", "under14"))


def test_a_fourth_line_without_its_contract_says_so_on_the_card(client):
    # Complete papers, but the holder's 4th line under one ID document needs a contract (Decree 49).
    for number in ("0901111111", "0901111112", "0901111113", NUMBER):
        store(client, complete_record(msisdn=number, point_of_sale="STORE-1"))
    csrf = signed_in(client)
    third = client.post("/pos/lookup", data={"csrf_token": csrf, "msisdn": "0901111113", "purpose": "transaction"})
    assert 'data-testid="contract-needed"' not in third.text
    card = client.post("/pos/lookup", data={"csrf_token": csrf, "msisdn": NUMBER, "purpose": "transaction"})
    assert card.status_code == 200
    assert "Cần hợp đồng (thuê bao thứ 4 trở đi)" in card.text
    assert 'data-testid="contract-needed"' in card.text
    gate = client.post("/pos/transaction", data={"csrf_token": csrf, "msisdn": NUMBER, "kind": "sim_replacement"})
    assert gate.status_code == 409
