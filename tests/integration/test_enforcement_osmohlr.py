"""Enforcement end to end with a real HLR: osmo-hlr on loopback, a real `subreg worker` carrying the orders.

Subscribers are provisioned in OsmoHLR through its CTRL interface; the sweep runs day after day (notices,
then the one-way lock, applied by OsmoHLR as CS/PS access off, then two-way); a line completed at a channel
is restored: its access comes back. OsmoHLR's own CTRL and VTY are the witnesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from subreg.adapters.db.tables import network_orders, subscriptions
from subreg.adapters.hlr.osmohlr import OsmoHlrProvisioner
from subreg.bootstrap import Container
from subreg.config import Settings
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.services.enforcement.sweep import sweep
from tests.integration.osmohlr import OsmoHlrLoopback, osmohlr_missing
from tests.integration.test_enforcement_sweep import DAY0, NOW, _lines

pytestmark = pytest.mark.skipif(osmohlr_missing() is not None, reason=osmohlr_missing() or "")

SUBREG = str(Path(sys.executable).parent / "subreg")


@pytest.fixture
def hlr(tmp_path: Path) -> Iterator[OsmoHlrLoopback]:
    with OsmoHlrLoopback(tmp_path / "osmohlr") as running:
        yield running


@pytest.fixture
def settings(database_url: str, tmp_path: Path, hlr: OsmoHlrLoopback) -> Settings:
    """The conftest's settings (its `container` builds on these) with the network at this osmo-hlr."""
    return Settings(env="test", var_dir=tmp_path / "var", database_url=database_url,
                    network_provisioner="osmohlr", osmohlr_ctrl=f"{hlr.address}:{hlr.ctrl_port}")  # fmt: skip


@pytest.fixture
def worker(settings: Settings, container: Container) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(SUBREG_ENV="test", SUBREG_VAR_DIR=str(settings.var_dir), SUBREG_DATABASE_URL=settings.database_url,
               SUBREG_NETWORK_PROVISIONER="osmohlr", SUBREG_OSMOHLR_CTRL=settings.osmohlr_ctrl)  # fmt: skip
    with (settings.var_dir / "worker.log").open("wb") as log:
        proc = subprocess.Popen([SUBREG, "worker", "--no-sms", "--no-schedule"], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
        yield proc
        proc.terminate()
        proc.wait(20)


def _numbers(container: Container, ids: list[int]) -> dict[int, str]:
    with container.engine.connect() as c:
        rows = c.execute(select(subscriptions.c.id, subscriptions.c.msisdn).where(subscriptions.c.id.in_(ids)))
        return {i: msisdn_from_key(int(m)).lstrip("+") for i, m in rows}


def _wait_orders_done(container: Container, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with container.engine.connect() as c:
            left = c.execute(select(network_orders.c.id).where(network_orders.c.status != "done")).first()
        if left is None:
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not carry out every order")


def _barred(hlr: OsmoHlrLoopback, msisdn: str) -> bool:
    """What OsmoHLR itself says: CTRL's nam flags, and the VTY's `CS disabled / PS disabled` lines."""
    info = hlr.ctrl_info(msisdn)
    shown = hlr.vty(f"show subscriber msisdn {msisdn}")
    ctrl_off = (info["nam_cs"], info["nam_ps"]) == ("0", "0")
    assert ctrl_off == ("CS disabled" in shown and "PS disabled" in shown)  # the two interfaces agree
    return ctrl_off


def test_locks_and_restoration_reach_osmohlr_over_days(container, hlr, worker):
    ids = _lines(container, 4)  # lines 1, 2 and 3 are incomplete
    numbers = _numbers(container, ids)
    setup = OsmoHlrProvisioner(host=hlr.address, timeout=2.0)
    for n, sid in enumerate(ids):
        setup.create_subscriber(f"0010100000{n:05d}", numbers[sid])
    setup.close()
    options, notices = container.enforcement_options(), container.notices()

    def day(offset: int) -> dict:
        return sweep(uow=container.uow(), as_of=DAY0 + timedelta(days=offset), now=NOW, options=options,
                     notices=notices).as_dict()  # fmt: skip

    assert day(0)["transitions"]["notify"] == 3
    for offset in range(1, 5):
        assert day(offset)["renotify"] == 3
    assert not any(_barred(hlr, numbers[s]) for s in ids)  # notices lock nothing
    assert day(15)["transitions"]["lock_one_way"] == 3
    _wait_orders_done(container)
    assert [_barred(hlr, numbers[s]) for s in ids] == [False, True, True, True]  # one-way = CS/PS off here
    # Line 1 is completed at a channel: the worker restores it within seconds and OsmoHLR opens it again.
    with container.engine.begin() as c:
        c.execute(subscriptions.update().where(subscriptions.c.id == ids[1]).values(verdict=0))
        c.execute(text("INSERT INTO enforcement_recheck (subscription_id, channel, created_at) "
                       "VALUES (:i, 'counter', :t)"), {"i": ids[1], "t": NOW})  # fmt: skip
    deadline = time.monotonic() + 20
    while _barred(hlr, numbers[ids[1]]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _barred(hlr, numbers[ids[1]])
    assert day(30)["transitions"]["lock_two_way"] == 2
    _wait_orders_done(container)
    assert [_barred(hlr, numbers[s]) for s in ids] == [False, False, True, True]
    with container.engine.connect() as c:
        applied = c.execute(select(network_orders.c.action, network_orders.c.applied, network_orders.c.provisioner)
                            .order_by(network_orders.c.id)).all()  # fmt: skip
    assert [a for a, _, _ in applied] == ["lock_one_way"] * 3 + ["unlock"] + ["lock_two_way"] * 2
    assert {p for _, _, p in applied} == {"osmohlr"}
    assert {ap for a, ap, _ in applied if a == "lock_one_way"} == {"two_way"}  # OsmoHLR has no outgoing-only bar
