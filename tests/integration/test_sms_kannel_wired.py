"""1414 end to end through a real Kannel and subreg as it is deployed: fakesmsc sends `TTTB` from a registered
number -> bearerbox -> smsbox -> the API's MO callback (`create_app`, settings-configured gateway secret) ->
the use cases (stored, looked up, audited, queued) -> `subreg sms serve`'s loop with the Kannel transport ->
sendsms -> fakesmsc gets the real reply; the delivery report comes back to the API and settles the outbox row.
SQLite, real processes on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from subreg.adapters.db.tables import audit_log, sms_inbound, sms_outbox
from subreg.api.app import create_app
from subreg.bootstrap import bootstrap, init_storage
from subreg.config import Settings
from subreg.jobs.sms import SmsService
from tests.integration.kannel_fixture import KannelLoopback, free_port, kannel_missing
from tests.integration.sms_wiring import table_rows, wait_until
from tests.integration.test_shredding import store
from tests.records import complete_record

pytestmark = [pytest.mark.slow, pytest.mark.skipif(kannel_missing() is not None, reason=str(kannel_missing()))]

SECRET = "wired-secret-71a2"  # a throwaway gateway secret
OWNER = "0901234567"


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own handlers
        pass


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, KannelLoopback]]:
    root: Path = tmp_path_factory.mktemp("wired")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    kannel = KannelLoopback(root / "kannel", post_url=f"{base}/sms/kannel/main/mo?secret={SECRET}&id=%I")
    (root / "kannel").mkdir()
    settings = Settings(
        env="test", var_dir=root / "var", sms_transport="kannel", sms_gateway_secrets=f"main:{SECRET}",
        sms_gateway_addresses="127.0.0.1", kannel_sendsms_url=kannel.sendsms_url, kannel_username=kannel.username,
        kannel_password=kannel.password, kannel_dlr_url=f"{base}/sms/kannel/main/dlr?secret={SECRET}",
        sms_operator_name="MobiDemo",
    )  # fmt: skip
    init_storage(settings)
    seeding = bootstrap(settings)
    store(seeding, complete_record(msisdn=OWNER))
    seeding.close()
    app = create_app(settings)
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    web = threading.Thread(target=server.run, daemon=True)
    web.start()
    assert wait_until(lambda: server.started, 10), "uvicorn did not start"
    kannel.start()
    sms = SmsService(bootstrap(settings), idle_sleep=0.02)
    loop = threading.Thread(target=sms.run, daemon=True)
    loop.start()
    try:
        yield settings, kannel
    finally:
        sms.stop()
        loop.join(10)
        kannel.stop()
        server.should_exit = True
        web.join(10)


def test_tttb_from_a_registered_number_gets_its_registration_back_and_a_delivery_report(wired):
    settings, kannel = wired
    kannel.inject_mo("84901234567", "1414", "TTTB")

    (mt,) = kannel.mt_to("84901234567", 1, timeout=60)
    assert mt.sender == "1414"
    assert "Nguyen Thi Anh" in mt.data
    assert "********3456" in mt.data
    assert "day du" in mt.data
    assert "079190123456" not in mt.data

    (inbound,) = table_rows(settings, sms_inbound)
    assert (inbound["transport"], inbound["state"], inbound["sender"]) == ("kannel:main", "answered", 84901234567)
    assert inbound["gateway_id"]  # Kannel's %I: a redelivery is answered once
    audited = table_rows(settings, audit_log, audit_log.c.action == "sms:lookup")
    assert [(a["purpose"], a["subject"]) for a in audited] == [("subscriber_self_service", audited[0]["subject"])]
    assert audited[0]["subject"].startswith("line:")

    def delivered() -> bool:
        return [r["state"] for r in table_rows(settings, sms_outbox)] == ["delivered"]

    assert wait_until(delivered, 60), table_rows(settings, sms_outbox)


def test_a_callback_without_the_secret_is_refused_audited_and_never_answered(wired):
    import httpx

    settings, kannel = wired
    base = kannel.post_url.split("/sms/")[0]
    r = httpx.post(f"{base}/sms/kannel/main/mo", content=b"TTTB", headers={"X-Kannel-From": "84901234567"})
    assert r.status_code == 403
    refused = table_rows(settings, audit_log, audit_log.c.action == "sms:gateway_refused")
    assert refused
    assert '"reason":"bad_secret"' in refused[-1]["details"].replace(" ", "")
    assert len(table_rows(settings, sms_inbound)) <= 1  # only the first test's MO
