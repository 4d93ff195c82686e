"""The point of sale: look up, the gate, updates with images, registration, bill payment, the postpaid shortcut.

Every function here is one use case and owns its transaction: it enters the unit of work it is given,
commits what it did (including the audit entry, in the same transaction), and rolls back otherwise.
The order of the checks is the same everywhere:

1. find the subscription (`not_found`), and its *scope*: the point of sale that registered it plus
   those with an open serving visit (`open_visit`, opened by proof of presence);
2. `domain.access.require` with the caller's declared purpose and that scope (403 with the reason);
3. the rule (the gate, the rule set, image checks), then the change, the audit entry, the commit.

Personal data leaves only through `lookup_*` (masked per `access.visible_fields`), `postpaid_suggestions`
(purpose `update`, in clear) and `view_document_image`; each of them writes an audit entry naming the
purpose and the field paths shown, never values. Refusals by the gate are recorded too (the counter
transaction with `outcome = refused`), then raised: the record survives the refusal.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from subreg.domain.access.masking import mask_record
from subreg.domain.access.permissions import (
    Actor,
    Permission,
    Purpose,
    Scope,
    authorize,
    visible_fields,
)
from subreg.domain.common.errors import (
    DuplicateMsisdnError,
    FieldError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ProcessingRestrictedError,
    SubregError,
)
from subreg.domain.common.msisdn import msisdn_from_key, msisdn_key, parse_msisdn
from subreg.domain.compliance.phase import phase_of
from subreg.domain.compliance.records import DOCUMENT_KINDS, flatten, is_absent
from subreg.domain.compliance.rules.base import CheckResult, RuleSet
from subreg.domain.counter import gate
from subreg.domain.counter.image_rules import CARD_KINDS, needs_readable_card
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services import audit_log, privacy
from subreg.services.ports import BlobStore, SubscriptionRow, UnitOfWork, Vault
from subreg.services.ports_pos import ImageCheck, ImageInspector
from subreg.services.registry import SealedImages, read_document, record_of, seal_images, store_subscription

__all__ = [
    "COUNTER_TRANSACTION",
    "EDITABLE_FIELDS",
    "PosContext",
    "check_images",
    "lookup_by_id_document",
    "lookup_by_msisdn",
    "open_visit",
    "pay_bill",
    "postpaid_suggestions",
    "register_subscription",
    "transact",
    "update_subscription",
    "view_document_image",
]

COUNTER_TRANSACTION = "counter:transaction"
OPERATOR_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# What the counter may send in an update or a registration (documents come as images, not references).
EDITABLE_FIELDS = frozenset(
    {"subscriber_type", "payment_type", "contract_number", "purpose", "holder", "guardian", "organization"}
)
_PERSON_SECTIONS = ("holder", "guardian", "organization")
_HISTORY_SHOWN = 10
_MAX_AMOUNT_VND = 1_000_000_000_000
_UNLOCK_REASON = "information_complete"
_UNLOCK_PRIORITY = 3  # ahead of routine orders (5): the customer is waiting at the counter


@dataclass(frozen=True, slots=True)
class PosContext:
    """What the point-of-sale use cases need besides the unit of work (built per request)."""

    vault: Vault
    blobs: BlobStore
    rule_set: RuleSet
    now: datetime
    today: date
    serving_minutes: int = 30
    phase_reference: date = date(2018, 4, 24)
    consent_version: str = "2026-01"
    images: ImageInspector | None = None
    request_id: str | None = None

    @classmethod
    def of(
        cls,
        container: Any,
        *,
        images: ImageInspector | None = None,
        now: datetime | None = None,
        request_id: str | None = None,
    ) -> PosContext:
        """From an application container (`.vault`, `.blobs`, `.rule_set`, `.settings`)."""
        settings = container.settings
        moment = now or datetime.now(UTC)
        return cls(
            vault=container.vault,
            blobs=container.blobs,
            rule_set=container.rule_set,
            now=moment,
            today=moment.astimezone(OPERATOR_TZ).date(),
            serving_minutes=int(settings.serving_minutes),
            phase_reference=date.fromisoformat(str(settings.phase_reference_date)),
            consent_version=str(settings.consent_version),
            images=images,
            request_id=request_id,
        )


# --- helpers ----------------------------------------------------------------------------------------


def _key(msisdn: str | int) -> int:
    if isinstance(msisdn, int):
        return msisdn
    e164 = parse_msisdn(msisdn) if isinstance(msisdn, str) else None
    if e164 is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn")])
    return msisdn_key(e164)


def _load(uow: UnitOfWork, msisdn: str | int) -> SubscriptionRow:
    sub = uow.subscriptions.get(_key(msisdn))
    if sub is None:
        err = NotFoundError("subscription not found")
        err.errors = [FieldError("msisdn", "not_found")]  # type: ignore[attr-defined]
        raise err
    return sub


def _scope(uow: UnitOfWork, ctx: PosContext, sub: SubscriptionRow) -> Scope:
    return Scope.of(sub.point_of_sale_id, uow.counter.serving_pos_ids(sub.msisdn, now=ctx.now))


_REASON_FIELD = {
    "purpose_required": "purpose",
    "purpose_not_allowed": "purpose",
    "out_of_scope": "msisdn",
    "scope_required": "msisdn",
    "no_point_of_sale": "point_of_sale",
    "pos_kind_mismatch": "point_of_sale",
}


def _restricted(uow: UnitOfWork, sub: SubscriptionRow) -> bool:
    flags = uow.privacy.flags(sub.holder_id)
    return bool(flags and flags.restricted)


def _refuse_if_restricted(uow: UnitOfWork, sub: SubscriptionRow) -> None:
    if _restricted(uow, sub):
        err = ProcessingRestrictedError("processing restricted")
        err.errors = [FieldError("holder", "processing_restricted")]  # type: ignore[attr-defined]
        raise err


def _require(actor: Actor, permission: Permission, purpose: str | None, scope: Scope | None = None) -> None:
    """`access.authorize`, raising a 403 whose field-level error names the reason (never a value)."""
    decision = authorize(actor, permission, purpose=purpose, subject_scope=scope)
    if not decision.allowed:
        err = PermissionDeniedError(decision.reason_code)
        err.errors = [FieldError(_REASON_FIELD.get(decision.reason_code, str(permission)), decision.reason_code)]  # type: ignore[attr-defined]
        raise err


def _require_for(
    uow: UnitOfWork, ctx: PosContext, actor: Actor, permission: Permission, purpose: str | None, sub: SubscriptionRow
) -> None:
    """`_require` on one subscription; a refusal is audited as `access:denied` (an attempt is an access too)."""
    try:
        _require(actor, permission, purpose, _scope(uow, ctx, sub))
    except PermissionDeniedError as refused:
        _audit(uow, ctx, actor, AuditAction.ACCESS_DENIED, msisdn_from_key(sub.msisdn), purpose=purpose,
               details={"reason": str(refused), "permission": str(permission)})  # fmt: skip
        uow.commit()
        raise


def _audit(
    uow: UnitOfWork,
    ctx: PosContext,
    actor: Actor,
    action: str,
    e164: str | None,
    *,
    fields: list[str] | tuple[str, ...] = (),
    purpose: str | None = None,
    details: Mapping[str, Any] | None = None,
    subject: str | None = None,
) -> None:
    audit_log.record(
        uow,
        actor=actor,
        action=action,
        subject=subject or (audit_log.subject_for_msisdn(ctx.vault, e164) if e164 else None),
        fields=tuple(fields),
        purpose=purpose,
        request_id=ctx.request_id,
        details=details,
        now=ctx.now,
    )


def _channel(actor: Actor) -> str:
    return actor.pos_kind if actor.pos_kind in ("store", "agent", "authorized_point") else "store"


def _error_fields(sub: SubscriptionRow) -> list[str]:
    return [e.rsplit(":", 1)[0] for e in sub.error_codes if e]


def _errors_of(sub: SubscriptionRow) -> list[dict[str, str]]:
    out = []
    for item in sub.error_codes:
        if item:
            path, _, code = item.rpartition(":")
            out.append({"field": path, "code": code})
    return out


def _shown_paths(masked: Mapping[str, Any]) -> list[str]:
    return sorted(p for p in flatten({k: v for k, v in masked.items() if k in _PERSON_SECTIONS}))


def _card(
    uow: UnitOfWork, ctx: PosContext, sub: SubscriptionRow, record: Mapping[str, Any], actor: Actor, purpose: str | None
) -> dict[str, Any]:
    visibility = visible_fields(actor.role, purpose)
    restricted = _restricted(uow, sub)
    # A holder who asked for restriction is kept on file but not shown at the counter (only the DPO's export).
    masked = {} if restricted else mask_record(record, visibility)
    latest: dict[str, Any] = {}
    for doc in uow.documents.list_for(sub.msisdn):
        latest[doc.kind] = doc
    documents = [
        {"id": d.id, "kind": d.kind, "has_image": bool(d.blob_key), "content_type": d.content_type}
        for d in latest.values()
    ]
    history = [
        {"at": h.at.isoformat(), "action": h.action, "channel": h.channel, "fields": list(h.changes.get("fields", []))}
        for h in uow.history.list_for(sub.msisdn)[-_HISTORY_SHOWN:]
    ]
    return {
        "msisdn": msisdn_from_key(sub.msisdn),
        "status": sub.status,
        "subscriber_type": sub.subscriber_type,
        "payment_type": sub.payment_type,
        "activated_on": sub.activated_on.isoformat() if sub.activated_on else None,
        "phase": phase_of(sub.activated_on, ctx.phase_reference),
        "compliance": {
            "complete": sub.complete,
            "missing": list(sub.missing),
            "errors": _errors_of(sub),
            "rule_set": sub.rule_set,
            "evaluated_on": sub.evaluated_on.isoformat(),
        },
        "gate": {
            "update_required": not sub.complete and sub.status != "terminated",
            "allowed": list(gate.allowed_kinds(status=sub.status, complete=sub.complete)),
        },
        "holder": masked.get("holder"),
        "guardian": masked.get("guardian"),
        "organization": masked.get("organization"),
        "visibility": {"masked": bool(visibility.masked), "images": visibility.images and not restricted},
        "restricted": restricted,
        "documents": documents,
        "history": history,
    }


# --- images ---------------------------------------------------------------------------------------


def check_images(images: Mapping[str, bytes], *, ctx: PosContext, id_type: str | None) -> ImageCheck:
    """Quality checks of uploaded images by document kind; InputError lists every problem.

    The update and registration use cases call it before they open the unit of work (it is CPU-bound).
    """
    unknown = [FieldError(f"documents.{k}", "invalid_choice") for k in images if k not in DOCUMENT_KINDS]
    if unknown:
        raise InputError(unknown)
    if not images:
        return ImageCheck()
    if ctx.images is None:
        raise InputError([FieldError(f"documents.{k}", "image_not_supported") for k in images])
    result = ctx.images.check(images, id_type=id_type)
    if result.errors:
        raise InputError(result.errors)
    return result


def _signer(record: Mapping[str, Any]) -> str | None:
    """Who signs and shows their card: the guardian of an under-14, else the holder (an organization's legal
    representative); None for a person the organization authorized, who is not in the record: their card
    photos and the authorization letter are kept as documents, nothing of the representative is checked
    against that card or filled from it."""
    guardian = record.get("guardian")
    if isinstance(guardian, Mapping) and guardian:
        return "guardian"
    organization = record.get("organization")
    if isinstance(organization, Mapping) and organization.get("signer_is_representative") is False:
        return None
    return "holder"


def _readability(images: Mapping[str, bytes], check: ImageCheck, id_type: str | None) -> None:
    """A chip CCCD must be readable from the card photos (checked once the signer's ID type is known)."""
    cards = [k for k in CARD_KINDS if k in images]
    if cards and check.card_source is None and needs_readable_card(id_type):
        raise InputError([FieldError(f"documents.{k}", "id_unreadable") for k in cards])


def _fill_from_card(record: dict[str, Any], check: ImageCheck) -> list[str]:
    """Fill the signer's absent fields from the card's QR/MRZ; refuse a card of another person."""
    who = _signer(record)
    if not check.card_fields or who is None:
        return []
    person = dict(record.get(who) or {})
    given = person.get("id_number")
    read = check.card_fields.get("id_number")
    if not is_absent(given) and read and "".join(str(given).split()) != read:
        raise InputError([FieldError("documents.id_front", "id_card_mismatch")])
    filled = []
    for name, value in check.card_fields.items():
        if is_absent(person.get(name)) and not is_absent(value):
            person[name] = value
            filled.append(f"{who}.{name}")
    record[who] = person
    return sorted(filled)


def _changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    bad = [FieldError(str(k), "unknown_field") for k in changes if k not in EDITABLE_FIELDS]
    bad += [
        FieldError(str(k), "invalid_format")
        for k in _PERSON_SECTIONS
        if k in changes and changes[k] is not None and not isinstance(changes[k], Mapping)
    ]
    if bad:
        raise InputError(bad)
    return dict(changes)


def _merge(record: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for key, value in changes.items():
        if key in _PERSON_SECTIONS and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            merged = {**out[key], **value}
            out[key] = {k: v for k, v in merged.items() if v is not None}
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _result_errors(result: CheckResult) -> list[FieldError]:
    return list(result.errors)


# --- use cases ----------------------------------------------------------------------------------


def lookup_by_msisdn(
    msisdn: str | int, *, uow: UnitOfWork, ctx: PosContext, actor: Actor, purpose: str | None
) -> dict[str, Any]:
    """The look-up card of one subscription (masked per role and purpose); audited `subscription:read`."""
    with uow:
        uow.counter.lock_for_write()
        sub = _load(uow, msisdn)
        _require_for(uow, ctx, actor, Permission.SUBSCRIPTION_READ, purpose, sub)
        record = record_of(sub, uow=uow, vault=ctx.vault)
        card = _card(uow, ctx, sub, record, actor, purpose)
        _audit(
            uow, ctx, actor, AuditAction.SUBSCRIPTION_READ, card["msisdn"], fields=_shown_paths(card), purpose=purpose
        )
        uow.commit()
    return card


def lookup_by_id_document(
    id_type: str | None, id_number: str, *, uow: UnitOfWork, ctx: PosContext, actor: Actor, purpose: str | None
) -> dict[str, Any]:
    """Every subscription under one ID document, found through its blind index; audited `lookup:by_id`."""
    _require(actor, Permission.SUBSCRIPTION_LOOKUP_BY_ID, purpose)
    if not isinstance(id_number, str) or is_absent(id_number):
        raise InputError([FieldError("id_number", "required")])
    doc_key = ctx.rule_set.document_key({"holder": {"id_type": id_type, "id_number": id_number}})
    if doc_key is None:
        raise InputError([FieldError("id_number", "invalid_id_number")])
    blind = ctx.vault.blind(doc_key)
    with uow:
        uow.counter.lock_for_write()
        holders = uow.holders.find_by_blind(blind)
        subs = uow.subscriptions.list_by_holders([h.id for h in holders]) if holders else []
        cards = []
        for sub in subs:
            if not authorize(actor, Permission.SUBSCRIPTION_READ, purpose=purpose, subject_scope=_scope(uow, ctx, sub)):
                continue
            record = record_of(sub, uow=uow, vault=ctx.vault)
            card = _card(uow, ctx, sub, record, actor, purpose)
            _audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_READ, card["msisdn"], fields=_shown_paths(card),
                   purpose=purpose)  # fmt: skip
            cards.append(card)
        subject = audit_log.subject_for_holder(holders[0].id) if holders else None
        _audit(uow, ctx, actor, AuditAction.LOOKUP_BY_ID, None, fields=("holder.id_number",), purpose=purpose,
               details={"results": len(cards)}, subject=subject)  # fmt: skip
        uow.commit()
    return {"count": len(cards), "subscriptions": cards}


def open_visit(
    msisdn: str | int,
    id_number: str,
    *,
    uow: UnitOfWork,
    ctx: PosContext,
    actor: Actor,
    purpose: str | None = Purpose.TRANSACTION,
) -> dict[str, Any]:
    """Open a serving visit: the ID document shown must be the holder's (compared by blind index).

    The visit puts the subscription in the point of sale's scope for `serving_minutes`. A wrong ID
    number is refused (403 `presence_not_proven`) and audited as `access:denied`.
    """
    if actor.point_of_sale_id is None:
        _require(actor, Permission.SUBSCRIPTION_READ, purpose, Scope())
    if not isinstance(id_number, str) or is_absent(id_number):
        raise InputError([FieldError("id_number", "required")])
    with uow:
        uow.counter.lock_for_write()
        sub = _load(uow, msisdn)
        e164 = msisdn_from_key(sub.msisdn)
        # Role, purpose and point-of-sale kind, as if the visit were already open.
        _require(actor, Permission.SUBSCRIPTION_READ, purpose, Scope.of(None, [actor.point_of_sale_id or 0]))
        holder = uow.holders.get(sub.holder_id)
        id_type = holder.id_type if holder is not None else None
        doc_key = ctx.rule_set.document_key({"holder": {"id_type": id_type, "id_number": id_number}})
        proven = (
            holder is not None
            and holder.id_blind is not None
            and doc_key is not None
            and hmac.compare_digest(ctx.vault.blind(doc_key), holder.id_blind)
        )
        if not proven:
            _audit(uow, ctx, actor, AuditAction.ACCESS_DENIED, e164, purpose=purpose,
                   details={"reason": "presence_not_proven"})  # fmt: skip
            uow.commit()
            err = PermissionDeniedError("presence_not_proven")
            err.errors = [FieldError("id_number", "presence_not_proven")]  # type: ignore[attr-defined]
            raise err
        expires = ctx.now + timedelta(minutes=ctx.serving_minutes)
        visit_id = uow.counter.open_visit(
            sub.msisdn,
            point_of_sale_id=actor.point_of_sale_id or 0,
            staff_id=actor.staff_id,
            opened_at=ctx.now,
            expires_at=expires,
        )
        _audit(uow, ctx, actor, COUNTER_TRANSACTION, e164, purpose=purpose,
               details={"kind": "serving_visit", "outcome": "done"})  # fmt: skip
        uow.commit()
    return {"visit_id": visit_id, "msisdn": e164, "expires_at": expires.isoformat()}


def transact(
    msisdn: str | int,
    kind: str,
    *,
    uow: UnitOfWork,
    ctx: PosContext,
    actor: Actor,
    purpose: str | None = Purpose.TRANSACTION,
) -> dict[str, Any]:
    """Run a counter transaction through the gate; recorded done or refused (then 409 with the reason)."""
    if kind not in gate.TRANSACTION_KINDS:
        raise InputError([FieldError("kind", "invalid_choice")])
    with uow:
        uow.counter.lock_for_write()
        sub = _load(uow, msisdn)
        _require_for(uow, ctx, actor, Permission.SUBSCRIPTION_READ, purpose, sub)
        decision = gate.decide(
            kind, status=sub.status, complete=sub.complete, missing=sub.missing, error_fields=_error_fields(sub)
        )
        outcome = "done" if decision.allowed else "refused"
        tx_id = uow.counter.add_transaction(
            {
                "msisdn": sub.msisdn,
                "kind": kind,
                "outcome": outcome,
                "refusal_code": decision.code,
                "at": ctx.now,
                "staff_id": actor.staff_id,
                "point_of_sale_id": actor.point_of_sale_id,
            }
        )
        e164 = msisdn_from_key(sub.msisdn)
        _audit(uow, ctx, actor, COUNTER_TRANSACTION, e164, purpose=purpose,
               details={"kind": kind, "outcome": outcome, "refusal_code": decision.code})  # fmt: skip
        uow.commit()
    if not decision.allowed:
        raise decision.error()
    return {"id": tx_id, "msisdn": e164, "kind": kind, "outcome": outcome}


def pay_bill(
    msisdn: str | int,
    amount_vnd: int,
    *,
    reference: str | None = None,
    uow: UnitOfWork,
    ctx: PosContext,
    actor: Actor,
    purpose: str | None = Purpose.TRANSACTION,
) -> dict[str, Any]:
    """Record a bill payment (never gated) and say whether to offer the update in the same visit.

    Any point of sale may take a payment for any number (no scope needed): it shows no personal data,
    only whether the information is complete and which items are missing (paths, not values).
    """
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int) or not 0 < amount_vnd <= _MAX_AMOUNT_VND:
        raise InputError([FieldError("amount_vnd", "invalid_format")])
    if reference is not None and len(reference) > 64:
        raise InputError([FieldError("reference", "too_long")])
    # The payer is served where they pay: the point of sale itself is the scope.
    _require(actor, Permission.SUBSCRIPTION_READ, purpose, Scope.of(None, [actor.point_of_sale_id or 0]))
    with uow:
        uow.counter.lock_for_write()
        sub = _load(uow, msisdn)
        payment_id = uow.counter.add_payment(
            {
                "msisdn": sub.msisdn,
                "amount_vnd": amount_vnd,
                "reference": reference,
                "paid_at": ctx.now,
                "staff_id": actor.staff_id,
                "point_of_sale_id": actor.point_of_sale_id,
            }
        )
        uow.counter.add_transaction(
            {
                "msisdn": sub.msisdn,
                "kind": gate.TransactionKind.BILL_PAYMENT.value,
                "outcome": "done",
                "refusal_code": None,
                "at": ctx.now,
                "staff_id": actor.staff_id,
                "point_of_sale_id": actor.point_of_sale_id,
            }
        )
        e164 = msisdn_from_key(sub.msisdn)
        offered = gate.offer_update(status=sub.status, complete=sub.complete)
        _audit(uow, ctx, actor, COUNTER_TRANSACTION, e164, purpose=purpose,
               details={"kind": "bill_payment", "outcome": "done", "update_offered": offered})  # fmt: skip
        uow.commit()
    return {
        "payment_id": payment_id,
        "msisdn": e164,
        "amount_vnd": amount_vnd,
        "status": sub.status,
        "update_offered": offered,
        "missing": list(dict.fromkeys([*sub.missing, *_error_fields(sub)])) if offered else [],
    }


