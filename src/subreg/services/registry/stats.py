"""Compliance statistics: counts by state, missing item, phase, subscriber type, payment type, channel and
province, from ONE `GROUP BY` over the subscriptions table's covering index (no decryption).

The database returns one row per distinct combination of (verdict, phase, subscriber type, payment
type, channel, province, missing bitmask) - a few thousand rows for tens of millions of lines - and
the per-dimension counts are summed here. The 4th-subscription rule is not in that index (the
evaluation flips it for millions of lines after a first load): the lines needing a contract are
counted apart, per verdict, from a small partial index, and move from their verdict's state to
`contract_needed` unless their verdict is `invalid` (the worse state wins, `domain.compliance.state`).
With `as_of` the phase is computed in the query from `activated_on` for that reference date; without
it the stored phase is used. Provinces are the first three digits of a CCCD number, kept in clear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from subreg.domain.compliance.missing_mask import bits_of
from subreg.domain.compliance.phase import cutoff
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.compliance.state import ComplianceState, state_of
from subreg.services.registry.ports import StatsStore

__all__ = ["compliance_stats", "over_limit"]

UNKNOWN = "unknown"
NOT_EVALUATED = "not_evaluated"
_PHASES = {1: "phase_1", 2: "phase_2"}
_VERDICTS = {int(s): s for s in ComplianceState}


def _key(value: Any) -> str:
    return UNKNOWN if value is None or value == "" else str(value)


def compliance_stats(store: StatsStore, *, rule_set: RuleSet, as_of: date | None = None) -> dict[str, Any]:
    """{"total", "by_state", "by_missing", "by_phase", "by_subscriber_type", ...} counts."""
    dims = ("by_state", "by_phase", "by_subscriber_type", "by_payment_type", "by_channel", "by_province")
    counters: dict[str, Counter[str]] = {d: Counter() for d in dims}
    missing: Counter[str] = Counter()
    total = 0
    bits = list(bits_of(tuple(rule_set.missing_items)).items())
    for verdict, phase, st, pt, ch, prov, mask, n in store.stats_groups(cutoff(as_of) if as_of else None):
        n = int(n)
        total += n
        state = _VERDICTS.get(verdict) if verdict is not None else None
        counters["by_state"][state.label if state is not None else NOT_EVALUATED] += n
        counters["by_phase"][_PHASES.get(phase, UNKNOWN)] += n
        counters["by_subscriber_type"][_key(st)] += n
        counters["by_payment_type"][_key(pt)] += n
        counters["by_channel"][_key(ch)] += n
        counters["by_province"][_key(prov)] += n
        if mask:
            m = int(mask)
            for item, bit in bits:
                if m & bit:
                    missing[item] += n
    for verdict, n in store.contract_needed_by_verdict().items():
        state = _VERDICTS.get(verdict) if verdict is not None else None
        if state is None:
            continue
        line_state = state_of(
            valid=state != ComplianceState.INVALID, complete=state == ComplianceState.COMPLETE, contract_needed=True
        )
        if line_state != state:
            counters["by_state"][state.label] -= n
            counters["by_state"][line_state.label] += n
    out: dict[str, Any] = {"total": total, "as_of": as_of.isoformat() if as_of else None}
    out["by_state"] = dict(sorted((k, v) for k, v in counters["by_state"].items() if v))
    out["by_phase"] = dict(sorted(counters["by_phase"].items()))
    out["by_missing"] = dict(missing.most_common())
    for name in dims[2:]:
        out[name] = dict(counters[name].most_common())
    return out


def over_limit(store: StatsStore, *, minimum: int = 4, limit: int = 1000) -> list[Mapping[str, Any]]:
    """People (by person key, never a number) with `minimum`+ active lines without a contract."""
    return [
        {"document": key.hex(), "subscriptions": n, "without_contract": w, "contract_needed": c}
        for key, n, w, c in store.over_limit(minimum, limit)
    ]
