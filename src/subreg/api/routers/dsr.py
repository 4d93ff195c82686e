"""API routes: data-subject requests (the DPO, `dsr:manage`).

Phone and ID numbers identifying the data subject travel only in POST bodies, never in URLs.
Requests are then named by their id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from subreg.api.deps import actor, container, requires, run_use_case
from subreg.api.schemas.ids import RowIdPath
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.errors import NotFoundError
from subreg.services import privacy

router = APIRouter(prefix="/dsr", tags=["dsr"])

_EXAMPLE = {
    "id": 12,
    "kind": "export",
    "holder_id": 17,
    "status": "open",
    "received_at": "2026-03-02T02:10:00Z",
    "due_on": "2026-04-01",
    "closed_at": None,
    "outcome": None,
}


class DsrOpen(BaseModel):
    """A new request: its kind and the data subject, by one phone number or the ID document number."""

    kind: Literal["export", "access", "restrict", "object", "erase"]
    msisdn: str | None = Field(None, max_length=20)
    id_number: str | None = Field(None, max_length=20)

    @model_validator(mode="after")
    def _one_identifier(self) -> DsrOpen:
        if (self.msisdn is None) == (self.id_number is None):
            from subreg.domain.common.errors import FieldError, InputError

            raise InputError([FieldError("msisdn", "required")])
        return self


class DsrRead(BaseModel):
    """A data-subject request and its deadline; `outcome` is a code (exported, restricted, ...)."""

    id: int
    kind: str
    holder_id: int | None
    status: str
    received_at: datetime
    due_on: date
    closed_at: datetime | None
    outcome: str | None

    model_config = {"json_schema_extra": {"examples": [_EXAMPLE]}}


def _read(row: Any) -> DsrRead:
    return DsrRead(
        id=row.id, kind=row.kind, holder_id=row.holder_id, status=row.status, received_at=row.received_at,
        due_on=row.due_on, closed_at=row.closed_at, outcome=row.outcome,
    )  # fmt: skip


@router.post(
    "",
    response_model=DsrRead,
    status_code=201,
    dependencies=[requires(Permission.DSR_MANAGE)],
    summary="Log a data-subject request",
)
async def open_request(
    body: Annotated[
        DsrOpen,
        Body(
            openapi_examples={
                "export": {
                    "summary": "Copy of everything, by phone",
                    "value": {"kind": "export", "msisdn": "0912345678"},
                },
                "erase": {"summary": "Erasure, by ID number", "value": {"kind": "erase", "id_number": "079190123456"}},
            }
        ),
    ],
    who: Actor = Depends(actor),
    c: Container = Depends(container),
) -> DsrRead:
    """Log the request with its deadline (received + `dsr_deadline_days`)."""

    def run() -> Any:
        with c.uow() as uow:
            return privacy.open_request(
                uow, kind=body.kind, actor=who, vault=c.vault, rule_set=c.rule_set,
                deadline_days=c.settings.dsr_deadline_days, msisdn=body.msisdn, id_number=body.id_number,
            )  # fmt: skip

    return _read(await run_use_case(run))


@router.get(
    "",
    response_model=list[DsrRead],
    dependencies=[requires(Permission.DSR_MANAGE)],
    summary="List data-subject requests, soonest deadline first",
)
async def list_requests(
    status: Annotated[
        Literal["open", "done", "refused"] | None, Query(openapi_examples={"open": {"value": "open"}})
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    c: Container = Depends(container),
) -> list[DsrRead]:
    """Requests and their deadlines."""

    def run() -> list[Any]:
        with c.uow() as uow:
            return privacy.list_requests(uow, status=status, limit=limit)

    return [_read(r) for r in await run_use_case(run)]


@router.get(
    "/{request_id}",
    response_model=DsrRead,
    dependencies=[requires(Permission.DSR_MANAGE)],
    summary="One data-subject request",
)
async def get_request(request_id: RowIdPath, c: Container = Depends(container)) -> DsrRead:
    """The request, its deadline and outcome."""

    def run() -> Any:
        with c.uow() as uow:
            row = uow.privacy.get_request(request_id)
        if row is None:
            raise NotFoundError("request not found")
        return row

    return _read(await run_use_case(run))


@router.post(
    "/{request_id}/export",
    dependencies=[requires(Permission.DSR_MANAGE)],
    summary="Export everything held about the data subject (ZIP)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "README.txt, data.json, images/"}},
)
async def export(request_id: RowIdPath, who: Actor = Depends(actor), c: Container = Depends(container)) -> Response:
    """A ZIP archive (README.txt in Vietnamese and English, data.json, images/); logged as `dsr:export`."""

    def run() -> bytes:
        with c.uow() as uow:
            return privacy.export_request(uow, request_id, actor=who, vault=c.vault, registry=c.registry())

    data = await run_use_case(run)
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="dsr-{request_id}.zip"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/{request_id}/fulfil",
    response_model=DsrRead,
    dependencies=[requires(Permission.DSR_MANAGE)],
    summary="Carry out a restrict, object or erase request",
)
async def fulfil(request_id: RowIdPath, who: Actor = Depends(actor), c: Container = Depends(container)) -> DsrRead:
    """Set the flag, or crypto-shred (erase) when no subscription is live or in its retention period;
    otherwise the erasure is refused (`legal_retention`) and the holder restricted."""

    def run() -> Any:
        with c.uow() as uow:
            return privacy.fulfil_request(
                uow, request_id, actor=who, blobs=c.blobs, retention_years=c.settings.retention_years
            )

    return _read(await run_use_case(run))
