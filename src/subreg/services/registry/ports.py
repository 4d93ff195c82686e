"""Ports: what services need from the outside world, as Protocols (adapters implement them).

Rows read from the database come back as the frozen dataclasses below; rows to write are plain
mappings keyed by the same field names (cheap to build by the hundred thousand in bulk loads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from subreg.domain.common.errors import FieldError
from subreg.domain.compliance.rules.base import CheckResult
from subreg.domain.compliance.state import ComplianceState, state_of
from subreg.domain.registry.column_mapping import ColumnMapping
from subreg.services.common.ports import UnitOfWork

__all__ = [
    "BulkStore",
    "CurrentLine",
    "DocumentRepository",
    "DocumentRow",
    "EvaluationRun",
    "EvaluationStore",
    "HistoryRepository",
    "HistoryRow",
    "HolderRepository",
    "HolderRow",
    "ImportFiles",
    "ImportSource",
    "ImportStore",
    "PeopleRepository",
    "PointOfSaleRepository",
    "PointOfSaleRow",
    "PortedCounts",
    "PortedLookup",
    "PortedNumbers",
    "PortedSource",
    "PortraitIndexer",
    "RegistryUnitOfWork",
    "RejectSink",
    "SealedImages",
    "StatsStore",
    "SubscriptionRepository",
    "SubscriptionRow",
    "SubscriptionWriter",
    "WorkerPool",
    "holder_aad",
]


def holder_aad(aad_ref: bytes) -> bytes:
    """The associated data a holder's payload is sealed with (a payload copied onto another row never opens)."""
    return b"holder:" + aad_ref


@dataclass(frozen=True, slots=True)
class HolderRow:
    """A holder as stored: personal data only inside the encrypted `payload`."""

    id: int
    kind: str
    id_type: str | None
    id_blind: bytes | None
    province_code: str | None
    aad_ref: bytes
    kek_id: int
    wrapped_dek: bytes | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """A subscription LINE with its compliance columns: `id` is the line's identity, `msisdn` its number as an
    integer key and `generation` how many times that number was issued (a reclaimed number is a new line)."""

    id: int
    msisdn: int
    generation: int
    holder_id: int
    subscriber_type: str | None
    payment_type: str | None
    activated_on: date | None
    channel: str | None
    point_of_sale_id: int | None
    point_of_sale_code: str | None
    contract_number: str | None
    purpose: str | None
    status: str
    complete: bool
    missing: tuple[str, ...]
    error_codes: tuple[str, ...]
    rule_set: str
    evaluated_on: date
    version: int
    contract_needed: bool = False
    valid_until: date | None = None
    person_key: bytes | None = None
    has_contract: bool = False

    @property
    def state(self) -> ComplianceState:
        """The line's compliance state: its verdict and the 4th-subscription rule together."""
        return state_of(valid=not self.error_codes, complete=self.complete, contract_needed=self.contract_needed)

    def stale(self, *, today: date, rule_tag: str) -> bool:
        """Whether the stored verdict may no longer hold: a date it depends on is reached, or it was
        computed by another revision of the rules (the gate then checks the record again)."""
        return self.rule_set != rule_tag or (self.valid_until is not None and self.valid_until <= today)


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """Metadata of a stored document (bytes in the blob store) or of an external reference."""

    id: int
    subscription_id: int
    kind: str
    blob_key: str | None
    external_ref: str | None
    content_type: str | None
    size: int | None
    created_by_staff_id: int | None
    point_of_sale_id: int | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One append-only history entry."""

    id: int
    subscription_id: int
    at: datetime
    actor_staff_id: int | None
    channel: str | None
    action: str
    changes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PointOfSaleRow:
    """A store, agent or authorized point."""

    id: int
    code: str
    kind: str
    name: str
    province_code: str | None
    active: bool


class SubscriptionRepository(Protocol):
    def get(self, msisdn: int) -> SubscriptionRow | None:
        """The current line of an integer MSISDN key: its latest generation (live, or terminated)."""
        ...

    def get_by_id(self, subscription_id: int) -> SubscriptionRow | None:
        """One line by its id."""
        ...

    def lines_of(self, msisdn: int) -> list[SubscriptionRow]:
        """Every line a number has had, oldest generation first."""
        ...

    def list_by_holder(self, holder_id: int) -> list[SubscriptionRow]:
        """Subscriptions of one holder, by MSISDN."""
        ...

    def list_by_holders(self, holder_ids: Sequence[int]) -> list[SubscriptionRow]:
        """Subscriptions of several holders (one ID document may map to several holder rows)."""
        ...

    def existing(self, msisdns: Iterable[int]) -> set[int]:
        """Which of these numbers have a live (not terminated) line."""
        ...

    def current_lines(self, msisdns: Sequence[int]) -> dict[int, SubscriptionRow]:
        """The current line (latest generation) of each of these numbers that has one."""
        ...

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one line; its id."""
        ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many in one batched statement; their ids in the same order."""
        ...

    def update(self, subscription_id: int, values: Mapping[str, Any], *, expected_version: int) -> None:
        """Update and bump `version`; ConflictError when someone else changed it first."""
        ...

    def count(self) -> int:
        """How many subscriptions are stored."""
        ...

    def examples(self, *, limit: int) -> list[SubscriptionRow]:
        """Up to `limit` active lines, complete and incomplete ones alternately, oldest first (demos)."""
        ...


class HolderRepository(Protocol):
    def get(self, holder_id: int) -> HolderRow | None:
        """One holder."""
        ...

    def find_by_blind(self, id_blind: bytes) -> list[HolderRow]:
        """Holders whose ID number has this blind index (oldest first)."""
        ...

    def find_many_by_blind(self, blinds: Sequence[bytes]) -> list[HolderRow]:
        """Holders for several blind indexes at once."""
        ...

    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one holder; its id."""
        ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many; their ids in the same order."""
        ...

    def update_payload(self, holder_id: int, payload: bytes, *, province_code: str | None) -> None:
        """Replace the encrypted payload."""
        ...

    def shred(self, holder_id: int) -> None:
        """Crypto-shred: forget the wrapped DEK so the payload and images can never be read."""
        ...


class DocumentRepository(Protocol):
    def add(self, row: Mapping[str, Any]) -> int:
        """Insert one document row; its id."""
        ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many."""
        ...

    def get(self, document_id: int) -> DocumentRow | None:
        """One document row."""
        ...

    def list_for(self, subscription_id: int) -> list[DocumentRow]:
        """Documents of a subscription, oldest first."""
        ...

    def blob_keys_with_prefix(self, prefix: str) -> set[str]:
        """The blob keys documents reference that start with `prefix`."""
        ...

    def add_portrait_bands(self, document_id: int, digests: Sequence[bytes]) -> None:
        """Store the keyed band digests of a portrait just stored (the signals find look-alikes by them)."""
        ...


