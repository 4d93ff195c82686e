"""Point-of-sale web pages: look up, the gate, update with the camera, registration, bill payment.

Server-rendered (Jinja2), Vietnamese by default, English with `?lang=en` (remembered in the
`subreg_lang` cookie). Every form works without JavaScript; the script only adds the camera, the
in-browser JPEG compression and the reading of the ID card's QR code (POST /api/v1/id-documents/parse).

Numbers and ID numbers travel in POST bodies, never in URLs: the look-up card, the gate's answer and
the update form are the answers to POSTs. Each page calls one `services.counter` use case, which checks
role, purpose and point of sale and writes the audit entry (purpose included).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from subreg.api.deps import container, counter_context, requires, run_use_case
from subreg.api.deps import lang as default_lang
from subreg.api.errors import status_of
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission, can
from subreg.domain.common.errors import FieldError, InputError, SubregError
from subreg.domain.common.messages import message_for
from subreg.domain.compliance.rules.base import RuleSet
from subreg.domain.counter import gate
from subreg.services import counter
from subreg.services.counter.commands import (
    LookUpIdDocument,
    LookUpNumber,
    OpenVisit,
    PayBill,
    RegisterSubscription,
    SuggestPostpaid,
    Transact,
    UpdateSubscription,
)
from subreg.web import i18n
from subreg.web.auth_pages import csrf_token

__all__ = ["error_messages", "page_lang", "render", "router"]

router = APIRouter(include_in_schema=False)
_HERE = Path(__file__).parent
_STATIC = _HERE / "static"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_templates = Jinja2Templates(directory=str(_HERE / "templates"))
LANG_COOKIE = "subreg_lang"

# The holder and guardian fields come from the rule set in force (`holder_fields`, `typed_holder_fields`):
# the pages never keep a list of their own.
ORGANIZATION_FIELDS = ("name", "registration_number", "registration_date", "address", "line_user")
# What the rule set asks of each organization user (the ID fields), plus the nationality a passport needs.
USER_FIELDS = ("full_name", "date_of_birth", "nationality", "id_type", "id_number", "id_issue_date", "id_issue_place")
DATE_FIELDS = frozenset({"date_of_birth", "id_issue_date", "id_expiry_date"})
UPDATE_IMAGES = ("portrait", "id_front", "id_back", "passport_page")
CARD_IMAGES = ("id_front", "id_back")  # a CMND/CCCD's two sides; a passport holder shows "passport_page"
ORGANIZATION_IMAGES = ("organization_certificate", "user_list", "authorization_letter")
REGISTER_IMAGES = (*UPDATE_IMAGES, "confirmation_form", "contract", *ORGANIZATION_IMAGES)
USER_ROWS = 3  # blank user rows of a new organization form
MAX_USER_ROWS = 30  # the page's limit; longer user lists come through the import or the API
LOOKUP_PURPOSES = ("transaction", "update", "customer_request")
ID_LOOKUP_PURPOSES = ("transaction", "customer_request", "registration")
GATED = gate.GATED_KINDS


# --- helpers ----------------------------------------------------------------------------------------


def page_lang(request: Request) -> str:
    """`?lang=`, else the `subreg_lang` cookie, else Accept-Language / the configured default."""
    explicit = request.query_params.get("lang")
    if explicit in i18n.LANGS:
        return explicit
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in i18n.LANGS:
        return cookie
    return default_lang(request)


def _who(request: Request, language: str) -> dict[str, Any] | None:
    session = getattr(request.state, "session", None)
    if session is None:
        return None
    role = str(getattr(session.actor.role, "value", session.actor.role))
    return {"name": session.display_name, "role": i18n.label(role, language), "pos": session.pos_code}


def _actor(request: Request) -> Actor:
    return request.state.actor  # type: ignore[no-any-return]  # set by `requires` (never None past it)


def _rules(request: Request) -> RuleSet:
    rules: RuleSet = request.app.state.container.rule_set
    return rules


def holder_fields(rules: RuleSet) -> tuple[str, ...]:
    """What the forms ask staff to type about a holder, in the rule set's order."""
    return rules.typed_holder_fields


def guardian_fields(rules: RuleSet) -> tuple[str, ...]:
    """What the forms ask about a guardian: the typed holder fields and the guardian's own (relationship)."""
    typed = set(rules.typed_holder_fields)
    return tuple(f for f in rules.guardian_fields if f in typed or f not in rules.holder_fields)