@dataclass(slots=True)
class _Saved:
    result: CheckResult
    filled: list[str] = field(default_factory=list)


def _seal_ahead(
    uow: UnitOfWork, ctx: PosContext, images: Mapping[str, bytes], record: Callable[[], dict[str, Any]]
) -> SealedImages | None:
    """Encrypt and store the images before the write lock is taken, so that their fsyncs run in parallel.

    Only reads, then ends its snapshot. Whatever would refuse the request (`record()` raising, a card of
    someone else) is left to the locked phase, which checks and reports it again: here it only means
    that nothing is sealed ahead.
    """
    if not images:
        return None
    try:
        return seal_images(record(), images, uow=uow, vault=ctx.vault, blobs=ctx.blobs, rule_set=ctx.rule_set)
    except SubregError:
        return None
    finally:
        uow.rollback()


def _prepared(record: dict[str, Any], check: ImageCheck) -> dict[str, Any]:
    """`record` as `_save` will store it: the signer's absent fields filled from the card."""
    _fill_from_card(record, check)
    return record


def _save(
    record: dict[str, Any],
    images: Mapping[str, bytes],
    check: ImageCheck,
    *,
    uow: UnitOfWork,
    ctx: PosContext,
    actor: Actor,
    sealed: SealedImages | None = None,
    stored: SubscriptionRow | None = None,
) -> _Saved:
    filled = _fill_from_card(record, check)
    who = _signer(record)
    signer = record.get(who) if who else None
    _readability(images, check, signer.get("id_type") if isinstance(signer, Mapping) else None)
    result = store_subscription(
        record,
        uow=uow,
        vault=ctx.vault,
        blobs=ctx.blobs,
        as_of=ctx.today,
        actor=actor.staff_id,
        channel=_channel(actor),
        images=images,
        rule_set=ctx.rule_set,
        sealed=sealed,
        stored=stored,
    )
    return _Saved(result, filled)


