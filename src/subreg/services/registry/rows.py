"""The columns of the central database's rows, built from a normalized record: ONE definition for every
write path (the counter's and the back office's `store_subscription`, `bulk_load`, the importer).

Where personal data goes (the privacy design, in one place):

- every personal field (holder, guardian, organization and its users) is in the holder's `payload`,
  AES-256-GCM under the holder's DEK with AAD `holder:<aad_ref>` (`holder_aad`);
- the ID document is findable only through `vault.blind(rule_set.document_key(record))`;
- images go to the blob store under random keys, sealed with the holder's DEK, AAD `document:<key>`;
- subscription columns and history carry only non-personal values (type, dates of activation,
  channel, point of sale, status, compliance); history names changed personal *paths*, never values.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import orjson

from subreg.domain.common.msisdn import msisdn_key, parse_msisdn
from subreg.domain.compliance.missing_mask import mask_of
from subreg.domain.compliance.phase import phase_of
from subreg.domain.compliance.records import flatten, is_absent
from subreg.domain.compliance.rules.base import CheckResult, RuleSet, rule_tag
from subreg.domain.compliance.state import ComplianceState, state_of
from subreg.services.common.ports import BlobStore, Vault
from subreg.services.registry.ports import DocumentRow, holder_aad

__all__ = [
    "LINE_COLUMNS",
    "PERSONAL_KEYS",
    "as_date",
    "changed_paths",
    "clear_columns",
    "compliance_columns",
    "content_type_of",
    "created_fields",
    "document_aad",
    "document_keys_of",
    "document_refs",
    "dumps_sorted",
    "e164_key",
    "has_contract",
    "history_row",
    "holder_aad",
    "holder_kind",
    "id_type_of",
    "jsonable",
    "latest_documents",
    "line_columns",
    "owns_document_key",
    "personal_part",
    "province_code_of",
    "ref_of",
    "rule_tag",
    "store_images",
    "text_or_none",
    "verdict_of",
    "week_start",
]

PERSONAL_KEYS = ("holder", "guardian", "organization")


_DOCUMENT_REF = "document:"


def dumps_sorted(value: Any) -> bytes:
    # Compact, key-sorted JSON so that "did the payload change?" is a byte comparison.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def document_aad(blob_key: str) -> bytes:
    return b"document:" + blob_key.encode("ascii")


def as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def text_or_none(value: Any, limit: int) -> str | None:
    if is_absent(value):
        return None
    text = str(value)
    return text if len(text) <= limit else None


def content_type_of(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def personal_part(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in PERSONAL_KEYS if isinstance(record.get(k), Mapping | list) and record.get(k)}


def e164_key(value: Any) -> int | None:
    e164 = parse_msisdn(value) if isinstance(value, str) else None
    return msisdn_key(e164) if e164 else None


def owns_document_key(record: Mapping[str, Any]) -> bool:
    """Whether the document key names the holder itself (not a minor's guardian).

    A child without papers is registered under the guardian's ID document: the subscription counts
    towards that document (ordinal), but the child is a holder of its own, never merged with others.
    """
    if holder_kind(record) == "organization":
        return True
    holder = record.get("holder")
    return isinstance(holder, Mapping) and not is_absent(holder.get("id_number"))


def holder_kind(record: Mapping[str, Any]) -> str:
    return "organization" if record.get("subscriber_type") == "organization" else "person"


def id_type_of(record: Mapping[str, Any]) -> str | None:
    if holder_kind(record) == "organization":
        return "organization"
    holder = record.get("holder")
    value = holder.get("id_type") if isinstance(holder, Mapping) else None
    return value if isinstance(value, str) and len(value) <= 16 else None


def province_code_of(record: Mapping[str, Any]) -> str | None:
    holder = record.get("holder")
    if holder_kind(record) != "person" or not isinstance(holder, Mapping) or holder.get("id_type") != "cccd":
        return None
    number = holder.get("id_number")
    if isinstance(number, str) and len(number) == 12 and number.isdigit() and number.isascii():
        return number[:3]
    return None


def week_start(day: date | None) -> date | None:
    """The Monday of `day`'s week: `valid_until` is kept this coarse so that it never shows a birth date
    (a line is then re-checked up to six days early, and finds its answer unchanged)."""
    return None if day is None else day - timedelta(days=day.weekday())


def document_keys_of(rule_set: RuleSet, record: Mapping[str, Any]) -> tuple[str, ...]:
    """The record's document keys whatever its status: a terminated line keeps its holder and its person
    (the rule set's keys leave terminated lines out of the count; storage still needs to know whose they are)."""
    if record.get("status") is None:
        return rule_set.document_keys(record)
    return rule_set.document_keys({**record, "status": None})


def has_contract(record: Mapping[str, Any]) -> bool:
    """A signed contract on file: the contract document AND its number (what the 4th line needs)."""
    return "contract" in document_refs(record) and not is_absent(record.get("contract_number"))


def verdict_of(result: CheckResult) -> ComplianceState:
    """The state the rule set's answer on the line's own papers gives (the 4th-subscription rule apart)."""
    return state_of(valid=result.valid, complete=result.complete, contract_needed=False)


def compliance_columns(result: CheckResult, rule_set: RuleSet, as_of: date) -> dict[str, Any]:
    return {
        "complete": result.complete,
        "missing": ",".join(result.missing),
        "error_codes": ",".join(f"{e.field}:{e.code}" for e in result.errors),
        "rule_set": rule_tag(rule_set),
        "evaluated_on": as_of,
        "verdict": int(verdict_of(result)),
        "missing_mask": mask_of(result.missing, rule_set.missing_items),
    }


# The columns `line_columns` gives, in the order bulk writers lay them out.
LINE_COLUMNS = (
    "subscriber_type", "payment_type", "activated_on", "channel", "point_of_sale_code", "point_of_sale_id",
    "contract_number", "purpose", "status", "complete", "missing", "error_codes", "rule_set", "evaluated_on",
    "verdict", "missing_mask", "phase", "has_contract", "province_code", "valid_until", "person_key",
    "document_refs",
)  # fmt: skip


def line_columns(
    normalized: Mapping[str, Any],
    result: CheckResult,
    *,
    rule_set: RuleSet,
    as_of: date,
    phase_reference: date,
    channel: str,
    pos_ids: Callable[[str], int | None],
    person_key: bytes | None,
    documents: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every column of a subscription line that follows from its record: THE builder of line rows.

    `result` is the rule set's answer at `as_of` on the line's own papers (ordinal 1: the 4th-subscription
    rule is `contract_needed`, set by the caller or the evaluation). `documents`: the document kinds the
    line will hold and their references (default: the record's), kept so that a re-check without the
    documents table sees the same papers.
    """
    columns = clear_columns(normalized, pos_ids)
    if columns["channel"] is None:
        columns["channel"] = channel
    docs = dict(document_refs(normalized) if documents is None else documents)
    return {
        **columns,
        "status": text_or_none(normalized.get("status"), 16) or "active",
        **compliance_columns(result, rule_set, as_of),
        "phase": phase_of(columns["activated_on"], phase_reference),
        "has_contract": "contract" in docs and not is_absent(normalized.get("contract_number")),
        "province_code": province_code_of(normalized),
        "valid_until": week_start(rule_set.valid_until(normalized, as_of=as_of)),
        "person_key": person_key,
        "document_refs": orjson.dumps(docs, option=orjson.OPT_SORT_KEYS).decode() if docs else None,
    }


def clear_columns(record: Mapping[str, Any], pos_ids: Callable[[str], int | None]) -> dict[str, Any]:
    pos_code = text_or_none(record.get("point_of_sale"), 32)
    return {
        "subscriber_type": text_or_none(record.get("subscriber_type"), 16),
        "payment_type": text_or_none(record.get("payment_type"), 16),
        "activated_on": as_date(record.get("activated_on")),
        "channel": text_or_none(record.get("channel"), 24),
        "point_of_sale_code": pos_code,
        "point_of_sale_id": pos_ids(pos_code) if pos_code else None,
        "contract_number": text_or_none(record.get("contract_number"), 64),
        "purpose": text_or_none(record.get("purpose"), 24),
    }


def document_refs(record: Mapping[str, Any]) -> dict[str, str]:
    docs = record.get("documents")
    if not isinstance(docs, Mapping):
        return {}
    return {k: v for k, v in docs.items() if isinstance(v, str) and not is_absent(v)}


def ref_of(doc: DocumentRow) -> str:
    return f"{_DOCUMENT_REF}{doc.id}" if doc.blob_key else (doc.external_ref or "")


def latest_documents(docs: Iterable[DocumentRow]) -> dict[str, DocumentRow]:
    latest: dict[str, DocumentRow] = {}
    for doc in docs:  # oldest first: later rows win
        latest[doc.kind] = doc
    return latest


def changed_paths(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    a, b = flatten(old), flatten(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def store_images(
    blobs: BlobStore, vault: Vault, dek: bytes, images: Mapping[str, bytes]
) -> dict[str, tuple[str, str, int]]:
    """Seal each image with `dek` under a fresh random key and store them together; kind -> key, type, size.

    The keys share one random directory prefix (the rest of each key random): a local store then makes
    them durable with one directory flush instead of one per image.
    """
    directory = secrets.token_hex(2)
    keys = {kind: directory + secrets.token_hex(14) for kind in images}
    blobs.put_many({key: vault.seal(dek, images[kind], document_aad(key)) for kind, key in keys.items()})
    return {kind: (key, content_type_of(images[kind]), len(images[kind])) for kind, key in keys.items()}


def history_row(
    subscription_id: int, actor: int | None, channel: str, action: str, paths: list[str], values: Mapping[str, Any]
) -> dict[str, Any]:
    changes: dict[str, Any] = {"fields": paths}
    if values:
        changes["values"] = {k: [jsonable(v) for v in pair] for k, pair in values.items()}
    return {
        "subscription_id": subscription_id,
        "actor_staff_id": actor,
        "channel": channel,
        "action": action,
        "changes": changes,
    }


def created_fields(record: Mapping[str, Any]) -> list[str]:
    # Top-level sections only: listing every leaf path of a new record costs more than it tells.
    return sorted(k for k in record if k != "msisdn")


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
