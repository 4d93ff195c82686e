"""Compliance evaluation at scale, incremental: only what changed, and what time changed.

Every line carries, in clear columns that hold no personal data, what its writer computed (the counter,
the import, the back office: `rows.line_columns`): the rule set's verdict on its own papers
(`complete`, `missing`, `error_codes`, `verdict`, `missing_mask`, `rule_set` = name/revision), its
update phase, `has_contract`, the date from which that verdict may no longer hold (`valid_until`) and the
person it counts towards (`person_key`). Writers also mark the person in `evaluation_dirty`, in the
transaction of the change. `evaluate` then does only what is left:

1. **time**: re-check (decrypt, run the rule set) the lines whose verdict may have changed by itself at
   `as_of`: `valid_until` reached (an index range, a few thousand lines a day at 60 M), and, after the
   rule set's revision changed, every line of another revision; an evaluation at an EARLIER date than the
   last one re-checks every line evaluated after it. The CPU work runs in the worker pool, one
   transaction per page of lines;
2. **phase**, set-based, only when the phases' reference date changed (writers use the configured one);
3. **the 4th-subscription rule** (`lines`): re-rank the dirty people's active lines, set-based; after a
   first load (which marks "everyone" instead of each person) every person that has enough lines;
4. empty the dirty set and record the run, in the transaction of step 3.

A re-evaluation where nothing changed reads one index range and an empty table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.compliance.phase import cutoff
from subreg.domain.compliance.rules.base import RuleSet
from subreg.services.common.ports import Vault
from subreg.services.registry.ports import EvaluationRun, EvaluationStore, WorkerPool
from subreg.services.registry.rows import compliance_columns, rule_tag, week_start

__all__ = ["EvaluationReport", "evaluate"]

_PAGE_COLUMNS = (
    "msisdn", "subscriber_type", "payment_type", "activated_on", "channel", "point_of_sale_code", "contract_number",
    "purpose", "status", "complete", "missing", "error_codes", "rule_set", "verdict", "valid_until", "document_refs",
    "verified_regime", "verified_method", "verified_at",
)  # fmt: skip


@dataclass
class EvaluationReport:
    """What one evaluation did: lines changed per step, seconds per step, and whether it re-ranked everyone."""

    as_of: date
    reference: date
    full: bool = False
    changed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> Mapping[str, Any]:
        """JSON-friendly form."""
        return {
            "as_of": self.as_of.isoformat(),
            "reference": self.reference.isoformat(),
            "full": self.full,
            "changed": self.changed,
            "seconds": self.seconds,
        }


def evaluate(
    store: EvaluationStore,
    *,
    as_of: date,
    reference: date,
    rule_set: RuleSet,
    vault: Vault,
    pool: WorkerPool,
    page_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> EvaluationReport:
    """Bring every line's compliance up to `as_of` (see the module docstring); the report."""
    report = EvaluationReport(as_of, reference)
    tag = rule_tag(rule_set)
    last = store.last_run()

    def step(name: str, fn: Callable[[], int]) -> None:
        started = time.perf_counter()
        report.changed[name] = int(fn())
        report.seconds[name] = round(time.perf_counter() - started, 3)

    if last is None or last.rule_set != tag:
        scan = "rule_set"  # a new revision of the rules: every stored verdict is stale
    elif as_of < last.as_of:
        scan = "earlier"  # answers computed for a later date
    else:
        scan = "none"
    step("rechecked", lambda: _recheck(store, vault, rule_set, as_of, tag, scan, pool, page_size, progress))
    store.begin()
    if last is None or last.phase_reference != reference:
        step("phase", lambda: store.evaluate_phase(cutoff(reference)))
    report.full = last is None or store.everyone_dirty()
    step("contract_needed", lambda: _contracts(store, rule_set, report.full))
    store.clear_dirty()
    store.record_run(EvaluationRun(as_of, reference, tag), full=report.full, report=report.as_dict())
    store.commit()
    return report


