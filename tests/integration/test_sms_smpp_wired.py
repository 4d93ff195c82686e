"""1414 end to end over SMPP as deployed: the network side sends `TTTB` from a registered number as a
deliver_sm to Jasmin (a real jasmind on loopback), Jasmin routes it to subreg's ESME (`subreg sms serve`'s
loop, `SUBREG_SMS_TRANSPORT=smpp`, binds from settings); the MO is stored, looked up, audited and answered
through the outbox; the reply reaches the network side as a submit_sm from 1414 and its delivery receipt
settles the outbox row. Then Jasmin is restarted mid-run: the ESME binds again and the next look-up is answered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from subreg.adapters.db.tables import audit_log, sms_inbound, sms_outbox
from subreg.bootstrap import bootstrap, init_storage
from subreg.config import Settings
from subreg.jobs.sms import SmsService
from tests.integration.sms_wiring import table_rows, wait_until
from tests.integration.test_shredding import store
from tests.records import complete_record
from tests.smpp.jasmin import FakeNetwork, Jasmin, drop_vhost, jasmin_available

pytestmark = [pytest.mark.slow, pytest.mark.skipif(jasmin_available() is not None, reason=str(jasmin_available()))]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[Settings, FakeNetwork, Jasmin]]:
    network = FakeNetwork()
    jasmin = Jasmin(tmp_path / "jasmin", network)
    jasmin.start()
    service = None
    try:
        jasmin.configure()
        settings = Settings(
            env="test", var_dir=tmp_path / "var", sms_transport="smpp",
            smpp_binds=f"127.0.0.1:{jasmin.smpp_port}:{jasmin.system_id}:{jasmin.password}",
            smpp_enquire_link_seconds=2, smpp_response_timeout_seconds=5, smpp_reconnect_max_seconds=2,
        )  # fmt: skip
        init_storage(settings)
        seeding = bootstrap(settings)
        store(seeding, complete_record(msisdn="0901234567"))
        seeding.close()
        service = SmsService(bootstrap(settings), idle_sleep=0.02)
        loop = threading.Thread(target=service.run, daemon=True)
        loop.start()
        assert service.transport.wait_bound(15), "the ESME did not bind to Jasmin"  # type: ignore[attr-defined]
        network.wait_bound()
        yield settings, network, jasmin
    finally:
        if service is not None:
            service.stop()
        jasmin.stop()
        drop_vhost(jasmin.vhost)
        network.close()


def _replies_to(network: FakeNetwork, number: str) -> list:
    return [r for r in network.received if r.destination == number]


def test_tttb_over_smpp_is_answered_receipted_and_survives_a_jasmin_restart(rig):
    settings, network, jasmin = rig
    network.send_mo("84901234567", "1414", b"TTTB")

    assert wait_until(lambda: bool(_replies_to(network, "84901234567")), 60), "no reply reached the network"
    reply = "".join(r.text for r in _replies_to(network, "84901234567"))
    assert "Nguyen Thi Anh" in reply
    assert "********3456" in reply
    assert "079190123456" not in reply
    assert _replies_to(network, "84901234567")[0].source == "1414"
    (inbound,) = table_rows(settings, sms_inbound)
    assert (inbound["state"], inbound["sender"]) == ("answered", 84901234567)
    assert inbound["transport"].startswith("smpp:")
    assert len(table_rows(settings, audit_log, audit_log.c.action == "sms:lookup")) == 1
    assert wait_until(lambda: [r["state"] for r in table_rows(settings, sms_outbox)] == ["delivered"], 60)

    jasmin.stop()
    jasmin.start()
    network.wait_bound(30)
    network.send_mo("84901234567", "1414", b"TTTB 079190123456")
    assert wait_until(lambda: len(table_rows(settings, sms_outbox)) == 2, 60), (
        "the MO after the restart was not answered"
    )
    replied = wait_until(lambda: len(_replies_to(network, "84901234567")) >= 2, 60)
    assert replied, "its reply did not reach the network"
    listing = _replies_to(network, "84901234567")[-1].text
    assert "0*****4567" in listing
