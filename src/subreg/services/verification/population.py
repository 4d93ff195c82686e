"""Population-database matching at scale: the request (batch file or HTTP), the answers, set-based storage.

A line to match is a live line not yet verified (`subscriptions.verified_method IS NULL`; `rematch`: every
live line) whose holder has a citizen's personal document (`MATCHED_ID_TYPES`; passports are not in the
database). Pages of lines are read by id (keyset), their holders' payloads decrypted in the worker pool
like the importer's, and each page becomes queries (the subscription id as reference, never the number).

* `write_request`: the queries go to a sink (the batch request file);
* `store_answers`: an answer file's rows are upserted into `population_matches` under the batch's name and
  then applied set-based (`PopulationBatchStore.apply_batch`): a match sets the line's `verified_*` (the
  regime, `population_db`, the time); a mismatch or an unknown number removes a `population_db`
  verification and adds the missing item `verification.population_db` to every line whose stored verdict is
  of a regime that requires the match, so that it enters enforcement under that regime's timeline;
* `match_all`: both in one run against a `PopulationRegistry` (the embedded reference registry, or the
  HTTP adapter), the matching itself in the workers.

Every run is audited (`verification:population`: counts, never a field).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from subreg.domain.compliance.missing_mask import bits_of
from subreg.domain.compliance.rules import RULE_SETS, get_rule_set
from subreg.domain.compliance.rules.base import rule_tag
from subreg.domain.compliance.rules.population_db_2023 import POPULATION_DB_ITEM
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.domain.verification.population import MATCHED_ID_TYPES, PopulationAnswer, PopulationQuery
from subreg.services.common import audit_trail
from subreg.services.common.ports import UnitOfWork, Vault
from subreg.services.registry.ports import WorkerPool
from subreg.services.verification.population_ports import (
    PopulationBatchStore,
    PopulationRegistry,
    RequestSink,
    chunks,
)

__all__ = ["MatchReport", "item_bits", "match_all", "store_answers", "write_request"]

METHOD = "population_db"
COMMIT_EVERY = 500_000


@dataclass
class MatchReport:
    """What one run did: lines asked, answers stored, and the set-based outcome (matched, mismatched, ...)."""

    batch: str
    asked: int = 0
    answered: int = 0
    outcome: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (counts only)."""
        return {"batch": self.batch, "asked": self.asked, "answered": self.answered, **self.outcome}


def item_bits(item: str = POPULATION_DB_ITEM) -> dict[str, int]:
    """rule-set tag (`name/revision`) -> the bit of `item` in its missing mask, for every regime that has it."""
    out: dict[str, int] = {}
    for name in RULE_SETS:
        rules = get_rule_set(name)
        items = tuple(rules.missing_items)
        if item in items:
            out[rule_tag(rules)] = bits_of(items)[item]
    return out


@dataclass
class _Context:
    vault: Vault
    registry: PopulationRegistry | None = None


def _queries(ctx: _Context, rows: Sequence[tuple[Any, ...]]) -> list[PopulationQuery]:
    """Decrypt a page of holders' payloads into queries (runs in a worker)."""
    out: list[PopulationQuery] = []
    vault = ctx.vault
    for line, kek_id, wrapped, aad_ref, payload in rows:
        if wrapped is None:
            continue  # crypto-shredded
        personal = orjson.loads(vault.open(vault.unwrap(kek_id, wrapped), payload, b"holder:" + bytes(aad_ref)))
        holder = personal.get("holder")
        if not isinstance(holder, dict) or holder.get("id_type") not in MATCHED_ID_TYPES:
            continue
        number, name = holder.get("id_number"), holder.get("full_name")
        born = holder.get("date_of_birth") or holder.get("birth_year")
        if isinstance(number, str) and isinstance(name, str) and born is not None:
            out.append(PopulationQuery(int(line), number, name, str(born)))
    return out


def _matched(ctx: _Context, rows: Sequence[tuple[Any, ...]]) -> tuple[int, list[tuple[int, str, str, str]]]:
    """Decrypt a page and ask the registry (runs in a worker): (queries, answer rows). Rows, not objects, go
    back to the main process: they are what it stores, and they pickle fast."""
    queries = _queries(ctx, rows)
    assert ctx.registry is not None
    return len(queries), [a.row() for a in ctx.registry.match(queries)] if queries else []


