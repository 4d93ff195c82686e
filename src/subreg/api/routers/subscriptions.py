"""API routes of the point of sale: look up, the gate, updates with images, registration, payments.

Thin: each route reads the request, builds a command and the request's `CounterContext` (`api.deps.counter_context`)
and calls one `services.counter` use case in the
thread pool (database and image work are blocking). Numbers and ID numbers travel in POST bodies,
never in URLs. The declared purpose comes from the body, else the `X-Purpose` header or `purpose`
field (`api.deps.purpose`).

Multipart routes (`/update`, registration) take a `data` part with the JSON object of fields and one
file part per document kind (`portrait`, `id_front`, `id_back`, and papers such as
`confirmation_form` or `contract`).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from subreg.api.body import read_body
from subreg.api.deps import actor as current_actor
from subreg.api.deps import container, counter_context, requires, run_use_case
from subreg.api.deps import purpose as declared_purpose
from subreg.api.responses import JSON
from subreg.api.schemas.ids import RowIdPath
from subreg.api.schemas.pos import (
    ERROR_RESPONSES,
    LookupByIdIn,
    LookupByIdRead,
    LookupIn,
    PaymentIn,
    PaymentRead,
    RegisterRead,
    SubscriptionCardRead,
    SuggestionsIn,
    SuggestionsRead,
    TransactionIn,
    TransactionRead,
    UpdateRead,
    VisitIn,
    VisitRead,
)
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.records import DOCUMENT_KINDS
from subreg.services import counter
from subreg.services.counter.commands import (
    ChangeOwner,
    LookUpIdDocument,
    LookUpNumber,
    OpenVisit,
    PayBill,
    RegisterSubscription,
    SuggestPostpaid,
    Transact,
    UpdateSubscription,
    ViewDocumentImage,
)

router = APIRouter(tags=["subscriptions"])

_PREFIX = "/subscriptions"
_MAX_FILES = len(DOCUMENT_KINDS)


_MULTIPART_DOC = {
    "type": "object",
    "properties": {
        "data": {"type": "string", "description": "JSON object of the fields (see the example)"},
        "purpose": {"type": "string", "enum": ["update", "customer_request", "registration"]},
        "portrait": {"type": "string", "format": "binary", "description": "Photo of the person at the counter"},
        "id_front": {"type": "string", "format": "binary", "description": "Front of the ID card (QR)"},
        "id_back": {"type": "string", "format": "binary", "description": "Back of the ID card (MRZ)"},
        "confirmation_form": {"type": "string", "format": "binary"},
        "contract": {"type": "string", "format": "binary"},
    },
}


def _multipart_openapi(example: dict[str, Any], purpose: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {**_MULTIPART_DOC, "required": ["data"]},
                    "example": {"data": orjson.dumps(example).decode(), "purpose": purpose},
                },
                "application/json": {
                    "schema": {"type": "object"},
                    "example": {**example, "purpose": purpose},
                },
            },
        }
    }


async def _read_multipart(request: Request, limit: int) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
    """(fields JSON, images by kind, other form values); every file is read with a hard size limit."""
    images: dict[str, bytes] = {}
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    async with request.form(max_files=_MAX_FILES, max_fields=16, max_part_size=limit) as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name not in DOCUMENT_KINDS:
                    errors.append(FieldError(f"documents.{name}"[:80], "invalid_choice"))
                    continue
                data = await value.read(limit + 1)
                if len(data) > limit:
                    errors.append(FieldError(f"documents.{name}", "image_too_large"))
                elif data:
                    images[name] = data
            else:
                values[name] = value
    if errors:
        raise InputError(errors)
    raw = values.pop("data", "{}") or "{}"
    try:
        data_obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InputError([FieldError("data", "invalid_json")]) from None
    if not isinstance(data_obj, dict):
        raise InputError([FieldError("data", "invalid_format")])
    return data_obj, images, values


async def _read_json(request: Request, limit: int) -> dict[str, Any]:
    try:
        data = orjson.loads(await read_body(request, limit))
    except orjson.JSONDecodeError:
        raise InputError([FieldError("body", "invalid_json")]) from None
    if not isinstance(data, dict):
        raise InputError([FieldError("body", "invalid_format")])
    return data


async def _fields_and_images(request: Request, limit: int) -> tuple[dict[str, Any], dict[str, bytes], dict[str, Any]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _read_multipart(request, limit)
    body = await _read_json(request, limit)
    meta = {k: body.pop(k) for k in ("purpose", "consent_accepted", "consent_text") if k in body}
    changes = body.pop("changes", None)
    if changes is not None:
        if not isinstance(changes, dict):
            raise InputError([FieldError("changes", "invalid_format")])
        return {**changes, **({"msisdn": body["msisdn"]} if "msisdn" in body else {})}, {}, meta
    return body, {}, meta


@router.post(
    f"{_PREFIX}/lookup",
    summary="Look up a subscription by number",
    description="The look-up card, masked per role and purpose. Audited (`subscription:read`).",
    response_model=SubscriptionCardRead,
    responses=ERROR_RESPONSES,
    dependencies=[requires(Permission.SUBSCRIPTION_READ)],
)
async def lookup(
    body: LookupIn, request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)
) -> JSON:
    """The card of one subscription."""
    card = await run_use_case(
        counter.lookup_by_msisdn,
        LookUpNumber(body.msisdn, body.purpose),
        uow=c.uow(),
        ctx=counter_context(request, c),
        actor=who,
    )
    return JSON(card)


@router.post(
    f"{_PREFIX}/lookup-by-id",
    summary="Look up subscriptions by ID document",
    description="Every subscription under one ID document, found by its blind index (operator stores only).",
    response_model=LookupByIdRead,
    responses=ERROR_RESPONSES,
    dependencies=[requires(Permission.SUBSCRIPTION_LOOKUP_BY_ID)],
)
async def lookup_by_id(
    body: LookupByIdIn, request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)
) -> JSON:
    """Cards of every subscription under one ID document."""
    found = await run_use_case(
        counter.lookup_by_id_document,
        LookUpIdDocument(body.id_type, body.id_number, body.purpose),
        uow=c.uow(),
        ctx=counter_context(request, c),
        actor=who,
    )
    return JSON(found)


@router.post(
    f"{_PREFIX}/visits",
    summary="Open a serving visit (proof of presence)",
    description=(
        "The ID number shown at the counter must be the holder's: the point of sale then serves the "
        "subscription for `serving_minutes`. Agents and authorized points need this for customers they did "
        "not register. A wrong number is refused (403 `presence_not_proven`) and audited."
    ),
    response_model=VisitRead,
    status_code=201,
    responses=ERROR_RESPONSES,
    dependencies=[requires(Permission.SUBSCRIPTION_READ)],
)
async def open_visit(
    body: VisitIn, request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)
) -> JSON:
    """Open a serving visit."""
    visit = await run_use_case(
        counter.open_visit, OpenVisit(body.msisdn, body.id_number, body.purpose), uow=c.uow(),
        ctx=counter_context(request, c), actor=who,
    )  # fmt: skip
    return JSON(visit, status_code=201)


@router.post(
    f"{_PREFIX}/transactions",
    summary="Run a counter transaction through the gate",
    description=(
        "Recorded done or refused. While the information is incomplete everything but a bill payment is "
        "refused: 409 `update_required`, one field-level error per missing item, and `missing`."
    ),
    response_model=TransactionRead,
    responses=ERROR_RESPONSES,
    dependencies=[requires(Permission.SUBSCRIPTION_READ)],
)
async def transaction(
    body: TransactionIn, request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)
) -> JSON:
    """A counter transaction."""
    done = await run_use_case(
        counter.transact,
        Transact(body.msisdn, body.kind, body.purpose),
        uow=c.uow(),
        ctx=counter_context(request, c),
        actor=who,
    )
    return JSON(done)


@router.post(
    f"{_PREFIX}/payments",
    summary="Pay a bill",
    description="Never gated. When the information is incomplete, `update_offered` is true with the missing items.",
    response_model=PaymentRead,
    status_code=201,
    responses=ERROR_RESPONSES,
    dependencies=[requires(Permission.SUBSCRIPTION_READ)],
)
async def payment(
    body: PaymentIn, request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)
) -> JSON:
    """Record a bill payment."""
    paid = await run_use_case(
        counter.pay_bill, PayBill(body.msisdn, body.amount_vnd, body.reference, body.purpose), uow=c.uow(),
        ctx=counter_context(request, c), actor=who,
    )  # fmt: skip
    return JSON(paid, status_code=201)


@router.post(
    f"{_PREFIX}/suggestions",
    summary="Postpaid shortcut: fields the system can fill",
    description=(
        "Fields derivable from the papers (nationality VNM from a CMND/CCCD, purpose personal_use) and holder "
        "fields read from a stored colour scan of the card, for staff to confirm with an update."
    ),
    response_model=SuggestionsRead,
    responses=ERROR_RESPONSES,
    dependencies=[requires(Permission.SUBSCRIPTION_UPDATE)],
)
async def suggestions(
    body: SuggestionsIn, request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)
) -> JSON:
    """Proposed values for absent fields."""
    found = await run_use_case(
        counter.postpaid_suggestions,
        SuggestPostpaid(body.msisdn, body.purpose),
        uow=c.uow(),
        ctx=counter_context(request, c),
        actor=who,
    )
    return JSON(found)


_UPDATE_EXAMPLE = {"msisdn": "0901234567", "holder": {"id_issue_place": "Cục Cảnh sát QLHC về TTXH"}}


@router.post(
    f"{_PREFIX}/update",
    summary="Update a subscription's information (fields and images)",
    description=(
        "Multipart: `data` (JSON: `msisdn` and the changed fields), `purpose`, and up to one file per document "
        "kind. Images are quality-checked (format, size, resolution, blur, one face, card readable); the "
        "card's QR/MRZ fills absent holder fields; the rule set re-checks the record (invalid values: 422). "
        "Completing a locked subscription queues its `unlock` network order. JSON bodies update fields only."
    ),
    response_model=UpdateRead,
    responses=ERROR_RESPONSES,
    openapi_extra=_multipart_openapi(_UPDATE_EXAMPLE, "update"),
    dependencies=[requires(Permission.SUBSCRIPTION_UPDATE)],
)
async def update(request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)) -> JSON:
    """Update fields and documents."""
    changes, images, meta = await _fields_and_images(request, c.settings.max_upload_bytes)
    msisdn = changes.pop("msisdn", None)
    if not isinstance(msisdn, str):
        raise InputError([FieldError("msisdn", "required")])
    purpose = meta.get("purpose") or await declared_purpose(request) or "update"
    cmd = UpdateSubscription(msisdn, changes, images, purpose)
    # One worker-thread hop: the use case checks the images before it opens the unit of work.
    done = await run_use_case(counter.update_subscription, cmd, uow=c.uow(), ctx=counter_context(request, c), actor=who)
    return JSON(done)


_REGISTER_EXAMPLE = {
    "msisdn": "0901111111",
    "subscriber_type": "individual",
    "payment_type": "prepaid",
    "holder": {
        "full_name": "Nguyễn Thị Ánh",
        "date_of_birth": "1990-05-17",
        "id_type": "cccd",
        "id_number": "079190123456",
        "id_issue_date": "2021-06-01",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
    },
}


@router.post(
    f"{_PREFIX}",
    summary="Register a new subscription",
    description=(
        "Activation only when everything Decree 49 requires is present (documents, portrait, guardian for "
        "under-14s, organization papers); from the 4th subscription under one ID document a `contract_number` "
        "(`contract_required`). Refused with every reason: 409 `registration_incomplete`. Multipart like "
        "`/update`, plus `consent_accepted` (true/false, default true)."
    ),
    response_model=RegisterRead,
    status_code=201,
    responses=ERROR_RESPONSES,
    openapi_extra=_multipart_openapi(_REGISTER_EXAMPLE, "registration"),
    dependencies=[requires(Permission.SUBSCRIPTION_REGISTER)],
)
async def register(request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)) -> JSON:
    """Register a subscription."""
    record, images, meta = await _fields_and_images(request, c.settings.max_upload_bytes)
    purpose = meta.get("purpose") or await declared_purpose(request) or "registration"
    accepted = meta.get("consent_accepted", True)
    if isinstance(accepted, str):
        accepted = accepted.strip().lower() not in ("false", "0", "no", "off")
    cmd = RegisterSubscription(record, images, purpose, bool(accepted), meta.get("consent_text"))
    done = await run_use_case(
        counter.register_subscription, cmd, uow=c.uow(), ctx=counter_context(request, c), actor=who
    )
    return JSON(done, status_code=201)


_CHANGE_OWNER_EXAMPLE = {"msisdn": "0901234567", **{k: v for k, v in _REGISTER_EXAMPLE.items() if k != "msisdn"}}


@router.post(
    f"{_PREFIX}/change-owner",
    summary="Pass a subscription to a new owner",
    description=(
        "The new owner's sections (`holder`, `guardian`, `organization`, `subscriber_type`, `contract_number`) "
        "replace the old owner's; the line keeps its number and tenure. Decided on the NEW owner's papers, "
        "checked as a registration: refused with every reason (409 `new_owner_papers_required`) unless "
        "complete. Multipart like registration (`data`, one file per document kind, `consent_accepted`)."
    ),
    response_model=RegisterRead,
    responses=ERROR_RESPONSES,
    openapi_extra=_multipart_openapi(_CHANGE_OWNER_EXAMPLE, "update"),
    dependencies=[requires(Permission.SUBSCRIPTION_UPDATE)],
)
async def change_owner(
    request: Request, c: Container = Depends(container), who: Actor = Depends(current_actor)
) -> JSON:
    """Change the owner of a subscription."""
    fields, images, meta = await _fields_and_images(request, c.settings.max_upload_bytes)
    msisdn = fields.pop("msisdn", None)
    if not isinstance(msisdn, str):
        raise InputError([FieldError("msisdn", "required")])
    purpose = meta.get("purpose") or await declared_purpose(request) or "update"
    accepted = meta.get("consent_accepted", True)
    if isinstance(accepted, str):
        accepted = accepted.strip().lower() not in ("false", "0", "no", "off")
    cmd = ChangeOwner(msisdn, fields, images, purpose, bool(accepted), meta.get("consent_text"))
    done = await run_use_case(counter.change_owner, cmd, uow=c.uow(), ctx=counter_context(request, c), actor=who)
    return JSON(done)


@router.get(
    f"{_PREFIX}/documents/{{document_id}}/image",
    summary="Download a stored document image",
    description=(
        "Needs `document:view_image` and a purpose (`X-Purpose` header or `purpose` query); audited "
        "(`document:image_viewed`). Compliance officers and admins are refused."
    ),
    responses={200: {"content": {"image/jpeg": {}}, "description": "The image"}, **ERROR_RESPONSES},
    dependencies=[requires(Permission.DOCUMENT_VIEW_IMAGE)],
)
async def document_image(
    document_id: RowIdPath,
    request: Request,
    c: Container = Depends(container),
    who: Actor = Depends(current_actor),
    why: str | None = Depends(declared_purpose),
) -> Response:
    """The decrypted image bytes."""
    content_type, data = await run_use_case(
        counter.view_document_image,
        ViewDocumentImage(document_id, why),
        uow=c.uow(),
        ctx=counter_context(request, c),
        actor=who,
    )
    # Personal data: never cached by a browser or a proxy.
    return Response(data, media_type=content_type, headers={"Cache-Control": "no-store"})