def update_subscription(
    msisdn: str | int,
    changes: Mapping[str, Any],
    images: Mapping[str, bytes] | None = None,
    *,
    uow: UnitOfWork,
    ctx: PosContext,
    actor: Actor,
    purpose: str | None = Purpose.UPDATE,
) -> dict[str, Any]:
    """Update a subscription's information with field changes and up to three images.

    Images are quality-checked first (`check_images`, before the unit of work opens); holder fields the
    card's QR/MRZ gives fill the absent ones; the rule set re-checks the whole record, and any
    invalid value refuses the update (422, field-level). Still-missing items are reported, not
    refused: an update may be done in steps. A locked subscription that becomes complete gets an
    `unlock` network order (reason `information_complete`), carried out by the enforcement work.
    """
    images = dict(images or {})
    changes = _changes(changes)
    check = check_images(images, ctx=ctx, id_type=None)

    def current(*, audit_refusal: bool) -> tuple[SubscriptionRow, dict[str, Any]]:
        """The subscription and its record with the changes applied, once access is allowed."""
        sub = _load(uow, msisdn)
        if audit_refusal:
            _require_for(uow, ctx, actor, Permission.SUBSCRIPTION_UPDATE, purpose, sub)
        else:  # the first, read-only phase: the locked phase checks again and audits a refusal
            _require(actor, Permission.SUBSCRIPTION_UPDATE, purpose, _scope(uow, ctx, sub))
        _refuse_if_restricted(uow, sub)
        return sub, _merge(record_of(sub, uow=uow, vault=ctx.vault), changes)

    with uow:
        sealed = _seal_ahead(uow, ctx, images, lambda: _prepared(current(audit_refusal=False)[1], check))
        uow.counter.lock_for_write()
        sub, record = current(audit_refusal=True)
        saved = _save(record, images, check, uow=uow, ctx=ctx, actor=actor, sealed=sealed, stored=sub)
        result = saved.result
        if not result.valid:
            uow.rollback()
            raise InputError(_result_errors(result))
        unlock = False
        if sub.status in gate.LOCKED_STATUSES and result.complete:
            queued = uow.counter.list_network_orders(sub.msisdn, status="queued")
            if not any(o.action == "unlock" for o in queued):
                uow.counter.add_network_order(
                    {
                        "msisdn": sub.msisdn,
                        "action": "unlock",
                        "status": "queued",
                        "reason": _UNLOCK_REASON,
                        "created_by_staff_id": actor.staff_id,
                        "priority": _UNLOCK_PRIORITY,
                    }
                )
            unlock = True
        e164 = msisdn_from_key(sub.msisdn)
        paths = sorted({*flatten({k: v for k, v in changes.items() if k in _PERSON_SECTIONS}), *saved.filled,
                        *(f"documents.{k}" for k in images)})  # fmt: skip
        paths += sorted(k for k in changes if k not in _PERSON_SECTIONS)
        _audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_UPDATED, e164, fields=paths, purpose=purpose,
               details={"complete": result.complete, "unlock_queued": unlock})  # fmt: skip
        uow.commit()
    return {
        "msisdn": e164,
        "status": sub.status,
        "complete": result.complete,
        "missing": list(result.missing),
        "derived": dict(result.derived),
        "filled_from_card": saved.filled,
        "card_source": check.card_source,
        "unlock_queued": unlock,
    }


