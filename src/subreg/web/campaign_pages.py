"""The compliance officer's campaign pages (`/campaigns`): the list, a new campaign with its preview, one
campaign's progress with start, pause and resume.

Each page calls one `services.campaigns.manage` use case, which checks `campaigns:manage` (compliance officers)
and writes the audit entry; the pages hold no rule. Forms post with the CSRF token like the counter's pages;
Vietnamese by default, English with `?lang=en`. Nothing personal is shown: sample messages go to masked numbers.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from subreg.api.deps import container, requires, run_use_case
from subreg.api.errors import status_of
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.campaigns.cohort import PHASES, STATES
from subreg.domain.common.errors import SubregError
from subreg.domain.compliance.records import PAYMENT_TYPES, SUBSCRIBER_TYPES
from subreg.services.campaigns import manage
from subreg.services.campaigns.manage import CreateCampaign, Preview
from subreg.web import i18n
from subreg.web.pos_pages import error_messages, page_lang, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_MANAGE = [requires(Permission.CAMPAIGNS_MANAGE)]
_ACTIONS = {"start": manage.start_campaign, "pause": manage.pause_campaign, "resume": manage.resume_campaign}
_CRITERIA = ("phases", "missing", "subscriber_types", "payment_types", "states")  # ticked boxes; provinces: text


def _actor(request: Request) -> Actor:
    return request.state.actor  # type: ignore[no-any-return]  # set by `requires` (never None past it)


def _page(request: Request, c: Container, template: str, language: str, **context: Any) -> HTMLResponse:
    """A campaign page: the counter's layout with the campaign texts and names."""
    return render(
        request, template, language, t=i18n.campaign_texts(language),
        name=lambda code: i18n.campaign_label(code, language),
        choices={"phases": PHASES, "missing": c.rule_set.missing_items, "subscriber_types": SUBSCRIBER_TYPES,
                 "payment_types": PAYMENT_TYPES, "states": STATES, "langs": ("vi", "en")},
        **context,
    )  # fmt: skip


def _text(form: FormData, name: str, limit: int = 100) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _command(form: FormData) -> CreateCampaign:
    cohort: dict[str, Any] = {k: [v for v in form.getlist(k) if isinstance(v, str)][:64] for k in _CRITERIA}
    cohort["provinces"] = _text(form, "provinces", 400)
    return CreateCampaign(
        name=_text(form, "name"), start_on=_text(form, "start_on", 10), rate_per_bind=_text(form, "rate_per_bind", 6),
        binds=_text(form, "binds", 3) or None, hours=_text(form, "hours", 11) or None,
        repeats=_text(form, "repeats", 20) or "once", template=_text(form, "template", 48) or "campaign_reminder",
        lang=_text(form, "lang", 2) or None, cohort=cohort,
    )  # fmt: skip


def _duration(seconds: float, t: dict[str, str]) -> str:
    if seconds >= 3600:
        return t["hours_unit"].format(n=f"{seconds / 3600:.1f}")
    if seconds >= 60:
        return t["minutes_unit"].format(n=f"{seconds / 60:.1f}")
    return t["seconds_unit"].format(n=f"{seconds:.0f}")


def _shown(preview: Preview | None, tz: tzinfo, language: str) -> dict[str, Any] | None:
    """What the preview panel shows: numbers, local times, and the sending time in words."""
    if preview is None:
        return None
    t, d, plan = i18n.campaign_texts(language), preview.definition, preview.plan
    shown: dict[str, Any] = {
        "size": preview.size, "remaining": preview.remaining, "samples": preview.samples,
        "rate": t["p_rate_value"].format(binds=d.binds, per_bind=d.rate_per_bind, rate=d.rate), "plan": None,
    }  # fmt: skip
    if plan is not None:
        local = [(b.astimezone(tz), e.astimezone(tz)) for b, e in plan.waves]
        shown["plan"] = {
            "sending": _duration(plan.seconds_per_wave, t), "days": plan.days(tz), "wave_days": plan.wave_days(tz),
            "waves_count": len(plan.waves),
            "finish": plan.finish.astimezone(tz).strftime("%d/%m/%Y %H:%M"),
            "waves": [(b.strftime("%d/%m/%Y %H:%M"), e.strftime("%d/%m/%Y %H:%M")) for b, e in local],
        }  # fmt: skip
    return shown


