"""Generated data for the signal tests, written straight into the tables: lines (with placeholder holders),
their 'created' history rows at chosen instants, points of sale and staff. Each generator returns what it made,
so a test computes the expected signals itself, independently of the SQL it checks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from subreg.adapters.db.tables import holders, key_encryption_keys, staff, subscription_history, subscriptions

FIRST = 84_910_000_000


@dataclass(frozen=True)
class Reg:
    """One line: where it was registered, by which channel, when (UTC), whose document, its contract, its status."""

    point: str | None
    at: datetime | None = None
    channel: str = "store"
    person: bytes | None = None
    has_contract: bool = False
    status: str = "active"


def seed(engine: Engine, regs: Sequence[Reg]) -> list[int]:
    """Write the lines (and a 'created' history row for those with `at`); their ids in order."""
    if not regs:
        return []
    with engine.begin() as c:
        kek = c.execute(select(func.min(key_encryption_keys.c.id))).scalar_one()
        start = c.execute(select(func.count()).select_from(subscriptions)).scalar_one()
        holder_rows = [{"kind": "person", "aad_ref": os.urandom(16), "kek_id": kek, "payload": b"\0"} for _ in regs]
        new_holders = insert(holders).returning(holders.c.id, sort_by_parameter_order=True)
        holder_ids = list(c.execute(new_holders, holder_rows).scalars())
        rows: list[dict[str, Any]] = [
            {"msisdn": FIRST + start + i, "holder_id": h, "complete": True, "rule_set": "nd49-2017",
             "evaluated_on": date(2026, 11, 1), "verdict": 0, "point_of_sale_code": r.point, "person_key": r.person,
             "has_contract": r.has_contract, "status": r.status, "channel": r.channel}
            for i, (r, h) in enumerate(zip(regs, holder_ids, strict=True))
        ]  # fmt: skip
        new_lines = insert(subscriptions).returning(subscriptions.c.id, sort_by_parameter_order=True)
        ids = list(c.execute(new_lines, rows).scalars())
        history = [
            {"subscription_id": i, "at": r.at, "channel": r.channel, "action": "created", "changes": "{}"}
            for i, r in zip(ids, regs, strict=True)
            if r.at is not None
        ]
        if history:
            c.execute(insert(subscription_history), history)
        return ids


def add_staff(engine: Engine, names: Sequence[str], role: str = "store_staff") -> dict[str, int]:
    """Staff accounts (no point of sale); their ids by username."""
    with engine.begin() as c:
        out = {}
        for name in names:
            out[name] = c.execute(
                insert(staff).values(username=name, display_name=name, role=role, password_hash="x")
                .returning(staff.c.id)
            ).scalar_one()  # fmt: skip
        return out


def utc(day: date, hour: int = 3, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
