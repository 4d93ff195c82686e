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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import orjson

from subreg.domain.common.errors import FieldError, InputError, NotFoundError
from subreg.domain.compliance.phase import DEFAULT_REFERENCE
from subreg.domain.compliance.records import DOCUMENT_KINDS, MAX_REF, flatten
from subreg.domain.compliance.rules.base import CheckResult, RuleSet
from subreg.services.common.ports import BlobStore, Vault
from subreg.services.registry.lines import needs_contract, ordinal_of
from subreg.services.registry.ports import (
    HolderRow,
    PeopleRepository,
    PortraitIndexer,
    RegistryUnitOfWork,
    SealedImages,
    SubscriptionRow,
)
from subreg.services.registry.reading import read_document, record_of
from subreg.services.registry.rows import (
    as_date,
    changed_paths,
    compliance_columns,
    created_fields,
    document_keys_of,
    document_refs,
    dumps_sorted,
    e164_key,
    history_row,
    holder_aad,
    holder_kind,
    id_type_of,
    latest_documents,
    line_columns,
    owns_document_key,
    personal_part,
    province_code_of,
    ref_of,
    store_images,
    text_or_none,
    week_start,
)

__all__ = ["Registry", "person_key_of", "seal_images", "store_subscription"]


def person_key_of(blinds: Sequence[bytes], people: PeopleRepository) -> tuple[bytes | None, bytes | None]:
    """(the person key a line counts towards, the document to link to it now or None).

    `blinds` are the blind indexes of the record's document keys (`rule_set.document_keys`): its own
    document first, then the previous CMND a CCCD names. A previous document makes the person its key
    (followed one link further when that document is itself linked), and links the own document to it;
    otherwise an own document already linked counts towards its person, else towards itself.
    """
    if not blinds:
        return None, None
    own = blinds[0]
    linked = people.person_of_document(own)
    if len(blinds) > 1:
        person = people.person_of_document(blinds[1]) or blinds[1]
        return person, (own if linked != person else None)
    return (linked or own), None


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
    phase_reference: date = DEFAULT_REFERENCE,
    sealed: SealedImages | None = None,
    stored: SubscriptionRow | None = None,
    portraits: PortraitIndexer | None = None,
) -> CheckResult:
    """Normalize, encrypt and store one subscription line (holder, documents, history) in the caller's UoW.

    The answer returned is the rule set's for this line's place among the person's active lines (the 4th
    needs a contract: `contract_required`); the line keeps the answer on its own papers and the
    4th-subscription rule in `contract_needed`, and its person is marked for the next evaluation.
    `sealed`: the images as `seal_images` already stored them; used when the holder resolved here still
    has the key they were sealed with, else the images are sealed again (the prepared blobs are orphans).
    `stored`: the subscription's row as the caller read it in this transaction (not read again).
    `portraits`: keys the bands of an uploaded portrait's perceptual hash (the look-alike signal).
    """
    images = dict(images or {})
    bad = [FieldError(f"documents.{k}", "invalid_choice") for k in images if k not in DOCUMENT_KINDS]
    if bad:
        raise InputError(bad)
    to_check = _with_uploads(record, images)
    match = _match_holder(to_check, uow=uow, vault=vault, rule_set=rule_set)
    usable = sealed if sealed is not None and _sealed_for(sealed, match.candidates) else None
    place = _place_among_lines(to_check, uow=uow, vault=vault, rule_set=rule_set)
    normalized, result = rule_set.normalize(to_check, as_of=as_of, ordinal=place.ordinal)
    own = result if place.ordinal < rule_set.contract_from_ordinal else rule_set.check(to_check, as_of=as_of)
    key = e164_key(normalized.get("msisdn"))
    if key is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])
    holder_id, dek, old_personal, personal = _store_holder(normalized, match, usable, uow=uow, vault=vault)

    current = stored if stored is not None and stored.msisdn == key else uow.subscriptions.get(key)
    values = line_columns(
        normalized, own, rule_set=rule_set, as_of=as_of, phase_reference=phase_reference, channel=channel,
        pos_ids=lambda code: _point_of_sale_id(uow, code), person_key=place.person,
    )  # fmt: skip
    values["holder_id"] = holder_id
    existing = _line_stored_again(current, text_or_none(normalized.get("status"), 16), values)
    values["contract_needed"] = needs_contract(
        status=values["status"],
        ordinal=place.ordinal, subscriber_type=values["subscriber_type"], has_contract=values["has_contract"],
        from_ordinal=rule_set.contract_from_ordinal,
    )  # fmt: skip
    if existing is None:
        generation = current.generation + 1 if current is not None else 1
        line = uow.subscriptions.add({"msisdn": key, "generation": generation, **values, "version": 1})
        history = [history_row(line, actor, channel, "created", created_fields(normalized), {})]
    else:
        line = existing.id
        history = _update_line(existing, values, old_personal, personal, uow=uow, actor=actor, channel=channel)
    if place.link is not None and place.person is not None:
        uow.people.link(place.link, place.person)
    uow.people.mark_dirty([place.person, place.link, existing.person_key if existing is not None else None])
    history += _store_documents(
        line, normalized, images, usable, existing is not None, uow=uow, vault=vault, blobs=blobs, dek=dek,
        actor=actor, channel=channel, staff_pos=values["point_of_sale_id"], portraits=portraits,
    )  # fmt: skip
    uow.history.append_many(history)
    return result


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a line stands among its person's active lines (the 4th needs a contract)."""

    person: bytes | None  # the person key it counts towards
    link: bytes | None  # its own document, to link to that person now
    ordinal: int


