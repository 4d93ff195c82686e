"""The subscription record of the data dictionary, as an OpenAPI schema.

Requests are checked by the rule set (which gives Decree 49 field-level codes), not by these models;
they exist so that the contract is visible and example-rich in /docs. Their value lists are the domain's
and the default rule set's own (a channel or an ID type added there shows here).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from subreg.domain.compliance.records import CHANNELS, GENDERS, PAYMENT_TYPES, STATUSES, SUBSCRIBER_TYPES
from subreg.domain.compliance.rules import get_rule_set

# Literal[tuple] is Literal[each member]: the schema's enums come from the domain's tuples.
_ID_TYPES = Literal[get_rule_set().id_types]
_GENDERS = Literal[GENDERS]
_SUBSCRIBER_TYPES = Literal[SUBSCRIBER_TYPES]
_PAYMENT_TYPES = Literal[PAYMENT_TYPES]
_CHANNELS = Literal[CHANNELS]
_STATUSES = Literal[STATUSES]

__all__ = [
    "CheckResponse",
    "CheckResultRead",
    "CheckSummaryRead",
    "DocumentsIn",
    "FieldErrorRead",
    "GuardianIn",
    "HolderIn",
    "OrganizationIn",
    "SubscriptionRecord",
]


class HolderIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    full_name: str | None = Field(None, examples=["Nguyễn Thị Ánh"])
    date_of_birth: date | None = Field(None, examples=["1990-05-17"])
    gender: _GENDERS | None = None
    nationality: str | None = Field(None, description="ISO 3166-1 alpha-3", examples=["VNM"])
    id_type: _ID_TYPES | None = None
    id_number: str | None = Field(None, examples=["079190123456"])
    id_issue_date: date | None = None
    id_issue_place: str | None = Field(None, examples=["Cục Cảnh sát QLHC về TTXH"])
    id_expiry_date: date | None = None
    address: str | None = Field(None, examples=["12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh"])


class GuardianIn(HolderIn):
    relationship: str | None = Field(None, examples=["mother"])


class OrganizationIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    registration_number: str | None = None
    registration_date: date | None = None
    address: str | None = None
    signer_is_representative: bool | None = Field(
        None, description="False when the signer is not the legal representative (authorization letter needed)"
    )
    users: list[HolderIn] | None = None


class DocumentsIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    portrait: str | None = Field(None, description="Reference to a stored image", examples=["blob:3f9a…"])
    id_front: str | None = None
    id_back: str | None = None
    passport_page: str | None = None
    contract: str | None = None
    confirmation_form: str | None = None
    authorization_letter: str | None = None
    organization_certificate: str | None = None
    user_list: str | None = None


class SubscriptionRecord(BaseModel):
    """One subscription in the data dictionary's shape."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "msisdn": "0901234567",
                    "subscriber_type": "individual",
                    "payment_type": "prepaid",
                    "activated_on": "2016-03-01",
                    "channel": "store",
                    "point_of_sale": "HCM-Q1-01",
                    "holder": {
                        "full_name": "Nguyễn Thị Ánh",
                        "date_of_birth": "1990-05-17",
                        "gender": "female",
                        "id_type": "cccd",
                        "id_number": "079190123456",
                        "id_issue_date": "2021-06-01",
                        "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
                        "address": "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh",
                    },
                    "documents": {"portrait": "blob:p1", "id_front": "blob:f1", "id_back": "blob:b1"},
                }
            ]
        },
    )
    msisdn: str = Field(..., examples=["0901234567", "+84 90 123 4567", "01201234567"])
    subscriber_type: _SUBSCRIBER_TYPES | None = None
    payment_type: _PAYMENT_TYPES | None = None
    activated_on: date | None = None
    channel: _CHANNELS | None = None
    point_of_sale: str | None = None
    contract_number: str | None = None
    holder: HolderIn | None = None
    guardian: GuardianIn | None = None
    organization: OrganizationIn | None = None
    documents: DocumentsIn | None = None
    status: _STATUSES | None = None


class FieldErrorRead(BaseModel):
    field: str = Field(..., examples=["holder.id_number"])
    code: str = Field(..., examples=["id_birth_year_mismatch"])
    message: str = Field(..., examples=["Số CCCD không khớp năm sinh: số giấy tờ"])


class CheckResultRead(BaseModel):
    """The check result of the data dictionary."""

    line: int | None = Field(None, description="1-based position of the record in the input")
    msisdn: str | None = Field(None, examples=["+84901234567"])
    valid: bool
    complete: bool
    errors: list[FieldErrorRead]
    missing: list[str] = Field(..., examples=[["documents.portrait", "holder.id_issue_place"]])
    derived: dict[str, object] = Field(..., examples=[{"holder.nationality": "VNM"}])


class CheckSummaryRead(BaseModel):
    total: int
    complete: int
    incomplete: int
    invalid: int


class CheckResponse(BaseModel):
    summary: CheckSummaryRead
    results: list[CheckResultRead]