def render(request: Request, template: str, language: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A counter page: the shared layout's context (texts, language, CSRF token, staff, navigation) and `context`."""
    t = i18n.texts(language)
    actor = getattr(request.state, "actor", None)
    nav: list[tuple[str, str]] = []
    if actor is None or not can(actor.role, Permission.BACKOFFICE_WORK):  # back office: its queue only
        nav = [
            (f"/pos?lang={language}", t["lookup"]),
            (f"/pos/register?lang={language}", t["register"]),
            (f"/pos/pay?lang={language}", t["pay"]),
        ]
    if actor is not None and can(actor.role, Permission.SMS_SIMULATE):
        nav.append((f"/pos/phone?lang={language}", t["phone"]))
    if actor is not None and can(actor.role, Permission.ENFORCEMENT_MANAGE):
        nav.append((f"/pos/enforcement?lang={language}", t["enforcement_page"]))
    if actor is not None and can(actor.role, Permission.CAMPAIGNS_MANAGE):
        nav.append((f"/campaigns?lang={language}", t["campaigns"]))
    if actor is not None and can(actor.role, Permission.BACKOFFICE_WORK):
        nav.append((f"/backoffice?lang={language}", "Hàng đợi hậu kiểm" if language == "vi" else "Back-office queue"))
    if actor is not None and can(actor.role, Permission.REPORTS_READ):
        nav.append((f"/reports?lang={language}", t["reports"]))
        nav.append((f"/reports/regulator?lang={language}", t["reports_regulator"]))
        if can(actor.role, Permission.SIGNALS_REVIEW):  # not a regional manager's: network-wide lists
            nav.append((f"/signals?lang={language}", "Cảnh báo" if language == "vi" else "Signals"))
    if actor is not None and can(actor.role, Permission.REVIEW_DECIDE):
        nav.append((f"/review?lang={language}", "Kiểm duyệt" if language == "vi" else "Review"))
    response = _templates.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "lang": language,
            "other_lang": "en" if language == "vi" else "vi",
            "csrf_token": csrf_token(request),
            "who": _who(request, language),
            "holder_order": holder_fields(_rules(request)),
            "id_types": _rules(request).id_types,
            "nav": nav,
            "name": lambda code: i18n.label(code, language),
            "errors": {},
            "general": [],
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie(LANG_COOKIE, language, samesite="strict", path="/", max_age=365 * 86400)
    return response


def error_messages(exc: SubregError, language: str) -> tuple[dict[str, str], list[str]]:
    """Field-level messages by field path, and the general ones (no field, or a field not on the page)."""
    items: list[FieldError] = list(getattr(exc, "errors", None) or [])
    if not items:
        return {}, [message_for(exc.code, "", language)]
    by_field: dict[str, str] = {}
    for e in items:
        text = message_for(e.code, e.field, language)
        by_field[e.field] = f"{by_field[e.field]} {text}" if e.field in by_field else text
    return by_field, []


_call = run_use_case  # blocking use cases: on the thread pool, run again if SQLite was busy


def _text(form: FormData, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


async def _images(form: FormData, kinds: tuple[str, ...], limit: int) -> dict[str, bytes]:
    images: dict[str, bytes] = {}
    errors: list[FieldError] = []
    for kind in kinds:
        upload = form.get(kind)
        if isinstance(upload, UploadFile):
            data = await upload.read(limit + 1)
            if len(data) > limit:
                errors.append(FieldError(f"documents.{kind}", "image_too_large"))
            elif data:
                images[kind] = data
    if errors:
        raise InputError(errors)
    return images


def _holder_changes(form: FormData, known: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Holder fields typed or confirmed on the form that differ from what is stored (blank = unchanged)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = _text(form, f"holder.{name}", 300)
        if value and value != str(known.get(name) or ""):
            out[name] = value
    return out


async def _lookup_card(request: Request, c: Container, msisdn: str, purpose: str) -> dict[str, Any]:
    card: dict[str, Any] = await _call(
        counter.lookup_by_msisdn, LookUpNumber(msisdn, purpose), uow=c.uow(), ctx=counter_context(request, c),
        actor=_actor(request),
    )  # fmt: skip
    return card


async def _update_page(
    request: Request, c: Container, language: str, msisdn: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """The update form: what is known (in clear, purpose `update`), derived values and postpaid suggestions."""
    card = await _lookup_card(request, c, msisdn, "update")
    values = {k: v for k, v in (card.get("holder") or {}).items() if v not in (None, "")}
    suggestions = None
    if card.get("payment_type") == "postpaid":
        # Postpaid: what the system can fill from the papers and the card scans on file, for staff to confirm.
        suggestions = await _call(counter.postpaid_suggestions, SuggestPostpaid(msisdn, "update"), uow=c.uow(),
                                  ctx=counter_context(request, c), actor=_actor(request))  # fmt: skip
        derived = {s["field"]: s["value"] for s in suggestions["suggestions"] if s["source"] == "derived"}
    else:
        # Otherwise only the rule set's derivations from the values just read: no second read of the record.
        probe = {"subscriber_type": card.get("subscriber_type"), "holder": dict(values)}
        derived = dict(c.rule_set.check(probe, as_of=c.clock.today()).derived)
    for path, value in derived.items():
        name = path.removeprefix("holder.")
        if name in c.rule_set.typed_holder_fields and name not in values:
            values[name] = value
    marked = {p.removeprefix("holder.") for p in derived} | _derivable(c, card, values)
    return render(
        request, "pos/update.html", language, status=status, card=card, msisdn=msisdn, values=values,
        derived=marked, suggestions=suggestions, known=card.get("holder") or {}, **context,
    )  # fmt: skip


def _derivable(c: Container, card: Mapping[str, Any], values: Mapping[str, Any]) -> set[str]:
    """Holder fields whose stored value is what the rule set derives from the rest (shown as derived)."""
    record = {"subscriber_type": card.get("subscriber_type"), "holder": dict(values)}
    derived = c.rule_set.derivable_values(record, as_of=c.clock.today())
    return {name for name, value in values.items() if derived.get(f"holder.{name}") == value}


# --- static assets ------------------------------------------------------------------------------------


@router.get("/static/{name}", dependencies=[requires(Permission.PUBLIC_HOME)])
async def static_file(name: str) -> Response:
    """The few static assets (CSS, JS) of the pages; plain file names from one folder, nothing else."""
    path = _STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in _STATIC_TYPES or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, media_type=_STATIC_TYPES[path.suffix], headers={"Cache-Control": "public, max-age=3600"})


# --- look up ----------------------------------------------------------------------------------------


@router.get("/pos", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_READ)])
async def home(request: Request, language: str = Depends(page_lang)) -> Response:
    """The counter's start page: look up by number or by ID document; register; pay a bill."""
    return render(request, "pos/home.html", language, form={})


@router.post("/pos/lookup", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_READ)])
async def lookup(request: Request, language: str = Depends(page_lang), c: Container = Depends(container)) -> Response:
    """The look-up card of one number (masked per role and purpose); audited with the purpose."""
    form = await request.form()
    msisdn, purpose = _text(form, "msisdn", 32), _text(form, "purpose", 32)
    try:
        card = await _lookup_card(request, c, msisdn, purpose)
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        visit = "out_of_scope" in {e.code for e in getattr(exc, "errors", [])}
        return render(request, "pos/home.html", language, status=_status(exc), form=dict(form), errors=errors,
                       general=general, visit=visit)  # fmt: skip
    return render(request, "pos/card.html", language, cards=[card], purpose=purpose)


