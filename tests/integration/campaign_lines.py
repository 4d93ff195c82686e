"""Lines for the campaign tests, written straight into the tables (thousands in a second): a campaign reads only
the compliance columns in clear and the holder's flags, never a holder's sealed payload, so the holders here
carry a placeholder payload."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, func, insert, select

from subreg.adapters.db.tables import holders, key_encryption_keys, points_of_sale, subscriptions

FIRST = 84_900_000_000  # line i has number FIRST + i
POINTS = ({"id": 1, "code": "HN-1", "kind": "store", "name": "Ha Noi 1", "province_code": "001"},
          {"id": 2, "code": "HCM-1", "kind": "store", "name": "HCM 1", "province_code": "079"})  # fmt: skip


@dataclass(frozen=True)
class Line:
    """One line's campaign-relevant facts (defaults: an incomplete prepaid individual line of phase 1)."""

    verdict: int | None = 1
    contract_needed: bool = False
    phase: int | None = 1
    missing_mask: int = 1
    subscriber_type: str = "individual"
    payment_type: str = "prepaid"
    status: str = "active"
    point_of_sale_id: int | None = None
    objected: bool = False
    restricted: bool = False

    def row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("verdict", "contract_needed", "phase", "missing_mask", "subscriber_type",
                                              "payment_type", "status", "point_of_sale_id")}  # fmt: skip


def seed_lines(engine: Engine, lines: Sequence[Line], *, points: bool = True) -> list[int]:
    """Write the lines (and the two points of sale); their subscription ids, in order (number FIRST + index)."""
    with engine.begin() as c:
        if points and not c.execute(select(func.count()).select_from(points_of_sale)).scalar_one():
            c.execute(insert(points_of_sale), list(POINTS))
        kek = c.execute(select(func.min(key_encryption_keys.c.id))).scalar_one()
        start = c.execute(select(func.count()).select_from(subscriptions)).scalar_one()
        holder_rows = [{"kind": "person", "aad_ref": os.urandom(16), "kek_id": kek, "payload": b"\0",
                        "objected": line.objected, "restricted": line.restricted} for line in lines]  # fmt: skip
        new_holders = insert(holders).returning(holders.c.id, sort_by_parameter_order=True)
        holder_ids = list(c.execute(new_holders, holder_rows).scalars())
        rows: list[Mapping[str, Any]] = [
            {**line.row(), "msisdn": FIRST + start + i, "holder_id": hid, "complete": line.verdict == 0,
             "rule_set": "nd49-2017", "evaluated_on": date(2026, 12, 1)}
            for i, (line, hid) in enumerate(zip(lines, holder_ids, strict=True))
        ]  # fmt: skip
        new_lines = insert(subscriptions).returning(subscriptions.c.id, sort_by_parameter_order=True)
        return list(c.execute(new_lines, rows).scalars())
