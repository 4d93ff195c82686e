"""Generated data for the snapshot tests, and the figures it must give, counted here in plain Python.

`generate` draws lines (point of sale, verdict, contract, activation date, types, channel, enforcement state,
missing items), the enforcement steps, campaign SMS and counter history of a few days around `AS_OF`, with
rows on both sides of the local day's bounds (Asia/Ho_Chi_Minh, UTC+7). `expected` counts the figures
from those rows directly, without the snapshot's queries, so a test comparing the two checks the SQL.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from subreg.domain.compliance.rules import get_rule_set

AS_OF = date(2026, 11, 20)
# The local day 2026-11-20 is [2026-11-19 17:00, 2026-11-20 17:00) UTC.
DAY_START = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
DAY_END = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
POINTS = [  # id, code, province (None: a point of sale with no province)
    (1, "HN-1", "001"), (2, "HN-2", "001"), (3, "HCM-1", "079"), (4, "DN-1", "048"), (5, "X-1", None),
]  # fmt: skip
PROVINCE = {pid: prov for pid, _code, prov in POINTS}
CODE = {pid: code for pid, code, _prov in POINTS}
MISSING = get_rule_set().missing_items
CUTOFF = date(2021, 11, 20)  # five years before AS_OF: activated after it is phase 1


@dataclass
class Data:
    """Rows per table (the SQL tables' columns)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _moment(rng: random.Random) -> datetime:
    """A time near the day's bounds or inside it (and some well outside)."""
    edges = [DAY_START - timedelta(seconds=1), DAY_START, DAY_END - timedelta(seconds=1), DAY_END,
             DAY_START + timedelta(hours=5), DAY_START - timedelta(days=2), DAY_END + timedelta(days=1)]  # fmt: skip
    return rng.choice(edges)


def generate(seed: int = 7, n: int = 300) -> Data:
    """Lines, steps, campaign SMS and history for the snapshot of `AS_OF`."""
    rng = random.Random(seed)
    t: dict[str, list[dict[str, Any]]] = {}
    t["points_of_sale"] = [{"id": i, "code": c, "kind": "store", "name": c, "province_code": p, "active": True}
                           for i, c, p in POINTS]  # fmt: skip
    t["staff"] = [
        {"id": 1, "username": "s1", "display_name": "s1", "role": "store_staff", "point_of_sale_id": 1,
         "password_hash": "x", "active": True},
        {"id": 2, "username": "s3", "display_name": "s3", "role": "store_staff", "point_of_sale_id": 3,
         "password_hash": "x", "active": True},
        {"id": 3, "username": "s5", "display_name": "s5", "role": "store_staff", "point_of_sale_id": 5,
         "password_hash": "x", "active": True},
        {"id": 4, "username": "co", "display_name": "co", "role": "compliance_officer", "point_of_sale_id": None,
         "password_hash": "x", "active": True},
    ]  # fmt: skip
    lines = []
    for i in range(1, n + 1):
        verdict = rng.choice([0, 0, 1, 1, 3, None])
        mask = 0 if verdict == 0 else rng.randrange(0, 16) | (1 << 62 if rng.random() < 0.1 else 0)
        activated = rng.choice([None, CUTOFF, CUTOFF + timedelta(days=1), date(2012, 3, 1), date(2025, 1, 2)])
        lines.append({
            "id": i, "msisdn": 84900000000 + i, "generation": 1, "holder_id": 1,
            "subscriber_type": rng.choice(["individual", "organization", None]),
            "payment_type": rng.choice(["prepaid", "postpaid"]), "activated_on": activated,
            "channel": rng.choice(["store", "agent", "legacy_import", None]),
            "point_of_sale_id": rng.choice([None, 1, 2, 3, 4, 5]), "status": "active",
            "complete": verdict == 0, "rule_set": "nd49-2017", "evaluated_on": AS_OF, "verdict": verdict,
            "contract_needed": rng.random() < 0.15, "missing_mask": mask,
            "enf_state": rng.choice([None, None, 1, 2, 3, 4]),
        })  # fmt: skip
    t["subscriptions"] = lines
    t["enforcement_steps"] = [
        {"id": k, "subscription_id": rng.randrange(1, n + 1),
         "action": rng.choice(["notify", "lock_one_way", "lock_two_way", "terminate", "restore"]),
         "on_date": rng.choice([AS_OF, AS_OF, AS_OF - timedelta(days=1), AS_OF + timedelta(days=1)]),
         "regime": "nd49-2017", "province_code": rng.choice(["001", "079", "unknown"]), "channel": "sweep"}
        for k in range(1, 81)
    ]  # fmt: skip
    t["campaigns"] = [{"id": 1, "name": "c1", "template": "campaign_reminder", "lang": "vi", "cohort": "{}",
                       "start_on": AS_OF, "hours": "08:00-20:00", "waves": 1, "rate_per_bind": 10, "binds": 1,
                       "state": "running", "created_by": "co"}]  # fmt: skip
    sends, outbox = [], []
    for k in range(1, 121):
        line = rng.randrange(1, n + 1)
        sends.append({"id": k, "campaign_id": 1, "wave": k, "subscription_id": line})
        outbox.append({
            "id": k, "created_at": _moment(rng), "kind": "campaign", "priority": 2, "recipient": 84900000000 + line,
            "sender": "1414", "encoding": "gsm7", "part_count": 1,
            "state": rng.choice(["pending", "sent", "delivered", "delivered", "failed"]),
            "next_attempt_at": DAY_START, "kek_id": 1, "payload": b"x", "campaign_send_id": k,
        })  # fmt: skip
    outbox.append({**outbox[0], "id": 500, "kind": "reply", "campaign_send_id": None})  # not a campaign SMS
    t["campaign_sends"], t["sms_outbox"] = sends, outbox
    t["subscription_history"] = [
        {"id": k, "subscription_id": rng.randrange(1, n + 1), "at": _moment(rng),
         "actor_staff_id": rng.choice([1, 2, 3, 4, None]),
         "channel": "store", "action": rng.choice(["created", "updated", "updated", "status_changed"]), "changes": "{}"}
        for k in range(1, 201)
    ]  # fmt: skip
    return Data(t)


def _province(pos_id: int | None) -> str:
    prov = PROVINCE.get(pos_id) if pos_id is not None else None
    return prov or "unknown"


def expected(data: Data) -> Counter[tuple[str, str, str]]:
    """(dimension, province, key) -> count, straight from the generated rows."""
    out: Counter[tuple[str, str, str]] = Counter()
    t = data.tables
    for s in t["subscriptions"]:
        p = _province(s["point_of_sale_id"])
        out["lines", p, "total"] += 1
        v = s["verdict"]
        state = ("not_evaluated" if v is None else "invalid" if v == 3 else "contract_needed" if s["contract_needed"]
                 else "complete" if v == 0 else "incomplete")  # fmt: skip
        out["state", p, state] += 1
        a = s["activated_on"]
        out["phase", p, "unknown" if a is None else "phase_1" if a > CUTOFF else "phase_2"] += 1
        for dim in ("channel", "subscriber_type", "payment_type"):
            out[dim, p, s[dim] or "unknown"] += 1
        if s["enf_state"]:
            out[
                "enforcement",
                p,
                {1: "notified", 2: "one_way_locked", 3: "two_way_locked", 4: "terminated"}[s["enf_state"]],
            ] += 1
        for bit in range(63):
            if s["missing_mask"] >> bit & 1 and (bit < min(len(MISSING), 62) or bit == 62):
                out["missing", p, MISSING[bit] if bit < 62 else "other"] += 1
    for r in t["enforcement_steps"]:
        if r["on_date"] == AS_OF:
            out["enf_steps", r["province_code"], r["action"]] += 1
    line_pos = {s["id"]: s["point_of_sale_id"] for s in t["subscriptions"]}
    send_line = {c["id"]: c["subscription_id"] for c in t["campaign_sends"]}
    for o in t["sms_outbox"]:
        if o["kind"] != "campaign" or o["created_at"] >= DAY_END:
            continue
        p = _province(line_pos[send_line[o["campaign_send_id"]]])
        out["campaign_sms", p, o["state"]] += 1
        if o["created_at"] >= DAY_START:
            out["campaign_sms_day", p, o["state"]] += 1
    for (dim, province, code), n in counter_work(data, DAY_START, DAY_END).items():
        out[dim, province, code] += n
    for (dim, province, code), n in counter_work(data, datetime(1970, 1, 1, tzinfo=UTC), DAY_END).items():
        out[f"{dim}_cum", province, code] += n  # running totals from the first history row
    return +out


def counter_work(data: Data, start: datetime, end: datetime) -> Counter[tuple[str, str, str]]:
    """(pos_updates | pos_registrations, province, code) -> history rows in [start, end) by staff of a point."""
    out: Counter[tuple[str, str, str]] = Counter()
    staff_pos = {m["id"]: m["point_of_sale_id"] for m in data.tables["staff"]}
    for h in data.tables["subscription_history"]:
        pos = staff_pos.get(h["actor_staff_id"])
        if pos is None or not start <= h["at"] < end or h["action"] not in ("created", "updated"):
            continue
        dim = "pos_registrations" if h["action"] == "created" else "pos_updates"
        out[dim, _province(pos), CODE[pos]] += 1
    return out


MEMORY_SKIP = {"campaigns", "campaign_sends"}  # the fake ties campaign SMS to lines by number


def load_sql(engine: Any, data: Data) -> None:
    """Insert the rows with SQLAlchemy Core (a holder first, under an existing key-encryption key)."""
    from sqlalchemy import select

    from subreg.adapters.db import tables

    with engine.begin() as c:
        kek = c.execute(select(tables.key_encryption_keys.c.id).limit(1)).scalar_one()
        c.execute(tables.holders.insert().values(id=1, kind="person", aad_ref=b"0" * 16, kek_id=kek, payload=b"x"))
        for name in ("points_of_sale", "staff", "subscriptions", "enforcement_steps", "campaigns", "campaign_sends",
                     "sms_outbox", "subscription_history"):  # fmt: skip
            rows = data.tables[name]
            if name == "sms_outbox":
                rows = [{**r, "kek_id": kek} for r in rows]
            c.execute(getattr(tables, name).insert(), rows)
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for name in ("points_of_sale", "staff", "subscriptions", "sms_outbox", "subscription_history"):
                c.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"  # noqa: S608
                )


def load_memory(db: Any, data: Data) -> None:
    """Insert the rows into the in-memory database of the fakes."""
    from subreg.adapters.memory._store import TABLES, Transaction

    tx = Transaction(db)
    tx.insert("holders", {"id": 1, "kind": "person", "aad_ref": b"0" * 16, "kek_id": 1, "payload": b"x"})
    for name, rows in data.tables.items():
        if name in MEMORY_SKIP:
            continue
        columns = TABLES[name].columns
        for r in rows:
            tx.insert(name, {k: v for k, v in r.items() if k in columns})
    tx.commit()
