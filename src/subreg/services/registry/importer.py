"""Bulk import of an operator's subscriber base: stream, normalize, encrypt, upsert, resume.

Pipeline (one writer, N workers):

    reader (main process)  --batches of rows-->  worker pool: normalize + check + encrypt (CPU)
                                                     |
    writer (main process) <---prepared rows, in order-+   one transaction per batch:
        look up the batch's numbers (one query) -> new / updated / unchanged
        COPY / executemany holders and subscriptions, history rows for updates,
        the import run's progress row (byte offset, line, reject-file size, counts) -> COMMIT

- Upsert by MSISDN. A keyed hash of the normalized record (`source_hash`) says whether anything
  changed: re-importing the same file writes nothing; a newer export rewrites the changed rows and
  appends a `subscription_history` row naming the changed paths (clear values for non-personal
  fields, never personal values).
- One holder per imported subscription, with its own random DEK (crypto-shredding stays per holder).
  The ID document still links subscriptions through the blind index (`id_blind`), which is what the
  4th-subscription rule and `stats --over-limit` count by. An update rewrites the holder in place
  with a fresh DEK, unless the holder is shared (created by the registry for several subscriptions):
  then the subscription gets a holder of its own.
- Rejected rows (unreadable line, bad JSON/encoding, no valid MSISDN, and with the setting
  `operator_ranges` set a number that is not this operator's: `not_operator_number`, judged in the
  writer with one look-up of the batch's numbers in the MNP list) go to the reject file with
  line number, field, code, message and the original line. Rows with other errors are STORED with
  state "invalid" (the operator has to fix them, and they must show in the statistics).
- Resumable: progress commits with the batch, so after a kill -9 the same command resumes at the
  committed byte offset, cuts the reject file back to its committed size, and ends with the same
  database as an uninterrupted run. Within a batch a repeated number splits the batch, so the later
  row is an update of the earlier one exactly as across batches.
- The import's own completeness check uses ordinal 1; the 4th-subscription rule needs the whole base
  and is applied by `evaluation.evaluate` (SQL window over the blind index) after the import.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from subreg.domain.common.errors import FieldError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.common.operator_numbers import OperatorNumbers, with_ported
from subreg.domain.compliance.records import flatten
from subreg.domain.compliance.rules.base import RuleSet, cached_message
from subreg.domain.compliance.state import ComplianceState
from subreg.services.common.ports import Vault
from subreg.services.registry.ports import ImportSource, ImportStore, RejectSink, WorkerPool
from subreg.services.registry.rows import (
    LINE_COLUMNS,
    document_keys_of,
    dumps_sorted,
    e164_key,
    holder_aad,
    holder_kind,
    id_type_of,
    line_columns,
    personal_part,
    province_code_of,
    rule_tag,
)

__all__ = ["HOLDER_COLUMNS", "SUB_COLUMNS", "ImportOptions", "ImportSummary", "run_import"]

SUB_COLUMNS = ("id", "msisdn", "generation", "holder_id", *LINE_COLUMNS, "version", "contract_needed", "source_hash")
HOLDER_COLUMNS = ("id", "kind", "id_type", "id_blind", "province_code", "aad_ref", "kek_id", "wrapped_dek", "payload")
# Non-personal columns compared for the history of an update (clear values may appear in history).
_DIFF_COLUMNS = (
    "subscriber_type", "payment_type", "activated_on", "channel", "point_of_sale_code", "contract_number",
    "purpose", "status",
)  # fmt: skip
_SUB_INDEX = {c: i for i, c in enumerate(SUB_COLUMNS)}
_UPDATE_COLUMNS = tuple(c for c in SUB_COLUMNS if c not in ("id", "msisdn", "generation"))
_ID, _HOLDER_ID, _GENERATION, _STATUS, _VERDICT, _PERSON = (
    _SUB_INDEX[c] for c in ("id", "holder_id", "generation", "status", "verdict", "person_key")
)
_HOLDER_UPDATE = tuple(c for c in HOLDER_COLUMNS if c != "id")
_OK, _REJECT = 0, 1


@dataclass
class ImportOptions:
    """How to import: reference dates, workers, batch size, channel for rows without one."""

    as_of: date
    phase_reference: date
    workers: int = 2
    batch_size: int = 5000
    channel: str = "legacy_import"
    lang: str = "vi"
    dry_run: bool = False
    # A first load evaluates the whole base afterwards anyway: it then marks "everyone" once instead of
    # each person (millions of rows in the dirty set for nothing).
    whole_base_dirty: bool = False
    # The operator's ranges (setting `operator_ranges`): applied only when set, with the MNP list.
    numbers: OperatorNumbers | None = None


@dataclass
class ImportSummary:
    """Counts of one file's import (cumulated across resumed runs)."""

    source: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    incomplete: int = 0
    resumed_at_line: int = 0
    reject_codes: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "incomplete": self.incomplete,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, **self.counts(), "resumed_at_line": self.resumed_at_line}