def _place_among_lines(
    record: Mapping[str, Any], *, uow: RegistryUnitOfWork, vault: Vault, rule_set: RuleSet
) -> _Place:
    """The line's person and its ordinal among the person's lines (both documents' when a CCCD names a CMND)."""
    blinds = [vault.blind(k) for k in document_keys_of(rule_set, record)]
    person, link = person_key_of(blinds, uow.people)
    others = uow.people.lines_of_person(person) if person is not None else []
    if link is not None:
        seen = {o.id for o in others}
        others += [s for s in uow.people.lines_of_person(link) if s.id not in seen]
    ordinal = ordinal_of(as_date(record.get("activated_on")), e164_key(record.get("msisdn")) or 0, others)
    return _Place(person, link, ordinal)


def _line_stored_again(
    current: SubscriptionRow | None, given_status: str | None, values: dict[str, Any]
) -> SubscriptionRow | None:
    """The line this write updates (None: a new line), and its status set in `values`.

    A terminated line's number stored again for a live subscription is the number REISSUED: a new line
    (the next generation); the terminated line keeps its history, documents and audit trail.
    """
    reissued = current is not None and current.status == "terminated" and given_status != "terminated"
    existing = None if reissued else current
    values["status"] = given_status or (existing.status if existing else "active")
    return existing


def _point_of_sale_id(uow: RegistryUnitOfWork, code: str) -> int | None:
    pos = uow.points_of_sale.get_by_code(code)
    return pos.id if pos else None


# The clear columns whose change an update's history shows with their old and new values.
_COMPARED = (
    "holder_id", "subscriber_type", "payment_type", "activated_on", "channel", "point_of_sale_id",
    "point_of_sale_code", "contract_number", "purpose", "status", "complete", "missing", "error_codes", "rule_set",
)  # fmt: skip


def _store_holder(
    normalized: Mapping[str, Any],
    match: _HolderMatch,
    usable: SealedImages | None,
    *,
    uow: RegistryUnitOfWork,
    vault: Vault,
) -> tuple[int, bytes, dict[str, Any], dict[str, Any]]:
    """The holder, found by blind index (payload rewritten when it changed) or created with a fresh DEK:
    (holder id, its DEK, the personal data it held, the personal data it holds now)."""
    personal = personal_part(normalized)
    payload_plain = dumps_sorted(personal)
    province = province_code_of(normalized)
    if match.candidates:
        holder = match.candidates[0]
        dek = usable.dek if usable else vault.unwrap(holder.kek_id, holder.wrapped_dek)
        old_plain = vault.open(dek, holder.payload, holder_aad(holder.aad_ref))
        if old_plain != payload_plain:
            sealed = vault.seal(dek, payload_plain, holder_aad(holder.aad_ref))
            uow.holders.update_payload(holder.id, sealed, province_code=province)
        return holder.id, dek, orjson.loads(old_plain), personal
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
    return holder_id, dek, {}, personal


def _update_line(
    existing: SubscriptionRow,
    values: dict[str, Any],
    old_personal: Mapping[str, Any],
    personal: Mapping[str, Any],
    *,
    uow: RegistryUnitOfWork,
    actor: int | None,
    channel: str,
) -> list[dict[str, Any]]:
    """Write the new values of a stored line; the history entry naming what changed (paths, clear values)."""
    before = {c: getattr(existing, c) for c in _COMPARED}
    before["missing"], before["error_codes"] = ",".join(existing.missing), ",".join(existing.error_codes)
    clear = {k: [before[k], values[k]] for k in _COMPARED if before[k] != values[k]}
    if existing.holder_id == values["holder_id"]:
        personal_paths = changed_paths(old_personal, personal)
    else:
        personal_paths = sorted(flatten(personal))  # another holder: everything personal is new to this line
    uow.subscriptions.update(existing.id, values, expected_version=existing.version)
    if not clear and not personal_paths:
        return []
    action = "status_changed" if set(clear) == {"status"} and not personal_paths else "updated"
    return [history_row(existing.id, actor, channel, action, sorted({*clear, *personal_paths}), clear)]


