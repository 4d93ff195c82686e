"""API schemas of the point of sale (requests validated by pydantic; responses documented with examples).

Personal data never travels in a URL: numbers and ID numbers are looked up in POST bodies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from subreg.domain.counter.gate import TRANSACTION_KINDS

__all__ = [
    "ERROR_RESPONSES",
    "LookupByIdIn",
    "LookupByIdRead",
    "LookupIn",
    "PaymentIn",
    "PaymentRead",
    "RegisterRead",
    "SubscriptionCardRead",
    "SuggestionsIn",
    "SuggestionsRead",
    "TransactionIn",
    "TransactionRead",
    "UpdateRead",
    "VisitIn",
    "VisitRead",
]

PurposeCode = Literal["registration", "transaction", "update", "customer_request", "enforcement", "dsr"]
TransactionKindCode = Literal[TRANSACTION_KINDS]  # type: ignore[valid-type]

_MSISDN = Field(..., max_length=32, description="Any common form", examples=["0901234567"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LookupIn(_In):
    """Look up one subscription by its number."""

    msisdn: str = _MSISDN
    purpose: PurposeCode = Field(..., description="Why the data is read (written to the audit log)")

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"msisdn": "0901234567", "purpose": "transaction"}]}
    )


class LookupByIdIn(_In):
    """Look up every subscription under one ID document (operator stores only)."""

    id_type: Literal["cmnd", "cccd", "passport"] | None = None
    id_number: str = Field(..., max_length=64)
    purpose: PurposeCode

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"id_type": "cccd", "id_number": "079190123456", "purpose": "customer_request"}]
        },
    )


class VisitIn(_In):
    """Prove the holder is present (the ID number shown must be the holder's): opens a serving visit."""

    msisdn: str = _MSISDN
    id_number: str = Field(..., max_length=64)
    purpose: PurposeCode = "transaction"

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"msisdn": "0901234567", "id_number": "079190123456", "purpose": "transaction"}]
        },
    )


class TransactionIn(_In):
    """A counter transaction, through the gate."""

    msisdn: str = _MSISDN
    kind: TransactionKindCode
    purpose: PurposeCode = "transaction"

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"msisdn": "0901234567", "kind": "sim_replacement", "purpose": "transaction"}]},
    )


class PaymentIn(_In):
    """A bill payment at the counter (never gated)."""

    msisdn: str = _MSISDN
    amount_vnd: int = Field(..., gt=0, le=1_000_000_000_000)
    reference: str | None = Field(None, max_length=64, description="Invoice or receipt number")
    purpose: PurposeCode = "transaction"

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"msisdn": "0901234567", "amount_vnd": 185000, "reference": "HD-2026-11"}]},
    )


class SuggestionsIn(_In):
    """Ask what the system can fill without asking the customer (postpaid shortcut)."""

    msisdn: str = _MSISDN
    purpose: PurposeCode = "update"

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"msisdn": "0901234567", "purpose": "update"}]}
    )


_CARD_EXAMPLE: dict[str, Any] = {
    "msisdn": "+84901234567",
    "status": "one_way_locked",
    "subscriber_type": "individual",
    "payment_type": "prepaid",
    "activated_on": "2016-03-01",
    "phase": 1,
    "compliance": {
        "complete": False,
        "missing": ["documents.portrait", "documents.id_front", "documents.id_back"],
        "errors": [],
        "rule_set": "nd49-2017",
        "evaluated_on": "2026-11-28",
    },
    "gate": {"update_required": True, "allowed": ["bill_payment"]},
    "holder": {"full_name": "Nguyễn T** Á", "id_type": "cccd", "id_number": "0791******56", "gender": "female"},
    "guardian": None,
    "organization": None,
    "visibility": {"masked": True, "images": True},
    "documents": [{"id": 12, "kind": "confirmation_form", "has_image": True, "content_type": "image/jpeg"}],
    "history": [{"at": "2026-11-28T03:00:00+00:00", "action": "created", "channel": "legacy_import", "fields": []}],
}


