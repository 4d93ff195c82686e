"""The HTTP API end to end (FastAPI TestClient over a real embedded database)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import orjson
import pytest
import segno
from anyio import to_thread
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from subreg.api.app import create_app
from tests.auth_helpers import bearer, make_staff
from tests.records import complete_record, with_holder

PERSONAL_VALUES = ("Nguyễn Thị Ánh", "079190123456", "1990-05-17", "17051990", "Lê Lợi")


@pytest.fixture
def client(client):
    """The API client signed in as store staff: checks and ID parsing need a counter role."""
    client.headers.update(bearer(client, *make_staff(client, "store_staff")))
    return client


def _qr_payload() -> str:
    return (
        "079190123456|123456789|Nguyễn Thị Ánh|17051990|Nữ|12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh|01062021"
    )


class TestHealth:
    def test_health_reports_ok_with_the_database_up(self, client):
        response = client.get("/api/v1/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["database"] == "ok"
        assert body["rule_set"] == "nd49-2017"

    def test_every_response_carries_its_own_request_id(self, client):
        # A client-sent id is not echoed: it could carry anything into the logs.
        response = client.get("/api/v1/health", headers={"x-request-id": "0912345678"})
        request_id = response.headers["x-request-id"]
        assert len(request_id) == 32
        assert "0912345678" not in request_id
        assert client.get("/api/v1/health").headers["x-request-id"] != request_id

    def test_blocking_work_runs_on_the_configured_number_of_threads(self, api_settings):
        # anyio's default (40) lets CPU-bound requests fight over the GIL; `threads` bounds it per process.
        settings = api_settings.model_copy(update={"threads": 3})
        with TestClient(create_app(settings)) as c:
            tokens = c.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
            assert tokens == 3
            assert c.get("/api/v1/health").status_code == 200


class TestChecks:
    def test_a_complete_record_is_complete(self, client):
        response = client.post("/api/v1/checks?as_of=2018-04-24", json=complete_record())
        assert response.status_code == 200
        body = response.json()
        assert body["summary"] == {"total": 1, "complete": 1, "incomplete": 0, "invalid": 0}
        result = body["results"][0]
        assert result["msisdn"] == "+84901234567"
        assert result["valid"] is True
        assert result["complete"] is True
        assert result["errors"] == []

    def test_missing_portrait_is_listed_as_missing(self, client):
        record = complete_record()
        del record["documents"]["portrait"]
        result = client.post("/api/v1/checks?as_of=2018-04-24", json=record).json()["results"][0]
        assert result["valid"] is True
        assert result["complete"] is False
        assert "documents.portrait" in result["missing"]

    def test_birth_year_mismatch_is_a_field_error_with_a_vietnamese_message(self, client):
        record = with_holder(complete_record(), date_of_birth="1991-05-17")
        result = client.post("/api/v1/checks?as_of=2018-04-24", json=record).json()["results"][0]
        assert result["valid"] is False
        codes = {(e["field"], e["code"]) for e in result["errors"]}
        assert ("holder.id_number", "id_birth_year_mismatch") in codes
        message = next(e["message"] for e in result["errors"] if e["code"] == "id_birth_year_mismatch")
        assert "CCCD" in message
        assert not any(value in message for value in PERSONAL_VALUES)

    def test_messages_follow_accept_language(self, client):
        record = complete_record(msisdn="0241234567")
        result = client.post(
            "/api/v1/checks?as_of=2018-04-24", json=record, headers={"accept-language": "en-US"}
        ).json()["results"][0]
        error = next(e for e in result["errors"] if e["field"] == "msisdn")
        assert error["code"] == "invalid_msisdn"
        assert error["message"].startswith("Not a Vietnamese mobile number")

    def test_an_array_gives_one_result_per_record_in_order(self, client):
        records = [complete_record(), complete_record(msisdn="not a number"), {"msisdn": "0912345678"}]
        body = client.post("/api/v1/checks?as_of=2018-04-24", json=records).json()
        assert [r["line"] for r in body["results"]] == [1, 2, 3]
        assert body["summary"]["total"] == 3
        assert body["summary"]["complete"] == 1
        assert body["summary"]["invalid"] >= 1

    def test_unknown_enum_value_is_a_field_error(self, client):
        record = complete_record(payment_type="barter")
        result = client.post("/api/v1/checks?as_of=2018-04-24", json=record).json()["results"][0]
        assert {"field": "payment_type", "code": "invalid_choice"} in [
            {"field": e["field"], "code": e["code"]} for e in result["errors"]
        ]

    def test_huge_field_is_a_field_error_not_a_crash(self, client):
        record = with_holder(complete_record(), full_name="A" * 50_000)
        result = client.post("/api/v1/checks?as_of=2018-04-24", json=record).json()["results"][0]
        assert ("holder.full_name", "too_long") in {(e["field"], e["code"]) for e in result["errors"]}

    def test_malformed_json_is_refused_with_a_field_level_error(self, client):
        response = client.post(
            "/api/v1/checks", content=b'{"msisdn": "0901', headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["errors"][0] == {"field": "body", "code": "invalid_json", "message": error["errors"][0]["message"]}

    @pytest.mark.parametrize(
        ("content_type", "body"),
        [
            ("text/csv", b"{}"),  # found by the fuzzer: a 500 once, then a 422
            ("text/csv", "Nguyễn\n".encode("utf-16")),
            ("application/x-ndjson", b"\x00\x01binary"),
        ],
        ids=["csv-that-is-json", "utf-16", "binary"],
    )
    def test_a_body_that_cannot_be_read_at_all_is_a_400(self, client, content_type, body):
        response = client.post("/api/v1/checks", content=body, headers={"content-type": content_type})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "unreadable_input"
        assert error["message"] != "unreadable_input"
        assert [(e["field"], e["code"]) for e in error["errors"]] == [("body", "unreadable_input")]

    def test_a_non_object_item_is_reported_at_its_position(self, client):
        body = client.post("/api/v1/checks", json=[complete_record(), 42]).json()
        assert body["results"][1]["valid"] is False
        assert body["results"][1]["errors"][0]["code"] == "invalid_format"

    def test_json_lines_and_wrong_encoding_lines_are_reported_per_line(self, client):
        lines = orjson.dumps(complete_record()) + b"\n" + '{"msisdn": "Nguy\xe1"}'.encode("latin-1") + b"\n"
        body = client.post(
            "/api/v1/checks?as_of=2018-04-24", content=lines, headers={"content-type": "application/x-ndjson"}
        ).json()
        assert body["summary"]["total"] == 2
        assert body["results"][0]["complete"] is True
        assert body["results"][1]["errors"][0]["code"] == "invalid_encoding"

    def test_csv_with_dotted_columns_is_accepted(self, client):
        csv_text = (
            "msisdn,subscriber_type,holder.full_name,holder.id_type,holder.id_number\n"
            "0901234567,individual,Nguyễn Thị Ánh,cccd,079190123456\n"
        )
        body = client.post(
            "/api/v1/checks?as_of=2018-04-24",
            content=csv_text.encode(),
            headers={"content-type": "text/csv"},
        ).json()
        result = body["results"][0]
        assert result["msisdn"] == "+84901234567"
        assert "documents.portrait" in result["missing"]

    def test_a_body_over_the_limit_is_refused_with_413(self, client):
        response = client.post(
            "/api/v1/checks", content=b"[" + b"1," * 150_000 + b"1]", headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"

    def test_unknown_rule_set_is_a_field_error(self, client):
        response = client.post("/api/v1/checks?rule_set=nd99", json=complete_record())
        assert response.status_code == 422
        assert response.json()["error"]["errors"][0]["code"] == "unknown_rule_set"

    def test_bad_as_of_is_a_field_error(self, client):
        response = client.post("/api/v1/checks?as_of=24-04-2018", json=complete_record())
        assert response.status_code == 422
        assert response.json()["error"]["errors"][0]["field"] == "as_of"


class TestIdDocumentParse:
    def test_qr_text_gives_holder_fields_with_diacritics(self, client):
        body = client.post("/api/v1/id-documents/parse", json={"qr": _qr_payload()}).json()
        assert body["source"] == "qr"
        assert body["holder"]["full_name"] == "Nguyễn Thị Ánh"
        assert body["holder"]["date_of_birth"] == "1990-05-17"
        assert body["holder"]["gender"] == "female"

    def test_qr_image_upload_is_decoded(self, client):
        buffer = io.BytesIO()
        segno.make(_qr_payload(), error="m").save(buffer, kind="png", scale=6, border=4)
        response = client.post(
            "/api/v1/id-documents/parse", files={"image": ("card.png", buffer.getvalue(), "image/png")}
        )
        assert response.status_code == 200, response.text
        assert response.json()["holder"]["id_number"] == "079190123456"

    def test_a_non_image_upload_is_refused_without_echoing_it(self, client):
        response = client.post(
            "/api/v1/id-documents/parse", files={"image": ("card.png", b"Nguyen Thi Anh 079190123456", "image/png")}
        )
        assert response.status_code == 422
        assert response.json()["error"]["errors"][0]["code"] == "not_an_image"
        assert "079190123456" not in response.text

    def test_a_broken_qr_payload_is_refused_without_echoing_it(self, client):
        response = client.post("/api/v1/id-documents/parse", json={"qr": "079190123456|Nguyễn Thị Ánh"})
        assert response.status_code == 422
        assert not any(value in response.text for value in PERSONAL_VALUES)

    def test_an_empty_request_says_what_is_required(self, client):
        response = client.post("/api/v1/id-documents/parse", json={})
        assert response.status_code == 422
        assert response.json()["error"]["errors"][0]["code"] == "required"


class TestOpenApi:
    def test_every_api_route_is_documented_with_examples(self, client):
        schema = client.get("/api/v1/openapi.json").json()
        for path in ("/api/v1/health", "/api/v1/checks", "/api/v1/id-documents/parse"):
            assert path in schema["paths"], path
        checks = schema["paths"]["/api/v1/checks"]["post"]
        assert checks["requestBody"]["content"]["application/json"]["examples"]
        assert "SubscriptionRecord" in schema["components"]["schemas"]
        assert schema["paths"]["/api/v1/id-documents/parse"]["post"]["requestBody"]["content"]["multipart/form-data"]

    def test_the_records_value_lists_are_the_domains(self, client):
        # A channel or an ID type the domain adds shows in the integrators' manual (mobile_point was missing).
        from subreg.domain.compliance.records import CHANNELS, STATUSES

        schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]

        def enum(model: str, field: str) -> list[str]:
            (values,) = [v["enum"] for v in schemas[model]["properties"][field]["anyOf"] if "enum" in v]
            return values

        assert enum("SubscriptionRecord", "channel") == list(CHANNELS)
        assert "mobile_point" in enum("SubscriptionRecord", "channel")
        assert enum("SubscriptionRecord", "status") == list(STATUSES)
        assert enum("HolderIn", "id_type") == list(client.app.state.container.rule_set.id_types)

    def test_every_api_route_is_in_the_schema_with_a_summary(self, client):
        """Every API route is listed with a summary and a description (the schema is the integrators' manual)."""
        schema = client.get("/api/v1/openapi.json").json()
        problems = []
        for route in _api_routes(client.app):
            if route.path == "/api/v1/openapi.json":
                continue
            operations = schema["paths"].get(route.path)
            if operations is None:
                problems.append(f"{route.path}: missing from the schema")
                continue
            for method in route.methods - {"HEAD", "OPTIONS"}:
                op = operations.get(method.lower())
                if op is None:
                    problems.append(f"{method} {route.path}: missing from the schema")
                elif not (op.get("summary") and op.get("description")):
                    problems.append(f"{method} {route.path}: no summary/description")
        assert problems == []


def _api_routes(app):
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: routes are flat
        return [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/api/")]
    return [
        SimpleNamespace(path=c.path, methods=set(c.methods or ()))
        for c in iter_route_contexts(app.routes)
        if (c.path or "").startswith("/api/") and getattr(c, "methods", None)
    ]


class TestErrors:
    def test_unknown_route_gives_a_json_error(self, client):
        response = client.get("/api/v1/nope")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    @pytest.mark.parametrize("lang", ["vi", "en"])
    def test_home_page_renders_in_both_languages(self, client, lang):
        response = client.get(f"/?lang={lang}")
        assert response.status_code == 200
        assert ("Cơ sở dữ liệu" in response.text) if lang == "vi" else ("Central subscriber database" in response.text)

    @pytest.mark.parametrize(
        ("role", "method", "url"),
        [
            ("admin", "POST", "/api/v1/staff/{id}/disable"),
            ("admin", "POST", "/api/v1/staff/{id}/reset-password"),
            ("dpo", "GET", "/api/v1/dsr/{id}"),
            ("dpo", "POST", "/api/v1/dsr/{id}/export"),
            ("dpo", "POST", "/api/v1/dsr/{id}/fulfil"),
            ("dpo", "GET", "/api/v1/subscriptions/documents/{id}/image?purpose=dsr"),
            ("auditor", "GET", "/api/v1/audit?before_seq={id}"),
            ("auditor", "GET", "/api/v1/audit?staff_id={id}"),
        ],
    )
    def test_an_id_no_row_can_have_is_a_field_error_not_a_crash(self, client, role, method, url):
        # Found by the fuzzer: 2**63 cannot even be bound by SQLite (OverflowError, a 500).
        headers = bearer(client, *make_staff(client, role))
        for value in (2**63, 10**30, 0):
            response = client.request(method, url.format(id=value), headers=headers)
            assert response.status_code == 422, (value, response.text)
            assert response.json()["error"]["code"] == "invalid_input"
        largest = client.request(method, url.format(id=2**63 - 1), headers=headers)
        assert largest.status_code in (200, 404), largest.text

    def test_an_out_of_range_id_in_an_audit_search_body_is_a_field_error(self, client):
        headers = bearer(client, *make_staff(client, "auditor"))
        for field in ("holder_id", "staff_id", "before_seq"):
            response = client.post("/api/v1/audit/search", json={field: 2**63}, headers=headers)
            assert response.status_code == 422, response.text
            assert [e["field"] for e in response.json()["error"]["errors"]] == [field]