def _store_documents(
    line: int,
    normalized: Mapping[str, Any],
    images: Mapping[str, bytes],
    usable: SealedImages | None,
    updating: bool,
    *,
    uow: RegistryUnitOfWork,
    vault: Vault,
    blobs: BlobStore,
    dek: bytes,
    actor: int | None,
    channel: str,
    staff_pos: int | None,
    portraits: PortraitIndexer | None = None,
) -> list[dict[str, Any]]:
    """Uploaded images (encrypted) and references to documents held elsewhere; the history entry if any."""
    latest = latest_documents(uow.documents.list_for(line)) if updating else {}
    added: list[str] = []
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
        document_id = uow.documents.add(row)
        added.append(f"documents.{kind_name}")
        if kind_name == "portrait" and kind_name in uploads and portraits is not None:
            digests = portraits.band_digests(uploads[kind_name])
            if digests:
                uow.documents.add_portrait_bands(document_id, digests)
    if added and updating:
        return [history_row(line, actor, channel, "documents_added", added, {})]
    return []


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
    keys = document_keys_of(rule_set, to_check)
    doc_key = keys[0] if keys else None
    blind = vault.blind(doc_key) if doc_key else None
    kind, id_type = holder_kind(to_check), id_type_of(to_check)
    same_document = uow.holders.find_by_blind(blind) if blind else []
    owns = owns_document_key(to_check)
    candidates = [
        h for h in same_document if owns and h.kind == kind and h.id_type == id_type and h.wrapped_dek is not None
    ]
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
        # unwrap refused a shredded holder (no wrapped key), so the key is there
        holder_id, kek_id, wrapped = holder.id, holder.kek_id, cast(bytes, holder.wrapped_dek)
    else:
        dek, kek_id, wrapped = vault.new_data_key()
        holder_id = None
    stored = store_images(blobs, vault, dek, {k: v for k, v in images.items() if k in DOCUMENT_KINDS})
    return SealedImages(holder_id, kek_id, wrapped, dek, stored)


class Registry:
    """`SubscriptionWriter` bound to the vault, the blob store and the rule set in force."""

    def __init__(
        self, vault: Vault, blobs: BlobStore, rule_set: RuleSet, *, phase_reference: date,
        portraits: PortraitIndexer | None = None,
    ) -> None:  # fmt: skip
        self.portraits = portraits
        self.vault = vault
        self.blobs = blobs
        self.rule_set = rule_set
        self.phase_reference = phase_reference

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
            images=images, rule_set=self.rule_set, phase_reference=self.phase_reference, sealed=sealed, stored=stored,
            portraits=self.portraits,
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

    def refresh(self, sub: SubscriptionRow, *, uow: RegistryUnitOfWork, as_of: date) -> SubscriptionRow:
        """`refresh_verdict` with this registry's vault and rule set."""
        return refresh_verdict(sub, uow=uow, vault=self.vault, rule_set=self.rule_set, as_of=as_of)


def refresh_verdict(
    sub: SubscriptionRow, *, uow: RegistryUnitOfWork, vault: Vault, rule_set: RuleSet, as_of: date
) -> SubscriptionRow:
    """Check a stored line's record again at `as_of` and store the new verdict when it differs (the gate
    never decides on an answer older than the rules or the dates it depends on).

    The same answer until the same week is not written: `valid_until` is rounded down to a Monday, so a
    line is re-checked on each look-up of the days before its date, and finds its answer unchanged.
    """
    record = record_of(sub, uow=uow, vault=vault)
    result = rule_set.check(record, as_of=as_of)
    values = {
        **compliance_columns(result, rule_set, as_of),
        "valid_until": week_start(rule_set.valid_until(record, as_of=as_of)),
    }
    if (
        sub.rule_set == values["rule_set"]
        and sub.complete == values["complete"]
        and ",".join(sub.missing) == values["missing"]
        and ",".join(sub.error_codes) == values["error_codes"]
        and sub.valid_until == values["valid_until"]
    ):
        return sub
    uow.subscriptions.update(sub.id, values, expected_version=sub.version)
    fresh = uow.subscriptions.get_by_id(sub.id)
    if fresh is None:  # the update above found the row: it cannot vanish in this transaction
        raise NotFoundError("subscription not found")
    return fresh