# --- workers: normalize, check, encrypt (pure CPU) ------------------------------------------------


@dataclass
class _Context:
    vault: Vault
    rule_set: RuleSet
    as_of: date
    reference: date
    hash_key: bytes
    pos_ids: dict[str, int]
    channel: str
    parse: Callable[[bytes], Any]


def _prepare(ctx: _Context, batch: list[Any]) -> list[tuple[Any, ...]]:
    """Prepared rows for a batch of records or (field, code) line errors, in order (runs in a worker).

    A record's row is (OK, number, source hash, line columns, holder columns, personal plaintext, the
    blind indexes of its document keys); the writer adds the ids and the person key.
    """
    vault, rule_set, as_of = ctx.vault, ctx.rule_set, ctx.as_of
    tag = rule_tag(rule_set).encode()
    out: list[tuple[Any, ...]] = []
    parse = ctx.parse
    for item in batch:
        if item.__class__ is bytes:
            item = parse(item)
            if isinstance(item, FieldError):
                out.append((_REJECT, [(item.field, item.code)]))
                continue
        if item.__class__ is tuple:
            out.append((_REJECT, [item]))
            continue
        normalized, result = rule_set.normalize(item, as_of=as_of, ordinal=1)
        key = e164_key(normalized.get("msisdn"))
        if key is None:
            bad = [(e.field, e.code) for e in result.errors if e.field == "msisdn"]
            out.append((_REJECT, bad or [("msisdn", "required")]))
            continue
        personal = personal_part(normalized)
        plain = dumps_sorted(personal)
        digest = hashlib.blake2b(dumps_sorted(normalized) + tag, key=ctx.hash_key, digest_size=16).digest()
        blinds = tuple(vault.blind(k) for k in document_keys_of(rule_set, item))
        dek, kek_id, wrapped = vault.new_data_key()
        aad_ref = secrets.token_bytes(16)
        holder = (
            holder_kind(normalized),
            id_type_of(normalized),
            blinds[0] if blinds else None,
            province_code_of(normalized),
            aad_ref,
            kek_id,
            wrapped,
            vault.seal(dek, plain, holder_aad(aad_ref)),
        )
        columns = line_columns(
            normalized, result, rule_set=rule_set, as_of=as_of, phase_reference=ctx.reference, channel=ctx.channel,
            pos_ids=ctx.pos_ids.get, person_key=None,
        )  # fmt: skip
        sub = (None, key, 1, None, *(_plain(columns[c]) for c in LINE_COLUMNS), 1, False, digest)
        out.append((_OK, key, digest, sub, holder, plain, blinds))
    return out


def _operators_only(
    prepared: list[tuple[Any, ...]], numbers: OperatorNumbers, store: ImportStore
) -> list[tuple[Any, ...]]:
    """The batch with each number that is not the operator's turned into a reject (`not_operator_number`):
    outside the ranges and not ported in, or ported out; one look-up of the batch's numbers."""
    keys = [row[1] for row in prepared if row[0] == _OK]
    listed = store.ported_directions(keys) if keys else {}
    known = with_ported(numbers, {msisdn_from_key(k): d for k, d in listed.items()})
    return [
        (_REJECT, [("msisdn", "not_operator_number")]) if row[0] == _OK and not known.owns(msisdn_from_key(row[1]))
        else row
        for row in prepared
    ]  # fmt: skip


def _plain(value: Any) -> Any:
    # Rows travel between processes and into COPY: dates as ISO text (the database reads them back).
    return value.isoformat() if value.__class__ is date else value


# --- the writer -----------------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _doc_refs(text: Any) -> dict[str, str]:
    return orjson.loads(text) if text else {}


