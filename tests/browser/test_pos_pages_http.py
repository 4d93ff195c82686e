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

from subreg.adapters.db.tables import audit_log, network_orders
from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from subreg.services.registry import store_subscription
from tests.auth_helpers import make_staff, web_login
from tests.fixtures.images import gif_bytes, three_images
from tests.records import complete_record

NUMBER = "0901234567"


@pytest.fixture
def client(database_url: str, tmp_path) -> Iterator[TestClient]:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url)
    init_storage(settings)
    with TestClient(create_app(settings)) as c:
        yield c


def seed(client: TestClient, *, status: str = "active") -> None:
    c = client.app.state.container
    record = complete_record(point_of_sale="STORE-1", status=status)
    record["documents"] = {"confirmation_form": "blob:c1"}
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
    gate = client.post("/pos/transaction", data={"csrf_token": csrf, "msisdn": NUMBER, "kind": "change_owner"})
    assert gate.status_code == 409
    assert 'data-testid="update-now"' in gate.text
    assert "ảnh chân dung" in gate.text
    form = client.post("/pos/update-form", data={"csrf_token": csrf, "msisdn": NUMBER})
    assert 'value="079190123456"' in form.text  # pre-filled in clear for the update
    saved = client.post("/pos/update", data={"csrf_token": csrf, "msisdn": NUMBER}, files=files(three_images()))
    assert saved.status_code == 200, saved.text
    assert 'data-testid="unlock-queued"' in saved.text
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
    with c.uow() as uow:
        store_subscription(record, uow=uow, vault=c.vault, blobs=c.blobs, as_of=date(2026, 11, 28), actor=None,
                           channel="legacy_import", rule_set=c.rule_set)  # fmt: skip
        uow.commit()
    form = client.post("/pos/update-form", data={"csrf_token": signed_in(client), "msisdn": NUMBER})
    assert form.status_code == 200
    assert 'data-derived="holder.nationality"' in form.text
    assert re.search(r'id="holder-nationality" name="holder.nationality" type="text" value="VNM"', form.text)