class PortraitIndexer(Protocol):
    """The keyed digests of a portrait's perceptual-hash bands (`adapters.images.portrait_hash`)."""

    def band_digests(self, image: bytes) -> list[bytes] | None:
        """One digest per band; None when the bytes are not an image."""
        ...


class HistoryRepository(Protocol):
    def append(self, row: Mapping[str, Any]) -> None:
        """Append one entry (`changes` is a dict, stored as JSON)."""
        ...

    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append many."""
        ...

    def list_for(self, subscription_id: int) -> list[HistoryRow]:
        """Entries of a subscription, oldest first."""
        ...


class PointOfSaleRepository(Protocol):
    def add(self, row: Mapping[str, Any]) -> int:
        """Insert; the id."""
        ...

    def get_by_code(self, code: str) -> PointOfSaleRow | None:
        """By code."""
        ...

    def list_all(self) -> list[PointOfSaleRow]:
        """All, by code."""
        ...


class PeopleRepository(Protocol):
    """Who a line counts towards (person keys), the documents linked to a person, and the people whose
    active lines changed since the last evaluation (written in the transaction of the change)."""

    def person_of_document(self, document_key: bytes) -> bytes | None:
        """The person key a document (blind index) is linked to, if any."""
        ...

    def persons_of_documents(self, document_keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """Links of several documents at once: document key -> person key."""
        ...

    def link(self, document_key: bytes, person_key: bytes) -> int:
        """Count `document_key`'s lines towards `person_key` from now on (the lines already stored under it
        move too); how many lines moved."""
        ...

    def lines_of_person(self, person_key: bytes) -> list[SubscriptionRow]:
        """Every line counted towards a person (terminated ones too), by number and generation."""
        ...

    def mark_dirty(self, person_keys: Iterable[bytes | None]) -> None:
        """Record that these people's active lines changed (None values are ignored)."""
        ...


@dataclass(frozen=True, slots=True)
class PortedCounts:
    """What the MNP list holds: how many numbers were ported in and out, and when it was last loaded."""

    ported_in: int
    ported_out: int
    loaded_at: datetime | None