def register_subscription(
    record: Mapping[str, Any],
    images: Mapping[str, bytes] | None = None,
    *,
    uow: UnitOfWork,
    ctx: PosContext,
    actor: Actor,
    purpose: str | None = Purpose.REGISTRATION,
    consent_accepted: bool = True,
    consent_text: str | None = None,
) -> dict[str, Any]:
    """Register a new subscription at the caller's point of sale, only when Decree 49 is satisfied.

    Refused with every reason (409 `registration_incomplete`, field-level errors and `missing`)
    unless complete: documents, portrait, guardian for under-14s, organization papers; from the 4th
    subscription under one ID document a contract number (`contract_required`). The consent shown
    is recorded with the subscription; without it the registration is refused (`consent_required`).
    """
    _require(actor, Permission.SUBSCRIPTION_REGISTER, purpose)
    images = dict(images or {})
    fields_in = dict(record)
    number = fields_in.pop("msisdn", None)
    key = _key(number if isinstance(number, str) else "")
    changes = _changes(fields_in)
    if not consent_accepted:
        raise gate.RegistrationIncompleteError([FieldError("consent", "consent_required")], ["consent"])
    check = check_images(images, ctx=ctx, id_type=None)
    with uow:
        sealed = _seal_ahead(uow, ctx, images, lambda: _prepared(_new_record(uow, ctx, actor, key, changes), check))
        uow.counter.lock_for_write()
        full = _new_record(uow, ctx, actor, key, changes)
        saved = _save(full, images, check, uow=uow, ctx=ctx, actor=actor, sealed=sealed)
        result = saved.result
        if not result.complete:
            uow.rollback()
            reasons = list(result.errors)
            listed = {e.field for e in reasons}
            reasons += [FieldError(m, "required") for m in result.missing if m not in listed]
            raise gate.RegistrationIncompleteError(reasons, list(result.missing))
        e164 = msisdn_from_key(key)
        sub = uow.subscriptions.get(key)
        _record_consent(uow, ctx, actor, sub, consent_text)
        _audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_REGISTERED, e164, purpose=purpose,
               fields=sorted(flatten({k: v for k, v in full.items() if k in _PERSON_SECTIONS})),
               details={"documents": sorted(images)})  # fmt: skip
        uow.commit()
    return {
        "msisdn": e164,
        "status": "active",
        "complete": True,
        "derived": dict(result.derived),
        "filled_from_card": saved.filled,
        "card_source": check.card_source,
    }