@router.post(
    "/pos/lookup-by-id", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_LOOKUP_BY_ID)]
)
async def lookup_by_id(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Every subscription under one ID document (blind index), with a purpose."""
    form = await request.form()
    id_type, id_number = _text(form, "id_type", 16), _text(form, "id_number", 32)
    purpose = _text(form, "id_purpose", 32) or _text(form, "purpose", 32)
    try:
        found = await _call(counter.lookup_by_id_document, LookUpIdDocument(id_type or None, id_number, purpose),
                            uow=c.uow(), ctx=counter_context(request, c), actor=_actor(request))  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        errors = {("id_purpose" if k == "purpose" else k): v for k, v in errors.items()}
        return render(request, "pos/home.html", language, status=_status(exc), form=dict(form), errors=errors,
                       general=general)  # fmt: skip
    return render(request, "pos/card.html", language, cards=found["subscriptions"], purpose=purpose, by_id=True)


@router.post("/pos/visit", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_READ)])
async def visit(request: Request, language: str = Depends(page_lang), c: Container = Depends(container)) -> Response:
    """Prove the customer's presence (the ID they show is the holder's), then show the card."""
    form = await request.form()
    msisdn, id_number, purpose = _text(form, "msisdn", 32), _text(form, "id_number", 32), _text(form, "purpose", 32)
    try:
        await _call(counter.open_visit, OpenVisit(msisdn, id_number), uow=c.uow(), ctx=counter_context(request, c),
                    actor=_actor(request))  # fmt: skip
        card = await _lookup_card(request, c, msisdn, purpose or "transaction")
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        errors = {("visit_id_number" if k == "id_number" else k): v for k, v in errors.items()}
        return render(request, "pos/home.html", language, status=_status(exc), form=dict(form), errors=errors,
                       general=general, visit=True)  # fmt: skip
    return render(request, "pos/card.html", language, cards=[card], purpose=purpose or "transaction")


# --- the gate -----------------------------------------------------------------------------------------


@router.post("/pos/transaction", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_READ)])
async def transaction(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """A counter transaction through the gate: done, or refused with the reason and the way to the update."""
    form = await request.form()
    msisdn, kind = _text(form, "msisdn", 32), _text(form, "kind", 32)
    try:
        done = await _call(counter.transact, Transact(msisdn, kind), uow=c.uow(), ctx=counter_context(request, c),
                           actor=_actor(request))  # fmt: skip
    except gate.UpdateRequiredError as exc:
        return render(request, "pos/gate.html", language, status=409, msisdn=msisdn, kind=kind, refused=exc.code,
                       missing=list(exc.missing))  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return render(request, "pos/gate.html", language, status=_status(exc), msisdn=msisdn, kind=kind,
                       refused=exc.code, missing=[], general=general + list(errors.values()))  # fmt: skip
    return render(request, "pos/gate.html", language, msisdn=msisdn, kind=kind, done=done, missing=[])


# --- update -------------------------------------------------------------------------------------------


@router.post("/pos/update-form", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_UPDATE)])
async def update_form(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """The update form, pre-filled with what is known; derived values marked."""
    form = await request.form()
    msisdn = _text(form, "msisdn", 32)
    try:
        return await _update_page(request, c, language, msisdn)
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return render(request, "pos/home.html", language, status=_status(exc), form={"msisdn": msisdn},
                       errors=errors, general=general)  # fmt: skip


@router.post("/pos/update", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_UPDATE)])
async def update_submit(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Save the update (fields and images); a locked subscription that becomes complete gets its unlock queued."""
    limit = int(c.settings.max_upload_bytes)
    async with request.form(max_files=len(REGISTER_IMAGES), max_fields=64) as form:
        msisdn = _text(form, "msisdn", 32)
        fields = holder_fields(c.rule_set)
        known = {name: _text(form, f"known.{name}", 300) for name in fields}
        holder = _holder_changes(form, known, fields)
        typed = {name: _text(form, f"holder.{name}", 300) for name in fields}
        try:
            images = await _images(form, UPDATE_IMAGES, limit)
        except InputError as exc:
            images, image_error = {}, exc
        else:
            image_error = None
    try:
        if image_error is not None:
            raise image_error
        changes: dict[str, Any] = {"holder": holder} if holder else {}
        saved = await _call(counter.update_subscription, UpdateSubscription(msisdn, changes, images), uow=c.uow(),
                            ctx=counter_context(request, c), actor=_actor(request))  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        try:
            page = await _update_page(request, c, language, msisdn, status=_status(exc), errors=errors,
                                      general=general)  # fmt: skip
        except SubregError:
            return render(request, "pos/home.html", language, status=_status(exc), form={}, errors=errors,
                           general=general)  # fmt: skip
        page.context["values"].update({k: v for k, v in typed.items() if v})  # type: ignore[attr-defined]
        return _rerender(page)
    card = await _lookup_card(request, c, msisdn, "update")
    return render(request, "pos/card.html", language, cards=[card], purpose="update", saved=saved)