class SubscriptionCardRead(BaseModel):
    """The look-up card: status, compliance and exactly what is missing, phase, masked holder, history."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [_CARD_EXAMPLE]})

    msisdn: str
    status: Literal["active", "one_way_locked", "two_way_locked", "terminated"]
    phase: int | None
    enforcement: dict[str, Any] | None = Field(
        None,
        description="The line's enforcement state (notified, one_way_locked, two_way_locked, terminated or null), "
        "its dated steps and the next step with its first possible date",
        examples=[
            {
                "state": "notified",
                "notices": 2,
                "steps": [{"action": "notify", "on": "2018-04-25"}, {"action": "renotify", "on": "2018-04-26"}],
                "next": {"action": "renotify", "on": "2018-04-27"},
            }
        ],
    )
    compliance: dict[str, Any]
    gate: dict[str, Any]
    holder: dict[str, Any] | None
    documents: list[dict[str, Any]]
    history: list[dict[str, Any]]
    review: dict[str, Any] | None = Field(
        None,
        description="The supervisor's review of the line's latest flagged save: state pending, approved, rejected "
        "(with its reason; `held`: the line is locked until an approval) or sent_back (take a new photo)",
        examples=[
            {
                "state": "rejected",
                "reason": "person_mismatch",
                "flags": ["card_mismatch"],
                "kind": "registration",
                "decided_at": "2026-12-08T03:00:00+00:00",
                "held": True,
            }
        ],
    )


class LookupByIdRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 1, "subscriptions": [_CARD_EXAMPLE]}]})

    count: int
    subscriptions: list[SubscriptionCardRead]


class VisitRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"visit_id": 3, "msisdn": "+84901234567", "expires_at": "2026-11-28T03:30:00+00:00"}]
        }
    )

    visit_id: int
    msisdn: str
    expires_at: str


class TransactionRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": 9, "msisdn": "+84901234567", "kind": "package_change", "outcome": "done"}]
        }
    )

    id: int
    msisdn: str
    kind: str
    outcome: Literal["done"]


class PaymentRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": 4,
                    "msisdn": "+84901234567",
                    "amount_vnd": 185000,
                    "status": "active",
                    "update_offered": True,
                    "missing": ["documents.portrait"],
                }
            ]
        }
    )

    payment_id: int
    msisdn: str
    amount_vnd: int
    status: str
    update_offered: bool
    missing: list[str]


class UpdateRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "msisdn": "+84901234567",
                    "status": "one_way_locked",
                    "complete": True,
                    "missing": [],
                    "derived": {"holder.nationality": "VNM"},
                    "filled_from_card": ["holder.address"],
                    "card_source": "qr",
                    "unlock_queued": True,
                }
            ]
        }
    )

    msisdn: str
    status: str
    complete: bool
    missing: list[str]
    derived: dict[str, Any]
    filled_from_card: list[str]
    card_source: str | None
    unlock_queued: bool
    review_flags: list[str] = Field(
        default_factory=list, description="Why the save waits for a supervisor's review (empty: not flagged)"
    )


class RegisterRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "msisdn": "+84901111111",
                    "status": "active",
                    "complete": True,
                    "derived": {"purpose": "personal_use"},
                    "filled_from_card": [],
                    "card_source": "qr",
                }
            ]
        }
    )

    msisdn: str
    status: str
    complete: bool
    derived: dict[str, Any]
    filled_from_card: list[str]
    card_source: str | None
    review_flags: list[str] = Field(
        default_factory=list, description="Why the registration waits for a supervisor's review (empty: not flagged)"
    )


class SuggestionsRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "msisdn": "+84901234567",
                    "payment_type": "postpaid",
                    "suggestions": [
                        {"field": "holder.nationality", "value": "VNM", "source": "derived"},
                        {"field": "purpose", "value": "personal_use", "source": "derived"},
                    ],
                    "missing": ["holder.nationality"],
                    "missing_covered": ["holder.nationality"],
                }
            ]
        }
    )

    msisdn: str
    payment_type: str | None
    suggestions: list[dict[str, Any]]
    missing: list[str]
    missing_covered: list[str]


def _error(code: str, errors: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": "...", "errors": errors, **extra}}


# Documented error answers (the body shape of api/errors.py).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "Not allowed for this role, purpose or point of sale",
        "content": {
            "application/json": {
                "example": _error("permission_denied", [{"field": "msisdn", "code": "out_of_scope", "message": "..."}])
            }
        },
    },
    404: {"description": "No such subscription"},
    409: {
        "description": (
            "Refused by a rule: the gate (`update_required`), a terminated subscription, an incomplete "
            "registration (`registration_incomplete`), a taken number (`duplicate_msisdn`)"
        ),
        "content": {
            "application/json": {
                "example": _error(
                    "update_required",
                    [{"field": "documents.portrait", "code": "required", "message": "..."}],
                    missing=["documents.portrait"],
                )
            }
        },
    },
    422: {
        "description": "Invalid input, field by field (also rejected images)",
        "content": {
            "application/json": {
                "example": _error(
                    "invalid_input", [{"field": "documents.portrait", "code": "no_face", "message": "..."}]
                )
            }
        },
    },
}