class PortedLookup(Protocol):
    """The MNP list as a check reads it: the numbers at hand, never the whole list."""

    def directions_of(self, keys: Sequence[int]) -> dict[int, str]:
        """key -> `in` | `out` for the ported numbers among these integer MSISDN keys (the others are absent)."""
        ...


class PortedNumbers(PortedLookup, Protocol):
    """The MNP list: numbers ported in to this operator and out of it, by integer MSISDN key
    (`adapters.db.ported_repo.SqlPortedNumbers`)."""

    def clear(self) -> int:
        """Forget the whole list in the caller's transaction (readers keep the old one until commit); how many."""
        ...

    def put_many(self, rows: Sequence[tuple[int, str]], *, loaded_at: datetime) -> None:
        """Record (key, direction) rows; a number already listed takes the new direction."""
        ...

    def counts(self) -> PortedCounts:
        """How many numbers per direction, and the latest load."""
        ...


class PortedSource(Protocol):
    """The MNP export being loaded (`adapters.files.ported_csv.PortedCsv`)."""

    size: int  # bytes, for progress

    def items(self) -> Iterator[tuple[int, int, tuple[str, str] | FieldError]]:
        """(line, byte offset after it, (msisdn, direction) as written | the line's error), in order."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


class RegistryUnitOfWork(UnitOfWork, Protocol):
    """The central database as the registry sees it: subscriptions, holders, documents, history, and the
    MNP list (which numbers are this operator's)."""

    subscriptions: SubscriptionRepository
    holders: HolderRepository
    documents: DocumentRepository
    history: HistoryRepository
    points_of_sale: PointOfSaleRepository
    people: PeopleRepository
    ported: PortedNumbers


@dataclass(frozen=True, slots=True)
class SealedImages:
    """Images sealed under the data key of the holder they will belong to, already in the blob store."""

    holder_id: int | None  # None: a fresh key, for a holder not stored yet
    kek_id: int
    wrapped_dek: bytes
    dek: bytes = field(repr=False)
    blobs: Mapping[str, tuple[str, str, int]] = field(default_factory=dict)  # kind -> key, type, size


class SubscriptionWriter(Protocol):
    """The registry's one writer of subscription rows, as the counter and the back office use it
    (implemented by `services.registry.writer.Registry`; bootstrap hands it to them)."""

    def store(
        self,
        record: Mapping[str, Any],
        *,
        uow: RegistryUnitOfWork,
        as_of: date,
        actor: int | None,
        channel: str,
        images: Mapping[str, bytes] | None = None,
        sealed: SealedImages | None = None,
        stored: SubscriptionRow | None = None,
    ) -> CheckResult:
        """Normalize, check, encrypt and store one subscription in the caller's unit of work."""
        ...

    def seal_images(
        self, record: Mapping[str, Any], images: Mapping[str, bytes], *, uow: RegistryUnitOfWork
    ) -> SealedImages:
        """Encrypt and store images for the holder `record` resolves to, before the write transaction."""
        ...

    def record_of(self, sub: SubscriptionRow, *, uow: RegistryUnitOfWork) -> dict[str, Any]:
        """The stored record of a subscription row, decrypted, in the data dictionary's shape."""
        ...

    def read_document(self, document_id: int, *, uow: RegistryUnitOfWork) -> tuple[str, bytes]:
        """Content type and decrypted bytes of a stored document image."""
        ...

    def refresh(self, sub: SubscriptionRow, *, uow: RegistryUnitOfWork, as_of: date) -> SubscriptionRow:
        """The line with its verdict checked again at `as_of` (stored when it changed)."""
        ...


# --- set-based work: bulk import, evaluation, statistics (adapters.db.bulk.BulkSession) ---------------------


@dataclass(frozen=True, slots=True)
class CurrentLine:
    """What the importer needs of a number's current line to decide: new, reissued, changed or unchanged."""

    id: int
    generation: int
    status: str
    source_hash: bytes | None
    holder_id: int
    person_key: bytes | None


class ImportStore(Protocol):
    """What the importer needs from storage (adapters.db.bulk.BulkSession)."""

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def existing(self, keys: Sequence[int]) -> dict[int, CurrentLine]: ...
    def old_rows(self, line_ids: Sequence[int], columns: Sequence[str]) -> dict[int, dict[str, Any]]: ...
    def holder_ids(self, n: int) -> list[int]: ...
    def subscription_ids(self, n: int) -> list[int]: ...
    def persons_of_documents(self, document_keys: Sequence[bytes]) -> dict[bytes, bytes]: ...
    def link_documents(self, links: Mapping[bytes, bytes]) -> None: ...
    def mark_dirty(self, person_keys: Iterable[bytes | None]) -> None: ...
    def mark_everyone_dirty(self) -> None: ...
    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...
    def update(self, table: str, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...
    def points_of_sale(self) -> dict[str, int]: ...
    def ported_directions(self, keys: Sequence[int]) -> dict[int, str]: ...
    def find_run(self, fingerprint: str) -> dict[str, Any] | None: ...
    def create_run(self, fingerprint: str, source: str, fmt: str) -> int: ...
    def save_run(
        self, run_id: int, offset: int, line: int, reject_bytes: int, counts: dict[str, int], done: bool
    ) -> None: ...


class ImportSource(Protocol):
    """An opened export file (`adapters.files.import_sources.Source`)."""

    path: Path
    format: str
    encoding: str
    size: int

    def rows(
        self, start_offset: int = 0, start_line: int = 0, *, deferred: bool = False
    ) -> Iterator[tuple[int, int, int, Any, Any]]: ...
    def parse(self, data: bytes) -> Any: ...
    def raw_text(self, data: bytes | str) -> str: ...


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    """What an evaluation answered for: its date, the phases' reference date, the rule set (name/revision)."""

    as_of: date
    phase_reference: date
    rule_set: str


class EvaluationStore(Protocol):
    """What evaluation needs from storage (adapters.db.bulk.BulkSession)."""

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def last_run(self) -> EvaluationRun | None: ...
    def record_run(self, run: EvaluationRun, *, full: bool, report: Mapping[str, Any]) -> None: ...
    def everyone_dirty(self) -> bool: ...
    def dirty_count(self) -> int: ...
    def clear_dirty(self) -> None: ...
    def due_for_recheck(
        self, after: int, limit: int, columns: Sequence[str], *, as_of: date, rule_tag: str, scan: str
    ) -> list[tuple[Any, ...]]: ...
    def write_verdicts(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def evaluate_phase(self, cutoff: date) -> int: ...
    def evaluate_contracts(self, from_ordinal: int, *, everyone: bool) -> int: ...


class StatsStore(Protocol):
    """What statistics need from storage (adapters.db.bulk.BulkSession)."""

    def stats_groups(self, cutoff: date | None) -> list[tuple[Any, ...]]: ...
    def contract_needed_by_verdict(self) -> dict[int | None, int]: ...
    def over_limit(self, minimum: int, limit: int) -> list[tuple[bytes, int, int, int]]: ...


class RejectSink(Protocol):
    """Where an import's rejected rows go (`adapters.files.rejects.CsvRejectFile`): appended per batch and
    flushed before the batch commits, so its size can be committed with the progress and cut back to on
    resume."""

    def add(self, rows: Sequence[tuple[int, str, str, str, str]]) -> None:
        """Append (line, field, code, message, original text) rows."""
        ...

    def size(self) -> int:
        """Bytes written so far, flushed (committed with the batch)."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


class WorkerPool(Protocol):
    """CPU-bound batches in worker processes, results in submission order (`adapters.processes.ForkPool`)."""

    workers: int

    def imap(
        self, fn: Callable[[Any, Any], Any], context: Any, items: Iterable[Any], *, window: int = 0
    ) -> Iterator[Any]:
        """`fn(context, item)` for every item, in order, with at most `window` items in flight."""
        ...

    def close(self) -> None:
        """Release the workers."""
        ...


class BulkStore(ImportStore, EvaluationStore, StatsStore, Protocol):
    """One raw connection for set-based work (`adapters.db.bulk.BulkSession`), closed when done."""

    def defer_indexes(self) -> bool:
        """Drop the random-key indexes for a first load (or its resume); whether they must be rebuilt."""
        ...

    def ensure_indexes(self) -> list[str]:
        """Build the indexes a first load left out; the names built."""
        ...

    def close(self) -> None:
        """End any open transaction and release the connection."""
        ...


class ImportFiles(Protocol):
    """Export files and reject files on disk (`adapters.files.import_sources.ImportFileSystem`)."""

    def open_source(self, path: Path, fmt: str, encoding: str, mapping: ColumnMapping) -> ImportSource:
        """Open an export file: detect format and encoding (UnreadableInputError when it is not records)."""
        ...

    def fingerprint(self, path: Path, fmt: str, encoding: str, mapping_text: str) -> str:
        """What identifies one import of one file, so that running it again resumes it."""
        ...

    def open_rejects(self, path: Path, committed: int) -> RejectSink:
        """The reject file, cut back to the size the last committed batch recorded."""
        ...
