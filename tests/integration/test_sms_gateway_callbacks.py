"""The gateway callbacks router without Kannel: conversion of requests, refusals, receipts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from subreg.api.routers import sms_gateways
from subreg.api.routers.sms_gateways import GatewayCallback, receipt_from_kannel
from subreg.services.sms.ports import InboundMessage, Receipt
from tests.integration.sms_scaffolding import RecordingRefusals

SECRET = "gw-secret-unit"
AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


class RecordingInbox:
    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.receipts: list[Receipt] = []

    def receive(self, messages):
        self.messages.extend(messages)

    def record_receipts(self, receipts):
        self.receipts.extend(receipts)


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()
    app.include_router(sms_gateways.router)
    app.state.sms_gateways = {
        "main": GatewayCallback("main", SECRET),
        "walled": GatewayCallback("walled", SECRET, allow=("10.9.0.0/16",)),
    }
    app.state.sms_inbox = RecordingInbox()
    app.state.sms_gateway_refusals = RecordingRefusals()
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def mo_headers(**extra: str) -> dict[str, str]:
    return {"X-Kannel-From": "+84901234567", "X-Kannel-To": "1414", "X-Kannel-Time": "2026-12-02 10:15:00", **extra}


class TestMo:
    def test_a_text_mo_becomes_an_inbound_message_and_gets_an_empty_answer(self, app, client):
        r = client.post(
            "/sms/kannel/main/mo",
            params={"secret": SECRET, "id": "0d3f6a2e-6c1b-4b5f-9a43-0c2b7d6e5f10"},
            content=b"TTTB",
            headers=mo_headers(**{"Content-Type": 'text/plain; charset="UTF-8"', "X-Kannel-Coding": "0"}),
        )

        assert (r.status_code, r.content) == (200, b"")
        (m,) = app.state.sms_inbox.messages
        assert m == InboundMessage(
            sender="+84901234567",
            recipient="1414",
            text="TTTB",
            transport="kannel:main",
            received_at=datetime(2026, 12, 2, 10, 15, tzinfo=UTC),
            gateway_id="0d3f6a2e-6c1b-4b5f-9a43-0c2b7d6e5f10",
            coding="gsm7",
        )

    def test_the_secret_may_come_in_a_header(self, app, client):
        r = client.post("/sms/kannel/main/mo", content=b"TTTB", headers=mo_headers(**{"X-Gateway-Secret": SECRET}))

        assert r.status_code == 200
        assert len(app.state.sms_inbox.messages) == 1

    def test_a_ucs2_mo_is_decoded_from_utf16(self, app, client):
        body = "TTTB Thuê bao".encode("utf-16-be")
        client.post(
            "/sms/kannel/main/mo",
            params={"secret": SECRET},
            content=body,
            headers=mo_headers(**{"Content-Type": 'text/plain; charset="UTF-16BE"', "X-Kannel-Coding": "2"}),
        )

        (m,) = app.state.sms_inbox.messages
        assert (m.text, m.coding) == ("TTTB Thuê bao", "ucs2")

    def test_a_binary_mo_has_no_text(self, app, client):
        client.post(
            "/sms/kannel/main/mo",
            params={"secret": SECRET},
            content=b"\x00\x01\x02",
            headers=mo_headers(**{"Content-Type": "application/octet-stream", "X-Kannel-Coding": "1"}),
        )

        (m,) = app.state.sms_inbox.messages
        assert (m.text, m.coding) == (None, "binary")

    def test_an_mo_without_a_sender_is_invalid(self, app, client):
        r = client.post("/sms/kannel/main/mo", params={"secret": SECRET}, content=b"TTTB")

        assert r.status_code == 422
        assert r.json()["error"]["errors"][0]["field"] == "X-Kannel-From"
        assert app.state.sms_inbox.messages == []

    def test_without_an_inbox_wired_the_mo_is_answered_503_so_kannel_retries(self, app, client):
        del app.state.sms_inbox
        r = client.post("/sms/kannel/main/mo", params={"secret": SECRET}, content=b"TTTB", headers=mo_headers())

        assert r.status_code == 503


class TestRefusals:
    @pytest.mark.parametrize(
        ("path", "params", "reason"),
        [
            ("/sms/kannel/main/mo", {}, "bad_secret"),
            ("/sms/kannel/main/mo", {"secret": SECRET + "x"}, "bad_secret"),
            ("/sms/kannel/nobody/mo", {"secret": SECRET}, "unknown_gateway"),
            ("/sms/kannel/walled/mo", {"secret": SECRET}, "address_not_allowed"),
        ],
    )
    def test_a_request_without_the_gateway_secret_or_address_is_refused_and_audited(
        self, app, client, path, params, reason
    ):
        r = client.post(path, params=params, content=b"TTTB", headers=mo_headers())

        assert r.status_code == 403
        assert r.json()["error"]["code"] == "gateway_refused"
        (refusal,) = app.state.sms_gateway_refusals.refused_calls
        assert refusal["reason"] == reason
        assert "secret" not in str(refusal["path"])
        assert app.state.sms_inbox.messages == []

    def test_an_allowed_address_passes(self, app):
        with TestClient(app, client=("10.9.3.4", 50000)) as c:
            r = c.post("/sms/kannel/walled/mo", params={"secret": SECRET}, content=b"TTTB", headers=mo_headers())

        assert r.status_code == 200


class TestDlr:
    def test_a_delivery_report_becomes_a_receipt(self, app, client):
        r = client.get(
            "/sms/kannel/main/dlr",
            params={
                "secret": SECRET,
                "id": "4711.2",
                "status": "1",
                "answer": "stat:DELIVRD err:000",
                "at": "1796206500",
            },
        )

        assert (r.status_code, r.content) == (200, b"")
        assert app.state.sms_inbox.receipts == [
            Receipt(
                transport="kannel", message_id="4711.2", state="delivered", at=datetime.fromtimestamp(1796206500, UTC)
            )
        ]

    @pytest.mark.parametrize("bad", [{"id": "abc"}, {"id": "1.1", "status": "x"}, {"id": ""}])
    def test_a_report_without_our_id_or_a_status_is_invalid(self, client, bad):
        r = client.get("/sms/kannel/main/dlr", params={"secret": SECRET, "status": "1", **bad})

        assert r.status_code == 422

    @pytest.mark.parametrize(
        ("status", "answer", "state", "error"),
        [
            (1, "id:1 stat:DELIVRD err:000", "delivered", None),
            (8, "ACK/", "buffered", None),
            (4, "", "buffered", None),
            (2, "id:1 sub:001 dlvrd:000 stat:EXPIRED err:000", "expired", "DLR_EXPIRED"),
            (2, "id:1 stat:UNDELIV err:0C1", "failed", "DLR_UNDELIV:0C1"),
            (2, "id:1 stat:REJECTD err:000", "rejected", "DLR_REJECTD"),
            (2, "", "failed", "DLR_FAILED"),
            (16, "NACK/0x0000000b/Invalid Destination Address", "rejected", "SMPP_0x0000000b"),
            (16, "", "rejected", "SMSC_REJECTED"),
            (64, "", "unknown", None),
        ],
    )
    def test_kannel_report_types_and_smpp_texts_map_to_receipt_states(self, status, answer, state, error):
        r = receipt_from_kannel("9.1", status, answer, AT)

        assert (r.state, r.error) == (state, error)
