"""In-memory snapshot source and store (as the SQL ones, `adapters.db.snapshot_repo`), for the service tests.

The source groups the fake's rows in Python (the SQL adapter groups in the database); campaign SMS are tied
to their line through the recipient's number (the fake's outbox has no campaign send column), the newest
line of that number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from subreg.adapters.memory._store import ConstraintError, Transaction
from subreg.domain.common.errors import ConflictError, FieldError
from subreg.domain.reports.figures import Figure, LineGroup
from subreg.services.reports.ports import FigureSum, SnapshotInfo

__all__ = ["MemorySnapshotSource", "MemorySnapshotStore"]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class MemorySnapshotSource:
    """The snapshot's sources grouped from the fake's tables."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    def _province(self, pos_id: Any) -> str | None:
        pos = self._tx().get("points_of_sale", pos_id) if pos_id is not None else None
        return pos["province_code"] if pos else None

    def line_groups(self, phase_cutoff: date) -> list[LineGroup]:
        groups: Counter[tuple[Any, ...]] = Counter()
        for s in self._tx().scan("subscriptions"):
            activated = s["activated_on"]
            phase = None if activated is None else 1 if activated > phase_cutoff else 2
            groups[
                self._province(s["point_of_sale_id"]), s["verdict"], s["contract_needed"], phase,
                s["subscriber_type"], s["payment_type"], s["channel"], s["enf_state"], s["missing_mask"],
            ] += 1  # fmt: skip
        return [LineGroup(*k, n) for k, n in groups.items()]

    def step_counts(self, day: date) -> list[tuple[str | None, str, int]]:
        groups = Counter((r["province_code"], r["action"]) for r in self._tx().scan("enforcement_steps")
                         if r["on_date"] == day)  # fmt: skip
        return [(p, a, n) for (p, a), n in groups.items()]

    def campaign_counts(self, start: datetime, end: datetime) -> list[tuple[str | None, str, bool, int]]:
        tx = self._tx()
        line_of = {s["msisdn"]: s for s in tx.scan("subscriptions")}  # key order: the newest generation wins
        groups: Counter[tuple[str | None, str, bool]] = Counter()
        for o in tx.scan("sms_outbox", lambda r: r["kind"] == "campaign"):
            at = _aware(o["created_at"])
            if at >= end:
                continue
            line = line_of.get(o["recipient"])
            groups[self._province(line["point_of_sale_id"]) if line else None, o["state"], at >= start] += 1
        return [(p, st, d, n) for (p, st, d), n in groups.items()]

    def counter_counts(self, start: datetime | None, end: datetime) -> list[tuple[str, str | None, str, int]]:
        tx = self._tx()
        groups: Counter[tuple[str, str | None, str]] = Counter()
        for h in tx.scan("subscription_history", lambda r: r["action"] in ("created", "updated")):
            at = _aware(h["at"])
            if (start is not None and at < start) or at >= end or h["actor_staff_id"] is None:
                continue
            member = tx.get("staff", h["actor_staff_id"])
            pos = (
                tx.get("points_of_sale", member["point_of_sale_id"]) if member and member["point_of_sale_id"] else None
            )
            if pos is not None:
                groups[pos["code"], pos["province_code"], h["action"]] += 1
        return [(c, p, a, n) for (c, p, a), n in groups.items()]


class MemorySnapshotStore:
    """`report_snapshots` and `snapshot_figures` in the fake."""

    def __init__(self, tx: Callable[[], Transaction]) -> None:
        self._tx = tx

    @staticmethod
    def _info(r: dict[str, Any]) -> SnapshotInfo:
        return SnapshotInfo(r["id"], r["as_of"], r["rule_set"], _aware(r["taken_at"]), r["figures"])

    def snapshot_on(self, day: date) -> SnapshotInfo | None:
        rows = list(self._tx().scan("report_snapshots", lambda r: r["as_of"] == day))
        return self._info(rows[0]) if rows else None

    def snapshot_before(self, day: date) -> SnapshotInfo | None:
        earlier = [self._info(r) for r in self._tx().scan("report_snapshots", lambda r: r["as_of"] < day)]
        return max(earlier, key=lambda s: s.as_of) if earlier else None

    def remove_snapshot(self, snapshot_id: int) -> None:
        tx = self._tx()
        for f in list(tx.scan("snapshot_figures", lambda r: r["snapshot_id"] == snapshot_id)):
            tx.delete("snapshot_figures", (f["snapshot_id"], f["dimension"], f["province"], f["key"]))
        tx.delete("report_snapshots", snapshot_id)

    def add_snapshot(self, as_of: date, rule_set: str, taken_at: datetime, figures: Sequence[Figure]) -> int:
        tx = self._tx()
        try:
            snapshot_id = int(
                tx.insert(
                    "report_snapshots",
                    {"as_of": as_of, "rule_set": rule_set, "taken_at": taken_at, "figures": len(figures)},
                )
            )
        except ConstraintError:
            raise ConflictError("snapshot_exists", errors=[FieldError("as_of", "snapshot_exists")]) from None
        for f in figures:
            tx.insert(
                "snapshot_figures",
                {"snapshot_id": snapshot_id, "dimension": f.dimension, "province": f.province, "key": f.key, "n": f.n},
            )
        return snapshot_id  # fmt: skip

    def snapshots(self, start: date, end: date) -> list[SnapshotInfo]:
        rows = self._tx().scan("report_snapshots", lambda r: start <= r["as_of"] <= end)
        return sorted((self._info(r) for r in rows), key=lambda s: s.as_of)

    def sums(
        self,
        start: date,
        end: date,
        dimensions: Sequence[str],
        provinces: frozenset[str] | None,
        *,
        per_day: bool,
        per_province: bool,
    ) -> list[FigureSum]:
        days = {s.id: s.as_of for s in self.snapshots(start, end)}
        wanted = set(dimensions)
        groups: Counter[tuple[date | None, str, str | None, str]] = Counter()
        for f in self._tx().scan("snapshot_figures", lambda r: r["snapshot_id"] in days and r["dimension"] in wanted):
            if provinces is not None and f["province"] not in provinces:
                continue
            day = days[f["snapshot_id"]] if per_day else None
            groups[day, f["dimension"], f["province"] if per_province else None, f["key"]] += f["n"]
        return [FigureSum(d, dim, p, k, n) for (d, dim, p, k), n in groups.items()]
