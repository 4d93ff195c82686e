"""Campaigns on real storage (SQLite and PostgreSQL): cohorts in SQL, the use cases, and the worker's tick driven
by a fake clock: allowed hours, the measured rate, pause and resume, daily waves, objected holders, idempotency."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from subreg.adapters.db.tables import audit_log, campaign_sends, campaigns, sms_centre, sms_outbox, subscriptions
from subreg.domain.access.permissions import Actor
from subreg.domain.campaigns.cohort import parse_cohort
from subreg.domain.common.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from subreg.domain.compliance.missing_mask import bits_of
from subreg.services.campaigns import manage
from subreg.services.campaigns.manage import CreateCampaign
from subreg.services.campaigns.sending import send_due, tick_campaign
from subreg.services.sms.outbox import dispatch, record_receipts
from subreg.services.sms.sealing import open_text
from tests.integration.campaign_lines import FIRST, Line, seed_lines

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MORNING = datetime(2026, 12, 10, 8, 0, tzinfo=VN)  # the start date's first allowed second
OFFICER = Actor(staff_id=7, role="compliance_officer")


def create(container, *, now=MORNING, **fields):
    cmd = CreateCampaign(**({"name": "Nhắc 1", "start_on": "2026-12-10", "rate_per_bind": 10} | fields))
    return manage.create_campaign(cmd, uow=container.uow(), texts=container.campaign_texts(),
                                  options=container.campaign_options(), actor=OFFICER, now=now)  # fmt: skip


def start(container, campaign_id, now=MORNING):
    return manage.start_campaign(campaign_id, uow=container.uow(), actor=OFFICER, now=now)


def tick(container, campaign_id, now, **options):
    opts = replace(container.campaign_options(), **options)
    return tick_campaign(campaign_id, uow=container.uow(), texts=container.campaign_texts(), options=opts, now=now)


def deliver(container, now):
    """The dispatcher and the built-in centre at `now`, until nothing is due; receipts applied."""
    centre, ctx = container.sms_centre(), container.sms_context()
    while dispatch(uow_factory=container.uow, transport=centre, vault=ctx.vault, options=ctx.options,
                   now=lambda: now, limit=500).claimed:  # fmt: skip
        pass
    record_receipts(centre.take_receipts(), uow=container.uow())


def sends(container, campaign_id) -> list[tuple[int, int]]:
    with container.engine.connect() as c:
        rows = c.execute(select(campaign_sends.c.wave, campaign_sends.c.subscription_id)
                         .where(campaign_sends.c.campaign_id == campaign_id))  # fmt: skip
        return sorted((int(w), int(s)) for w, s in rows)


def recipients(container) -> Counter:
    """Campaign messages per number as the built-in centre received them (each part counted once per message)."""
    with container.engine.connect() as c:
        rows = c.execute(text(
            "SELECT o.recipient, o.id FROM sms_centre k JOIN sms_outbox o "
            "ON CAST(o.id AS VARCHAR(20)) || '.1' = k.reference WHERE o.kind = 'campaign'"))  # fmt: skip
        return Counter(int(r) for r, _ in rows)


class TestCohortsInSql:
    def test_each_criterion_selects_exactly_the_lines_it_names_and_never_those_that_may_not_be_reminded(
        self, container
    ):
        items = container.rule_set.missing_items
        bits = bits_of(tuple(items))
        portrait, issue = bits["documents.portrait"], bits["holder.id_issue_place"]
        rng = random.Random(5)
        lines = [
            Line(verdict=rng.choice([0, 1, 1, 3, None]), contract_needed=rng.random() < 0.2,
                 phase=rng.choice([1, 2, None]), missing_mask=rng.choice([0, portrait, issue, portrait | issue]),
                 subscriber_type=rng.choice(["individual", "organization"]),
                 payment_type=rng.choice(["prepaid", "postpaid"]),
                 status=rng.choice(["active", "active", "one_way_locked", "two_way_locked", "terminated"]),
                 point_of_sale_id=rng.choice([None, 1, 2]), objected=rng.random() < 0.15,
                 restricted=rng.random() < 0.1)
            for _ in range(160)
        ]  # fmt: skip
        ids = seed_lines(container.engine, lines)
        states = {}
        with container.engine.begin() as c:  # some lines in enforcement
            for sid in ids[::3]:
                states[sid] = rng.choice([1, 2, 3])
                c.execute(text("UPDATE subscriptions SET enf_regime = 'nd49-2017', enf_state = :st, "
                               "enf_step_on = '2026-12-01', enf_notices = 1 WHERE id = :s"),
                          {"s": sid, "st": states[sid]})  # fmt: skip
        names = {1: "notified", 2: "one_way_locked", 3: "two_way_locked"}
        province = {None: "unknown", 1: "001", 2: "079"}

        def expected(raw):
            cohort = parse_cohort(raw, missing_items=items)
            mask = cohort.missing_mask(items)
            chosen = set()
            for sid, line in zip(ids, lines, strict=True):
                eligible = (line.status != "terminated" and (line.verdict not in (0, None) or line.contract_needed)
                            and not line.objected and not line.restricted)  # fmt: skip
                state = names.get(states.get(sid), "none")
                if (eligible and (not cohort.phases or line.phase in cohort.phases)
                        and (not mask or line.missing_mask & mask)
                        and (not cohort.subscriber_types or line.subscriber_type in cohort.subscriber_types)
                        and (not cohort.payment_types or line.payment_type in cohort.payment_types)
                        and (not cohort.provinces or province[line.point_of_sale_id] in cohort.provinces)
                        and (not cohort.states or state in cohort.states)):  # fmt: skip
                    chosen.add(sid)
            return cohort, mask, chosen

        cohorts = [
            {}, {"phases": [1]}, {"phases": [2]}, {"missing": ["documents.portrait"]},
            {"missing": ["documents.portrait", "holder.id_issue_place"]}, {"subscriber_types": ["organization"]},
            {"payment_types": ["postpaid"]}, {"provinces": ["001"]}, {"provinces": ["unknown", "079"]},
            {"states": ["none"]}, {"states": ["notified", "two_way_locked"]}, {"states": ["none", "one_way_locked"]},
            {"phases": [1], "missing": ["holder.id_issue_place"], "provinces": ["079", "unknown"],
             "states": ["none", "notified"], "payment_types": ["prepaid"]},
        ]  # fmt: skip
        with container.uow() as uow:
            for raw in cohorts:
                cohort, mask, chosen = expected(raw)
                assert uow.campaigns.cohort_size(cohort, missing_mask=mask) == len(chosen), raw
                numbers = uow.campaigns.sample(cohort, missing_mask=mask, limit=1000)
                assert {n - FIRST for n in numbers} == {ids.index(sid) for sid in chosen}, raw
        assert 0 < len(expected({})[2]) < len(ids)

    def test_a_whole_campaign_reaches_exactly_the_cohort_objected_holders_never(self, container):
        ids = seed_lines(container.engine, [Line(objected=i % 4 == 0, verdict=0 if i % 5 == 0 else 1)
                                            for i in range(60)])  # fmt: skip
        c = create(container, rate_per_bind=100)
        start(container, c.id)
        for n in range(3):
            tick(container, c.id, MORNING + timedelta(seconds=n))
        deliver(container, MORNING + timedelta(seconds=3))
        wanted = {FIRST + i for i in range(60) if i % 4 and i % 5}
        got = recipients(container)
        assert set(got) == wanted
        assert set(got.values()) == {1}
        assert [s for _, s in sends(container, c.id)] == sorted(ids[i] for i in range(60) if i % 4 and i % 5)


class TestUseCases:
    def test_create_preview_start_pause_resume_status_each_audited(self, container):
        seed_lines(container.engine, [Line() for _ in range(5)])
        c = create(container, repeats="daily for 3 days", hours="09:00-17:00", binds=2)
        assert (c.state, c.wave, c.definition.rate, c.created_by) == ("draft", 0, 20, "staff:7")
        preview = manage.preview_campaign(c.id, uow=container.uow(), texts=container.campaign_texts(),
                                          options=container.campaign_options(), actor=OFFICER, now=MORNING)  # fmt: skip
        assert preview.size == 5
        assert len(preview.samples) == 3
        assert preview.samples[0].to.startswith("+84 90")
        assert "*****" in preview.samples[0].to
        assert "(lan 1/3)" in preview.samples[0].text  # unaccented GSM 7-bit, the wave's number
        assert "TTTB" in preview.samples[0].text
        assert preview.plan is not None
        assert [b.astimezone(VN).hour for b, _ in preview.plan.waves] == [9, 9, 9]
        as_json = preview.as_dict()
        assert as_json["days"] == 3
        assert as_json["planned_finish"].startswith("2026-12-12T09:00:00")
        assert "5 lines at 2 bind(s) x 10 msg/s = 20 msg/s" in as_json["summary"]

        assert start(container, c.id).state == "running"
        with pytest.raises(ConflictError):
            start(container, c.id)
        assert manage.pause_campaign(c.id, uow=container.uow(), actor=OFFICER, now=MORNING).state == "paused"
        assert manage.resume_campaign(c.id, uow=container.uow(), actor=OFFICER, now=MORNING).state == "running"
        status = manage.campaign_status(c.id, uow=container.uow(), actor=OFFICER)
        assert status.counts() == {"queued": 0, "accepted": 0, "delivered": 0, "failed": 0, "total": 0}
        assert status.as_dict(VN)["repeats"] == "daily for 3 days"
        with container.engine.connect() as conn:
            actions = [a for (a,) in conn.execute(select(audit_log.c.action).where(
                audit_log.c.subject == f"campaign:{c.id}").order_by(audit_log.c.seq))]  # fmt: skip
        assert actions == ["campaign:created", "campaign:previewed", "campaign:started", "campaign:paused",
                           "campaign:resumed"]  # fmt: skip

    def test_refusals(self, container):
        create(container)
        with pytest.raises(ConflictError) as dup:
            create(container)
        assert [(e.field, e.code) for e in dup.value.errors] == [("name", "duplicate_name")]
        with pytest.raises(InputError) as bad:
            create(container, name="x", template="campaign_nope")
        assert [(e.field, e.code) for e in bad.value.errors] == [("template", "unknown_template")]
        with pytest.raises(NotFoundError):
            start(container, 999)
        with pytest.raises(PermissionDeniedError):
            manage.list_campaigns(uow=container.uow(), actor=Actor(staff_id=1, role="store_staff"))
        with container.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(campaigns)).scalar_one() == 1

    def test_the_preview_of_a_started_campaign_plans_what_is_left(self, container):
        seed_lines(container.engine, [Line() for _ in range(30)])
        c = create(container, rate_per_bind=1, repeats=2, hours="08:00-20:00")
        start(container, c.id)
        tick(container, c.id, MORNING)  # the first tick: one tick's worth
        tick(container, c.id, MORNING + timedelta(seconds=5), backlog_ticks=100)  # five seconds' worth
        preview = manage.preview_campaign(c.id, uow=container.uow(), texts=container.campaign_texts(),
                                          options=container.campaign_options(), actor=None,
                                          now=MORNING + timedelta(seconds=5))  # fmt: skip
        assert (preview.size, preview.remaining) == (30, 24)
        first, second = preview.plan.waves
        assert first[1] - first[0] == timedelta(seconds=24)
        assert second[0].astimezone(VN) == datetime(2026, 12, 11, 8, 0, tzinfo=VN)


class TestTheTick:
    def test_only_inside_the_allowed_hours_and_from_the_start_date(self, container):
        seed_lines(container.engine, [Line() for _ in range(50)])
        c = create(container, rate_per_bind=2, hours="08:00-20:00")
        start(container, c.id)
        assert tick(container, c.id, MORNING - timedelta(days=1)).reason == "before_start"
        assert tick(container, c.id, MORNING - timedelta(seconds=1)).reason == "outside_hours"
        assert tick(container, c.id, MORNING).queued == 2
        deliver(container, MORNING)
        evening = datetime(2026, 12, 10, 19, 59, 59, tzinfo=VN)
        assert tick(container, c.id, evening).queued == 4
        deliver(container, evening)
        late = datetime(2026, 12, 10, 20, 0, tzinfo=VN)
        assert tick(container, c.id, late).reason == "outside_hours"
        assert tick(container, c.id, late + timedelta(hours=3)).queued == 0
        assert len(sends(container, c.id)) == 2 + 4  # 2 a second, at most 2 ticks' worth after a gap

    @pytest.mark.parametrize(("rate", "binds"), [(7, 3), (40, 1)])
    def test_the_measured_rate_is_the_configured_one(self, container, rate, binds):
        """Ticks about a second apart (jittered: 0.6 to 1.6 s), the dispatcher between them: what the built-in
        centre received over 30 s is the configured rate within 5% (the first tick may send one tick's worth)."""
        seed_lines(container.engine, [Line() for _ in range(rate * binds * 40)])
        c = create(container, rate_per_bind=rate, binds=binds, hours="00:00-24:00")
        start(container, c.id)
        rng = random.Random(rate)
        at, last = MORNING, MORNING
        while at < MORNING + timedelta(seconds=30):
            tick(container, c.id, at)
            deliver(container, at)
            last, at = at, at + timedelta(seconds=rng.uniform(0.6, 1.6))
        with container.engine.connect() as conn:
            got = conn.execute(select(func.count()).select_from(sms_centre)).scalar_one() / 2  # 2 parts a message
        measured = got / ((last - MORNING).total_seconds() + 1)
        print(f"\nconfigured {rate * binds} msg/s; measured {measured:.2f} msg/s ({got:.0f} messages at the centre)")
        assert measured == pytest.approx(rate * binds, rel=0.05)

    def test_pause_stops_within_a_tick_and_resume_goes_on_where_it_stopped(self, container):
        ids = seed_lines(container.engine, [Line() for _ in range(40)])
        c = create(container, rate_per_bind=5)
        start(container, c.id)
        at = MORNING
        for _ in range(3):
            tick(container, c.id, at)
            deliver(container, at)
            at += timedelta(seconds=1)
        manage.pause_campaign(c.id, uow=container.uow(), actor=OFFICER, now=at)
        before = len(sends(container, c.id))
        for _ in range(5):
            assert tick(container, c.id, at).reason == "not_running"
            at += timedelta(seconds=1)
        assert len(sends(container, c.id)) == before == 15
        manage.resume_campaign(c.id, uow=container.uow(), actor=OFFICER, now=at)
        for _ in range(10):
            tick(container, c.id, at)
            deliver(container, at)
            at += timedelta(seconds=1)
        assert [s for _, s in sends(container, c.id)] == ids
        assert set(recipients(container).values()) == {1}
        status = manage.campaign_status(c.id, uow=container.uow(), actor=OFFICER)
        assert status.campaign.state == "done"
        assert status.counts() == {"queued": 0, "accepted": 0, "delivered": 40, "failed": 0, "total": 40}

    def test_daily_waves_one_a_day_each_over_the_cohort_as_it_is_that_day(self, container):
        ids = seed_lines(container.engine, [Line() for _ in range(10)])
        c = create(container, rate_per_bind=20, repeats="daily for 2 days")
        start(container, c.id)
        first = tick(container, c.id, MORNING)
        assert (first.wave, first.wave_started, first.wave_finished, first.queued) == (1, True, True, 10)
        assert tick(container, c.id, MORNING + timedelta(hours=5)).reason == "waiting"  # never two waves a day
        with container.engine.begin() as conn:  # two lines completed overnight
            conn.execute(subscriptions.update().where(subscriptions.c.id.in_(ids[:2])).values(verdict=0))
        second = tick(container, c.id, MORNING + timedelta(days=1))
        assert (second.wave, second.queued, second.done) == (2, 8, True)
        assert tick(container, c.id, MORNING + timedelta(days=2)).reason == "not_running"
        assert sends(container, c.id) == [(1, i) for i in ids] + [(2, i) for i in ids[2:]]
        deliver(container, MORNING + timedelta(days=1))
        status = manage.campaign_status(c.id, uow=container.uow(), actor=OFFICER).as_dict(VN)
        assert status["by_wave"]["1"]["delivered"] == 10
        assert status["by_wave"]["2"]["delivered"] == 8
        assert status["state"] == "done"
        with container.engine.connect() as conn:
            actions = Counter(a for (a,) in conn.execute(select(audit_log.c.action)))
        assert actions["campaign:wave_started"] == actions["campaign:wave_finished"] == 2
        assert actions["campaign:finished"] == 1

    def test_a_slow_dispatcher_holds_the_campaign_back(self, container):
        seed_lines(container.engine, [Line() for _ in range(100)])
        c = create(container, rate_per_bind=3)
        start(container, c.id)
        for n in range(10):
            tick(container, c.id, MORNING + timedelta(seconds=n))
        assert len(sends(container, c.id)) == 6  # never more than 2 ticks' worth waiting for the dispatcher

    def test_a_tick_that_dies_leaves_nothing_and_nothing_is_queued_twice_for_a_wave(self, container):
        seed_lines(container.engine, [Line() for _ in range(8)])
        c = create(container, rate_per_bind=3)
        start(container, c.id)
        texts = container.campaign_texts()
        with container.uow() as uow:  # queued, then the process died before the commit
            uow.lock_for_write()
            message = texts.compose("campaign_reminder", "vi", {"wave": 1, "waves": 1})
            assert uow.campaigns.enqueue(c.id, wave=1, cohort=c.definition.cohort, missing_mask=0, after=0, limit=5,
                                         message=message, now=MORNING).count == 5  # fmt: skip
        assert sends(container, c.id) == []
        tick(container, c.id, MORNING)
        with container.uow() as uow:  # a replay from the start of the wave finds every queued line recorded
            uow.lock_for_write()
            again = uow.campaigns.enqueue(c.id, wave=1, cohort=c.definition.cohort, missing_mask=0, after=0, limit=8,
                                          message=message, now=MORNING)  # fmt: skip
            uow.commit()
        assert again.count == 8 - 3
        with container.engine.connect() as conn:
            per_line = conn.execute(select(campaign_sends.c.subscription_id, func.count()).group_by(
                campaign_sends.c.subscription_id)).all()  # fmt: skip
            outbox = conn.execute(select(func.count()).select_from(sms_outbox)).scalar_one()
        assert {n for _, n in per_line} == {1}
        assert outbox == 8

    def test_texts_are_sealed_once_per_tick_and_copied(self, container):
        seed_lines(container.engine, [Line() for _ in range(4)])
        c = create(container, rate_per_bind=4, lang="en")
        start(container, c.id)
        send_due(uow_factory=container.uow, texts=container.campaign_texts(),
                 options=container.campaign_options(), now=lambda: MORNING)  # fmt: skip
        with container.engine.connect() as conn:
            rows = conn.execute(select(sms_outbox).where(sms_outbox.c.kind == "campaign")).all()
        assert len(rows) == 4
        assert {(r.priority, r.payload, r.state) for r in rows} == {(2, rows[0].payload, "pending")}
        text_ = open_text(container.vault, rows[0].kek_id, rows[0].wrapped_dek, rows[0].payload, table="outbox")
        assert text_.startswith("nha mang reminder: your subscription information is incomplete")  # GSM 7-bit
