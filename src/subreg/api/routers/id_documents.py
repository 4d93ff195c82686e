"""POST /id-documents/parse: read holder fields from a chip-CCCD QR payload, a TD1 MRZ or a card photo."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from subreg.adapters import idcard_image
from subreg.api.body import read_body
from subreg.api.deps import container, requires, run_use_case
from subreg.api.responses import JSON
from subreg.clock import today
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.id_documents import card_codes as idcard

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


def _parse_text(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InputError([FieldError("body", "invalid_format")])
    qr, mrz = payload.get("qr"), payload.get("mrz")
    if isinstance(qr, str) and qr.strip():
        return {"source": "qr", "holder": idcard.parse_cccd_qr(qr)}
    if isinstance(mrz, str) and mrz.strip():
        return {"source": "mrz", "holder": idcard.parse_td1_mrz(mrz, as_of=today())}
    raise InputError([FieldError("qr", "required")])


def _parse_image(data: bytes, kind: str, max_pixels: int) -> dict[str, Any]:
    if kind == "qr":
        return {"source": "qr", "holder": idcard.parse_cccd_qr(idcard_image.decode_qr(data, max_pixels=max_pixels))}
    if kind == "mrz":
        text = idcard_image.read_mrz(data, max_pixels=max_pixels)
        return {"source": "mrz", "holder": idcard.parse_td1_mrz(text, as_of=today())}
    fields = idcard_image.read_id_image(data, max_pixels=max_pixels, as_of=today())
    source = fields.pop("source")
    return {"source": source, "holder": fields}


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
async def parse_id_document(request: Request, c: Any = Depends(container)) -> JSON:
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
        result = await run_use_case(_parse_image, data, str(kind), settings.max_image_pixels)
        return JSON(result)
    body = await read_body(request, settings.max_upload_bytes)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InputError([FieldError("body", "invalid_json")]) from None
    return JSON(_parse_text(payload))