@router.post("/pos/suggestions", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_UPDATE)])
async def confirm_suggestions(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Staff confirm the postpaid shortcut's suggestions: an ordinary update with the accepted values."""
    form = await request.form()
    msisdn = _text(form, "msisdn", 32)
    accepted = [v for v in form.getlist("accept") if isinstance(v, str)]
    changes: dict[str, Any] = {}
    for path in accepted:
        value = _text(form, f"value.{path}", 300)
        section, _, name = path.partition(".")
        if section == "holder" and name in c.rule_set.typed_holder_fields and value:
            changes.setdefault("holder", {})[name] = value
        elif path in ("purpose", "subscriber_type") and value:
            changes[path] = value
    try:
        saved = await _call(counter.update_subscription, UpdateSubscription(msisdn, changes), uow=c.uow(),
                            ctx=counter_context(request, c), actor=_actor(request))  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return await _update_page(request, c, language, msisdn, status=_status(exc), errors=errors,
                                  general=general + list(errors.values()))  # fmt: skip
    card = await _lookup_card(request, c, msisdn, "update")
    return render(request, "pos/card.html", language, cards=[card], purpose="update", saved=saved)


# --- registration -------------------------------------------------------------------------------------


@router.get("/pos/register", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_REGISTER)])
async def register_form(request: Request, language: str = Depends(page_lang)) -> Response:
    """The registration form (an individual; the subscriber type and the under-14 box reveal the other sections)."""
    return render(request, "pos/register.html", language, **_RegisterForm.blank().context())