@router.get("/campaigns", response_class=HTMLResponse, dependencies=_MANAGE)
async def campaign_list(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """Every campaign, newest first."""
    listed = await run_use_case(manage.list_campaigns, uow=c.uow(), actor=_actor(request))
    return _page(request, c, "campaigns/list.html", language, campaigns=listed)


@router.get("/campaigns/new", response_class=HTMLResponse, dependencies=_MANAGE)
async def new_form(request: Request, language: str = Depends(page_lang), c: Container = Depends(container)) -> Response:
    """An empty form with the settings' defaults."""
    options = c.campaign_options()
    form = {"hours": options.hours, "binds": str(options.binds), "lang": options.lang, "repeats": "1",
            "template": "campaign_reminder", "start_on": c.clock.today().isoformat()}  # fmt: skip
    return _page(request, c, "campaigns/new.html", language, form=form, ticked={}, preview=None)


@router.post("/campaigns/new", response_class=HTMLResponse, dependencies=_MANAGE)
async def new_submit(
    request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """`preview`: the form again with the cohort's size, samples and the planned finish; `create`: a draft."""
    form = await request.form()
    cmd, options, actor = _command(form), c.campaign_options(), _actor(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in _CRITERIA}
    ticked = {k: set(form.getlist(k)) for k in _CRITERIA}
    try:
        if _text(form, "action", 8) == "create":
            created = await run_use_case(manage.create_campaign, cmd, uow=c.uow(), texts=c.campaign_texts(),
                                         options=options, actor=actor, now=c.clock.now())  # fmt: skip
            return RedirectResponse(f"/campaigns/{created.id}?lang={language}&created=1", status_code=303)
        preview = await run_use_case(manage.preview_definition, cmd, uow=c.uow(), texts=c.campaign_texts(),
                                     options=options, actor=actor, now=c.clock.now())  # fmt: skip
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return _page(request, c, "campaigns/new.html", language, status=status_of(exc), form=values, ticked=ticked,
                     preview=None, errors=errors, general=general)  # fmt: skip
    return _page(request, c, "campaigns/new.html", language, form=values, ticked=ticked,
                 preview=_shown(preview, options.tz, language))  # fmt: skip


async def _detail(request: Request, c: Container, language: str, campaign_id: int, *, status: int = 200,
                  **context: Any) -> Response:  # fmt: skip
    options = c.campaign_options()
    try:
        found = await run_use_case(manage.campaign_status, campaign_id, uow=c.uow(), actor=_actor(request))
    except SubregError as exc:  # an unknown campaign (404), a role without the permission
        errors, general = error_messages(exc, language)
        return _page(request, c, "campaigns/list.html", language, status=status_of(exc), campaigns=[],
                     general=general or list(errors.values()))  # fmt: skip
    return _page(request, c, "campaigns/detail.html", language, status=status, status_=found,
                 info=found.as_dict(options.tz), **context)  # fmt: skip


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse, dependencies=_MANAGE)
async def campaign_page(
    campaign_id: int, request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """One campaign: its definition, its messages counted by wave, the buttons its state allows."""
    return await _detail(request, c, language, campaign_id, created=request.query_params.get("created") == "1")


@router.post("/campaigns/{campaign_id}", response_class=HTMLResponse, dependencies=_MANAGE)
async def campaign_action(
    campaign_id: int, request: Request, language: str = Depends(page_lang), c: Container = Depends(container)
) -> Response:
    """`preview` (size now, samples, the plan of what is left), `start`, `pause` or `resume`."""
    form = await request.form()
    action, actor = _text(form, "action", 8), _actor(request)
    try:
        if action == "preview":
            options = c.campaign_options()
            preview = await run_use_case(manage.preview_campaign, campaign_id, uow=c.uow(), texts=c.campaign_texts(),
                                         options=options, actor=actor, now=c.clock.now())  # fmt: skip
            return await _detail(request, c, language, campaign_id, preview=_shown(preview, options.tz, language))
        use_case = _ACTIONS.get(action)
        if use_case is None:
            return await _detail(request, c, language, campaign_id, status=422)
        changed = await run_use_case(use_case, campaign_id, uow=c.uow(), actor=actor, now=c.clock.now())
    except SubregError as exc:
        errors, general = error_messages(exc, language)
        return await _detail(request, c, language, campaign_id, status=status_of(exc),
                             general=general or list(errors.values()))  # fmt: skip
    return await _detail(request, c, language, campaign_id, changed=str(changed.state))
