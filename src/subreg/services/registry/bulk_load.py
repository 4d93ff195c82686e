"""Loading many NEW subscriptions with batched inserts (demo data, tests, benchmarks)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from subreg.domain.compliance.records import DOCUMENT_KINDS, MAX_REF
from subreg.domain.compliance.rules.base import CheckResult, RuleSet
from subreg.services.common.ports import BlobStore, Vault
from subreg.services.registry.ports import RegistryUnitOfWork
from subreg.services.registry.rows import (
    clear_columns,
    compliance_columns,
    created_fields,
    document_refs,
    dumps_sorted,
    e164_key,
    history_row,
    holder_aad,
    holder_kind,
    id_type_of,
    owns_document_key,
    personal_part,
    province_code_of,
    store_images,
    text_or_none,
)

__all__ = ["BulkLoadStats", "ImagesFor", "bulk_load"]


@dataclass(slots=True)
class BulkLoadStats:
    """What a bulk load did."""

    stored: int = 0
    complete: int = 0
    incomplete: int = 0
    invalid: int = 0
    rejected: int = 0
    rejected_codes: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _HolderState:
    dek: bytes
    id: int | None = None
    row: dict[str, Any] | None = None  # pending insert


@dataclass(slots=True)
class _LoadState:
    """What a bulk load remembers across batches (ID documents seen and their holders)."""

    pos_ids: dict[str, int]
    counts: dict[bytes, int] = field(default_factory=dict)  # blind index -> subscriptions so far
    holders: dict[tuple[bytes, str, str | None], _HolderState] = field(default_factory=dict)


ImagesFor = Callable[[Mapping[str, Any], CheckResult], Mapping[str, bytes] | None]


def bulk_load(
    records: Iterable[Mapping[str, Any]],
    *,
    uow: RegistryUnitOfWork,
    vault: Vault,
    blobs: BlobStore,
    as_of: date,
    rule_set: RuleSet,
    channel: str = "legacy_import",
    actor: int | None = None,
    images_for: ImagesFor | None = None,
    batch_size: int = 2000,
) -> BulkLoadStats:
    """Load many NEW subscriptions with batched inserts, committing after each batch.

    For demo data and tests; the production importer (upserts, reject files) builds on it later.
    Records whose number is invalid or already stored are rejected (counted, not raised). A holder
    found or created earlier in the load is reused for later records under the same ID document, and
    its payload is not rewritten (first registration wins). `images_for(normalized, result)` may
    return image bytes per document kind; they are stored encrypted instead of the reference.
    """
    stats = BulkLoadStats()
    state = _LoadState(pos_ids={p.code: p.id for p in uow.points_of_sale.list_all()})
    batch: list[Mapping[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            _load_batch(batch, uow, vault, blobs, as_of, rule_set, channel, actor, images_for, state, stats)
            uow.commit()
            batch = []
    if batch:
        _load_batch(batch, uow, vault, blobs, as_of, rule_set, channel, actor, images_for, state, stats)
        uow.commit()
    return stats


def _reject(stats: BulkLoadStats, code: str) -> None:
    stats.rejected += 1
    stats.rejected_codes[code] = stats.rejected_codes.get(code, 0) + 1


def _learn_documents(blinds: list[bytes], uow: RegistryUnitOfWork, vault: Vault, state: _LoadState) -> None:
    """Load holders and subscription counts of ID documents not seen yet in this load (set-based)."""
    for b in blinds:
        state.counts[b] = 0
    found = uow.holders.find_many_by_blind(blinds)
    by_id = {h.id: h for h in found}
    for sub in uow.subscriptions.list_by_holders(list(by_id)):
        blind = by_id[sub.holder_id].id_blind
        if blind is not None:
            state.counts[blind] += 1
    for h in found:
        key = (h.id_blind, h.kind, h.id_type)
        if h.id_blind is not None and h.wrapped_dek is not None and key not in state.holders:
            state.holders[key] = _HolderState(vault.unwrap(h.kek_id, h.wrapped_dek), h.id)  # type: ignore[index]


def _load_batch(
    batch: list[Mapping[str, Any]],
    uow: RegistryUnitOfWork,
    vault: Vault,
    blobs: BlobStore,
    as_of: date,
    rule_set: RuleSet,
    channel: str,
    actor: int | None,
    images_for: ImagesFor | None,
    state: _LoadState,
    stats: BulkLoadStats,
) -> None:
    # Pass 1: numbers already stored and ID documents already known, in set-based queries.
    raw_keys = [e164_key(record.get("msisdn")) for record in batch]
    current = uow.subscriptions.current_lines([k for k in raw_keys if k is not None])
    taken = {k for k, line in current.items() if line.status != "terminated"}
    blinds: list[bytes | None] = []
    for record in batch:
        doc_key = rule_set.document_key(record)
        blinds.append(vault.blind(doc_key) if doc_key else None)
    unknown = sorted({b for b in blinds if b is not None and b not in state.counts})
    if unknown:
        _learn_documents(unknown, uow, vault, state)

    # Pass 2: normalize, encrypt, build rows.
    new_holders: list[_HolderState] = []
    subs: list[tuple[_HolderState, dict[str, Any]]] = []
    docs: list[list[dict[str, Any]]] = []  # per subscription, in order
    created: list[list[str]] = []
    seen: set[int] = set()
    for record, raw_key, blind in zip(batch, raw_keys, blinds, strict=True):
        if raw_key is not None and (raw_key in taken or raw_key in seen):
            _reject(stats, "duplicate_msisdn")
            continue
        ordinal = state.counts[blind] + 1 if blind is not None else 1
        normalized, result = rule_set.normalize(record, as_of=as_of, ordinal=ordinal)
        key = e164_key(normalized.get("msisdn"))
        if key is None:
            _reject(stats, "invalid_msisdn")
            continue
        if key in taken or key in seen:
            _reject(stats, "duplicate_msisdn")
            continue
        seen.add(key)
        kind, id_type = holder_kind(normalized), id_type_of(normalized)
        reuse_key = (blind, kind, id_type) if blind is not None and owns_document_key(normalized) else None
        holder = state.holders.get(reuse_key) if reuse_key else None  # type: ignore[arg-type]
        if holder is None:
            dek, kek_id, wrapped = vault.new_data_key()
            aad_ref = secrets.token_bytes(16)
            holder = _HolderState(
                dek,
                None,
                {
                    "kind": kind,
                    "id_type": id_type,
                    "id_blind": blind,
                    "province_code": province_code_of(normalized),
                    "aad_ref": aad_ref,
                    "kek_id": kek_id,
                    "wrapped_dek": wrapped,
                    "payload": vault.seal(dek, dumps_sorted(personal_part(normalized)), holder_aad(aad_ref)),
                },
            )
            new_holders.append(holder)
            if reuse_key:
                state.holders[reuse_key] = holder  # type: ignore[index]
        if blind is not None:
            state.counts[blind] += 1
        columns = clear_columns(normalized, state.pos_ids.get)
        if columns["channel"] is None:
            columns["channel"] = channel
        status = text_or_none(normalized.get("status"), 16) or "active"
        subs.append(
            (
                holder,
                {
                    "msisdn": key,
                    "generation": current[key].generation + 1 if key in current else 1,  # a reissued number
                    **columns,
                    "status": status,
                    "version": 1,
                    **compliance_columns(result, rule_set, as_of),
                },
            )
        )
        created.append(created_fields(normalized))
        images = (images_for(normalized, result) if images_for else None) or {}
        refs = {k: ref for k, ref in document_refs(normalized).items() if k in DOCUMENT_KINDS}
        stored = store_images(blobs, vault, holder.dek, {k: images[k] for k in refs if k in images})
        docs.append([])
        for kind_name, ref in refs.items():
            row = {"kind": kind_name, "created_by_staff_id": actor,
                   "point_of_sale_id": columns["point_of_sale_id"]}  # fmt: skip
            if kind_name in stored:
                blob_key, content_type, size = stored[kind_name]
                row.update(blob_key=blob_key, external_ref=None, content_type=content_type, size=size)
            else:
                row.update(blob_key=None, external_ref=ref[:MAX_REF], content_type=None, size=None)
            docs[-1].append(row)
        if result.complete:
            stats.complete += 1
        elif result.valid:
            stats.incomplete += 1
        else:
            stats.invalid += 1
        stats.stored += 1

    ids = uow.holders.add_many([h.row for h in new_holders if h.row is not None])
    for holder, holder_id in zip(new_holders, ids, strict=True):
        holder.id, holder.row = holder_id, None
    lines = uow.subscriptions.add_many([{**row, "holder_id": holder.id} for holder, row in subs])
    uow.documents.add_many(
        [{**row, "subscription_id": line} for line, rows in zip(lines, docs, strict=True) for row in rows]
    )
    uow.history.append_many(
        [history_row(line, actor, channel, "created", fields, {}) for line, fields in zip(lines, created, strict=True)]
    )
