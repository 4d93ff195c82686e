"""The one writer of a subscription: normalize, check, encrypt, index, keep history, in the caller's unit of work.

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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.records import DOCUMENT_KINDS, MAX_REF, flatten
from subreg.domain.compliance.rules.base import CheckResult, RuleSet
from subreg.services.common.ports import BlobStore, Vault
from subreg.services.registry.ports import HolderRow, RegistryUnitOfWork, SealedImages, SubscriptionRow
from subreg.services.registry.reading import read_document, record_of
from subreg.services.registry.rows import (
    as_date,
    changed_paths,
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
    latest_documents,
    owns_document_key,
    personal_part,
    province_code_of,
    ref_of,
    store_images,
    text_or_none,
)

__all__ = ["Registry", "seal_images", "store_subscription"]


def _ordinal(uow: RegistryUnitOfWork, holders: list[HolderRow], msisdn: int | None, activated_on: date | None) -> int:
    """Position of this subscription among those under the same ID document (1-based).

    Existing subscriptions count when they were activated earlier (ties: smaller number first), so
    re-storing the 2nd subscription of someone who now has 5 keeps it the 2nd (no contract needed).
    """
    subs = uow.subscriptions.list_by_holders([h.id for h in holders]) if holders else []
    subs = [s for s in subs if s.status != "terminated"]  # a terminated line is no longer held under the document
    if activated_on is None:
        return 1 + sum(1 for s in subs if s.msisdn != msisdn)
    me = (activated_on, msisdn or 0)
    return 1 + sum(1 for s in subs if s.msisdn != msisdn and (s.activated_on or date.min, s.msisdn) < me)


def store_subscription(
    record: Mapping[str, Any],
    *,
    uow: RegistryUnitOfWork,
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
    raw_key = e164_key(record.get("msisdn"))
    to_check = _with_uploads(record, images)
    match = _match_holder(to_check, uow=uow, vault=vault, rule_set=rule_set)
    candidates = match.candidates
    usable = sealed if sealed is not None and _sealed_for(sealed, candidates) else None
    ordinal = _ordinal(uow, match.same_document, raw_key, as_date(record.get("activated_on")))
    normalized, result = rule_set.normalize(to_check, as_of=as_of, ordinal=ordinal)
    key = e164_key(normalized.get("msisdn"))
    if key is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])

    # Holder: find by blind index, else create with a fresh DEK.
    personal = personal_part(normalized)
    payload_plain = dumps_sorted(personal)
    province = province_code_of(normalized)
    old_personal: dict[str, Any] = {}
    if candidates:
        holder = candidates[0]
        dek = usable.dek if usable else vault.unwrap(holder.kek_id, holder.wrapped_dek)
        old_plain = vault.open(dek, holder.payload, holder_aad(holder.aad_ref))
        old_personal = orjson.loads(old_plain)
        if old_plain != payload_plain:
            uow.holders.update_payload(
                holder.id, vault.seal(dek, payload_plain, holder_aad(holder.aad_ref)), province_code=province
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
                "payload": vault.seal(dek, payload_plain, holder_aad(aad_ref)),
            }
        )

    # Subscription row with its compliance columns.
    def pos_id(code: str) -> int | None:
        pos = uow.points_of_sale.get_by_code(code)
        return pos.id if pos else None

    current = stored if stored is not None and stored.msisdn == key else uow.subscriptions.get(key)
    given_status = text_or_none(normalized.get("status"), 16)
    # A terminated line's number stored again for a live subscription is the number REISSUED: a new line
    # (the next generation); the terminated line keeps its history, documents and audit trail.
    reissued = current is not None and current.status == "terminated" and given_status != "terminated"
    existing = None if reissued else current
    columns = clear_columns(normalized, pos_id)
    if columns["channel"] is None:
        columns["channel"] = channel
    status = given_status or (existing.status if existing else "active")
    values = {"holder_id": holder_id, **columns, "status": status, **compliance_columns(result, rule_set, as_of)}
    history: list[dict[str, Any]] = []
    if existing is None:
        generation = current.generation + 1 if current is not None else 1
        line = uow.subscriptions.add({"msisdn": key, "generation": generation, **values, "version": 1})
        history.append(history_row(line, actor, channel, "created", created_fields(normalized), {}))
    else:
        line = existing.id
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
        personal_paths = changed_paths(old_personal, personal) if existing.holder_id == holder_id else []
        if existing.holder_id != holder_id:
            personal_paths = sorted(flatten(personal))
        uow.subscriptions.update(line, values, expected_version=existing.version)
        if clear or personal_paths:
            action = "status_changed" if set(clear) == {"status"} and not personal_paths else "updated"
            history.append(history_row(line, actor, channel, action, sorted({*clear, *personal_paths}), clear))

    # Documents: uploaded images (encrypted) and references to documents held elsewhere.
    latest = latest_documents(uow.documents.list_for(line)) if existing else {}
    added: list[str] = []
    staff_pos = columns["point_of_sale_id"]
    refs = {k: ref for k, ref in sorted(document_refs(normalized).items()) if k in DOCUMENT_KINDS}
    uploads = {k: images[k] for k in refs if k in images}
    stored = usable.blobs if usable else store_images(blobs, vault, dek, uploads)
    for kind_name, ref in refs.items():
        row: dict[str, Any] = {
            "subscription_id": line,
            "kind": kind_name,
            "created_by_staff_id": actor,
            "point_of_sale_id": staff_pos,
        }
        if kind_name in uploads:
            blob_key, content_type, size = stored[kind_name]
            row.update(blob_key=blob_key, content_type=content_type, size=size)
        else:
            current = latest.get(kind_name)
            if current is not None and ref_of(current) == ref:
                continue
            if len(ref) > MAX_REF:
                raise InputError([FieldError(f"documents.{kind_name}", "too_long")])
            row.update(external_ref=ref)
        uow.documents.add(row)
        added.append(f"documents.{kind_name}")
    if added and existing is not None:
        history.append(history_row(line, actor, channel, "documents_added", added, {}))
    uow.history.append_many(history)
    return result


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
        to_check["documents"] = {**document_refs(record), **{k: f"upload:{k}" for k in images}}
    return to_check


def _match_holder(
    to_check: Mapping[str, Any], *, uow: RegistryUnitOfWork, vault: Vault, rule_set: RuleSet
) -> _HolderMatch:
    doc_key = rule_set.document_key(to_check)
    blind = vault.blind(doc_key) if doc_key else None
    kind, id_type = holder_kind(to_check), id_type_of(to_check)
    same_document = uow.holders.find_by_blind(blind) if blind else []
    # A terminated line no longer counts under its ID document (no document key, ordinal 1), but it is still its
    # holder's: stored again (a termination, an update at the counter) it must find that holder, not a new one
    # without a blind index, which would leave the line's images sealed under a key it no longer has.
    if doc_key is None and to_check.get("status") == "terminated":
        own_key = rule_set.document_key({k: v for k, v in to_check.items() if k != "status"})
        own = uow.holders.find_by_blind(vault.blind(own_key)) if own_key else []
    else:
        own = same_document
    owns = owns_document_key(to_check)
    candidates = [h for h in own if owns and h.kind == kind and h.id_type == id_type and h.wrapped_dek is not None]
    return _HolderMatch(blind, kind, id_type, same_document, candidates)


def _sealed_for(sealed: SealedImages, candidates: list[HolderRow]) -> bool:
    """Whether `sealed` used the key `store_subscription` is about to use for these candidates."""
    if not candidates:
        return sealed.holder_id is None
    return candidates[0].id == sealed.holder_id and candidates[0].wrapped_dek == sealed.wrapped_dek


def seal_images(
    record: Mapping[str, Any],
    images: Mapping[str, bytes],
    *,
    uow: RegistryUnitOfWork,
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
    stored = store_images(blobs, vault, dek, {k: v for k, v in images.items() if k in DOCUMENT_KINDS})
    return SealedImages(holder_id, kek_id, wrapped, dek, stored)


class Registry:
    """`SubscriptionWriter` bound to the vault, the blob store and the rule set in force."""

    def __init__(self, vault: Vault, blobs: BlobStore, rule_set: RuleSet) -> None:
        self.vault = vault
        self.blobs = blobs
        self.rule_set = rule_set

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
        """`store_subscription` with this registry's vault, blob store and rule set."""
        return store_subscription(
            record, uow=uow, vault=self.vault, blobs=self.blobs, as_of=as_of, actor=actor, channel=channel,
            images=images, rule_set=self.rule_set, sealed=sealed, stored=stored,
        )  # fmt: skip

    def seal_images(
        self, record: Mapping[str, Any], images: Mapping[str, bytes], *, uow: RegistryUnitOfWork
    ) -> SealedImages:
        """`seal_images` with this registry's vault, blob store and rule set."""
        return seal_images(record, images, uow=uow, vault=self.vault, blobs=self.blobs, rule_set=self.rule_set)

    def record_of(self, sub: SubscriptionRow, *, uow: RegistryUnitOfWork) -> dict[str, Any]:
        """`record_of` with this registry's vault."""
        return record_of(sub, uow=uow, vault=self.vault)

    def read_document(self, document_id: int, *, uow: RegistryUnitOfWork) -> tuple[str, bytes]:
        """`read_document` with this registry's vault and blob store."""
        return read_document(document_id, uow=uow, vault=self.vault, blobs=self.blobs)
