"""A daily snapshot's figures: one count per (dimension, province of the point of sale, key).

The snapshot's sources are grouped by the database (one GROUP BY per source table, a few thousand groups
whatever the size of the base); this module folds those groups into figures, so the meaning of each
dimension is written once, here:

- `lines` / `total`: every line.
- `state`: complete, incomplete, contract_needed, invalid, not_evaluated: the stored verdict and the
  4th-subscription rule, the worse winning (`domain.compliance.state`).
- `missing`: a rule set's missing item (`portrait`, `holder.full_name`, ...), from `missing_mask` bits.
- `phase`: phase_1, phase_2, unknown: the activation date against the as-of day's cutoff.
- `channel`, `subscriber_type`, `payment_type`: the line's value, or unknown.
- `enforcement`: notified, one_way_locked, two_way_locked, terminated: the line's state in the machine.
- `enf_steps`: notify, renotify, lock_one_way, lock_two_way, terminate, restore: the steps dated that day.
- `campaign_sms`: every campaign SMS by state (pending, sent, delivered, failed, ...), as it stands when taken;
  `campaign_sms_day`: the same for the campaign SMS queued that day.
- `pos_updates`, `pos_registrations` (key: the point of sale's code): that day's history rows `updated` and
  `created` written by staff of that point of sale; `pos_updates_cum`, `pos_registrations_cum`: the same counted
  from the first history row up to the end of the day (running totals: the dashboard gets a period's counts from
  two snapshots, whatever the period's length).

The province is the province of the line's point of sale (`unknown` when it has none), so a regional
manager's view is a filter on it. Nothing here names a person: keys are codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from subreg.domain.compliance.missing_mask import bits_of
from subreg.domain.compliance.state import ComplianceState, state_of

__all__ = [
    "CUMULATIVE",
    "DIMENSIONS",
    "NOT_EVALUATED",
    "UNKNOWN",
    "Figure",
    "LineGroup",
    "carry_forward",
    "figures_of",
    "fold_campaign",
    "fold_counter",
    "fold_lines",
    "fold_steps",
]

UNKNOWN = "unknown"
NOT_EVALUATED = "not_evaluated"
DIMENSIONS = (
    "lines", "state", "missing", "phase", "channel", "subscriber_type", "payment_type", "enforcement",
    "enf_steps", "campaign_sms", "campaign_sms_day", "pos_updates", "pos_registrations", "pos_updates_cum",
    "pos_registrations_cum",
)  # fmt: skip
CUMULATIVE = {"pos_updates": "pos_updates_cum", "pos_registrations": "pos_registrations_cum"}
_PHASES = {1: "phase_1", 2: "phase_2"}
_ENFORCEMENT = {1: "notified", 2: "one_way_locked", 3: "two_way_locked", 4: "terminated"}
_COUNTER_DIMENSION = {"updated": "pos_updates", "created": "pos_registrations"}
_KEY_LIMIT = 64  # snapshot_figures.key


class LineGroup(NamedTuple):
    """One group of the subscriptions' GROUP BY (every value as the database holds it)."""

    province: str | None
    verdict: int | None
    contract_needed: bool | None
    phase: int | None
    subscriber_type: str | None
    payment_type: str | None
    channel: str | None
    enf_state: int | None
    missing_mask: int | None
    n: int


@dataclass(frozen=True, slots=True, order=True)
class Figure:
    """One stored count."""

    dimension: str
    province: str
    key: str
    n: int


def _key(value: object) -> str:
    return UNKNOWN if value is None or value == "" else str(value)[:_KEY_LIMIT]


def _state(verdict: int | None, contract_needed: bool | None) -> str:
    try:
        stored = ComplianceState(int(verdict)) if verdict is not None else None
    except ValueError:
        stored = None
    if stored is None:
        return NOT_EVALUATED
    # The stored verdict is the rule set's answer on the line's own papers; the 4th-subscription rule is apart.
    return state_of(
        valid=stored != ComplianceState.INVALID, complete=stored == ComplianceState.COMPLETE,
        contract_needed=bool(contract_needed),
    ).label  # fmt: skip