def _pages(store: PopulationBatchStore, page_size: int, rematch: bool) -> Iterator[list[tuple[Any, ...]]]:
    after = 0
    while rows := store.lines_to_match(after, page_size, rematch=rematch):
        after = int(rows[-1][0])
        yield rows


def _audit(uow_factory: Callable[[], UnitOfWork], moment: datetime, details: dict[str, Any]) -> None:
    # The run decrypts holders' payloads (and a request file carries them): an access by the system, counted.
    with uow_factory() as uow:
        audit_trail.record(uow, actor=None, action=AuditAction.POPULATION_MATCHED, now=moment, details=details)
        uow.commit()


def write_request(
    store: PopulationBatchStore,
    *,
    vault: Vault,
    pool: WorkerPool,
    sink: RequestSink,
    uow_factory: Callable[[], UnitOfWork],
    now: datetime,
    batch: str,
    rematch: bool = False,
    page_size: int = 20_000,
) -> MatchReport:
    """Write the request for every line to match to `sink` (decryption in the pool); the report."""
    report = MatchReport(batch)
    _audit(uow_factory, now, {"batch": batch, "stage": "request_started", "rematch": rematch})
    for queries in pool.imap(_queries, _Context(vault), _pages(store, page_size, rematch), window=2 * pool.workers):
        sink.write(queries)
        report.asked += len(queries)
    _audit(uow_factory, now, {"batch": batch, "stage": "request_written", "asked": report.asked})
    return report


def _store(
    store: PopulationBatchStore,
    pages: Iterable[list[tuple[int, str, str, str]]],
    *,
    batch: str,
    regime: str,
    at: datetime,
    known_lines: bool,
) -> tuple[int, dict[str, int]]:
    stored = pending = 0
    store.begin()
    try:
        for page in pages:
            stored += store.store_answers(page, batch=batch, at=at, known_lines=known_lines)
            pending += len(page)
            if pending >= COMMIT_EVERY:
                # Answers are committed in steps (a bounded write-ahead log at 10 M lines); the lines change only
                # in `apply_batch` below, in one transaction, so a run stopped half-way is simply run again.
                store.commit()
                store.begin()
                pending = 0
        outcome = store.apply_batch(batch, regime=regime, at=at, item_bits=item_bits(), item=POPULATION_DB_ITEM)
        store.commit()
    except BaseException:
        store.rollback()
        raise
    return stored, outcome


def store_answers(
    store: PopulationBatchStore,
    answers: Iterable[PopulationAnswer],
    *,
    uow_factory: Callable[[], UnitOfWork],
    now: datetime,
    batch: str,
    regime: str,
) -> MatchReport:
    """Store an answer file's rows (committed in steps) and apply them set-based in one transaction; the report."""
    report = MatchReport(batch)
    pages = ([a.row() for a in chunk] for chunk in chunks(answers, 20_000))
    report.answered, report.outcome = _store(store, pages, batch=batch, regime=regime, at=now, known_lines=False)
    _audit(uow_factory, now, {"stage": "answers_stored", **report.as_dict()})
    return report


def match_all(
    store: PopulationBatchStore,
    *,
    vault: Vault,
    pool: WorkerPool,
    registry: PopulationRegistry,
    uow_factory: Callable[[], UnitOfWork],
    now: datetime,
    batch: str,
    regime: str,
    rematch: bool = False,
    page_size: int = 20_000,
) -> MatchReport:
    """Ask `registry` about every line to match and store the answers, set-based; the report."""
    report = MatchReport(batch)
    _audit(uow_factory, now, {"batch": batch, "stage": "match_started", "rematch": rematch})
    # The pages are read lazily inside the writing transaction: the selection (not yet verified) cannot shift
    # under the keyset walk, because `verified_*` change only in `apply_batch`, after the last page.
    pages = _pages(store, page_size, rematch)

    def answers() -> Iterator[list[tuple[int, str, str, str]]]:
        for asked, page in pool.imap(_matched, _Context(vault, registry), pages, window=2 * pool.workers):
            report.asked += asked
            yield page

    report.answered, report.outcome = _store(store, answers(), batch=batch, regime=regime, at=now, known_lines=True)
    _audit(uow_factory, now, {"stage": "answers_stored", **report.as_dict()})
    return report
