"""POST /id-documents/parse: read holder fields from a chip-CCCD QR payload, a TD1 MRZ or a card photo."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from subreg.api.body import read_body
from subreg.api.deps import container, requires, run_use_case
from subreg.api.responses import JSON
from subreg.bootstrap import Container
from subreg.domain.common.errors import FieldError, InputError
from subreg.services.counter import id_documents as reading
from subreg.services.counter.commands import ParseIdDocument

router = APIRouter(tags=["id-documents"])

_QR_EXAMPLE = "079190123456|123456789|Nguyễn Thị Ánh|17051990|Nữ|12 Lê Lợi, Bến Nghé, Quận 1, TP Hồ Chí Minh|01062021"
_MRZ_EXAMPLE = "IDVNM1901234569079190123456<<9\n9005178F3005176VNM<<<<<<<<<<<0\nNGUYEN<<THI<ANH<<<<<<<<<<<<<<<"


class ParsedHolderRead(BaseModel):
    source: Literal["qr", "mrz"] = Field(..., description="What the fields were read from")
    holder: dict[str, Any] = Field(
        ...,
        examples=[
            {
                "id_type": "cccd",
                "id_number": "079190123456",
                "full_name": "Nguyễn Thị Ánh",
                "date_of_birth": "1990-05-17",
                "gender": "female",
                "nationality": "VNM",
                "address": "12 Lê Lợi, Bến Nghé, Quận 1, TP Hồ Chí Minh",
                "id_issue_date": "2021-06-01",
            }
        ],
    )


_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "qr": {"type": "string", "description": "Chip-CCCD QR payload (pipe-separated)"},
                        "mrz": {"type": "string", "description": "TD1 MRZ, 3 lines of 30 characters"},
                    },
                },
                "examples": {
                    "qr": {"summary": "QR payload", "value": {"qr": _QR_EXAMPLE}},
                    "mrz": {"summary": "MRZ text", "value": {"mrz": _MRZ_EXAMPLE}},
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "image": {"type": "string", "format": "binary", "description": "Photo of the card"},
                        "kind": {"type": "string", "enum": ["auto", "qr", "mrz"], "default": "auto"},
                    },
                    "required": ["image"],
                }
            },
        },
    }
}


@router.post(
    "/id-documents/parse",
    summary="Read holder fields from an ID card",
    description=(
        "Send the chip-CCCD QR payload or the TD1 MRZ as JSON, or a photo of the card as "
        "`multipart/form-data` (`image`, optional `kind`: auto|qr|mrz). Nothing is stored."
    ),
    response_model=ParsedHolderRead,
    openapi_extra=_OPENAPI,
    dependencies=[requires("id_documents:parse")],
)
async def parse_id_document(request: Request, c: Container = Depends(container)) -> JSON:
    """Parse a QR payload, an MRZ or a card image into holder fields."""
    settings = c.settings
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4, max_part_size=settings.max_upload_bytes) as form:
            upload = form.get("image")
            kind = form.get("kind") or "auto"
            if not isinstance(upload, UploadFile):
                raise InputError([FieldError("image", "required")])
            if kind not in ("auto", "qr", "mrz"):
                raise InputError([FieldError("kind", "invalid_choice")])
            data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise InputError([FieldError("image", "image_too_large")])
        cmd = ParseIdDocument(image=data, kind=str(kind))
        return JSON(await run_use_case(reading.parse_id_document, cmd, reader=c.card_reader(), today=c.clock.today()))
    body = await read_body(request, settings.max_upload_bytes)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InputError([FieldError("body", "invalid_json")]) from None
    if not isinstance(payload, dict):
        raise InputError([FieldError("body", "invalid_format")])
    qr, mrz = payload.get("qr"), payload.get("mrz")
    cmd = ParseIdDocument(qr=qr if isinstance(qr, str) else None, mrz=mrz if isinstance(mrz, str) else None)
    return JSON(reading.parse_id_document(cmd, reader=c.card_reader(), today=c.clock.today()))