class _Writer:
    def __init__(
        self, store: ImportStore, vault: Vault, summary: ImportSummary, channel: str, whole_base_dirty: bool
    ) -> None:
        self.store = store
        self.vault = vault
        self.summary = summary
        self.channel = channel
        self.whole_base_dirty = whole_base_dirty

    def write(self, prepared: list[tuple[Any, ...]]) -> None:
        segment: list[tuple[Any, ...]] = []
        seen: set[int] = set()
        for row in prepared:
            if row[1] in seen:
                self._flush(segment)
                segment, seen = [], set()
            seen.add(row[1])
            segment.append(row)
        self._flush(segment)

    def _flush(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        store, summary = self.store, self.summary
        rows = self._with_people(rows)
        current = store.existing([r[1] for r in rows])
        new: list[tuple[tuple[Any, ...], int]] = []  # (row, generation)
        changed: list[tuple[tuple[Any, ...], int]] = []  # (row, line id)
        for row in rows:
            if row[3][_VERDICT] != ComplianceState.COMPLETE:
                summary.incomplete += 1
            line = current.get(row[1])
            if line is None:
                new.append((row, 1))
            elif line.status == "terminated" and row[3][_STATUS] != "terminated":
                new.append((row, line.generation + 1))  # the number reissued: a new line
            elif line.source_hash != row[2]:
                changed.append((row, line.id))
            else:
                summary.unchanged += 1
        if new:
            holder_ids, line_ids = store.holder_ids(len(new)), store.subscription_ids(len(new))
            holders, subs = [], []
            for hid, lid, (row, generation) in zip(holder_ids, line_ids, new, strict=True):
                holders.append((hid, *row[4]))
                sub = list(row[3])
                sub[_ID], sub[_HOLDER_ID], sub[_GENERATION] = lid, hid, generation
                subs.append(sub)
            store.insert("holders", HOLDER_COLUMNS, holders)
            store.insert("subscriptions", SUB_COLUMNS, subs)
            summary.imported += len(new)
        if changed:
            self._update(changed)
        if not self.whole_base_dirty:
            people = {row[3][_PERSON] for row in rows} | {current[r[1]].person_key for r in rows if r[1] in current}
            store.mark_dirty(people)

    def _with_people(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The rows with the person key each line counts towards (`writer.person_key_of`, for a batch: one
        query for the links of the batch's documents); new links are recorded, moving the lines they name."""
        links = self.store.persons_of_documents([k for row in rows for k in row[6]])
        made: dict[bytes, bytes] = {}
        out = []
        for row in rows:
            blinds = row[6]
            person: bytes | None = None
            if blinds:
                own = blinds[0]
                if len(blinds) > 1:
                    person = made.get(blinds[1]) or links.get(blinds[1]) or blinds[1]
                    if (made.get(own) or links.get(own)) != person:
                        made[own] = person
                else:
                    person = made.get(own) or links.get(own) or own
            sub = list(row[3])
            sub[_PERSON] = person
            out.append((*row[:3], tuple(sub), *row[4:]))
        if made:
            self.store.link_documents(made)
            if not self.whole_base_dirty:
                self.store.mark_dirty([*made, *made.values()])
        return out

    def _update(self, rows: list[tuple[tuple[Any, ...], int]]) -> None:
        store, vault = self.store, self.vault
        old = store.old_rows([lid for _row, lid in rows], (*_DIFF_COLUMNS, "document_refs", "version"))
        fresh = store.holder_ids(sum(1 for _r, lid in rows if old[lid]["_shared"] or old[lid]["_holder"][2] is None))
        holder_updates, holder_inserts, sub_updates, history = [], [], [], []
        for row, key in rows:
            sub, holder, plain = list(row[3]), row[4], row[5]
            before = old[key]
            hid, kek_id, wrapped, aad_ref, payload = before["_holder"]
            old_personal: dict[str, Any] = {}
            if wrapped is not None:
                old_personal = orjson.loads(vault.open(vault.unwrap(kek_id, wrapped), payload, holder_aad(aad_ref)))
            if before["_shared"] or wrapped is None:
                hid = fresh.pop()
                holder_inserts.append((hid, *holder))
            else:
                holder_updates.append((*holder, hid))
            sub[_HOLDER_ID] = hid
            sub[_SUB_INDEX["version"]] = int(before["version"] or 1) + 1
            sub_updates.append((*(sub[_SUB_INDEX[c]] for c in _UPDATE_COLUMNS), key))
            values = {
                c: [_iso(before[c]), sub[_SUB_INDEX[c]]] for c in _DIFF_COLUMNS if _iso(before[c]) != sub[_SUB_INDEX[c]]
            }
            docs_old, docs_new = _doc_refs(before["document_refs"]), _doc_refs(sub[_SUB_INDEX["document_refs"]])
            paths = set(values)
            paths.update(
                f"documents.{k}" for k in docs_old.keys() | docs_new.keys() if docs_old.get(k) != docs_new.get(k)
            )
            a, b = flatten(old_personal), flatten(orjson.loads(plain))
            paths.update(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            if paths:
                action = "status_changed" if paths == {"status"} else "updated"
                changes: dict[str, Any] = {"fields": sorted(paths)}
                if values:
                    changes["values"] = values
                history.append((key, None, self.channel, action, orjson.dumps(changes).decode()))
        store.insert("holders", HOLDER_COLUMNS, holder_inserts)
        store.update("holders", "id", _HOLDER_UPDATE, holder_updates)
        store.update("subscriptions", "id", _UPDATE_COLUMNS, sub_updates)
        store.insert(
            "subscription_history", ("subscription_id", "actor_staff_id", "channel", "action", "changes"), history
        )
        self.summary.updated += len(rows)


# --- the run --------------------------------------------------------------------------------------

Progress = Callable[[int, int], None]


def _batches(source: ImportSource, offset: int, line: int, size: int) -> Iterator[tuple[list[Any], list[Any]]]:
    # (items for the workers, (line, end_line, end_offset, raw) per item)
    items: list[Any] = []
    meta: list[Any] = []
    for n, end_line, end, raw, record in source.rows(offset, line, deferred=True):
        items.append((record.field, record.code) if isinstance(record, FieldError) else record)
        meta.append((n, end_line, end, raw))
        if len(items) >= size:
            yield items, meta
            items, meta = [], []
    if items:
        yield items, meta


def run_import(
    source: ImportSource,
    *,
    store: ImportStore,
    vault: Vault,
    rule_set: RuleSet,
    options: ImportOptions,
    fingerprint: str,
    pool: WorkerPool,
    open_rejects: Callable[[int], RejectSink] | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one file (resuming an interrupted run of the same file); returns its summary.

    `open_rejects(committed_size)` opens the reject file cut back to the size the last committed batch
    recorded; without it rejected rows are only counted.
    """
    name = source.path.name
    summary = ImportSummary(name)
    run = None if options.dry_run else store.find_run(fingerprint)
    if run is None:
        run_id = 0 if options.dry_run else store.create_run(fingerprint, name, source.format)
        offset, line, reject_bytes = 0, 0, 0
    else:
        run_id, offset, line, reject_bytes = run["id"], run["next_offset"], run["next_line"], run["reject_bytes"]
        counts = run["counts"]
        for k in ("imported", "updated", "unchanged", "rejected", "incomplete"):
            setattr(summary, k, int(counts.get(k, 0)))
        summary.resumed_at_line = line
    rejects = open_rejects(reject_bytes) if open_rejects is not None else None
    context = _Context(
        vault=vault,
        rule_set=rule_set,
        as_of=options.as_of,
        reference=options.phase_reference,
        hash_key=vault.blind("subreg/import-source-hash/v1"),
        pos_ids=store.points_of_sale(),
        channel=options.channel,
        parse=source.parse,
    )
    writer = _Writer(store, vault, summary, options.channel, options.whole_base_dirty)
    numbers = options.numbers if options.numbers is not None and not options.numbers.accepts_all else None
    metas: deque[list[Any]] = deque()

    def items() -> Iterator[list[Any]]:
        # The workers get the records; the metadata of each batch waits here, in the same order.
        for batch, meta in _batches(source, offset, line, options.batch_size):
            metas.append(meta)
            yield batch

    try:
        done_rows = 0
        for prepared in pool.imap(_prepare, context, items(), window=max(2, options.workers * 2)):
            meta = metas.popleft()
            store.begin()
            if numbers is not None:
                prepared = _operators_only(prepared, numbers, store)
            bad: list[tuple[int, str, str, str, str]] = []
            ok: list[tuple[Any, ...]] = []
            for m, row in zip(meta, prepared, strict=True):
                if row[0] == _REJECT:
                    summary.rejected += 1
                    for f, code in row[1]:
                        summary.reject_codes[code] = summary.reject_codes.get(code, 0) + 1
                        bad.append((m[0], f, code, cached_message(code, f, options.lang), source.raw_text(m[3])))
                else:
                    ok.append(row)
            if options.whole_base_dirty:
                store.mark_everyone_dirty()  # in each batch's transaction: a killed load still evaluates all
            writer.write(ok)
            if rejects is not None:
                rejects.add(bad)
            last = meta[-1]
            if options.dry_run:
                store.rollback()
            else:
                store.save_run(run_id, last[2], last[1], _size(rejects), summary.counts(), False)
                store.commit()
            done_rows += len(meta)
            if progress is not None:
                progress(last[2], done_rows)
        if not options.dry_run:
            store.begin()
            store.save_run(run_id, source.size, 0, _size(rejects), summary.counts(), True)
            store.commit()
    finally:
        if rejects is not None:
            rejects.close()
    return summary


def _size(rejects: RejectSink | None) -> int:
    return rejects.size() if rejects is not None else 0


def summary_lines(summaries: Sequence[ImportSummary]) -> Mapping[str, int]:
    """Totals over several files."""
    total = dict.fromkeys(("imported", "updated", "unchanged", "rejected", "incomplete"), 0)
    for s in summaries:
        for k, v in s.counts().items():
            total[k] += v
    return total
