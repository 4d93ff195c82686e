"""Loading many NEW subscriptions with batched inserts (demo data, tests, benchmarks)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from subreg.domain.compliance.phase import DEFAULT_REFERENCE
from subreg.domain.compliance.records import DOCUMENT_KINDS, MAX_REF
from subreg.domain.compliance.rules.base import CheckResult, RuleSet
from subreg.services.common.ports import BlobStore, Vault
from subreg.services.registry.ports import RegistryUnitOfWork
from subreg.services.registry.rows import (
    created_fields,
    document_keys_of,
    document_refs,
    dumps_sorted,
    e164_key,
    history_row,
    holder_aad,
    holder_kind,
    id_type_of,
    line_columns,
    owns_document_key,
    personal_part,
    province_code_of,
    store_images,
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
    seen_documents: set[bytes] = field(default_factory=set)  # ID documents whose holders are known
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
    phase_reference: date = DEFAULT_REFERENCE,
    channel: str = "legacy_import",
    actor: int | None = None,
    images_for: ImagesFor | None = None,
    batch_size: int = 2000,
) -> BulkLoadStats:
    """Load many NEW subscriptions with batched inserts, committing after each batch.

    For demo data, tests and benchmarks; operators' bases go through the importer (upserts, reject files,
    resume). Records whose number is invalid or has a live line are rejected (counted, not raised). A
    holder found or created earlier in the load is reused for later records under the same ID document,
    and its payload is not rewritten (first registration wins). Lines are stored with the answer on their
    own papers; their people are marked for the evaluation, which applies the 4th-subscription rule.
    `images_for(normalized, result)` may return image bytes per document kind; they are stored encrypted
    instead of the reference.
    """
    stats = BulkLoadStats()
    state = _LoadState(pos_ids={p.code: p.id for p in uow.points_of_sale.list_all()})
    batch: list[Mapping[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            _load_batch(
                batch, uow, vault, blobs, as_of, rule_set, (phase_reference, channel, actor), images_for, state, stats
            )
            uow.commit()
            batch = []
    if batch:
        _load_batch(
            batch, uow, vault, blobs, as_of, rule_set, (phase_reference, channel, actor), images_for, state, stats
        )
        uow.commit()
    return stats


def _reject(stats: BulkLoadStats, code: str) -> None:
    stats.rejected += 1
    stats.rejected_codes[code] = stats.rejected_codes.get(code, 0) + 1


def _learn_documents(blinds: list[bytes], uow: RegistryUnitOfWork, vault: Vault, state: _LoadState) -> None:
    """Load the holders of ID documents not seen yet in this load (set-based)."""
    state.seen_documents.update(blinds)
    for h in uow.holders.find_many_by_blind(blinds):
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
    how: tuple[date, str, int | None],
    images_for: ImagesFor | None,
    state: _LoadState,
    stats: BulkLoadStats,
) -> None:
    phase_reference, channel, actor = how
    # Pass 1: numbers already stored, ID documents already known and their links, in set-based queries.
    raw_keys = [e164_key(record.get("msisdn")) for record in batch]
    current = uow.subscriptions.current_lines([k for k in raw_keys if k is not None])
    taken = {k for k, line in current.items() if line.status != "terminated"}
    keys_of = [[vault.blind(k) for k in document_keys_of(rule_set, record)] for record in batch]
    unknown = sorted({ks[0] for ks in keys_of if ks and ks[0] not in state.seen_documents})
    if unknown:
        _learn_documents(unknown, uow, vault, state)
    links = uow.people.persons_of_documents([k for ks in keys_of for k in ks])

    # Pass 2: normalize, encrypt, build rows.
    new_holders: list[_HolderState] = []
    subs: list[tuple[_HolderState, dict[str, Any]]] = []
    docs: list[list[dict[str, Any]]] = []  # per subscription, in order
    created: list[list[str]] = []
    new_links: dict[bytes, bytes] = {}
    seen: set[int] = set()
    for record, raw_key, blinds in zip(batch, raw_keys, keys_of, strict=True):
        if raw_key is not None and (raw_key in taken or raw_key in seen):
            _reject(stats, "duplicate_msisdn")
            continue
        normalized, result = rule_set.normalize(record, as_of=as_of)
        key = e164_key(normalized.get("msisdn"))
        if key is None:
            _reject(stats, "invalid_msisdn")
            continue
        if key in taken or key in seen:
            _reject(stats, "duplicate_msisdn")
            continue
        seen.add(key)
        blind = blinds[0] if blinds else None
        person = _person(blinds, links, new_links)
        holder = _holder_for(normalized, blind, state, new_holders, vault)
        row = line_columns(
            normalized, result, rule_set=rule_set, as_of=as_of, phase_reference=phase_reference, channel=channel,
            pos_ids=state.pos_ids.get, person_key=person,
        )  # fmt: skip
        row.update(msisdn=key, generation=current[key].generation + 1 if key in current else 1, version=1)
        subs.append((holder, row))
        created.append(created_fields(normalized))
        images = (images_for(normalized, result) if images_for else None) or {}
        refs = {k: ref for k, ref in document_refs(normalized).items() if k in DOCUMENT_KINDS}
        stored = store_images(blobs, vault, holder.dek, {k: images[k] for k in refs if k in images})
        docs.append([])
        for kind_name, ref in refs.items():
            doc = {"kind": kind_name, "created_by_staff_id": actor, "point_of_sale_id": row["point_of_sale_id"]}
            if kind_name in stored:
                blob_key, content_type, size = stored[kind_name]
                doc.update(blob_key=blob_key, external_ref=None, content_type=content_type, size=size)
            else:
                doc.update(blob_key=None, external_ref=ref[:MAX_REF], content_type=None, size=None)
            docs[-1].append(doc)
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
        [{**d, "subscription_id": line} for line, rows in zip(lines, docs, strict=True) for d in rows]
    )
    uow.history.append_many(
        [history_row(line, actor, channel, "created", fields, {}) for line, fields in zip(lines, created, strict=True)]
    )
    for document, person in new_links.items():
        uow.people.link(document, person)
    uow.people.mark_dirty([row["person_key"] for _h, row in subs])


def _person(blinds: list[bytes], links: dict[bytes, bytes], new_links: dict[bytes, bytes]) -> bytes | None:
    """`writer.person_key_of` over the links read for the batch (and those the batch makes)."""
    if not blinds:
        return None
    known = {**links, **new_links}
    own = blinds[0]
    if len(blinds) > 1:
        person = known.get(blinds[1], blinds[1])
        if known.get(own) != person:
            new_links[own] = person
        return person
    return known.get(own, own)


def _holder_for(
    normalized: Mapping[str, Any],
    blind: bytes | None,
    state: _LoadState,
    new_holders: list[_HolderState],
    vault: Vault,
) -> _HolderState:
    """The holder of a record: one found or created earlier in the load under the same document, else new."""
    kind, id_type = holder_kind(normalized), id_type_of(normalized)
    reuse_key = (blind, kind, id_type) if blind is not None and owns_document_key(normalized) else None
    holder = state.holders.get(reuse_key) if reuse_key else None
    if holder is not None:
        return holder
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
        state.holders[reuse_key] = holder
    return holder
