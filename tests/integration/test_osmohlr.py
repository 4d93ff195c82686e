"""OsmoHlrProvisioner against a real osmo-hlr on loopback (tests/integration/osmohlr.py starts it).

Every effect is checked through OsmoHLR itself, not through the adapter: its CTRL `info` variable (raw
frames) and its VTY (`show subscriber msisdn ...` over telnet).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from subreg.adapters.hlr.osmohlr import OsmoHlrProvisioner
from subreg.domain.common.errors import ExternalServiceError
from subreg.services.enforcement.ports import NetworkOrder, OrderAction
from tests.integration.osmohlr import OsmoHlrLoopback, osmohlr_missing

pytestmark = [pytest.mark.slow, pytest.mark.skipif(osmohlr_missing() is not None, reason=str(osmohlr_missing()))]

# Test-network IMSIs (MCC 001, MNC 01) and Vietnamese-style numbers.
SUBSCRIBERS = {
    "001010000000101": "84900000101",
    "001010000000102": "84900000102",
    "001010000000103": "84900000103",
}
FIRST, SECOND, THIRD = SUBSCRIBERS.values()
UNKNOWN = "84900000999"


def order(msisdn: str, action: OrderAction, id: int = 1) -> NetworkOrder:
    return NetworkOrder(id=id, key=f"order-{id}", msisdn=msisdn, action=action)


@pytest.fixture(scope="module")
def hlr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsmoHlrLoopback]:
    with OsmoHlrLoopback(tmp_path_factory.mktemp("osmohlr")) as running:
        yield running


@pytest.fixture(scope="module")
def provisioner(hlr: OsmoHlrLoopback) -> Iterator[OsmoHlrProvisioner]:
    adapter = OsmoHlrProvisioner(host=hlr.address, timeout=2.0)
    for imsi, msisdn in SUBSCRIBERS.items():
        adapter.create_subscriber(imsi, msisdn)
    yield adapter
    adapter.close()


@pytest.fixture
def opened(provisioner: OsmoHlrProvisioner) -> OsmoHlrProvisioner:
    """The provisioner, with every test subscriber unlocked first (tests share one osmo-hlr)."""
    for msisdn in SUBSCRIBERS.values():
        assert provisioner.apply(order(msisdn, "unlock")).status == "done"
    return provisioner


def nam(hlr: OsmoHlrLoopback, msisdn: str) -> tuple[str, str]:
    info = hlr.ctrl_info(msisdn)
    return info["nam_cs"], info["nam_ps"]


class TestProvisioning:
    def test_created_subscribers_are_found_by_number_with_both_domains_on(
        self, hlr: OsmoHlrLoopback, provisioner: OsmoHlrProvisioner
    ) -> None:
        for imsi, msisdn in SUBSCRIBERS.items():
            info = hlr.ctrl_info(msisdn)
            assert (info["imsi"], info["msisdn"], info["nam_cs"], info["nam_ps"]) == (imsi, msisdn, "1", "1")
            assert provisioner.access(msisdn) == "open"

    def test_creating_an_existing_subscriber_again_only_sets_its_number(
        self, hlr: OsmoHlrLoopback, provisioner: OsmoHlrProvisioner
    ) -> None:
        provisioner.create_subscriber("001010000000101", FIRST)
        assert hlr.ctrl_info(FIRST)["imsi"] == "001010000000101"


class TestLocks:
    def test_a_two_way_lock_turns_cs_and_ps_access_off(self, hlr: OsmoHlrLoopback, opened: OsmoHlrProvisioner) -> None:
        outcome = opened.apply(order(FIRST, "lock_two_way"))
        assert (outcome.status, outcome.applied) == ("done", "two_way")
        assert nam(hlr, FIRST) == ("0", "0")
        shown = hlr.vty(f"show subscriber msisdn {FIRST}")
        assert f"MSISDN: {FIRST}" in shown
        assert "CS disabled" in shown
        assert "PS disabled" in shown
        assert opened.access(FIRST) == "two_way"
        assert nam(hlr, SECOND) == ("1", "1")  # the others untouched
        assert nam(hlr, THIRD) == ("1", "1")

    def test_unlock_turns_them_back_on(self, hlr: OsmoHlrLoopback, opened: OsmoHlrProvisioner) -> None:
        opened.apply(order(SECOND, "lock_two_way"))
        outcome = opened.apply(order(SECOND, "unlock"))
        assert (outcome.status, outcome.applied) == ("done", "open")
        assert nam(hlr, SECOND) == ("1", "1")
        shown = hlr.vty(f"show subscriber msisdn {SECOND}")
        assert f"MSISDN: {SECOND}" in shown
        assert "disabled" not in shown
        assert opened.access(SECOND) == "open"

    def test_a_one_way_lock_is_applied_as_two_way(self, hlr: OsmoHlrLoopback, opened: OsmoHlrProvisioner) -> None:
        outcome = opened.apply(order(THIRD, "lock_one_way"))
        assert (outcome.status, outcome.applied) == ("done", "two_way")
        assert nam(hlr, THIRD) == ("0", "0")
        assert opened.access(THIRD) == "two_way"

    def test_terminate_bars_both_domains_and_keeps_the_subscriber(
        self, hlr: OsmoHlrLoopback, opened: OsmoHlrProvisioner
    ) -> None:
        outcome = opened.apply(order(FIRST, "terminate"))
        assert (outcome.status, outcome.applied) == ("done", "two_way")
        assert nam(hlr, FIRST) == ("0", "0")
        assert hlr.ctrl_info(FIRST)["imsi"] == "001010000000101"
        assert opened.access(FIRST) == "two_way"

    @pytest.mark.parametrize("action", ["lock_two_way", "lock_one_way", "terminate", "unlock"])
    def test_an_order_applied_twice_is_done_twice(
        self, hlr: OsmoHlrLoopback, opened: OsmoHlrProvisioner, action: OrderAction
    ) -> None:
        first = opened.apply(order(SECOND, action, id=7))
        again = opened.apply(order(SECOND, action, id=7))
        assert first == again
        assert again.status == "done"
        assert nam(hlr, SECOND) == (("1", "1") if action == "unlock" else ("0", "0"))

    def test_orders_from_several_threads_are_all_done(self, hlr: OsmoHlrLoopback, opened: OsmoHlrProvisioner) -> None:
        outcomes = []

        def work(msisdn: str) -> None:
            for i in range(20):
                outcomes.append(opened.apply(order(msisdn, "lock_two_way" if i % 2 else "unlock", id=i)).status)

        threads = [threading.Thread(target=work, args=(m,)) for m in SUBSCRIBERS.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes == ["done"] * 60
        assert all(nam(hlr, m) == ("0", "0") for m in SUBSCRIBERS.values())  # the last of each was a lock


class TestRefusals:
    def test_an_unknown_number_is_refused_as_unknown_subscriber(self, provisioner: OsmoHlrProvisioner) -> None:
        for action in ("lock_two_way", "lock_one_way", "unlock", "terminate"):
            outcome = provisioner.apply(order(UNKNOWN, action))
            assert (outcome.status, outcome.detail, outcome.applied) == ("refused", "unknown_subscriber", None)
        assert provisioner.access(UNKNOWN) == "absent"

    @pytest.mark.parametrize("msisdn", ["", "84 900000101", "+84900000101", "8490000010\n1", "1234567890123456"])
    def test_a_malformed_number_is_refused_before_anything_is_sent(
        self, provisioner: OsmoHlrProvisioner, msisdn: str
    ) -> None:
        assert provisioner.apply(order(msisdn, "lock_two_way")) == provisioner.apply(order(msisdn, "unlock"))
        assert provisioner.apply(order(msisdn, "unlock")).detail == "invalid_msisdn"
        with pytest.raises(ValueError, match="digits"):
            provisioner.access(msisdn)

    def test_no_log_line_carries_the_number(self, opened: OsmoHlrProvisioner) -> None:
        with capture_logs() as logs:
            opened.apply(order(FIRST, "lock_two_way", id=41))
            opened.apply(order(UNKNOWN, "lock_two_way", id=42))
        assert [(e["order_id"], e["status"], e["detail"]) for e in logs] == [
            (41, "done", ""),
            (42, "refused", "unknown_subscriber"),
        ]
        assert FIRST not in repr(logs)
        assert UNKNOWN not in repr(logs)


class TestReconnect:
    def test_a_stopped_hlr_is_retry_and_once_restarted_done_again(self, tmp_path: Path) -> None:
        with OsmoHlrLoopback(tmp_path / "hlr") as hlr:
            adapter = OsmoHlrProvisioner(host=hlr.address, timeout=2.0)
            try:
                adapter.create_subscriber("001010000000201", "84900000201")
                assert adapter.apply(order("84900000201", "lock_two_way")).status == "done"

                hlr.stop()
                outcome = adapter.apply(order("84900000201", "unlock"))
                assert (outcome.status, outcome.detail) == ("retry", "connection_refused")
                with pytest.raises(ExternalServiceError) as raised:
                    adapter.access("84900000201")
                assert raised.value.retryable
                assert "84900000201" not in str(raised.value)

                hlr.start()
                outcome = adapter.apply(order("84900000201", "unlock"))
                assert (outcome.status, outcome.applied) == ("done", "open")
                assert nam(hlr, "84900000201") == ("1", "1")
            finally:
                adapter.close()

    def test_a_connection_left_over_from_before_a_restart_is_replaced_unnoticed(self, tmp_path: Path) -> None:
        with OsmoHlrLoopback(tmp_path / "hlr") as hlr:
            adapter = OsmoHlrProvisioner(host=hlr.address, timeout=2.0)
            try:
                adapter.create_subscriber("001010000000301", "84900000301")
                assert adapter.access("84900000301") == "open"  # the connection is open now
                hlr.restart()  # ...and closed by the old process; the database is kept
                outcome = adapter.apply(order("84900000301", "lock_two_way"))
                assert (outcome.status, outcome.applied) == ("done", "two_way")
                assert nam(hlr, "84900000301") == ("0", "0")
            finally:
                adapter.close()