def _contracts(store: EvaluationStore, rule_set: RuleSet, everyone: bool) -> int:
    if not everyone and store.dirty_count() == 0:
        return 0
    return store.evaluate_contracts(rule_set.contract_from_ordinal, everyone=everyone)


# --- re-check (decrypts) --------------------------------------------------------------------------


@dataclass
class _RecheckContext:
    vault: Vault
    rule_set: RuleSet
    as_of: date
    tag: str


def _recheck(
    store: EvaluationStore,
    vault: Vault,
    rule_set: RuleSet,
    as_of: date,
    tag: str,
    scan: str,
    pool: WorkerPool,
    page_size: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Re-run the rule set on every line due, by keyset pages; lines whose verdict row changed."""
    checked = changed = 0

    def pages() -> Iterator[list[tuple[Any, ...]]]:
        after = 0
        while rows := store.due_for_recheck(after, page_size, _PAGE_COLUMNS, as_of=as_of, rule_tag=tag, scan=scan):
            after = int(rows[-1][0])
            yield rows

    context = _RecheckContext(vault, rule_set, as_of, tag)
    for n, updates in pool.imap(_recheck_page, context, pages(), window=max(2, pool.workers * 2)):
        checked += n
        if updates:
            store.begin()
            store.write_verdicts(updates)
            store.commit()
            changed += len(updates)
        if progress is not None:
            progress(checked)
    return changed


def _recheck_page(ctx: _RecheckContext, rows: list[tuple[Any, ...]]) -> tuple[int, list[tuple[Any, ...]]]:
    """(lines checked, verdict rows for those whose stored answer changed); runs in a worker."""
    checked = 0
    updates: list[tuple[Any, ...]] = []
    n = len(_PAGE_COLUMNS)
    for row in rows:
        line, clear = row[0], dict(zip(_PAGE_COLUMNS, row[1 : 1 + n], strict=True))
        kek_id, wrapped, aad_ref, payload = row[1 + n : 5 + n]
        if wrapped is None:
            continue  # crypto-shredded: nothing left to check
        personal = orjson.loads(ctx.vault.open(ctx.vault.unwrap(kek_id, wrapped), payload, b"holder:" + bytes(aad_ref)))
        record = _record(clear, personal)
        result = ctx.rule_set.check(record, as_of=ctx.as_of)
        checked += 1
        columns = compliance_columns(result, ctx.rule_set, ctx.as_of)
        valid_until = week_start(ctx.rule_set.valid_until(record, as_of=ctx.as_of))
        fresh = (columns["complete"], columns["missing"], columns["error_codes"], columns["verdict"])
        stored = (bool(clear["complete"]), clear["missing"], clear["error_codes"], clear["verdict"])
        if fresh != stored or clear["rule_set"] != ctx.tag or _day(clear["valid_until"]) != valid_until:
            updates.append((*fresh, columns["missing_mask"], _iso(valid_until), ctx.tag, ctx.as_of.isoformat(), line))
    return checked, updates


def _record(clear: Mapping[str, Any], personal: Mapping[str, Any]) -> dict[str, Any]:
    """The line's record as the rule set reads it (the registry's `record_of`, from clear columns)."""
    activated = clear["activated_on"]
    record: dict[str, Any] = {
        "msisdn": msisdn_from_key(int(clear["msisdn"])),
        "subscriber_type": clear["subscriber_type"],
        "payment_type": clear["payment_type"],
        "activated_on": activated.isoformat() if isinstance(activated, date) else activated,
        "channel": clear["channel"],
        "point_of_sale": clear["point_of_sale_code"],
        "contract_number": clear["contract_number"],
        "purpose": clear["purpose"],
        "status": clear["status"],
        **personal,
    }
    if clear["document_refs"]:
        record["documents"] = orjson.loads(clear["document_refs"])
    if clear["verified_method"]:
        # The line's last verification (clear columns): later regimes read it as their evidence.
        at = clear["verified_at"]
        record["verification"] = {
            "method": clear["verified_method"],
            "regime": clear["verified_regime"],
            "at": at.isoformat() if hasattr(at, "isoformat") else at,
        }
    return {k: v for k, v in record.items() if v is not None}


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
