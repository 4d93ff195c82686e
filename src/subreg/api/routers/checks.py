"""POST /checks: validate records against a rule set without storing them (same contract as `subreg check`)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request

from subreg.api.body import read_body
from subreg.api.deps import container, lang, requires, run_use_case
from subreg.api.responses import JSON
from subreg.api.schemas.records import CheckResponse
from subreg.bootstrap import Container, read_records
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.rules import get_rule_set
from subreg.services.registry.checks import CheckSummary, check_records

router = APIRouter(tags=["checks"])

_RECORD_REF = {"$ref": "#/components/schemas/SubscriptionRecord"}
_EXAMPLE = {
    "msisdn": "0901234567",
    "subscriber_type": "individual",
    "payment_type": "prepaid",
    "activated_on": "2016-03-01",
    "holder": {
        "full_name": "Nguyễn Thị Ánh",
        "date_of_birth": "1990-05-17",
        "gender": "female",
        "id_type": "cccd",
        "id_number": "079190123456",
        "id_issue_date": "2021-06-01",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
    },
    "documents": {"portrait": "blob:p1"},
}
_OPENAPI = {
    "requestBody": {
        "required": True,
        "description": (
            "One record (JSON object), a JSON array of records, JSON lines (`application/x-ndjson`) or CSV "
            "(`text/csv`, columns are dotted paths such as `holder.full_name`)."
        ),
        "content": {
            "application/json": {
                "schema": {"oneOf": [_RECORD_REF, {"type": "array", "items": _RECORD_REF}]},
                "examples": {
                    "one": {"summary": "One record", "value": _EXAMPLE},
                    "many": {"summary": "Several records", "value": [_EXAMPLE, {"msisdn": "0241234567"}]},
                },
            },
            "application/x-ndjson": {"schema": {"type": "string"}, "example": orjson.dumps(_EXAMPLE).decode()},
            "text/csv": {
                "schema": {"type": "string"},
                "example": "msisdn,subscriber_type,holder.full_name\n0901234567,individual,Nguyễn Thị Ánh\n",
            },
        },
    }
}


def _items_from_json(body: bytes, max_records: int) -> list[tuple[int, dict[str, Any] | FieldError]]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InputError([FieldError("body", "invalid_json")]) from None
    records = data if isinstance(data, list) else [data]
    if len(records) > max_records:
        raise InputError([FieldError("body", "too_long")])
    return [
        (i, r if isinstance(r, dict) else FieldError(f"[{i - 1}]", "invalid_format"))
        for i, r in enumerate(records, start=1)
    ]


def _items_from_stream(body: bytes, fmt: str, max_records: int) -> Iterator[tuple[int, Any]]:
    for n, item in enumerate(read_records(io.BytesIO(body), fmt), start=1):
        if n > max_records:
            raise InputError([FieldError("body", "too_long")])
        yield item


@router.post(
    "/checks",
    summary="Check records against Decree 49 (nothing is stored)",
    description=(
        "Validates each record and reports what is missing, exactly like `subreg check`. "
        "`as_of` defaults to today in Vietnam; messages follow `Accept-Language` (vi default, en). "
        "When the operator's ranges are configured (`SUBREG_OPERATOR_RANGES`), a number that is not the "
        "operator's (outside them and not ported in, or ported out) is `not_operator_number`."
    ),
    responses={
        200: {"model": CheckResponse},
        400: {"description": "The body cannot be read at all (`unreadable_input`): binary, not UTF-8, unknown format"},
        422: {"description": "Invalid input: malformed JSON (`invalid_json`), too many records, bad `as_of`"},
    },
    openapi_extra=_OPENAPI,
    dependencies=[requires("checks:run")],
)
async def run_checks(
    request: Request,
    as_of: date | None = Query(None, description="Reference date (YYYY-MM-DD)", examples=["2018-04-24"]),
    rule_set: str | None = Query(None, description="Rule set name", examples=["nd49-2017"]),
    language: str = Depends(lang),
    c: Container = Depends(container),
) -> JSON:
    """Check one or many records and return one check result per record."""
    settings = c.settings
    body = await read_body(request, settings.max_upload_bytes)
    rules = get_rule_set(rule_set or settings.rule_set)
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    max_records = settings.max_body_records

    def work() -> dict[str, Any]:
        if content_type in ("application/x-ndjson", "application/jsonl", "application/json-lines"):
            items: Any = _items_from_stream(body, "jsonl", max_records)
        elif content_type in ("text/csv", "application/csv"):
            items = _items_from_stream(body, "csv", max_records)
        else:
            items = _items_from_json(body, max_records)
        summary = CheckSummary()
        day = as_of or c.clock.today()
        results = list(
            check_records(items, rule_set=rules, as_of=day, lang=language, summary=summary, numbers=c.numbers,
                          ported=c.ported_lookup())
        )  # fmt: skip
        return {"summary": summary.to_dict(), "results": results}

    return JSON(await run_use_case(work))
