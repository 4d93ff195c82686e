"""Ports of population-database matching: the database itself, the batch files, and set-based storage."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from subreg.domain.verification.population import PopulationAnswer, PopulationQuery

__all__ = ["MatchCounts", "PopulationBatchStore", "PopulationRegistry", "RequestSink"]


class PopulationRegistry(Protocol):
    """The National Population Database (or a stand-in): per-field answers for a batch of queries.

    Adapters: `adapters.population.http.HttpPopulationRegistry` (the JSON contract of docs/verification.md)
    and `adapters.population.reference.ReferenceRegistry` (the embedded default: demo data with deliberate
    mismatches). Raises ExternalServiceError (retryable or not) when the database cannot answer."""

    def match(self, queries: Sequence[PopulationQuery]) -> list[PopulationAnswer]:
        """One answer per query, in the same order."""
        ...


class RequestSink(Protocol):
    """Where the batch request goes (`adapters.population.batch_file.BatchRequestWriter`)."""

    def write(self, queries: Sequence[PopulationQuery]) -> None:
        """Append these queries."""
        ...


MatchCounts = dict[str, int]


class PopulationBatchStore(Protocol):
    """Set-based storage of matching (`adapters.db.population_repo.PopulationStore`)."""

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

    def lines_to_match(self, after: int, limit: int, *, rematch: bool) -> list[tuple[Any, ...]]:
        """A keyset page of (line id, kek_id, wrapped_dek, aad_ref, payload) of the live lines to match: not yet
        verified (or every live line with `rematch`)."""
        ...

    def store_answers(
        self, rows: Sequence[tuple[int, str, str, str]], *, batch: str, at: datetime, known_lines: bool = False
    ) -> int:
        """Upsert answer rows (`PopulationAnswer.row()`: line id and the three results) into `population_matches`
        under `batch`; lines that do not exist are skipped unless `known_lines` (the ids came from this store);
        how many were stored."""
        ...

    def apply_batch(
        self, batch: str, *, regime: str, at: datetime, item_bits: dict[str, int], item: str
    ) -> MatchCounts:
        """Set-based, from `population_matches` rows of `batch`: matched lines get `verified_*` (regime,
        `population_db`, `at`); mismatched or unknown lines lose a `population_db` verification and, where
        their stored verdict is of a rule-set tag in `item_bits` (tag -> the item's bit), get `item` missing."""
        ...


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of at most `size`."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
