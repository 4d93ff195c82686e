"""API routes: the audit log (auditors) and anomaly signals (compliance team).

Filters that are not personal data (staff id, time, purpose, action) are query parameters. A
subscription filter is a phone number, so it travels in a POST body (`/audit/search`), never in a URL
that proxies and access logs keep. Every read of the log is itself logged (`audit:read`).

Why anomalies need `reports:read` and not `audit:read`: the signals are for the compliance team,
whose role holds `reports:read`; the answer is per-staff counts and thresholds (no
entries, no subjects), i.e. a report. Auditors read the entries behind a signal with `/audit`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from subreg.api.deps import actor, container, requires, run_use_case
from subreg.api.schemas.ids import MAX_ROW_ID
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.common.msisdn import parse_msisdn
from subreg.domain.privacy.audit_chain import utc_timestamp
from subreg.services.common import audit_trail
from subreg.services.common.ports import AuditFilter
from subreg.services.privacy import audit_log

router = APIRouter(prefix="/audit", tags=["audit"])

_ENTRY_EXAMPLE = {
    "seq": 1042,
    "at": "2026-03-02T01:15:09.123456Z",
    "actor_staff_id": 17,
    "actor_role": "store_staff",
    "point_of_sale_id": 3,
    "action": "subscription:read",
    "subject": "line:100000000042",
    "fields": ["holder.full_name", "holder.id_number"],
    "purpose": "transaction",
    "request_id": "9c1d0e6f2b7a4c3e8f5a6b7c8d9e0f1a",
    "details": {},
    "hash": "3b9f…",
}


class AuditEntryRead(BaseModel):
    """One audit entry. `subject` is a key (`line:<id>` of a subscription line, `holder:<id>`, or for entries
    written before lines had ids `sub:<keyed hash of the number>`), never
    personal data; `fields` are field paths, not values."""

    seq: int
    at: str
    actor_staff_id: int | None
    actor_role: str | None
    point_of_sale_id: int | None
    action: str
    subject: str | None
    fields: list[str]
    purpose: str | None
    request_id: str | None
    details: dict[str, Any]
    hash: str

    model_config = {"json_schema_extra": {"examples": [_ENTRY_EXAMPLE]}}


class AuditPage(BaseModel):
    """Entries newest first; pass `next_before_seq` as `before_seq` for the next page."""

    entries: list[AuditEntryRead]
    next_before_seq: int | None

    model_config = {"json_schema_extra": {"examples": [{"entries": [_ENTRY_EXAMPLE], "next_before_seq": 1042}]}}


class AuditSearch(BaseModel):
    """Search by subscription or holder (personal: hence a body, not a URL) and the usual filters."""

    msisdn: str | None = Field(None, max_length=20, description="Phone number of the subscription")
    holder_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    staff_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    since: datetime | None = None
    until: datetime | None = None
    purpose: str | None = Field(None, max_length=32)
    action: str | None = Field(None, max_length=48)
    limit: int = Field(100, ge=1, le=1000)
    before_seq: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class SignalRead(BaseModel):
    kind: str
    staff_id: int
    value: float
    threshold: float


class AnomaliesRead(BaseModel):
    """Signals over [since, until): a reason to look, not a verdict."""

    since: str | None
    until: str | None
    signals: list[SignalRead]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "since": "2026-02-01T00:00:00.000000Z",
                    "until": None,
                    "signals": [{"kind": "read_volume", "staff_id": 17, "value": 1840, "threshold": 410}],
                }
            ]
        }
    }


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return utc_timestamp(value if value.tzinfo else value.replace(tzinfo=UTC))


def _page(entries: list[Any], limit: int) -> AuditPage:
    rows = [AuditEntryRead(**audit_log.entry_as_dict(e)) for e in entries]
    return AuditPage(entries=rows, next_before_seq=rows[-1].seq if len(rows) == limit else None)


def _run_query(c: Container, who: Actor, criteria: AuditFilter) -> AuditPage:
    with c.uow() as uow:
        entries = audit_log.query(uow, actor=who, criteria=criteria)
        uow.commit()
    return _page(entries, criteria.limit)


@router.get(
    "",
    response_model=AuditPage,
    dependencies=[requires(Permission.AUDIT_READ)],
    summary="List audit entries (auditors)",
)
async def list_entries(
    staff_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, openapi_examples={"staff": {"value": 17}})] = None,
    since: Annotated[datetime | None, Query(openapi_examples={"march": {"value": "2026-03-01T00:00:00Z"}})] = None,
    until: Annotated[datetime | None, Query()] = None,
    purpose: Annotated[str | None, Query(max_length=32, openapi_examples={"p": {"value": "transaction"}})] = None,
    action: Annotated[str | None, Query(max_length=48, openapi_examples={"a": {"value": "subscription:read"}})] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    who: Actor = Depends(actor),
    c: Container = Depends(container),
) -> AuditPage:
    """Entries newest first, filtered by staff, time, purpose and action. This read is logged."""
    criteria = AuditFilter(
        staff_id=staff_id, since=_ts(since), until=_ts(until), purpose=purpose, action=action,
        limit=limit, before_seq=before_seq,
    )  # fmt: skip
    return await run_use_case(_run_query, c, who, criteria)


@router.post(
    "/search",
    response_model=AuditPage,
    dependencies=[requires(Permission.AUDIT_READ)],
    summary="Search audit entries by subscription or holder (auditors)",
)
async def search_entries(
    body: Annotated[
        AuditSearch,
        Body(
            openapi_examples={
                "subscription": {
                    "summary": "Who touched this subscription in March",
                    "value": {"msisdn": "0912345678", "since": "2026-03-01T00:00:00Z", "limit": 50},
                },
                "holder": {"summary": "Everything about one holder", "value": {"holder_id": 17}},
            }
        ),
    ],
    who: Actor = Depends(actor),
    c: Container = Depends(container),
) -> AuditPage:
    """Like `GET /audit`, with a subscription (phone number) or holder filter in the body."""
    subjects: tuple[str, ...] = ()
    if body.msisdn is not None:
        e164 = parse_msisdn(body.msisdn)
        if e164 is None:
            raise InputError([FieldError("msisdn", "invalid_msisdn")])
        with c.uow() as uow:
            subjects = audit_log.subjects_of_number(uow, c.vault, e164)
    elif body.holder_id is not None:
        subjects = (audit_trail.subject_for_holder(body.holder_id),)
    criteria = AuditFilter(
        staff_id=body.staff_id, subjects=subjects, since=_ts(body.since), until=_ts(body.until),
        purpose=body.purpose, action=body.action, limit=body.limit, before_seq=body.before_seq,
    )  # fmt: skip
    return await run_use_case(_run_query, c, who, criteria)


@router.get(
    "/anomalies",
    response_model=AnomaliesRead,
    dependencies=[requires(Permission.REPORTS_READ)],
    summary="Anomaly signals over staff activity (compliance team)",
)
async def anomalies(
    since: Annotated[datetime | None, Query(openapi_examples={"feb": {"value": "2026-02-01T00:00:00Z"}})] = None,
    until: Annotated[datetime | None, Query()] = None,
    who: Actor = Depends(actor),
    c: Container = Depends(container),
) -> AnomaliesRead:
    """Heavy readers among peers of the same role, reads outside opening hours, many ID lookups
    without a transaction; default period: the last 30 days."""
    settings = c.settings
    lo = since if since is None or since.tzinfo else since.replace(tzinfo=UTC)
    hi = until if until is None or until.tzinfo else until.replace(tzinfo=UTC)

    def run() -> AnomaliesRead:
        opening, closing = audit_log.parse_opening_hours(settings.opening_hours)
        with c.uow() as uow:
            report = audit_log.anomalies(
                uow, since=lo or datetime.now(UTC) - timedelta(days=30), until=hi, opening=opening,
                closing=closing, timezone=settings.local_timezone, actor=who,
            )  # fmt: skip
            uow.commit()
        return AnomaliesRead(**report.as_dict())

    return await run_use_case(run)