@router.post("/pos/register", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_REGISTER)])
async def register_submit(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Register and activate, only when Decree 49 is satisfied; otherwise every reason is shown.

    Without JavaScript, the buttons "update the form" and "add a user" post here too: the form comes
    back with what was typed, the sections the choices call for and one more user row.
    """
    limit = int(c.settings.max_upload_bytes)
    fields = 64 + len(USER_FIELDS) * MAX_USER_ROWS
    async with request.form(max_files=len(REGISTER_IMAGES), max_fields=fields) as form:
        typed = _RegisterForm.read(form, c.rule_set, under_14=lambda born: _under_14(c, born))
        consent = form.get("consent") == "yes"
        try:
            images = await _images(form, typed.image_kinds(), limit) if typed.action == "register" else {}
        except InputError as exc:
            images, image_error = {}, exc
        else:
            image_error = None
    if typed.action != "register":
        return render(request, "pos/register.html", language, **typed.context())
    try:
        if image_error is not None:
            raise image_error
        cmd = RegisterSubscription(typed.record(), images, consent_accepted=consent)
        done = await _call(counter.register_subscription, cmd, uow=c.uow(), ctx=counter_context(request, c),
                           actor=_actor(request))  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return render(request, "pos/register.html", language, status=_status(exc), errors=errors, general=general,
                       refused=True, **typed.context())  # fmt: skip
    return render(request, "pos/register.html", language, done=done, **_RegisterForm.blank().context())


def _under_14(c: Container, born: str) -> bool:
    """Whether the rule set asks a guardian for a holder born on `born` (the rules decide the age, not the page)."""
    return bool(born) and c.rule_set.needs_guardian({"date_of_birth": born}, as_of=c.clock.today())


@dataclass(slots=True)
class _RegisterForm:
    """What staff typed on the registration form, in the data dictionary's shape (blank values dropped)."""

    top: dict[str, str]
    holder: dict[str, str]
    guardian: dict[str, str]
    organization: dict[str, str]
    users: list[dict[str, str]]
    under_14: bool = False
    signer_is_representative: bool = True
    rows: int = USER_ROWS
    action: str = "register"

    @classmethod
    def blank(cls) -> _RegisterForm:
        """A new form: an individual, three blank user rows."""
        return cls({}, {}, {}, {}, [])

    @classmethod
    def read(cls, form: FormData, rules: RuleSet, *, under_14: Callable[[str], bool]) -> _RegisterForm:
        """Read the posted form; blank user rows are dropped (the others keep their order)."""
        top = {k: _text(form, k, 64) for k in ("msisdn", "subscriber_type", "payment_type", "contract_number")}
        holder = _section(form, "holder", holder_fields(rules))
        raw_rows = _text(form, "user_rows", 4)
        rows = min(max(int(raw_rows) if raw_rows.isdigit() else USER_ROWS, 1), MAX_USER_ROWS)
        users = [u for u in (_section(form, f"organization.users[{i}]", USER_FIELDS) for i in range(rows)) if u]
        action = _text(form, "action", 16)
        if action == "add_user":
            rows = min(rows + 1, MAX_USER_ROWS)
        return cls(
            top=top,
            holder=holder,
            guardian=_section(form, "guardian", guardian_fields(rules)),
            organization=_section(form, "organization", ORGANIZATION_FIELDS),
            users=users,
            under_14=form.get("under14") == "yes" or under_14(holder.get("date_of_birth", "")),
            signer_is_representative=_text(form, "organization.signer_is_representative", 8) != "no",
            rows=rows,
            action=action if action in ("refresh", "add_user") else "register",
        )

    @property
    def is_organization(self) -> bool:
        return self.top.get("subscriber_type") == "organization"

    @property
    def id_documents(self) -> str:
        """The signer's ID photos: "card" (both sides), "passport" (its photo page), or "any" for a person an
        organization authorized (not on the form: whichever document they show)."""
        if self.is_organization and not self.signer_is_representative:
            return "any"
        signer = self.guardian if self.under_14 and not self.is_organization else self.holder
        return "passport" if signer.get("id_type") == "passport" else "card"

    def image_kinds(self) -> tuple[str, ...]:
        """The images the choices take (a file left in a hidden section is not sent on)."""
        hidden = {"card": {"passport_page"}, "passport": set(CARD_IMAGES), "any": set()}[self.id_documents]
        hidden |= {"confirmation_form"} if self.is_organization else set(ORGANIZATION_IMAGES)
        return tuple(k for k in REGISTER_IMAGES if k not in hidden)

    def record(self) -> dict[str, Any]:
        """The record for `counter.register_subscription`: only the sections the chosen type calls for."""
        record: dict[str, Any] = {k: v for k, v in self.top.items() if v}
        record["holder"] = dict(self.holder)
        if self.is_organization:
            organization: dict[str, Any] = dict(self.organization)
            if self.users:
                organization["users"] = [dict(u) for u in self.users]
            if not self.signer_is_representative:
                organization["signer_is_representative"] = False
            record["organization"] = organization
        elif self.under_14 and self.guardian:
            record["guardian"] = dict(self.guardian)
        return record

    def context(self) -> dict[str, Any]:
        """The template's context: typed values kept, the kept users first, then blank rows."""
        blanks = max(self.rows, USER_ROWS) - len(self.users)
        return {
            "form": self.top,
            "values": self.holder,
            "guardian": self.guardian,
            "organization": self.organization,
            "users": [*self.users, *({} for _ in range(max(blanks, 0)))],
            "is_organization": self.is_organization,
            "under_14": self.under_14 and not self.is_organization,
            "signer_is_representative": self.signer_is_representative,
            "id_documents": self.id_documents,
            "focus_user": len(self.users) if self.action == "add_user" else None,
            "max_user_rows": MAX_USER_ROWS,
        }


def _section(form: FormData, prefix: str, names: tuple[str, ...]) -> dict[str, str]:
    """The non-blank values of one section of the form (`holder.full_name`, `organization.users[0].id_number`...)."""
    values = {name: _text(form, f"{prefix}.{name}", 300) for name in names}
    return {k: v for k, v in values.items() if v}


# --- bill payment -------------------------------------------------------------------------------------


@router.get("/pos/pay", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_READ)])
async def pay_form(request: Request, language: str = Depends(page_lang)) -> Response:
    """The bill-payment form."""
    return render(request, "pos/pay.html", language, form={})


