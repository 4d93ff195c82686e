"""Compliance statistics: counts by state, missing item, phase, subscriber type, payment type,
channel and province, from ONE `GROUP BY` over the subscriptions table (no decryption).

The database returns one row per distinct combination of (state, phase, subscriber type, payment
type, channel, province, missing bitmask) - a few thousand rows for tens of millions of
subscriptions - and the per-dimension counts are summed here. With `as_of` the phase is computed in
the query from `activated_on` for that reference date; without it the stored phase (from the last
`subreg evaluate`) is used. Provinces are the first three digits of a CCCD number, kept in clear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from subreg.domain.compliance.phase import cutoff
from subreg.services.registry.evaluation import MISSING_ITEMS, STATE_NAMES
from subreg.services.registry.ports import StatsStore

__all__ = ["compliance_stats", "over_limit"]

UNKNOWN = "unknown"
_PHASES = {1: "phase_1", 2: "phase_2"}


def _key(value: Any) -> str:
    return UNKNOWN if value is None or value == "" else str(value)


def compliance_stats(store: StatsStore, *, as_of: date | None = None) -> dict[str, Any]:
    """{"total", "by_state", "by_missing", "by_phase", "by_subscriber_type", ...} counts."""
    dims = ("by_state", "by_phase", "by_subscriber_type", "by_payment_type", "by_channel", "by_province")
    counters: dict[str, Counter[str]] = {d: Counter() for d in dims}
    missing: Counter[str] = Counter()
    total = 0
    bits = list(enumerate(MISSING_ITEMS))
    for state, phase, st, pt, ch, prov, mask, n in store.stats_groups(cutoff(as_of) if as_of else None):
        n = int(n)
        total += n
        counters["by_state"][STATE_NAMES.get(state, "not_evaluated") if state is not None else "not_evaluated"] += n
        counters["by_phase"][_PHASES.get(phase, UNKNOWN)] += n
        counters["by_subscriber_type"][_key(st)] += n
        counters["by_payment_type"][_key(pt)] += n
        counters["by_channel"][_key(ch)] += n
        counters["by_province"][_key(prov)] += n
        if mask:
            m = int(mask)
            for i, item in bits:
                if m >> i & 1:
                    missing[item] += n
    out: dict[str, Any] = {"total": total, "as_of": as_of.isoformat() if as_of else None}
    for name in ("by_state", "by_phase"):
        out[name] = dict(sorted(counters[name].items()))
    out["by_missing"] = dict(missing.most_common())
    for name in dims[2:]:
        out[name] = dict(counters[name].most_common())
    return out


def over_limit(store: StatsStore, *, minimum: int = 4, limit: int = 1000) -> list[Mapping[str, Any]]:
    """ID documents (by blind index, never the number) with `minimum`+ active subscriptions without contract."""
    return [
        {"document": blind.hex(), "subscriptions": n, "without_contract": w, "contract_needed": c}
        for blind, n, w, c in store.over_limit(minimum, limit)
    ]
