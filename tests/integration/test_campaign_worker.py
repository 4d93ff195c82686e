"""The worker's campaign loop in real time with the built-in centre: the rate measured at the receiving end is the
configured one, and a paused campaign stops within a tick."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

import pytest
from sqlalchemy import func, select

from subreg.adapters.clock import OPERATOR_TZ
from subreg.adapters.db.tables import sms_outbox
from subreg.bootstrap import Container, bootstrap, init_storage
from subreg.config import Settings
from subreg.jobs.campaigns import CampaignJobs
from subreg.jobs.sms import SmsService
from subreg.services.campaigns import manage
from subreg.services.campaigns.manage import CreateCampaign
from tests.integration.campaign_lines import Line, seed_lines
from tests.integration.sms_wiring import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'w.db'}")
    init_storage(settings)
    built = bootstrap(settings)
    yield built
    built.close()


@contextmanager
def worker(container: Container) -> Iterator[None]:
    """The worker's campaign loop and SMS service (built-in centre) in threads of this process. Lines are seeded
    before: a test writing beside the dispatchers' write transactions would meet SQLite's busy snapshot."""
    jobs, sms = CampaignJobs(container), SmsService(container, idle_sleep=0.01)
    threads = [threading.Thread(target=jobs.run, daemon=True), threading.Thread(target=sms.run, daemon=True)]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        jobs.stop()
        sms.stop()
        for t in threads:
            t.join(10)


def _start(container: Container, *, rate: int, binds: int) -> int:
    today = datetime.now(OPERATOR_TZ).date().isoformat()
    cmd = CreateCampaign(name="now", start_on=today, rate_per_bind=rate, binds=binds, hours="00:00-24:00")
    texts, options = container.campaign_texts(), container.campaign_options()
    created = manage.create_campaign(cmd, uow=container.uow(), texts=texts, options=options, actor=None,
                                     now=datetime.now(UTC))  # fmt: skip
    manage.start_campaign(created.id, uow=container.uow(), actor=None, now=datetime.now(UTC))
    return created.id


def _accepted(container: Container) -> list[tuple[datetime, datetime]]:
    """(queued at, accepted by the centre at) of every campaign message, in queuing order."""
    with container.engine.connect() as c:
        rows = c.execute(select(sms_outbox.c.created_at, sms_outbox.c.accepted_at)
                         .where(sms_outbox.c.kind == "campaign").order_by(sms_outbox.c.id))  # fmt: skip
        return [(q, a) for q, a in rows]


def test_the_rate_measured_at_the_centre_is_the_configured_one(container):
    seed_lines(container.engine, [Line() for _ in range(1300)])
    _start(container, rate=60, binds=2)  # 120 messages a second: about 11 s for the cohort
    with worker(container):
        assert wait_until(lambda: sum(1 for _, a in _accepted(container) if a) == 1300, timeout=40)
    ticks = [list(g) for _, g in groupby(_accepted(container), key=lambda r: r[0])]  # one group per tick
    # Each tick queues the rate times the time since the one before (the first one tick's worth, the last what was
    # left). Measured at the receiving end: the slope of the messages accepted by the centre against the time they
    # were accepted (least squares), over the full ticks between the first and the last.
    points = [a for tick in ticks[1:-1] for _, a in tick]
    xs = [(a - points[0]).total_seconds() for a in points]
    mean_x, mean_y = sum(xs) / len(xs), (len(xs) - 1) / 2
    measured = sum((x - mean_x) * (y - mean_y) for y, x in enumerate(xs)) / sum((x - mean_x) ** 2 for x in xs)
    print(
        f"\nconfigured 120 msg/s; measured at the built-in centre {measured:.1f} msg/s ({len(xs)} messages "
        f"accepted over {xs[-1]:.2f} s, {len(ticks) - 2} full ticks)"
    )
    assert measured == pytest.approx(120, rel=0.05)


def test_a_pause_stops_the_campaign_within_a_tick(container):
    seed_lines(container.engine, [Line() for _ in range(600)])
    campaign_id = _start(container, rate=50, binds=1)
    with worker(container):
        assert wait_until(lambda: len(_accepted(container)) >= 100, timeout=20)
        manage.pause_campaign(campaign_id, uow=container.uow(), actor=None, now=datetime.now(UTC))
        paused = len(_accepted(container))
        threading.Event().wait(3.0)
        # A tick and the pause take the campaign row in turn: a tick that began first is in `paused`, any later
        # one finds the campaign paused. Nothing is queued after the pause committed.
        assert len(_accepted(container)) == paused
        with container.engine.connect() as c:
            waiting = c.execute(select(func.count()).select_from(sms_outbox)
                                .where(sms_outbox.c.state.in_(("pending", "sending")))).scalar_one()  # fmt: skip
        assert waiting == 0
        manage.resume_campaign(campaign_id, uow=container.uow(), actor=None, now=datetime.now(UTC))
        assert wait_until(lambda: sum(1 for _, a in _accepted(container) if a) == 600, timeout=30)
