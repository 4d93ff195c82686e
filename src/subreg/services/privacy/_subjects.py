"""Finding a data subject and their requests: shared by the data-subject request use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from subreg.domain.common.errors import FieldError, InputError, NotFoundError
from subreg.domain.common.msisdn import msisdn_key, parse_msisdn
from subreg.domain.compliance.rules.base import RuleSet
from subreg.services.common.ports import Vault
from subreg.services.privacy.ports import DsrRow, PrivacyUnitOfWork
from subreg.services.registry.ports import HolderRow

__all__ = ["find_holder", "holders_of", "msisdn_key_of", "now_or", "request_row", "same_document"]


def now_or(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def msisdn_key_of(msisdn: str | int | None) -> int | None:
    if msisdn is None or isinstance(msisdn, int):
        return msisdn
    e164 = parse_msisdn(msisdn)
    if e164 is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])
    return msisdn_key(e164)


def same_document(uow: PrivacyUnitOfWork, holder: HolderRow) -> list[HolderRow]:
    """The holder and every other holder row under the same ID document (oldest first)."""
    if holder.id_blind is None:
        return [holder]
    found = uow.holders.find_by_blind(holder.id_blind)
    return found if any(h.id == holder.id for h in found) else [holder, *found]


def find_holder(
    uow: PrivacyUnitOfWork, *, vault: Vault, rule_set: RuleSet, msisdn: str | None = None, id_number: str | None = None
) -> HolderRow:
    """The holder behind a phone number or an ID document number (InputError `holder_not_found`)."""
    if (msisdn is None) == (id_number is None):
        raise InputError([FieldError("msisdn", "required")])
    if msisdn is not None:
        key = msisdn_key_of(msisdn)
        sub = uow.subscriptions.get(key) if key is not None else None
        holder = uow.holders.get(sub.holder_id) if sub else None
        if holder is None:
            raise InputError([FieldError("msisdn", "holder_not_found")])
        return holder
    doc_key = rule_set.document_key({"holder": {"id_number": id_number}})
    found = uow.holders.find_by_blind(vault.blind(doc_key)) if doc_key else []
    if not found:
        raise InputError([FieldError("id_number", "holder_not_found")])
    return found[0]


def request_row(uow: PrivacyUnitOfWork, request_id: int, kinds: Sequence[str]) -> DsrRow:
    row = uow.privacy.get_request(request_id)
    if row is None:
        raise NotFoundError("request not found")
    if row.kind not in kinds or row.holder_id is None:
        raise InputError([FieldError("request_id", "dsr_not_open")])
    return row


def holders_of(uow: PrivacyUnitOfWork, row: DsrRow) -> list[HolderRow]:
    holder = uow.holders.get(row.holder_id) if row.holder_id is not None else None
    if holder is None:
        raise NotFoundError("holder not found")
    return same_document(uow, holder)
