"""Nothing sent twice nor lost across `kill -9` of real workers, counted at the receiving end.

Two real `subreg worker` processes (SQLite file or PostgreSQL; the built-in SMS centre, or Kannel with its
fakesmsc) send a running campaign while the test kills one or both with SIGKILL at random moments and starts
them again. Then the receiving end is counted:

- the built-in centre (`sms_centre`): every line of the cohort got the reminder exactly once, every part of it,
  and nobody else got one (objected holders, complete lines). A worker killed between a submit and its settle
  leaves the row leased; another submits it again when the lease ends (`SUBREG_SMS_LEASE_SECONDS`, 2 s here)
  and the centre recognises the part by its reference and stores it once;
- Kannel's fakesmsc: every part of every message arrived (nothing lost); sendsms has no idempotency key, so a
  part submitted again after a kill arrives twice: those duplicates are counted and shown, not hidden.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from sqlalchemy import select

from subreg.adapters.clock import OPERATOR_TZ
from subreg.adapters.db.tables import campaigns, sms_centre, sms_outbox
from subreg.bootstrap import Container, bootstrap, init_storage
from subreg.config import Settings
from subreg.services.campaigns import manage
from subreg.services.campaigns.manage import CreateCampaign
from tests.integration.campaign_lines import FIRST, Line, seed_lines
from tests.integration.kannel_fixture import KannelLoopback, kannel_missing
from tests.integration.sms_wiring import wait_until

pytestmark = pytest.mark.slow

LINES = 500  # of which every 7th holder objected and every 11th line is complete: no reminder for them
RATE = 50  # messages a second (1 bind): 10 s of sending for the cohort
LEASE = 2  # seconds a killed worker's claimed rows wait before another worker submits them again
# Through Kannel a claimed batch takes longer than 2 s to submit (one sendsms request per part): a lease that
# ran out under a live dispatcher would duplicate parts that no kill caused.
KANNEL_LEASE = 10


def _expected() -> set[int]:
    return {FIRST + i for i in range(LINES) if i % 7 and i % 11}


def _env(settings: Settings, lease: int = LEASE, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(
        SUBREG_DATABASE_URL=settings.database_url, SUBREG_VAR_DIR=str(settings.var_dir), SUBREG_ENV="test",
        SUBREG_LANG="vi", SUBREG_LOG_LEVEL="WARNING", SUBREG_SMS_LEASE_SECONDS=str(lease),
        SUBREG_CAMPAIGN_TICK_SECONDS="0.5", **extra,
    )  # fmt: skip
    return env


class Workers:
    """`subreg worker` processes, killed with SIGKILL and started again."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs, self.started = env, logs, [None, None], 0
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, n: int) -> None:
        self.started += 1
        with (self.logs / f"worker-{n}-{self.started}.log").open("wb") as out:
            self.procs[n] = subprocess.Popen(
                [str(Path(sys.executable).parent / "subreg"), "worker", "--no-schedule"], env=self.env,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self, n: int) -> None:
        proc = self.procs[n]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def _campaign(container: Container) -> int:
    lines = [Line(objected=i % 7 == 0, verdict=0 if i % 11 == 0 else 1) for i in range(LINES)]
    seed_lines(container.engine, lines)
    today = datetime.now(OPERATOR_TZ).date().isoformat()
    cmd = CreateCampaign(name="kill -9", start_on=today, rate_per_bind=RATE, binds=1, hours="00:00-24:00")
    uow, texts, options = container.uow, container.campaign_texts(), container.campaign_options()
    created = manage.create_campaign(cmd, uow=uow(), texts=texts, options=options, actor=None, now=datetime.now(UTC))
    manage.start_campaign(created.id, uow=uow(), actor=None, now=datetime.now(UTC))
    return created.id


def _settled(container: Container, campaign_id: int) -> bool:
    with container.engine.connect() as c:
        state = c.execute(select(campaigns.c.state).where(campaigns.c.id == campaign_id)).scalar_one()
        unsettled = sms_outbox.c.state.in_(("pending", "sending"))
        waiting = c.execute(select(sms_outbox.c.id).where(sms_outbox.c.kind == "campaign", unsettled)).first()
    return state == "done" and waiting is None


def _kill_at_random(workers: Workers, rng: random.Random, *, kills: int) -> list[str]:
    """Start both workers, then kill one or both `kills` times at random moments, starting them again."""
    done = []
    workers.start(0)
    workers.start(1)
    for _ in range(kills):
        time.sleep(rng.uniform(0.5, 1.8))
        victims = rng.choice([[0], [1], [0, 1]])
        for n in victims:
            workers.kill(n)
        done.append("+".join(map(str, victims)))
        time.sleep(rng.uniform(0.0, 1.0))
        for n in victims:
            workers.start(n)
    return done


@pytest.fixture
def running(database_url: str, tmp_path: Path):
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url)
    init_storage(settings)
    container = bootstrap(settings)
    try:
        yield settings, container, _campaign(container)
    finally:
        container.close()


