"""What bulk derivation needs from storage (`adapters.db.derive_repo.SqlDeriveStore`).

One raw connection, like the importer's and the evaluation's (`services.registry.ports.BulkStore`): pages of
candidate lines with their holder's key material, set-based writes of a page's changes in one transaction,
and the run's progress row committed with each page (a killed run resumes after its last committed page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

__all__ = ["PAGE_COLUMNS", "DeriveRun", "DeriveStore", "LineWrite"]

# The clear columns of a candidate line a page carries (after `id`, `holder_id`, `version`), in this order; then
# the holder's kek_id, wrapped_dek, aad_ref and payload.
PAGE_COLUMNS = (
    "msisdn", "subscriber_type", "payment_type", "activated_on", "channel", "point_of_sale_code", "contract_number",
    "purpose", "status", "complete", "verdict", "contract_needed", "enf_state", "person_key", "document_refs",
    "rule_set",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DeriveRun:
    """A derivation run's progress: the last holder id whose lines are done, and the counts so far."""

    id: int
    after_holder: int
    counts: dict[str, Any]


class LineWrite(NamedTuple):
    """One line's new clear columns after its derivations, and what to record about them (a tuple: the workers
    send millions of them to the writer)."""

    line_id: int
    subscriber_type: str | None
    purpose: str | None
    # `rows.compliance_columns` plus `valid_until`; None: the stored verdict holds (a complete one of this rule
    # set: filling a derivable value changes no answer) and only the filled clear columns are written.
    compliance: dict[str, Any] | None
    paths: tuple[tuple[str, str, str | None], ...]  # (path filled, rule, source field)
    person_key: bytes | None  # marked for the next evaluation when the line's type changed (4th-line rule)


class DeriveStore(Protocol):
    """Storage for bulk derivation; the caller owns each transaction (`begin` ... `commit`)."""

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...

    def last_holder_id(self) -> int:
        """The highest holder id (the progress bar's end)."""
        ...

    def candidates(self, after_holder: int, limit: int, id_types: Sequence[str]) -> list[tuple[Any, ...]]:
        """A page of candidate lines, by holder id then line id, every line of each holder in the page:
        (id, holder_id, version, *PAGE_COLUMNS, kek_id, wrapped_dek, aad_ref, payload) rows of live lines of
        holders not shredded whose clear columns say a derivation can apply (see the adapter).

        Called from one reading thread (the run reads ahead while it writes): on a connection of its own, opened
        by the first call in that thread and closed by `end_reading` in the same thread."""
        ...

    def end_reading(self) -> None:
        """Close the reading thread's connection (called in that thread when it is done)."""
        ...

    def current(self, line_ids: Sequence[int], holder_ids: Sequence[int]) -> tuple[dict[int, int], dict[int, bytes]]:
        """Inside the write transaction, locked: each line's version and each holder's payload as stored now."""
        ...

    def write(self, holders: Sequence[tuple[bytes, int]], lines: Sequence[LineWrite], *, channel: str) -> None:
        """Store a page's changes: holder payloads (payload, id), the lines' columns (version + 1), one history
        entry per line (the paths filled), one provenance row per value filled, the people to re-rank."""
        ...

    def find_run(self, key: str) -> DeriveRun | None:
        """The unfinished run with this key, if any (a killed run, to resume)."""
        ...

    def create_run(self, key: str) -> int:
        """Start a run (its own transaction); its id."""
        ...

    def save_run(self, run_id: int, after_holder: int, counts: dict[str, Any], *, done: bool) -> None:
        """Record progress inside the page's transaction."""
        ...
