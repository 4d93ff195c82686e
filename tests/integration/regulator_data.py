"""Generated data for the regulator's report tests, and the report's figures counted from it in plain Python.

`generate` makes points of sale in several provinces (one without a province), staff at some of them, lines
activated or created on dates across years, history entries with explicit `at` across several months (some
around local midnight), enforcement steps with their recorded province, and terminated lines of every kind
(by the sweep, by an import, imported terminated). `write` stores them straight into the tables. `expected`
counts each figure from the generated lists by the definitions of docs/reports.md, without SQL.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Engine, func, insert, select

from subreg.adapters.db.tables import (
    enforcement_steps,
    holders,
    key_encryption_keys,
    points_of_sale,
    staff,
    subscription_history,
    subscriptions,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIGURES = ("subscriptions", "updated", "registered", "locked_one_way", "locked_two_way", "terminated", "restored")
POINTS = [  # id, province (None: a point of sale without a province)
    (1, "001"), (2, "001"), (3, "079"), (4, "048"), (5, None), (6, "092"),
]  # fmt: skip
STAFF = [(1, 1), (2, 3), (3, 4), (4, 5), (5, None)]  # id, point of sale (None: compliance, no point of sale)
CHANNELS = ("store", "agent", "authorized_point", "legacy_import", "self_service")
STEP_ACTIONS = ("notify", "renotify", "lock_one_way", "lock_two_way", "terminate", "restore")
TO_TERMINATED = orjson.dumps({"fields": ["status"], "values": {"status": ["active", "terminated"]}}).decode()


@dataclass
class LineRow:
    id: int
    pos: int | None
    activated_on: date | None
    created_at: datetime
    status: str = "active"


@dataclass
class HistoryRow:
    id: int
    line: int
    at: datetime
    action: str
    channel: str | None
    actor: int | None
    changes: str = '{"fields":[]}'


@dataclass
class StepRow:
    id: int
    line: int
    action: str
    on_date: date
    province: str


@dataclass
class Data:
    lines: list[LineRow] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    steps: list[StepRow] = field(default_factory=list)


def _instant(rng: random.Random, first: date, days: int) -> datetime:
    """A UTC instant on a local day of the range; one in four falls within the first or last minutes of it."""
    day = first + timedelta(days=rng.randrange(days))
    if rng.random() < 0.25:
        seconds = rng.choice([rng.randrange(0, 120), rng.randrange(86_280, 86_400)])
    else:
        seconds = rng.randrange(86_400)
    local = datetime.combine(day, time(), TZ) + timedelta(seconds=seconds)
    return local.astimezone(UTC)


def generate(seed: int, n: int = 400) -> Data:
    rng = random.Random(seed)
    data = Data()
    hid = sid = 0
    for i in range(1, n + 1):
        pos = rng.choice([p for p, _ in POINTS] + [None])
        activated = None if rng.random() < 0.15 else date(2017, 1, 1) + timedelta(days=rng.randrange(3650))
        created = _instant(rng, date(2017, 1, 1), 3650)
        line = LineRow(i, pos, activated, created)
        data.lines.append(line)
        fate = rng.random()
        if fate < 0.15:  # terminated by the sweep: a terminate step
            line.status = "terminated"
            sid += 1
            step_day = date(2026, 1, 1) + timedelta(days=rng.randrange(200))
            data.steps.append(StepRow(sid, i, "terminate", step_day, _province_of(pos)))
        elif fate < 0.22:  # terminated by an import: a status change in the history
            line.status = "terminated"
            hid += 1
            data.history.append(HistoryRow(hid, i, _instant(rng, date(2026, 1, 1), 200), "status_changed",
                                           "legacy_import", None, TO_TERMINATED))  # fmt: skip
        elif fate < 0.26:  # imported already terminated: never live
            line.status = "terminated"
        elif fate < 0.35:
            line.status = rng.choice(["one_way_locked", "two_way_locked"])
    for _ in range(n * 3):  # history across six months (and a little before and after)
        hid += 1
        line = rng.choice(data.lines)
        action = rng.choice(["created", "created", "updated", "updated", "updated", "documents_added",
                             "status_changed"])  # fmt: skip
        actor = rng.choice([s for s, _ in STAFF] + [None, None])
        data.history.append(HistoryRow(hid, line.id, _instant(rng, date(2025, 12, 20), 200), action,
                                       rng.choice(CHANNELS), actor))  # fmt: skip
    for _ in range(n * 2):
        sid += 1
        line = rng.choice(data.lines)
        province = rng.choice([_province_of(line.pos), "001", "unknown"])  # as recorded when the step was taken
        on = date(2025, 12, 20) + timedelta(days=rng.randrange(200))
        data.steps.append(StepRow(sid, line.id, rng.choice(STEP_ACTIONS), on, province))
    for k, day in enumerate((date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1))):  # exactly at local midnight
        for line in data.lines[k * 7 : k * 7 + 5]:
            hid += 1
            midnight = datetime.combine(day, time(), TZ).astimezone(UTC)
            data.history.append(HistoryRow(hid, line.id, midnight, "updated", "store", None))
    rng.shuffle(data.history)  # inserted out of order: ids and times do not follow the insertion order
    return data


def _province_of(pos: int | None) -> str:
    found = dict(POINTS).get(pos) if pos is not None else None
    return found or "unknown"


def write(engine: Engine, data: Data) -> None:
    """Points of sale, staff, holders (placeholder payloads: the report reads none) and the generated rows."""
    with engine.begin() as c:
        c.execute(insert(points_of_sale), [
            {"id": p, "code": f"POS-{p}", "kind": "store", "name": f"Store {p}", "province_code": prov}
            for p, prov in POINTS
        ])  # fmt: skip
        c.execute(insert(staff), [
            {"id": s, "username": f"staff-{s}", "display_name": f"Staff {s}", "role": "store_staff",
             "point_of_sale_id": pos, "password_hash": "x"} for s, pos in STAFF
        ])  # fmt: skip
        kek = c.execute(select(func.min(key_encryption_keys.c.id))).scalar_one()
        c.execute(insert(holders), [
            {"id": line.id, "kind": "person", "aad_ref": os.urandom(16), "kek_id": kek, "payload": b"\0"}
            for line in data.lines
        ])  # fmt: skip
        c.execute(insert(subscriptions), [
            {"id": line.id, "msisdn": 84_900_000_000 + line.id, "holder_id": line.id, "point_of_sale_id": line.pos,
             "activated_on": line.activated_on, "created_at": line.created_at, "status": line.status,
             "complete": False, "rule_set": "nd49-2017", "evaluated_on": date(2026, 12, 1), "verdict": 1}
            for line in data.lines
        ])  # fmt: skip
        c.execute(insert(subscription_history), [
            {"id": h.id, "subscription_id": h.line, "at": h.at, "action": h.action, "channel": h.channel,
             "actor_staff_id": h.actor, "changes": h.changes} for h in data.history
        ])  # fmt: skip
        c.execute(insert(enforcement_steps), [
            {"id": s.id, "subscription_id": s.line, "action": s.action, "on_date": s.on_date, "regime": "nd49-2017",
             "province_code": s.province, "channel": "sweep"} for s in data.steps
        ])  # fmt: skip


def expected(data: Data, start: date, end: date, provinces: set[str] | None = None) -> dict[str, dict[str, int]]:
    """Each province's non-zero figures for the period, counted from the generated rows."""
    start_at = datetime.combine(start, time(), TZ).astimezone(UTC)
    end_at = datetime.combine(end + timedelta(days=1), time(), TZ).astimezone(UTC)
    pos_province = dict(POINTS)
    staff_pos = dict(STAFF)
    lines = {line.id: line for line in data.lines}
    counts: dict[str, Counter[str]] = {}

    def add(province: str, figure: str) -> None:
        if provinces is None or province in provinces:
            counts.setdefault(province, Counter())[figure] += 1

    for line in data.lines:
        existed = line.activated_on <= end if line.activated_on is not None else line.created_at < end_at
        if not existed:
            continue
        if line.status == "terminated":
            sweep = [s.on_date for s in data.steps if s.line == line.id and s.action == "terminate"]
            imported = [h.at for h in data.history if h.line == line.id and h.changes == TO_TERMINATED]
            if sweep:
                gone = min(sweep) <= end
            elif imported:
                gone = min(imported) < end_at
            else:
                gone = True
            if gone:
                continue
        add(_province_of(line.pos), "subscriptions")

    last: dict[tuple[int, str], HistoryRow] = {}
    for h in data.history:
        counted = h.action == "updated" or (
            h.action == "created" and h.channel in ("store", "agent", "authorized_point")
        )
        if counted and start_at <= h.at < end_at:
            key = (h.line, h.action)
            if key not in last or (h.at, h.id) > (last[key].at, last[key].id):
                last[key] = h
    for (line_id, action), h in last.items():
        actor_pos = staff_pos.get(h.actor) if h.actor is not None else None
        province = (pos_province[actor_pos] or "unknown") if actor_pos is not None else _province_of(lines[line_id].pos)
        add(province, "updated" if action == "updated" else "registered")

    figure_of = {"lock_one_way": "locked_one_way", "lock_two_way": "locked_two_way", "terminate": "terminated",
                 "restore": "restored"}  # fmt: skip
    last_step: dict[tuple[int, str], StepRow] = {}
    for s in data.steps:
        if s.action in figure_of and start <= s.on_date <= end:
            key = (s.line, s.action)
            if key not in last_step or (s.on_date, s.id) > (last_step[key].on_date, last_step[key].id):
                last_step[key] = s
    for (_, action), s in last_step.items():
        add(s.province, figure_of[action])
    return {p: dict(c) for p, c in counts.items()}