def test_kill_9_of_real_workers_neither_loses_nor_duplicates_a_reminder_at_the_built_in_centre(running, tmp_path):
    settings, container, campaign_id = running
    seed = int.from_bytes(os.urandom(4), "big")
    workers = Workers(_env(settings), tmp_path / "logs")
    started = time.monotonic()
    try:
        kills = _kill_at_random(workers, random.Random(seed), kills=6)
        assert wait_until(lambda: _settled(container, campaign_id), timeout=60), f"seed={seed} kills={kills}"
    finally:
        workers.stop()
    elapsed = time.monotonic() - started

    with container.engine.connect() as c:
        rows = {r.id: r for r in c.execute(select(sms_outbox.c.id, sms_outbox.c.recipient, sms_outbox.c.part_count)
                                           .where(sms_outbox.c.kind == "campaign"))}  # fmt: skip
        parts = [(r.reference, r.recipient) for r in c.execute(select(sms_centre.c.reference, sms_centre.c.recipient))]
    got: dict[int, Counter] = {}
    for reference, recipient in parts:
        outbox_id, part = (int(x) for x in reference.split("."))
        assert rows[outbox_id].recipient == recipient
        got.setdefault(recipient, Counter())[(outbox_id, part)] += 1
    context = f"seed={seed} kills={kills} elapsed={elapsed:.1f}s"
    assert set(got) == _expected(), context  # every line of the cohort, nobody else
    for recipient, received in got.items():
        messages = {outbox_id for outbox_id, _ in received}
        assert len(messages) == 1, f"{context}: {recipient} got {len(messages)} reminders"
        (outbox_id,) = messages
        assert set(received) == {(outbox_id, p) for p in range(1, rows[outbox_id].part_count + 1)}, context
        assert set(received.values()) == {1}, context
    again = _submitted_again(container)
    print(
        f"\n{context}: {len(got)} reminders received once each; {again} submitted again after a kill "
        "(the centre stored each part once)"
    )


def _submitted_again(container: Container) -> int:
    """Messages the centre received well before their row was settled: a killed worker had submitted them, and
    another submitted them again when the lease ran out (the centre's clock has 1 s steps on SQLite)."""
    with container.engine.connect() as c:
        first = dict(c.execute(select(sms_centre.c.reference, sms_centre.c.created_at)).all())
        rows = c.execute(select(sms_outbox.c.id, sms_outbox.c.accepted_at).where(sms_outbox.c.kind == "campaign"))
        return sum(1 for outbox_id, accepted in rows
                   if accepted is not None and f"{outbox_id}.1" in first
                   and (_utc(accepted) - _utc(first[f"{outbox_id}.1"])).total_seconds() > LEASE - 0.5)  # fmt: skip


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _fakesmsc_parts(kannel: KannelLoopback) -> Counter:
    """(receiver, UDH reference, part number) of every MT fakesmsc printed, counted."""
    counted: Counter = Counter()
    for line in list(kannel.mt_lines):
        sender, receiver, rest = line.split(" ", 2)
        assert sender == "1414"
        # URL-encoded, "+" for a space (a reference byte 0x20)
        udh = unquote_to_bytes(rest[4:].split(" ", 1)[0].replace("+", " ")) if rest.startswith("udh ") else b""
        ref, seq = (udh[3], udh[5]) if len(udh) >= 6 else (0, 1)
        counted[(int(receiver), ref, seq)] += 1
    return counted


@pytest.mark.skipif(kannel_missing() is not None, reason=str(kannel_missing()))
def test_kill_9_of_real_workers_through_kannel_loses_nothing_and_counts_the_duplicates(tmp_path):
    kannel = KannelLoopback(tmp_path / "kannel", post_url="http://127.0.0.1:9/mo")
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'kannel.db'}")
    init_storage(settings)
    container = bootstrap(settings)
    seed = int.from_bytes(os.urandom(4), "big")
    try:
        campaign_id = _campaign(container)
        kannel.start()
        env = _env(settings, KANNEL_LEASE, SUBREG_SMS_TRANSPORT="kannel", SUBREG_KANNEL_SENDSMS_URL=kannel.sendsms_url,
                   SUBREG_KANNEL_USERNAME=kannel.username, SUBREG_KANNEL_PASSWORD=kannel.password,
                   SUBREG_KANNEL_DLR_URL="http://127.0.0.1:9/dlr")  # fmt: skip
        workers = Workers(env, tmp_path / "logs")
        try:
            kills = _kill_at_random(workers, random.Random(seed), kills=6)
            assert wait_until(lambda: _settled(container, campaign_id), timeout=60), f"seed={seed} kills={kills}"
        finally:
            workers.stop()
        with container.engine.connect() as c:
            rows = list(c.execute(select(sms_outbox.c.id, sms_outbox.c.recipient, sms_outbox.c.part_count)
                                  .where(sms_outbox.c.kind == "campaign")))  # fmt: skip
        wanted = {(r.recipient, r.id & 0xFF, p) for r in rows for p in range(1, r.part_count + 1)}
        assert wait_until(lambda: wanted <= set(_fakesmsc_parts(kannel)), timeout=30), f"seed={seed}"
        time.sleep(1.0)  # a late duplicate still in Kannel's queue
        counted = _fakesmsc_parts(kannel)
    finally:
        kannel.stop()
        container.close()
    context = f"seed={seed} kills={kills}"
    assert {r.recipient for r in rows} == _expected(), context
    assert len(rows) == len(_expected()), context  # one message a line: the send records held across the kills
    assert wanted <= set(counted), f"{context}: lost {sorted(wanted - set(counted))[:5]}"  # nothing lost
    assert set(counted) <= wanted, context  # nothing but the cohort's parts
    duplicates = sum(n - 1 for n in counted.values())
    print(
        f"\n{context}: {len(rows)} reminders, {len(wanted)} parts, all received; {duplicates} part(s) received "
        "twice (sendsms has no idempotency key: at least once)"
    )
