"""Reading a stored subscription back: its record decrypted in the data dictionary's shape, its images."""

from __future__ import annotations

from typing import Any

import orjson

from subreg.domain.common.errors import FieldError, InputError, NotFoundError
from subreg.domain.common.msisdn import msisdn_from_key, msisdn_key, parse_msisdn
from subreg.services.common.ports import BlobStore, Vault
from subreg.services.registry.ports import RegistryUnitOfWork, SubscriptionRow
from subreg.services.registry.rows import document_aad, holder_aad, latest_documents, ref_of

__all__ = ["get_subscription", "read_document", "record_of"]


def _key_of(msisdn: str | int) -> int:
    if isinstance(msisdn, int):
        return msisdn
    e164 = parse_msisdn(msisdn)
    if e164 is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])
    return msisdn_key(e164)


def get_subscription(msisdn: str | int, *, uow: RegistryUnitOfWork, vault: Vault) -> dict[str, Any]:
    """The stored record, decrypted, in the data dictionary's shape (NotFoundError when absent)."""
    sub = uow.subscriptions.get(_key_of(msisdn))
    if sub is None:
        raise NotFoundError("subscription not found")
    return record_of(sub, uow=uow, vault=vault)


def record_of(sub: SubscriptionRow, *, uow: RegistryUnitOfWork, vault: Vault) -> dict[str, Any]:
    """`get_subscription` for a subscription row the caller has already read."""
    holder = uow.holders.get(sub.holder_id)
    if holder is None:
        raise NotFoundError("holder not found")
    dek = vault.unwrap(holder.kek_id, holder.wrapped_dek)
    personal = orjson.loads(vault.open(dek, holder.payload, holder_aad(holder.aad_ref)))
    record: dict[str, Any] = {
        "msisdn": msisdn_from_key(sub.msisdn),
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
    docs = {kind: ref_of(doc) for kind, doc in latest_documents(uow.documents.list_for(sub.id)).items()}
    if docs:
        record["documents"] = docs
    return {k: v for k, v in record.items() if v is not None}


def read_document(document_id: int, *, uow: RegistryUnitOfWork, vault: Vault, blobs: BlobStore) -> tuple[str, bytes]:
    """Content type and decrypted bytes of a stored document (NotFoundError, CryptoError)."""
    doc = uow.documents.get(document_id)
    if doc is None or not doc.blob_key:
        raise NotFoundError("document not found")
    sub = uow.subscriptions.get_by_id(doc.subscription_id)
    holder = uow.holders.get(sub.holder_id) if sub else None
    if holder is None:
        raise NotFoundError("document not found")
    dek = vault.unwrap(holder.kek_id, holder.wrapped_dek)
    data = vault.open(dek, blobs.get(doc.blob_key), document_aad(doc.blob_key))
    return doc.content_type or "application/octet-stream", data
