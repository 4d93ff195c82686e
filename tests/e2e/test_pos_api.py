"""The point-of-sale REST API over HTTP (TestClient), on SQLite and PostgreSQL: every rule and every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from subreg.adapters.db.tables import audit_log, counter_transactions, network_orders
from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from subreg.services.registry import store_subscription
from tests.auth_helpers import bearer, make_staff
from tests.fixtures.images import (
    bomb_png,
    card_front_jpeg,
    gif_bytes,
    paper_jpeg,
    plain_card_jpeg,
    portrait_jpeg,
    registration_images,
    three_images,
)
from tests.records import complete_record

API = "/api/v1/subscriptions"
NUMBER = "0901234567"
HOLDER_ID = "079190123456"


@pytest.fixture
def client(database_url: str, tmp_path) -> Iterator[TestClient]:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url, max_upload_bytes=2_000_000)
    init_storage(settings)
    with TestClient(create_app(settings)) as c:
        yield c


def container(client: TestClient) -> Any:
    return client.app.state.container


def seed(client: TestClient, record: dict[str, Any], *, status: str | None = None, images=None) -> None:
    c = container(client)
    if status:
        record = {**record, "status": status}
    with c.uow() as uow:
        store_subscription(record, uow=uow, vault=c.vault, blobs=c.blobs, as_of=date(2026, 11, 28), actor=None,
                           channel="legacy_import", rule_set=c.rule_set, images=images)  # fmt: skip
        uow.commit()


def incomplete(pos_code: str = "STORE-1", **changes: Any) -> dict[str, Any]:
    record = complete_record(point_of_sale=pos_code, **changes)
    record["documents"] = {"confirmation_form": "blob:c1"}
    return record


def login(client: TestClient, role: str, pos_code: str | None = None) -> dict[str, str]:
    return bearer(client, *make_staff(client, role, pos_code))


def rows(client: TestClient, table: Any) -> list[Any]:
    with container(client).engine.connect() as conn:
        return list(conn.execute(select(table)))


def errors_of(response) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in response.json()["error"]["errors"]}


def multipart(data: dict[str, Any], images: dict[str, bytes], **values: str) -> dict[str, Any]:
    files = {kind: (f"{kind}.jpg", content, "image/jpeg") for kind, content in images.items()}
    return {"data": {"data": orjson.dumps(data).decode(), **values}, "files": files}


def new_record(msisdn: str, **changes: Any) -> dict[str, Any]:
    holder = dict(complete_record()["holder"])
    return {"msisdn": msisdn, "subscriber_type": "individual", "payment_type": "prepaid", "holder": holder, **changes}


class TestLookUp:
    def test_the_card_is_masked_for_a_transaction_and_audited_with_its_purpose(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/lookup", json={"msisdn": "+84 90 123 4567", "purpose": "transaction"},
                               headers=headers)  # fmt: skip
        assert response.status_code == 200, response.text
        card = response.json()
        assert card["status"] == "active"
        assert card["phase"] == 1
        assert card["compliance"]["complete"] is False
        assert "documents.portrait" in card["compliance"]["missing"]
        assert card["holder"]["id_number"] == "0791******56"
        assert HOLDER_ID not in response.text
        (entry,) = [r for r in rows(client, audit_log) if r.action == "subscription:read"]
        assert entry.purpose == "transaction"
        assert "84901234567" not in (entry.subject or "")

    def test_for_an_update_the_counter_sees_the_values_in_clear(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        card = client.post(f"{API}/lookup", json={"msisdn": NUMBER, "purpose": "update"}, headers=headers).json()
        assert card["holder"]["id_number"] == HOLDER_ID

    def test_a_purpose_is_required(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/lookup", json={"msisdn": NUMBER}, headers=headers)
        assert response.status_code == 422
        assert ("purpose", "required") in errors_of(response)

    def test_an_unknown_number_is_404_and_a_bad_one_422(self, client):
        headers = login(client, "store_staff", "STORE-1")
        missing = client.post(f"{API}/lookup", json={"msisdn": "0909999999", "purpose": "transaction"}, headers=headers)
        assert missing.status_code == 404
        bad = client.post(f"{API}/lookup", json={"msisdn": "12", "purpose": "transaction"}, headers=headers)
        assert bad.status_code == 422
        assert ("msisdn", "invalid_msisdn") in errors_of(bad)

    def test_look_up_by_id_is_for_operator_stores_only(self, client):
        seed(client, incomplete())
        body = {"id_type": "cccd", "id_number": HOLDER_ID, "purpose": "customer_request"}
        found = client.post(f"{API}/lookup-by-id", json=body, headers=login(client, "store_staff", "STORE-1"))
        assert found.status_code == 200
        assert found.json()["count"] == 1
        refused = client.post(f"{API}/lookup-by-id", json=body, headers=login(client, "agent"))
        assert refused.status_code == 403

    def test_no_route_carries_a_number_or_an_id_in_its_path(self, client):
        paths = [p for p in client.get("/api/v1/openapi.json").json()["paths"] if "/subscriptions" in p]
        assert paths
        assert all("msisdn" not in p and "id_number" not in p for p in paths)


class TestScope:
    def test_an_agent_sees_another_points_customer_only_after_proving_presence(self, client):
        seed(client, incomplete())
        agent = login(client, "agent", "AGENT-9")
        body = {"msisdn": NUMBER, "purpose": "transaction"}
        refused = client.post(f"{API}/lookup", json=body, headers=agent)
        assert refused.status_code == 403
        assert ("msisdn", "out_of_scope") in errors_of(refused)
        wrong = client.post(f"{API}/visits", json={"msisdn": NUMBER, "id_number": "079190000001"}, headers=agent)
        assert wrong.status_code == 403
        assert ("id_number", "presence_not_proven") in errors_of(wrong)
        opened = client.post(f"{API}/visits", json={"msisdn": NUMBER, "id_number": HOLDER_ID}, headers=agent)
        assert opened.status_code == 201, opened.text
        assert client.post(f"{API}/lookup", json=body, headers=agent).status_code == 200

    def test_an_agent_sees_the_customers_it_registered(self, client):
        agent = login(client, "agent", "AGENT-9")  # the point of sale exists before the record names it
        seed(client, incomplete(pos_code="AGENT-9"))
        assert client.post(f"{API}/lookup", json={"msisdn": NUMBER, "purpose": "transaction"},
                           headers=agent).status_code == 200  # fmt: skip


class TestGate:
    def test_an_incomplete_subscription_is_refused_with_409_update_required(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/transactions", json={"msisdn": NUMBER, "kind": "sim_replacement"},
                               headers=headers)  # fmt: skip
        assert response.status_code == 409
        body = response.json()["error"]
        assert body["code"] == "update_required"
        assert ("documents.portrait", "required") in errors_of(response)
        assert set(body["missing"]) == {"documents.portrait", "documents.id_front", "documents.id_back"}
        (tx,) = rows(client, counter_transactions)
        assert (tx.outcome, tx.refusal_code) == ("refused", "update_required")

    def test_a_complete_subscription_goes_through(self, client):
        seed(client, complete_record(point_of_sale="STORE-1"))
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/transactions", json={"msisdn": NUMBER, "kind": "package_change"},
                               headers=headers)  # fmt: skip
        assert response.status_code == 200
        assert response.json()["outcome"] == "done"

    def test_a_terminated_subscription_refuses_transactions(self, client):
        seed(client, complete_record(point_of_sale="STORE-1"), status="terminated")
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/transactions", json={"msisdn": NUMBER, "kind": "package_change"},
                               headers=headers)  # fmt: skip
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "subscription_terminated"

    def test_an_unknown_kind_is_a_field_error(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/transactions", json={"msisdn": NUMBER, "kind": "teleport"}, headers=headers)
        assert response.status_code == 422
        assert ("kind", "invalid_choice") in errors_of(response)

    def test_a_bill_is_paid_and_the_update_offered(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/payments", json={"msisdn": NUMBER, "amount_vnd": 185000}, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["update_offered"] is True
        assert "documents.portrait" in response.json()["missing"]


class TestUpdate:
    def test_updating_a_locked_subscription_completes_it_and_queues_the_unlock(self, client):
        seed(client, incomplete(), status="one_way_locked")
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/update", **multipart({"msisdn": NUMBER}, three_images(), purpose="update"),
                               headers=headers)  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["complete"] is True
        assert response.json()["unlock_queued"] is True
        (order,) = rows(client, network_orders)
        assert (order.action, order.status, order.reason) == ("unlock", "queued", "information_complete")
        done = client.post(f"{API}/transactions", json={"msisdn": NUMBER, "kind": "sim_replacement"}, headers=headers)
        assert done.status_code == 200

    def test_bad_images_get_field_level_errors(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        images = {"portrait": card_front_jpeg(), "id_front": gif_bytes(), "id_back": bomb_png()}
        response = client.post(f"{API}/update", **multipart({"msisdn": NUMBER}, images), headers=headers)
        assert response.status_code == 422
        assert errors_of(response) == {
            ("documents.portrait", "no_face"),
            ("documents.id_front", "image_not_supported"),
            ("documents.id_back", "image_too_large"),
        }

    def test_a_blurry_portrait_and_an_unreadable_card_are_refused(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        images = {"portrait": portrait_jpeg(blur=3), "id_front": plain_card_jpeg()}
        response = client.post(f"{API}/update", **multipart({"msisdn": NUMBER}, images), headers=headers)
        assert response.status_code == 422
        assert ("documents.portrait", "image_blurry") in errors_of(response)
        images = {"portrait": portrait_jpeg(), "id_front": plain_card_jpeg()}
        response = client.post(f"{API}/update", **multipart({"msisdn": NUMBER}, images), headers=headers)
        assert ("documents.id_front", "id_unreadable") in errors_of(response)

    def test_an_invalid_value_is_refused_field_by_field(self, client):
        seed(client, incomplete())
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/update", json={"msisdn": NUMBER, "changes": {"holder": {"gender": "male"}}},
                               headers=headers)  # fmt: skip
        assert response.status_code == 422
        assert ("holder.id_number", "id_gender_mismatch") in errors_of(response)

    def test_postpaid_suggestions_come_from_the_stored_scan(self, client):
        record = incomplete(payment_type="postpaid")
        del record["holder"]["address"]
        del record["documents"]
        seed(client, record, images={"id_front": card_front_jpeg()})
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}/suggestions", json={"msisdn": NUMBER}, headers=headers)
        assert response.status_code == 200, response.text
        assert "holder.address" in {s["field"] for s in response.json()["suggestions"]}


class TestRegistration:
    def test_an_incomplete_registration_is_refused_with_the_reasons(self, client):
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}", **multipart(new_record("0901111111"), {"portrait": portrait_jpeg()}),
                               headers=headers)  # fmt: skip
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "registration_incomplete"
        assert ("documents.id_front", "required") in errors_of(response)
        assert "documents.confirmation_form" in response.json()["error"]["missing"]

    def test_the_fourth_subscription_needs_a_contract_number(self, client):
        headers = login(client, "store_staff", "STORE-1")
        for n in ("0901111111", "0901111112", "0901111113"):
            created = client.post(f"{API}", **multipart(new_record(n), registration_images()), headers=headers)
            assert created.status_code == 201, created.text
        refused = client.post(f"{API}", **multipart(new_record("0901111114"), registration_images()),
                              headers=headers)  # fmt: skip
        assert refused.status_code == 409
        assert ("contract_number", "contract_required") in errors_of(refused)
        images = {**three_images(), "contract": paper_jpeg("HOP DONG")}
        accepted = client.post(f"{API}", **multipart(new_record("0901111114", contract_number="HD-1"), images),
                               headers=headers)  # fmt: skip
        assert accepted.status_code == 201, accepted.text

    def test_a_registration_without_consent_is_refused(self, client):
        headers = login(client, "store_staff", "STORE-1")
        response = client.post(f"{API}", **multipart(new_record("0901111111"), registration_images(),
                                                     consent_accepted="false"), headers=headers)  # fmt: skip
        assert response.status_code == 409
        assert ("consent", "consent_required") in errors_of(response)

    def test_a_compliance_officer_cannot_register(self, client):
        response = client.post(f"{API}", **multipart(new_record("0901111111"), registration_images()),
                               headers=login(client, "compliance_officer"))  # fmt: skip
        assert response.status_code == 403


class TestImages:
    def _document_id(self, client: TestClient, headers: dict[str, str]) -> int:
        card = client.post(f"{API}/lookup", json={"msisdn": NUMBER, "purpose": "update"}, headers=headers).json()
        return next(d["id"] for d in card["documents"] if d["kind"] == "portrait")

    def test_store_staff_download_an_image_with_a_purpose_and_it_is_audited(self, client):
        seed(client, incomplete(), images={"portrait": portrait_jpeg()})
        headers = login(client, "store_staff", "STORE-1")
        doc_id = self._document_id(client, headers)
        image = client.get(f"{API}/documents/{doc_id}/image", headers={**headers, "X-Purpose": "update"})
        assert image.status_code == 200
        assert image.content == portrait_jpeg()
        assert image.headers["cache-control"] == "no-store"
        assert "document:image_viewed" in [r.action for r in rows(client, audit_log)]
        no_purpose = client.get(f"{API}/documents/{doc_id}/image", headers=headers)
        assert no_purpose.status_code == 403

    def test_a_compliance_officer_gets_403_for_an_image(self, client):
        seed(client, incomplete(), images={"portrait": portrait_jpeg()})
        doc_id = self._document_id(client, login(client, "store_staff", "STORE-1"))
        officer = login(client, "compliance_officer")
        response = client.get(f"{API}/documents/{doc_id}/image", headers={**officer, "X-Purpose": "enforcement"})
        assert response.status_code == 403