@router.post("/pos/pay", response_class=HTMLResponse, dependencies=[requires(Permission.SUBSCRIPTION_READ)])
async def pay_submit(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Record the payment (never gated) and, when the information is incomplete, offer the update now."""
    form = await request.form()
    msisdn, reference = _text(form, "msisdn", 32), _text(form, "reference", 80)
    raw = _text(form, "amount_vnd", 20).replace(".", "").replace(",", "").replace(" ", "")
    try:
        if not raw.isdigit():
            raise InputError([FieldError("amount_vnd", "invalid_format")])
        paid = await _call(counter.pay_bill, PayBill(msisdn, int(raw), reference or None), uow=c.uow(),
                           ctx=counter_context(request, c), actor=_actor(request))  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return render(request, "pos/pay.html", language, status=_status(exc), form=dict(form), errors=errors,
                       general=general)  # fmt: skip
    return render(request, "pos/pay.html", language, form={}, paid=paid)


# --- plumbing -----------------------------------------------------------------------------------------


def _status(exc: SubregError) -> int:
    # The same status as the API gives the same error (api.errors is the one mapping).
    return status_of(exc)


def _rerender(page: HTMLResponse) -> HTMLResponse:
    # A TemplateResponse renders at construction; render again after changing its context.
    template, context = page.template, page.context  # type: ignore[attr-defined]
    fresh = _templates.TemplateResponse(context["request"], template.name, context, status_code=page.status_code)
    fresh.headers["Cache-Control"] = "no-store"
    return fresh
