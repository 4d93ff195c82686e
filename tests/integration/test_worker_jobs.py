"""The worker's enforcement jobs in one process: the daily sweep on time, orders carried out, restorations."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from subreg.adapters.db.tables import audit_log, enforcement_steps, network_lines
from subreg.config import Settings
from subreg.jobs.enforcement import EnforcementJobs
from tests.integration.test_enforcement_sweep import _lines


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The conftest's settings (its `container` builds on these) with the daily sweep due at once."""
    return Settings(env="test", var_dir=tmp_path / "var", database_url=database_url, enforce_daily_at="00:00")


def _until(check, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_the_worker_sweeps_once_a_day_carries_orders_and_restores(container):
    ids = _lines(container, 4)  # three incomplete lines
    jobs = EnforcementJobs(container, idle_sleep=0.05)
    runner = threading.Thread(target=jobs.run, daemon=True)
    runner.start()
    try:

        def swept() -> bool:
            with container.engine.connect() as c:
                return c.execute(select(func.count()).select_from(audit_log)
                                 .where(audit_log.c.action == "enforcement:run")).scalar_one() == 1  # fmt: skip

        assert _until(swept), "no daily sweep"
        with container.engine.connect() as c:
            notified = c.execute(select(func.count()).select_from(enforcement_steps)).scalar_one()
        assert notified == 3
        time.sleep(6)  # the schedule looks again: today is done, no second sweep
        assert swept()
        # A line locked by hand on the built-in network and completed: restored and unlocked within seconds.
        with container.engine.begin() as c:
            c.execute(text("UPDATE subscriptions SET enf_state = 2, status = 'one_way_locked', verdict = 0 "
                           "WHERE id = :i"), {"i": ids[1]})  # fmt: skip
            c.execute(text("INSERT INTO enforcement_recheck (subscription_id, channel, created_at) "
                           "VALUES (:i, 'counter', CURRENT_TIMESTAMP)"), {"i": ids[1]})  # fmt: skip

        def unlocked() -> bool:
            with container.engine.connect() as c:
                return c.execute(select(network_lines.c.access)).scalar() == "open"

        assert _until(unlocked), "not restored"
        with container.engine.connect() as c:
            status = c.execute(text("SELECT status, enf_state FROM subscriptions WHERE id = :i"), {"i": ids[1]}).one()
        assert tuple(status) == ("active", None)
    finally:
        jobs.stop()
        runner.join(timeout=15)