def fold_lines(groups: Iterable[LineGroup], missing_items: Sequence[str]) -> Counter[tuple[str, str, str]]:
    """(dimension, province, key) -> count for the line dimensions.

    The groups are first summed per (province, value) of each dimension, so that the per-key work (the state's
    rule, the mask's bits) runs once per distinct value, not once per group (hundreds of thousands of groups).
    """
    by: dict[str, Counter[tuple[Any, Any]]] = {d: Counter() for d in (
        "state", "phase", "channel", "subscriber_type", "payment_type", "enforcement", "missing")}  # fmt: skip
    state, phase, channel, st, pt = by["state"], by["phase"], by["channel"], by["subscriber_type"], by["payment_type"]
    enforcement, masks = by["enforcement"], by["missing"]
    for g in groups:
        n = g.n
        p = g.province
        state[p, (g.verdict, bool(g.contract_needed))] += n
        phase[p, g.phase] += n
        channel[p, g.channel] += n
        st[p, g.subscriber_type] += n
        pt[p, g.payment_type] += n
        if g.enf_state:
            enforcement[p, g.enf_state] += n
        if g.missing_mask:
            masks[p, g.missing_mask] += n
    out: Counter[tuple[str, str, str]] = Counter()
    for (p, (verdict, contract_needed)), n in state.items():
        out["state", _key(p), _state(verdict, contract_needed)] += n
        out["lines", _key(p), "total"] += n
    for (p, value), n in phase.items():
        out["phase", _key(p), _PHASES.get(value or 0, UNKNOWN)] += n
    for dimension in ("channel", "subscriber_type", "payment_type"):
        for (p, value), n in by[dimension].items():
            out[dimension, _key(p), _key(value)] += n
    for (p, value), n in enforcement.items():
        if value in _ENFORCEMENT:
            out["enforcement", _key(p), _ENFORCEMENT[int(value)]] += n
    bits = list(bits_of(tuple(missing_items)).items())
    for (p, value), n in masks.items():
        mask = int(value)
        for item, bit in bits:
            if mask & bit:
                out["missing", _key(p), item] += n
    return +out


def fold_steps(rows: Iterable[tuple[str | None, str, int]]) -> Counter[tuple[str, str, str]]:
    """(province, action, n) of the day's enforcement steps -> figures of `enf_steps`."""
    out: Counter[tuple[str, str, str]] = Counter()
    for province, action, n in rows:
        out["enf_steps", _key(province), _key(action)] += int(n)
    return out


def fold_campaign(rows: Iterable[tuple[str | None, str, bool, int]]) -> Counter[tuple[str, str, str]]:
    """(province, state, queued that day, n) of campaign SMS -> `campaign_sms` and `campaign_sms_day`."""
    out: Counter[tuple[str, str, str]] = Counter()
    for province, state, that_day, n in rows:
        out["campaign_sms", _key(province), _key(state)] += int(n)
        if that_day:
            out["campaign_sms_day", _key(province), _key(state)] += int(n)
    return out


def fold_counter(rows: Iterable[tuple[str, str | None, str, int]]) -> Counter[tuple[str, str, str]]:
    """(point of sale code, its province, history action, n) -> `pos_updates` and `pos_registrations`."""
    out: Counter[tuple[str, str, str]] = Counter()
    for code, province, action, n in rows:
        dimension = _COUNTER_DIMENSION.get(action)
        if dimension is not None:
            out[dimension, _key(province), _key(code)] += int(n)
    return out


def carry_forward(
    previous: Iterable[tuple[str, str, str, int]], since_then: Counter[tuple[str, str, str]]
) -> Counter[tuple[str, str, str]]:
    """The running totals (`*_cum`) of a day: the previous snapshot's (dimension, province, key, n) plus the
    counter's work since then (`fold_counter` of the rows after the previous snapshot's day)."""
    out: Counter[tuple[str, str, str]] = Counter()
    for dimension, province, key, n in previous:
        out[dimension, province, key] += int(n)
    for (dimension, province, key), n in since_then.items():
        out[CUMULATIVE[dimension], province, key] += n
    return out


def figures_of(*counters: Counter[tuple[str, str, str]]) -> list[Figure]:
    """The figures of folded counters, sorted (zero counts dropped)."""
    total: Counter[tuple[str, str, str]] = Counter()
    for c in counters:
        total.update(c)
    return sorted(Figure(d, p, k, n) for (d, p, k), n in total.items() if n)