def _new_record(uow: UnitOfWork, ctx: PosContext, actor: Actor, key: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """A registration's record: the fields given, activated today at the caller's point of sale."""
    if uow.subscriptions.get(key) is not None:
        err = DuplicateMsisdnError("msisdn taken")
        err.errors = [FieldError("msisdn", "duplicate_msisdn")]  # type: ignore[attr-defined]
        raise err
    pos_code = uow.counter.point_of_sale_code(actor.point_of_sale_id) if actor.point_of_sale_id else None
    full = {
        **changes,
        "msisdn": msisdn_from_key(key),
        "activated_on": ctx.today.isoformat(),
        "channel": _channel(actor),
        "status": "active",
    }
    if pos_code:
        full["point_of_sale"] = pos_code
    return full


def _record_consent(
    uow: UnitOfWork, ctx: PosContext, actor: Actor, sub: SubscriptionRow | None, text: str | None
) -> None:
    """The consent shown at registration, with the subscription (privacy.record_consent audits it too)."""
    if sub is None:
        return
    privacy.record_consent(
        uow, sub.holder_id, sub.msisdn, ctx.consent_version, True, actor, text=text or None, now=ctx.now
    )


def postpaid_suggestions(
    msisdn: str | int,
    *,
    uow: UnitOfWork,
    ctx: PosContext,
    actor: Actor,
    purpose: str | None = Purpose.UPDATE,
) -> dict[str, Any]:
    """What the system can fill for staff to confirm, without asking the customer.

    From the papers: `nationality` VNM from a CMND/CCCD, gender and birth year from a CCCD number,
    `purpose` personal_use for an individual (`domain.derivations`); and, when a colour scan of the
    card's front is held, the holder fields its QR code gives. Only ABSENT fields are proposed.
    Confirming is an ordinary `update_subscription` with the accepted values.
    """
    with uow:
        uow.counter.lock_for_write()
        sub = _load(uow, msisdn)
        _require_for(uow, ctx, actor, Permission.SUBSCRIPTION_UPDATE, purpose, sub)
        _refuse_if_restricted(uow, sub)
        uow.rollback()  # reading the card scans can take seconds (OCR): not while holding the write lock
        record = record_of(sub, uow=uow, vault=ctx.vault)
        suggestions: dict[str, dict[str, Any]] = {}
        check = ctx.rule_set.check(record, as_of=ctx.today)
        for path, value in check.derived.items():
            suggestions[path] = {"field": path, "value": value, "source": "derived"}
        scans = [d for d in uow.documents.list_for(sub.msisdn) if d.kind in CARD_KINDS and d.blob_key]
        holder = record.get("holder") if isinstance(record.get("holder"), Mapping) else {}
        if scans and ctx.images is not None:
            for doc in reversed(scans):  # newest first
                _, data = read_document(doc.id, uow=uow, vault=ctx.vault, blobs=ctx.blobs)
                fields, source = ctx.images.read_card(data)
                if source is None:
                    continue
                for name, value in fields.items():
                    path = f"holder.{name}"
                    if is_absent((holder or {}).get(name)) and path not in suggestions and not is_absent(value):
                        suggestions[path] = {"field": path, "value": value, "source": f"{doc.kind}:{source}"}
                break
        e164 = msisdn_from_key(sub.msisdn)
        uow.rollback()
        uow.counter.lock_for_write()
        _audit(uow, ctx, actor, AuditAction.SUBSCRIPTION_READ, e164, fields=sorted(suggestions), purpose=purpose,
               details={"view": "postpaid_suggestions"})  # fmt: skip
        uow.commit()
    covered = [m for m in sub.missing if m in suggestions]
    return {
        "msisdn": e164,
        "payment_type": sub.payment_type,
        "suggestions": [suggestions[k] for k in sorted(suggestions)],
        "missing": list(sub.missing),
        "missing_covered": covered,
    }


def view_document_image(
    document_id: int, *, uow: UnitOfWork, ctx: PosContext, actor: Actor, purpose: str | None
) -> tuple[str, bytes]:
    """Content type and bytes of a stored image; needs `document:view_image` for the purpose, audited."""
    with uow:
        uow.counter.lock_for_write()
        doc = uow.documents.get(document_id)
        if doc is None or not doc.blob_key:
            err = NotFoundError("document not found")
            err.errors = [FieldError("document_id", "not_found")]  # type: ignore[attr-defined]
            raise err
        sub = _load(uow, doc.msisdn)
        _require_for(uow, ctx, actor, Permission.DOCUMENT_VIEW_IMAGE, purpose, sub)
        _refuse_if_restricted(uow, sub)
        content_type, data = read_document(document_id, uow=uow, vault=ctx.vault, blobs=ctx.blobs)
        _audit(uow, ctx, actor, AuditAction.DOCUMENT_IMAGE_VIEWED, msisdn_from_key(sub.msisdn),
               fields=(f"documents.{doc.kind}",), purpose=purpose, details={"document_id": doc.id})  # fmt: skip
        uow.commit()
    return content_type, data
