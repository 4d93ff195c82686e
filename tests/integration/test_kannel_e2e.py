"""Kannel end to end: fakesmsc -> bearerbox -> smsbox -> subreg's MO endpoint -> sendsms -> fakesmsc,
and the delivery reports back to subreg's dlr endpoint. Real processes on 127.0.0.1, a real uvicorn server.

The inbox behind the router is test scaffolding (`sms_scaffolding.ScaffoldReplyingInbox`), not the use cases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from subreg.adapters.sms.kannel import KannelConfig, KannelTransport
from subreg.api.routers import sms_gateways
from subreg.api.routers.sms_gateways import GatewayCallback
from tests.integration.kannel_fixture import KannelLoopback, free_port, kannel_missing
from tests.integration.sms_scaffolding import (
    LONG_PARTS,
    SHORT_REPLY,
    UCS2_REPLY,
    RecordingRefusals,
    ScaffoldReplyingInbox,
    concat_udh,
)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(kannel_missing() is not None, reason=str(kannel_missing()))]

GATEWAY = "loop"
SECRET = "gw-secret-3c9f1a"  # the secret is not personal data; Kannel can only carry it in its URLs


@dataclass
class Rig:
    base_url: str
    kannel: KannelLoopback
    inbox: ScaffoldReplyingInbox
    refusals: RecordingRefusals


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own handlers
        pass


def gateway_app() -> FastAPI:
    """A bare app serving only the gateway callbacks (the full app does not register them yet)."""
    app = FastAPI()
    app.include_router(sms_gateways.router)
    app.state.sms_gateways = {GATEWAY: GatewayCallback(GATEWAY, SECRET, allow=("127.0.0.0/8",))}
    return app


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    app = gateway_app()
    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    base = f"http://127.0.0.1:{port}"
    refusals = RecordingRefusals()
    app.state.sms_gateway_refusals = refusals
    workdir: Path = tmp_path_factory.mktemp("kannel")
    post_url = f"{base}/sms/kannel/{GATEWAY}/mo?secret={SECRET}&id=%I"
    kannel = KannelLoopback(workdir, post_url=post_url)
    try:
        kannel.start()
        transport = KannelTransport(
            KannelConfig(
                sendsms_url=kannel.sendsms_url,
                username=kannel.username,
                password=kannel.password,
                dlr_url=f"{base}/sms/kannel/{GATEWAY}/dlr?secret={SECRET}",
            )
        )
        inbox = ScaffoldReplyingInbox(transport)
        inbox.start()
        app.state.sms_inbox = inbox
        yield Rig(base, kannel, inbox, refusals)
        inbox.stop()
        transport.close()
    finally:
        kannel.stop()
        server.should_exit = True
        thread.join(timeout=10)


def _mo_from(rig: Rig, sender: str) -> list:
    return [m for m in rig.inbox.messages if m.sender.lstrip("+") == sender]


class TestKannelRoundTrip:
    def test_an_mo_reaches_the_endpoint_and_the_reply_comes_out_at_fakesmsc(self, rig: Rig):
        rig.kannel.inject_mo("84901230001", "1414", "TTTB")

        assert rig.inbox.wait_for(lambda: bool(_mo_from(rig, "84901230001"))), "the MO endpoint got nothing"
        mo = _mo_from(rig, "84901230001")[0]
        assert (mo.recipient, mo.text, mo.coding, mo.transport) == ("1414", "TTTB", "gsm7", f"kannel:{GATEWAY}")
        assert mo.gateway_id  # Kannel's own id of the MO, through %I in the post-url

        (mt,) = rig.kannel.mt_to("84901230001", 1)
        assert (mt.sender, mt.kind, mt.udh, mt.data) == ("1414", "text", None, SHORT_REPLY)

    def test_the_delivery_report_becomes_a_receipt_with_our_message_id(self, rig: Rig):
        rig.kannel.inject_mo("84901230002", "1414", "TTTB")
        assert rig.inbox.wait_for(lambda: any(m.to == "84901230002" for m, _ in rig.inbox.submitted))
        message, outcome = next((m, o) for m, o in rig.inbox.submitted if m.to == "84901230002")
        assert outcome.status == "accepted"
        assert outcome.message_ids == (f"{message.id}.1",)

        def delivered() -> bool:
            return any(r.message_id == f"{message.id}.1" and r.state == "delivered" for r in rig.inbox.receipts)

        assert rig.inbox.wait_for(delivered), f"no delivered receipt: {rig.inbox.receipts}"
        states = {r.state for r in rig.inbox.receipts if r.message_id == f"{message.id}.1"}
        assert states == {"buffered", "delivered"}  # 8 (the SMSC took it), then 1 (delivered)
        assert all(r.transport == "kannel" for r in rig.inbox.receipts)

    def test_a_three_part_reply_arrives_as_three_parts_with_their_udh(self, rig: Rig):
        rig.kannel.inject_mo("84901230003", "1414", "TTTB DAI")

        mts = rig.kannel.mt_to("84901230003", 3)
        # The parts can reach fakesmsc before the last sendsms answer reaches the submitting thread.
        assert rig.inbox.wait_for(lambda: any(m.to == "84901230003" for m, _ in rig.inbox.submitted))
        message = next(m for m, _ in rig.inbox.submitted if m.to == "84901230003")
        ref = message.id % 256
        assert [mt.udh_bytes() for mt in mts] == [concat_udh(ref, 3, n) for n in (1, 2, 3)]
        assert [mt.payload().decode() for mt in mts] == list(LONG_PARTS)

        ids = {f"{message.id}.{n}" for n in (1, 2, 3)}
        assert rig.inbox.wait_for(
            lambda: ids <= {r.message_id for r in rig.inbox.receipts if r.state == "delivered"}
        ), "not every part got its delivered receipt"

    def test_a_ucs2_reply_reaches_fakesmsc_as_ucs2(self, rig: Rig):
        rig.kannel.inject_mo("84901230004", "1414", "TTTB VI")

        (mt,) = rig.kannel.mt_to("84901230004", 1)
        assert mt.kind == "ucs-2"  # fakesmsc 1.4.5 prints UCS-2 as "ucs-2 <URL-encoded UTF-16BE>"
        assert mt.payload().decode("utf-16-be") == UCS2_REPLY


class TestGatewayRefusals:
    def test_a_request_without_the_secret_is_refused_and_audited(self, rig: Rig):
        before = len(rig.inbox.messages)
        r = httpx.post(
            f"{rig.base_url}/sms/kannel/{GATEWAY}/mo",
            content=b"TTTB",
            headers={"X-Kannel-From": "84901230005", "X-Kannel-To": "1414"},
        )
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "gateway_refused"
        assert rig.refusals.refused_calls[-1]["reason"] == "bad_secret"
        assert rig.refusals.refused_calls[-1]["gateway"] == GATEWAY
        time.sleep(0.3)
        assert len(rig.inbox.messages) == before
        assert rig.kannel.mt_lines == [line for line in rig.kannel.mt_lines if "84901230005" not in line]

    def test_a_receipt_with_a_wrong_secret_is_refused(self, rig: Rig):
        r = httpx.get(f"{rig.base_url}/sms/kannel/{GATEWAY}/dlr", params={"secret": "nope", "id": "1.1", "status": 1})
        assert r.status_code == 403
        assert rig.refusals.refused_calls[-1]["reason"] == "bad_secret"

    def test_an_unknown_gateway_is_refused_like_a_wrong_secret(self, rig: Rig):
        r = httpx.get(f"{rig.base_url}/sms/kannel/other/dlr", params={"secret": SECRET, "id": "1.1", "status": 1})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "gateway_refused"
        assert rig.refusals.refused_calls[-1]["reason"] == "unknown_gateway"
