"""The enforcement sweep on real storage (SQLite and PostgreSQL): the SQL against the pure state machine.

Lines are stored through the registry, then days pass with sweeps on a random calendar; lines are
completed (and made incomplete again) and holders restricted in between. After every sweep each line's
stored state must be what `domain.enforcement.machine.advance` says, computed here line by line, and the
report's counts must be the moves counted here.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from subreg.adapters.db.tables import enforcement_steps, network_orders, points_of_sale, sms_outbox, subscriptions
from subreg.domain.enforcement.machine import STATUS_OF, advance
from subreg.services.enforcement.sweep import request_restores, restore_rechecked, sweep
from subreg.services.sms.sealing import open_text
from tests.integration.test_shredding import store
from tests.records import complete_record

DAY0 = date(2018, 4, 25)
NOW = datetime(2018, 4, 25, 1, 0, tzinfo=UTC)


def _incomplete(msisdn: str) -> dict:
    record = complete_record(msisdn=msisdn)
    record["documents"] = {k: v for k, v in record.get("documents", {}).items() if k != "portrait"}
    record["holder"] = {**record["holder"], "id_number": f"0791901{msisdn[-5:]}"}
    return record


def _lines(container, n: int) -> list[int]:
    with container.engine.begin() as c:
        c.execute(points_of_sale.insert(), [
            {"id": 1, "code": "HN-1", "kind": "store", "name": "Ha Noi 1", "province_code": "001"},
            {"id": 2, "code": "HCM-1", "kind": "store", "name": "HCM 1", "province_code": "079"},
        ])  # fmt: skip
    ids = []
    for i in range(n):
        msisdn = f"09012{i:05d}"
        sub = store(container, _incomplete(msisdn) if i % 4 else complete_record(msisdn=msisdn))
        ids.append(sub.id)
    with container.engine.begin() as c:
        for i, sid in enumerate(ids):
            pos = (None, 1, 2)[i % 3]
            c.execute(subscriptions.update().where(subscriptions.c.id == sid).values(point_of_sale_id=pos))
    return ids


def _stored(container) -> dict[int, tuple]:
    with container.engine.connect() as c:
        rows = c.execute(text("SELECT id, enf_state, enf_step_on, enf_notices, enf_last_notice_on FROM subscriptions "
                              "WHERE enf_state IS NOT NULL"))  # fmt: skip
        return {r[0]: (int(r[1]), str(r[2])[:10], int(r[3]), str(r[4])[:10] if r[4] else None) for r in rows}


def _facts(container) -> dict[int, tuple[bool, bool, str, str]]:
    """complete, held, status, province of every line."""
    with container.engine.connect() as c:
        rows = c.execute(text(
            "SELECT s.id, s.verdict = 0 AND NOT coalesce(s.contract_needed, false), h.restricted, s.status, "
            "coalesce(p.province_code, 'unknown') FROM subscriptions s JOIN holders h ON h.id = s.holder_id "
            "LEFT JOIN points_of_sale p ON p.id = s.point_of_sale_id"))  # fmt: skip
        return {r[0]: (bool(r[1]), bool(r[2]), r[3], r[4]) for r in rows}


def _as_line(row):
    from subreg.domain.enforcement.machine import EnforcementState, LineEnforcement

    if row is None:
        return None
    state, step_on, notices, last = row
    return LineEnforcement(EnforcementState(state), date.fromisoformat(step_on), notices,
                           date.fromisoformat(last) if last else None)  # fmt: skip


def _row(line):
    if line is None:
        return None
    return (int(line.state), line.step_on.isoformat(), line.notices,
            line.last_notice_on.isoformat() if line.last_notice_on else None)  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2])
def test_the_sweep_does_what_the_state_machine_says_for_every_line_on_any_calendar(container, seed):
    rng = random.Random(seed)
    ids = _lines(container, 16)
    options = container.enforcement_options()
    timeline = options.timeline_on(DAY0)
    notices = container.notices()
    day = DAY0 - timedelta(days=2)
    seen = Counter()
    for _ in range(22):
        # Something happens between sweeps: a line completed, made incomplete, a holder restricting processing.
        with container.engine.begin() as c:
            sid = rng.choice(ids)
            event = rng.random()
            if event < 0.15:
                c.execute(
                    subscriptions.update().where(subscriptions.c.id == sid).values(verdict=0, contract_needed=False)
                )
            elif event < 0.25:
                c.execute(subscriptions.update().where(subscriptions.c.id == sid).values(verdict=1))
            elif event < 0.3:
                c.execute(text("UPDATE holders SET restricted = NOT restricted WHERE id = "
                               "(SELECT holder_id FROM subscriptions WHERE id = :id)"), {"id": sid})  # fmt: skip
        before, facts = _stored(container), _facts(container)
        expected, moves = {}, Counter()
        for sid in ids:
            complete, held, status, province = facts[sid]
            move = advance(_as_line(before.get(sid)), complete=complete, held=held, live=status == "active",
                           as_of=day, timeline=timeline)  # fmt: skip
            line = _as_line(before.get(sid)) if move is None else move.after
            expected[sid] = _row(line)
            if move is not None:
                moves[(move.action, province)] += 1
        dry = sweep(uow=container.uow(), as_of=day, now=NOW, options=options, notices=notices, dry_run=True)
        assert _stored(container) == before  # a dry run changes nothing
        report = sweep(uow=container.uow(), as_of=day, now=NOW, options=options, notices=notices)
        assert dry.as_dict() | {"dry_run": True} == report.as_dict() | {"dry_run": True}  # exactly the real run
        got = dict(_stored(container).items())
        assert {s: expected[s] for s in ids if expected[s]} == got
        counted = Counter({(a, p): n for p, by in report.by_province.items() for a, n in by.items()})
        assert counted == moves
        seen.update(a for a, _ in moves.elements())
        assert sum(report.transitions.values()) + report.renotify == sum(moves.values())
        statuses = _facts(container)
        for sid in ids:
            if got.get(sid) is not None:
                from subreg.domain.enforcement.machine import EnforcementState

                assert statuses[sid][2] == STATUS_OF[EnforcementState(got[sid][0])]
        day += timedelta(days=rng.choice([1, 1, 1, 2, 5, 9, 16]))
    assert {"notify", "renotify", "lock_one_way", "lock_two_way", "restore"} <= set(seen)  # the calendar did walk


def test_a_sweep_writes_history_orders_and_notices_in_its_transaction(container):
    ids = _lines(container, 8)  # lines 1, 2, 3, 5, 6, 7 are incomplete
    options, notices = container.enforcement_options(), container.notices()
    incomplete = [sid for i, sid in enumerate(ids) if i % 4]
    report = sweep(uow=container.uow(), as_of=DAY0, now=NOW, options=options, notices=notices)
    assert report.transitions["notify"] == len(incomplete)
    assert report.by_province == {"001": {"notify": 2}, "079": {"notify": 2}, "unknown": {"notify": 2}}
    with container.engine.connect() as c:
        sms = c.execute(select(sms_outbox).order_by(sms_outbox.c.id)).all()
        assert len(sms) == len(incomplete)
        assert {r.kind for r in sms} == {"notice"}
        text_ = open_text(container.vault, sms[0].kek_id, sms[0].wrapped_dek, sms[0].payload, table="outbox")
        assert "10/05/2018" in text_  # the one-way lock's date: 15 days after the first notice
        steps = c.execute(select(func.count()).select_from(enforcement_steps)).scalar_one()
        assert steps == len(incomplete)
        assert c.execute(select(func.count()).select_from(network_orders)).scalar_one() == 0  # a notice locks nothing
    # Notices 2..5, then the one-way lock on day 15: one order per line, each with its own key.
    day = DAY0
    for _ in range(4):
        day += timedelta(days=1)
        assert sweep(uow=container.uow(), as_of=day, now=NOW, options=options, notices=notices).renotify == 6
    report = sweep(uow=container.uow(), as_of=DAY0 + timedelta(days=15), now=NOW, options=options, notices=notices)
    assert report.transitions["lock_one_way"] == 6
    with container.engine.connect() as c:
        orders = c.execute(select(network_orders)).all()
        assert sorted(o.subscription_id for o in orders) == sorted(incomplete)
        assert {o.action for o in orders} == {"lock_one_way"}
        assert len({o.order_key for o in orders}) == 6
        status = dict(c.execute(select(subscriptions.c.id, subscriptions.c.status)).all())
    assert {status[s] for s in incomplete} == {"one_way_locked"}
    assert timeline_steps(container, incomplete[0]) == ["notify"] + ["renotify"] * 4 + ["lock_one_way"]


def timeline_steps(container, sid):
    with container.uow() as uow:
        return [a for a, _ in uow.counter.enforcement_of(sid)[1]]


def test_completion_through_a_channel_restores_at_once_with_unlock_and_sms(container):
    ids = _lines(container, 4)
    options, notices = container.enforcement_options(), container.notices()
    sweep(uow=container.uow(), as_of=DAY0, now=NOW, options=options, notices=notices)
    locked = ids[1]
    with container.engine.begin() as c:  # the line is locked two-way already
        c.execute(text("UPDATE subscriptions SET enf_state = 3 WHERE id = :id"), {"id": locked})
        c.execute(subscriptions.update().where(subscriptions.c.id == locked).values(status="two_way_locked"))
        c.execute(subscriptions.update().where(subscriptions.c.id == locked).values(verdict=0))
    with container.uow() as uow:
        uow.counter.request_restore(locked, channel="counter", now=NOW)
        uow.counter.request_restore(locked, channel="counter", now=NOW)  # idempotent
        uow.commit()
    assert restore_rechecked(uow=container.uow(), today=DAY0, now=NOW, options=options, notices=notices) == 1
    assert restore_rechecked(uow=container.uow(), today=DAY0, now=NOW, options=options, notices=notices) == 0
    with container.engine.connect() as c:
        assert c.execute(select(subscriptions.c.status).where(subscriptions.c.id == locked)).scalar_one() == "active"
        order = c.execute(select(network_orders)).one()
        assert (order.action, order.reason, order.priority) == ("unlock", "information_complete", 1)
        last = c.execute(select(enforcement_steps).order_by(enforcement_steps.c.id.desc())).first()
        assert (last.action, last.channel) == ("restore", "counter")
        left = c.execute(text("SELECT enf_state FROM subscriptions WHERE id = :id"), {"id": locked})
        assert left.scalar() is None


def test_lines_an_import_completed_are_asked_for_and_restored_with_the_import_channel(container):
    ids = _lines(container, 4)
    options, notices = container.enforcement_options(), container.notices()
    sweep(uow=container.uow(), as_of=DAY0, now=NOW, options=options, notices=notices)
    with container.engine.begin() as c:  # an import completed lines 1 and 2; line 3 stays incomplete
        c.execute(subscriptions.update().where(subscriptions.c.id.in_(ids[1:3])).values(verdict=0))
    assert request_restores(uow=container.uow(), channel="import", now=NOW) == 2
    assert request_restores(uow=container.uow(), channel="import", now=NOW) == 0  # asked once
    assert restore_rechecked(uow=container.uow(), today=DAY0, now=NOW, options=options, notices=notices) == 2
    with container.engine.connect() as c:
        restored = c.execute(select(enforcement_steps.c.subscription_id, enforcement_steps.c.channel)
                             .where(enforcement_steps.c.action == "restore")).all()  # fmt: skip
    assert sorted(restored) == [(ids[1], "import"), (ids[2], "import")]


def test_the_settings_override_the_reported_timeline(tmp_path, database_url):
    from subreg.bootstrap import bootstrap, init_storage
    from subreg.config import Settings

    settings = Settings(env="test", var_dir=tmp_path / "v2", database_url=database_url,
                        enforcement_timeline={"nd49-2017": {"notices": 1, "lock_one_way_days": 2,
                                                            "starts_on": "2018-05-01"}})  # fmt: skip
    init_storage(settings)
    container = bootstrap(settings)
    try:
        _lines(container, 4)
        options, notices = container.enforcement_options(), container.notices()

        def day(d: date) -> dict:
            return sweep(uow=container.uow(), as_of=d, now=NOW, options=options, notices=notices).transitions

        assert day(date(2018, 4, 30))["notify"] == 0  # the timeline starts later now
        assert day(date(2018, 5, 1))["notify"] == 3
        assert day(date(2018, 5, 2))["lock_one_way"] == 0
        assert day(date(2018, 5, 3))["lock_one_way"] == 3  # one notice, then 2 days
    finally:
        container.close()


def test_a_bad_timeline_setting_is_refused_by_name(tmp_path):
    from subreg.bootstrap import bootstrap
    from subreg.config import Settings
    from subreg.domain.common.errors import InputError

    settings = Settings(env="test", var_dir=tmp_path / "v3", database_url=f"sqlite:///{tmp_path / 'x.db'}",
                        enforcement_timeline={"nd49-2017": {"lock_one_way_dayz": 2}, "nd50": {}})  # fmt: skip
    from subreg.bootstrap import init_storage

    init_storage(settings)
    container = bootstrap(settings)
    try:
        with pytest.raises(InputError) as err:
            container.enforcement_options()
        assert [e.field for e in err.value.errors] == ["enforcement_timeline.nd50"]
        settings2 = settings.model_copy(update={"enforcement_timeline": {"nd49-2017": {"lock_one_way_dayz": 2}}})
        container.settings = settings2
        with pytest.raises(InputError) as err:
            container.enforcement_options()
        assert [e.field for e in err.value.errors] == ["enforcement_timeline.nd49-2017.lock_one_way_dayz"]
    finally:
        container.close()


def test_a_dry_run_that_re_evaluates_in_its_transaction_answers_what_the_real_run_does(container):
    _lines(container, 8)
    options, notices = container.enforcement_options(), container.notices()
    with container.engine.begin() as c:  # stale verdicts: the date's evaluation will change them back
        c.execute(text("UPDATE subscriptions SET verdict = 0, contract_needed = false, rule_set = 'nd49-2017/0'"))
    dry = sweep(uow=container.uow(), as_of=DAY0, now=NOW, options=options, notices=notices, dry_run=True,
                prepare=lambda uow: container.reevaluate_within(uow, DAY0))  # fmt: skip
    with container.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM subscriptions WHERE verdict <> 0")).scalar() == 0  # rolled back
    container.reevaluate(DAY0)
    real = sweep(uow=container.uow(), as_of=DAY0, now=NOW, options=options, notices=notices)
    assert dry.transitions == real.transitions
    assert dry.transitions["notify"] == 6
