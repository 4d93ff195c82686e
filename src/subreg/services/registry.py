"""Store subscriptions in the central database: normalize, encrypt, index, keep history.

Where personal data goes (the privacy design, in one place):

- every personal field (holder, guardian, organization and its users) is in the holder's `payload`,
  AES-256-GCM under the holder's DEK with AAD `holder:<aad_ref>`;
- the ID document is findable only through `vault.blind(rule_set.document_key(record))`;
- images go to the blob store under random keys, sealed with the holder's DEK, AAD `document:<key>`;
- subscription columns and history carry only non-personal values (type, dates of activation,
  channel, point of sale, status, compliance); history names changed personal *paths*, never values.

A holder is shared by every subscription under the same ID document, so its payload is the latest
registration's personal data (last write wins); earlier values survive only as history paths.

Blobs are written before the transaction commits; when it rolls back, they are orphans: ciphertext
under random keys that no row references (a sweeper can remove them; nothing can read them without
the DEK, whose wrapped form was never committed for a new holder); `subreg blobs sweep` removes them.
The point of sale writes them even before its write transaction begins (`seal_images`), so that their
fsyncs do not hold the write lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from subreg.domain.common.errors import FieldError, InputError, NotFoundError
from subreg.domain.common.msisdn import msisdn_from_key, msisdn_key, parse_msisdn
from subreg.domain.compliance.records import DOCUMENT_KINDS, MAX_REF, flatten, is_absent
from subreg.domain.compliance.rules.base import CheckResult, RuleSet
from subreg.services.ports import BlobStore, DocumentRow, HolderRow, SubscriptionRow, UnitOfWork, Vault

__all__ = [
    "BulkLoadStats",
    "SealedImages",
    "bulk_load",
    "get_subscription",
    "read_document",
    "record_of",
    "seal_images",
    "store_subscription",
]

PERSONAL_KEYS = ("holder", "guardian", "organization")
# Subscription fields kept in clear in their own columns (none of them identifies a person).
_CLEAR_FIELDS = (
    "subscriber_type",
    "payment_type",
    "activated_on",
    "channel",
    "point_of_sale",
    "contract_number",
    "purpose",
    "status",
)
_DOCUMENT_REF = "document:"


def _dumps(value: Any) -> bytes:
    # Compact, key-sorted JSON so that "did the payload change?" is a byte comparison.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _holder_aad(aad_ref: bytes) -> bytes:
    return b"holder:" + aad_ref


def _document_aad(blob_key: str) -> bytes:
    return b"document:" + blob_key.encode("ascii")


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _text(value: Any, limit: int) -> str | None:
    if is_absent(value):
        return None
    text = str(value)
    return text if len(text) <= limit else None


def _content_type(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _personal(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in PERSONAL_KEYS if isinstance(record.get(k), Mapping | list) and record.get(k)}


def _e164_key(value: Any) -> int | None:
    e164 = parse_msisdn(value) if isinstance(value, str) else None
    return msisdn_key(e164) if e164 else None


def _owns_document_key(record: Mapping[str, Any]) -> bool:
    """Whether the document key names the holder itself (not a minor's guardian).

    A child without papers is registered under the guardian's ID document: the subscription counts
    towards that document (ordinal), but the child is a holder of its own, never merged with others.
    """
    if _holder_kind(record) == "organization":
        return True
    holder = record.get("holder")
    return isinstance(holder, Mapping) and not is_absent(holder.get("id_number"))


def _holder_kind(record: Mapping[str, Any]) -> str:
    return "organization" if record.get("subscriber_type") == "organization" else "person"


def _id_type(record: Mapping[str, Any]) -> str | None:
    if _holder_kind(record) == "organization":
        return "organization"
    holder = record.get("holder")
    value = holder.get("id_type") if isinstance(holder, Mapping) else None
    return value if isinstance(value, str) and len(value) <= 16 else None


def _province_code(record: Mapping[str, Any]) -> str | None:
    holder = record.get("holder")
    if _holder_kind(record) != "person" or not isinstance(holder, Mapping) or holder.get("id_type") != "cccd":
        return None
    number = holder.get("id_number")
    if isinstance(number, str) and len(number) == 12 and number.isdigit() and number.isascii():
        return number[:3]
    return None


def _compliance(result: CheckResult, rule_set: RuleSet, as_of: date) -> dict[str, Any]:
    return {
        "complete": result.complete,
        "missing": ",".join(result.missing),
        "error_codes": ",".join(f"{e.field}:{e.code}" for e in result.errors),
        "rule_set": rule_set.name,
        "evaluated_on": as_of,
    }


def _clear_columns(record: Mapping[str, Any], pos_ids: Callable[[str], int | None]) -> dict[str, Any]:
    pos_code = _text(record.get("point_of_sale"), 32)
    return {
        "subscriber_type": _text(record.get("subscriber_type"), 16),
        "payment_type": _text(record.get("payment_type"), 16),
        "activated_on": _as_date(record.get("activated_on")),
        "channel": _text(record.get("channel"), 24),
        "point_of_sale_code": pos_code,
        "point_of_sale_id": pos_ids(pos_code) if pos_code else None,
        "contract_number": _text(record.get("contract_number"), 64),
        "purpose": _text(record.get("purpose"), 24),
    }


def _document_refs(record: Mapping[str, Any]) -> dict[str, str]:
    docs = record.get("documents")
    if not isinstance(docs, Mapping):
        return {}
    return {k: v for k, v in docs.items() if isinstance(v, str) and not is_absent(v)}


def _ref_of(doc: DocumentRow) -> str:
    return f"{_DOCUMENT_REF}{doc.id}" if doc.blob_key else (doc.external_ref or "")


def _latest_documents(docs: Iterable[DocumentRow]) -> dict[str, DocumentRow]:
    latest: dict[str, DocumentRow] = {}
    for doc in docs:  # oldest first: later rows win
        latest[doc.kind] = doc
    return latest


def _changed_paths(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    a, b = flatten(old), flatten(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def _ordinal(uow: UnitOfWork, holders: list[HolderRow], msisdn: int | None, activated_on: date | None) -> int:
    """Position of this subscription among those under the same ID document (1-based).

    Existing subscriptions count when they were activated earlier (ties: smaller number first), so
    re-storing the 2nd subscription of someone who now has 5 keeps it the 2nd (no contract needed).
    """
    subs = uow.subscriptions.list_by_holders([h.id for h in holders]) if holders else []
    if activated_on is None:
        return 1 + sum(1 for s in subs if s.msisdn != msisdn)
    me = (activated_on, msisdn or 0)
    return 1 + sum(1 for s in subs if s.msisdn != msisdn and (s.activated_on or date.min, s.msisdn) < me)


def store_subscription(
    record: Mapping[str, Any],
    *,
    uow: UnitOfWork,
    vault: Vault,
    blobs: BlobStore,
    as_of: date,
    actor: int | None,
    channel: str,
    images: Mapping[str, bytes] | None = None,
    rule_set: RuleSet,
    sealed: SealedImages | None = None,
    stored: SubscriptionRow | None = None,
) -> CheckResult:
    """Normalize, encrypt and store one subscription (holder, documents, history) in the caller's UoW.

    `sealed`: the images as `seal_images` already stored them; used when the holder resolved here still
    has the key they were sealed with, else the images are sealed again (the prepared blobs are orphans).
    `stored`: the subscription's row as the caller read it in this transaction (not read again).
    """
    images = dict(images or {})
    bad = [FieldError(f"documents.{k}", "invalid_choice") for k in images if k not in DOCUMENT_KINDS]
    if bad:
        raise InputError(bad)
    raw_key = _e164_key(record.get("msisdn"))
    to_check = _with_uploads(record, images)
    match = _match_holder(to_check, uow=uow, vault=vault, rule_set=rule_set)
    candidates = match.candidates
    usable = sealed if sealed is not None and _sealed_for(sealed, candidates) else None
    ordinal = _ordinal(uow, match.same_document, raw_key, _as_date(record.get("activated_on")))
    normalized, result = rule_set.normalize(to_check, as_of=as_of, ordinal=ordinal)
    key = _e164_key(normalized.get("msisdn"))
    if key is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])

    # Holder: find by blind index, else create with a fresh DEK.
    personal = _personal(normalized)
    payload_plain = _dumps(personal)
    province = _province_code(normalized)
    old_personal: dict[str, Any] = {}
    if candidates:
        holder = candidates[0]
        dek = usable.dek if usable else vault.unwrap(holder.kek_id, holder.wrapped_dek)
        old_plain = vault.open(dek, holder.payload, _holder_aad(holder.aad_ref))
        old_personal = orjson.loads(old_plain)
        if old_plain != payload_plain:
            uow.holders.update_payload(
                holder.id, vault.seal(dek, payload_plain, _holder_aad(holder.aad_ref)), province_code=province
            )
        holder_id = holder.id
    else:
        dek, kek_id, wrapped = (usable.dek, usable.kek_id, usable.wrapped_dek) if usable else vault.new_data_key()
        aad_ref = secrets.token_bytes(16)
        holder_id = uow.holders.add(
            {
                "kind": match.kind,
                "id_type": match.id_type,
                "id_blind": match.blind,
                "province_code": province,
                "aad_ref": aad_ref,
                "kek_id": kek_id,
                "wrapped_dek": wrapped,
                "payload": vault.seal(dek, payload_plain, _holder_aad(aad_ref)),
            }
        )

    # Subscription row with its compliance columns.
    def pos_id(code: str) -> int | None:
        pos = uow.points_of_sale.get_by_code(code)
        return pos.id if pos else None

    existing = stored if stored is not None and stored.msisdn == key else uow.subscriptions.get(key)
    columns = _clear_columns(normalized, pos_id)
    if columns["channel"] is None:
        columns["channel"] = channel
    status = _text(normalized.get("status"), 16) or (existing.status if existing else "active")
    values = {"holder_id": holder_id, **columns, "status": status, **_compliance(result, rule_set, as_of)}
    history: list[dict[str, Any]] = []
    if existing is None:
        uow.subscriptions.add({"msisdn": key, **values, "version": 1})
        history.append(_history(key, actor, channel, "created", _created_fields(normalized), {}))
    else:
        before = {
            "holder_id": existing.holder_id,
            "subscriber_type": existing.subscriber_type,
            "payment_type": existing.payment_type,
            "activated_on": existing.activated_on,
            "channel": existing.channel,
            "point_of_sale_id": existing.point_of_sale_id,
            "point_of_sale_code": existing.point_of_sale_code,
            "contract_number": existing.contract_number,
            "purpose": existing.purpose,
            "status": existing.status,
            "complete": existing.complete,
            "missing": ",".join(existing.missing),
            "error_codes": ",".join(existing.error_codes),
            "rule_set": existing.rule_set,
            "evaluated_on": existing.evaluated_on,
        }
        clear = {k: [before[k], values[k]] for k in before if before[k] != values[k] and k != "evaluated_on"}
        if existing.holder_id != holder_id:
            old_personal = {}
        personal_paths = _changed_paths(old_personal, personal) if existing.holder_id == holder_id else []
        if existing.holder_id != holder_id:
            personal_paths = sorted(flatten(personal))
        uow.subscriptions.update(key, values, expected_version=existing.version)
        if clear or personal_paths:
            action = "status_changed" if set(clear) == {"status"} and not personal_paths else "updated"
            history.append(_history(key, actor, channel, action, sorted({*clear, *personal_paths}), clear))

    # Documents: uploaded images (encrypted) and references to documents held elsewhere.
    latest = _latest_documents(uow.documents.list_for(key)) if existing else {}
    added: list[str] = []
    staff_pos = columns["point_of_sale_id"]
    refs = {k: ref for k, ref in sorted(_document_refs(normalized).items()) if k in DOCUMENT_KINDS}
    uploads = {k: images[k] for k in refs if k in images}
    stored = usable.blobs if usable else _store_images(blobs, vault, dek, uploads)
    for kind_name, ref in refs.items():
        row: dict[str, Any] = {
            "msisdn": key,
            "kind": kind_name,
            "created_by_staff_id": actor,
            "point_of_sale_id": staff_pos,
        }
        if kind_name in uploads:
            blob_key, content_type, size = stored[kind_name]
            row.update(blob_key=blob_key, content_type=content_type, size=size)
        else:
            current = latest.get(kind_name)
            if current is not None and _ref_of(current) == ref:
                continue
            if len(ref) > MAX_REF:
                raise InputError([FieldError(f"documents.{kind_name}", "too_long")])
            row.update(external_ref=ref)
        uow.documents.add(row)
        added.append(f"documents.{kind_name}")
    if added and existing is not None:
        history.append(_history(key, actor, channel, "documents_added", added, {}))
    uow.history.append_many(history)
    return result


@dataclass(frozen=True, slots=True)
class SealedImages:
    """Images sealed under the data key of the holder they will belong to, already in the blob store."""

    holder_id: int | None  # None: a fresh key, for a holder not stored yet
    kek_id: int
    wrapped_dek: bytes
    dek: bytes = field(repr=False)
    blobs: Mapping[str, tuple[str, str, int]] = field(default_factory=dict)  # kind -> key, type, size


@dataclass(frozen=True, slots=True)
class _HolderMatch:
    blind: bytes | None
    kind: str
    id_type: str | None
    same_document: list[HolderRow]  # every holder under the record's ID document
    candidates: list[HolderRow]  # those the record's holder is (same kind and ID type, not shredded)


def _with_uploads(record: Mapping[str, Any], images: Mapping[str, bytes]) -> dict[str, Any]:
    # Uploaded images count as present documents for the completeness check.
    to_check = dict(record)
    if images:
        to_check["documents"] = {**_document_refs(record), **{k: f"upload:{k}" for k in images}}
    return to_check


def _match_holder(to_check: Mapping[str, Any], *, uow: UnitOfWork, vault: Vault, rule_set: RuleSet) -> _HolderMatch:
    doc_key = rule_set.document_key(to_check)
    blind = vault.blind(doc_key) if doc_key else None
    kind, id_type = _holder_kind(to_check), _id_type(to_check)
    same_document = uow.holders.find_by_blind(blind) if blind else []
    owns = _owns_document_key(to_check)
    candidates = [
        h for h in same_document if owns and h.kind == kind and h.id_type == id_type and h.wrapped_dek is not None
    ]
    return _HolderMatch(blind, kind, id_type, same_document, candidates)


def _sealed_for(sealed: SealedImages, candidates: list[HolderRow]) -> bool:
    """Whether `sealed` used the key `store_subscription` is about to use for these candidates."""
    if not candidates:
        return sealed.holder_id is None
    return candidates[0].id == sealed.holder_id and candidates[0].wrapped_dek == sealed.wrapped_dek


def _store_images(
    blobs: BlobStore, vault: Vault, dek: bytes, images: Mapping[str, bytes]
) -> dict[str, tuple[str, str, int]]:
    """Seal each image with `dek` under a fresh random key and store them together; kind -> key, type, size.

    The keys share one random directory prefix (the rest of each key random): a local store then makes
    them durable with one directory flush instead of one per image.
    """
    directory = secrets.token_hex(2)
    keys = {kind: directory + secrets.token_hex(14) for kind in images}
    blobs.put_many({key: vault.seal(dek, images[kind], _document_aad(key)) for kind, key in keys.items()})
    return {kind: (key, _content_type(images[kind]), len(images[kind])) for kind, key in keys.items()}


def seal_images(
    record: Mapping[str, Any],
    images: Mapping[str, bytes],
    *,
    uow: UnitOfWork,
    vault: Vault,
    blobs: BlobStore,
    rule_set: RuleSet,
) -> SealedImages:
    """Encrypt `images` for the holder `record` resolves to (a fresh key for a new one) and store them.

    Only reads the database: call it before the write transaction and pass the result to
    `store_subscription`, so the blob writes (each fsynced) run in parallel instead of under the lock.
    """
    match = _match_holder(_with_uploads(record, images), uow=uow, vault=vault, rule_set=rule_set)
    if match.candidates:
        holder = match.candidates[0]
        dek = vault.unwrap(holder.kek_id, holder.wrapped_dek)
        holder_id, kek_id, wrapped = holder.id, holder.kek_id, holder.wrapped_dek
    else:
        dek, kek_id, wrapped = vault.new_data_key()
        holder_id = None
    stored = _store_images(blobs, vault, dek, {k: v for k, v in images.items() if k in DOCUMENT_KINDS})
    return SealedImages(holder_id, kek_id, wrapped, dek, stored)


def _history(
    msisdn: int, actor: int | None, channel: str, action: str, paths: list[str], values: Mapping[str, Any]
) -> dict[str, Any]:
    changes: dict[str, Any] = {"fields": paths}
    if values:
        changes["values"] = {k: [_jsonable(v) for v in pair] for k, pair in values.items()}
    return {
        "msisdn": msisdn,
        "actor_staff_id": actor,
        "channel": channel,
        "action": action,
        "changes": changes,
    }


def _created_fields(record: Mapping[str, Any]) -> list[str]:
    # Top-level sections only: listing every leaf path of a new record costs more than it tells.
    return sorted(k for k in record if k != "msisdn")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _key_of(msisdn: str | int) -> int:
    if isinstance(msisdn, int):
        return msisdn
    e164 = parse_msisdn(msisdn)
    if e164 is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])
    return msisdn_key(e164)


def get_subscription(msisdn: str | int, *, uow: UnitOfWork, vault: Vault) -> dict[str, Any]:
    """The stored record, decrypted, in the data dictionary's shape (NotFoundError when absent)."""
    sub = uow.subscriptions.get(_key_of(msisdn))
    if sub is None:
        raise NotFoundError("subscription not found")
    return record_of(sub, uow=uow, vault=vault)


def record_of(sub: SubscriptionRow, *, uow: UnitOfWork, vault: Vault) -> dict[str, Any]:
    """`get_subscription` for a subscription row the caller has already read."""
    key = sub.msisdn
    holder = uow.holders.get(sub.holder_id)
    if holder is None:
        raise NotFoundError("holder not found")
    dek = vault.unwrap(holder.kek_id, holder.wrapped_dek)
    personal = orjson.loads(vault.open(dek, holder.payload, _holder_aad(holder.aad_ref)))
    record: dict[str, Any] = {
        "msisdn": msisdn_from_key(key),
        "subscriber_type": sub.subscriber_type,
        "payment_type": sub.payment_type,
        "activated_on": sub.activated_on.isoformat() if sub.activated_on else None,
        "channel": sub.channel,
        "point_of_sale": sub.point_of_sale_code,
        "contract_number": sub.contract_number,
        "purpose": sub.purpose,
        "status": sub.status,
        **personal,
    }
    docs = {kind: _ref_of(doc) for kind, doc in _latest_documents(uow.documents.list_for(key)).items()}
    if docs:
        record["documents"] = docs
    return {k: v for k, v in record.items() if v is not None}


def read_document(document_id: int, *, uow: UnitOfWork, vault: Vault, blobs: BlobStore) -> tuple[str, bytes]:
    """Content type and decrypted bytes of a stored document (NotFoundError, CryptoError)."""
    doc = uow.documents.get(document_id)
    if doc is None or not doc.blob_key:
        raise NotFoundError("document not found")
    sub = uow.subscriptions.get(doc.msisdn)
    holder = uow.holders.get(sub.holder_id) if sub else None
    if holder is None:
        raise NotFoundError("document not found")
    dek = vault.unwrap(holder.kek_id, holder.wrapped_dek)
    data = vault.open(dek, blobs.get(doc.blob_key), _document_aad(doc.blob_key))
    return doc.content_type or "application/octet-stream", data


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
    uow: UnitOfWork,
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


def _learn_documents(blinds: list[bytes], uow: UnitOfWork, vault: Vault, state: _LoadState) -> None:
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
    uow: UnitOfWork,
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
    raw_keys = [_e164_key(record.get("msisdn")) for record in batch]
    taken = uow.subscriptions.existing(k for k in raw_keys if k is not None)
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
    docs: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    seen: set[int] = set()
    for record, raw_key, blind in zip(batch, raw_keys, blinds, strict=True):
        if raw_key is not None and (raw_key in taken or raw_key in seen):
            _reject(stats, "duplicate_msisdn")
            continue
        ordinal = state.counts[blind] + 1 if blind is not None else 1
        normalized, result = rule_set.normalize(record, as_of=as_of, ordinal=ordinal)
        key = _e164_key(normalized.get("msisdn"))
        if key is None:
            _reject(stats, "invalid_msisdn")
            continue
        if key in taken or key in seen:
            _reject(stats, "duplicate_msisdn")
            continue
        seen.add(key)
        kind, id_type = _holder_kind(normalized), _id_type(normalized)
        reuse_key = (blind, kind, id_type) if blind is not None and _owns_document_key(normalized) else None
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
                    "province_code": _province_code(normalized),
                    "aad_ref": aad_ref,
                    "kek_id": kek_id,
                    "wrapped_dek": wrapped,
                    "payload": vault.seal(dek, _dumps(_personal(normalized)), _holder_aad(aad_ref)),
                },
            )
            new_holders.append(holder)
            if reuse_key:
                state.holders[reuse_key] = holder  # type: ignore[index]
        if blind is not None:
            state.counts[blind] += 1
        columns = _clear_columns(normalized, state.pos_ids.get)
        if columns["channel"] is None:
            columns["channel"] = channel
        status = _text(normalized.get("status"), 16) or "active"
        subs.append(
            (
                holder,
                {
                    "msisdn": key,
                    **columns,
                    "status": status,
                    "version": 1,
                    **_compliance(result, rule_set, as_of),
                },
            )
        )
        history.append(_history(key, actor, channel, "created", _created_fields(normalized), {}))
        images = (images_for(normalized, result) if images_for else None) or {}
        refs = {k: ref for k, ref in _document_refs(normalized).items() if k in DOCUMENT_KINDS}
        stored = _store_images(blobs, vault, holder.dek, {k: images[k] for k in refs if k in images})
        for kind_name, ref in refs.items():
            row = {"msisdn": key, "kind": kind_name, "created_by_staff_id": actor,
                   "point_of_sale_id": columns["point_of_sale_id"]}  # fmt: skip
            if kind_name in stored:
                blob_key, content_type, size = stored[kind_name]
                row.update(blob_key=blob_key, external_ref=None, content_type=content_type, size=size)
            else:
                row.update(blob_key=None, external_ref=ref[:MAX_REF], content_type=None, size=None)
            docs.append(row)
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
    uow.subscriptions.add_many([{**row, "holder_id": holder.id} for holder, row in subs])
    uow.documents.add_many(docs)
    uow.history.append_many(history)
