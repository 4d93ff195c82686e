"""CLI: reminder campaigns (`subreg campaign create|preview|start|pause|resume|status`).

The command line acts with no staff identity (whoever runs it holds the database and the keys); every action is
audited all the same, with no actor. `subreg worker` sends running campaigns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from subreg.cli._common import err, handled, open_container, out

__all__ = ["campaign_app", "register"]

campaign_app = typer.Typer(
    help=(
        "Reminder campaigns: SMS to a cohort of incomplete lines (phase, missing items, subscriber and payment "
        "type, province, enforcement state), inside allowed hours, at a rate per SMSC bind; `subreg worker` sends.\n\n"
        "Example: subreg campaign create --name 'Phase 1' --start-on 2026-12-10 --rate 40 --binds 4 --phase 1 "
        "--repeats 'daily for 5 days'"
    ),
    no_args_is_help=True,
)

_Json = Annotated[bool, typer.Option("--json", help="JSON output")]
_Id = Annotated[int, typer.Argument(help="The campaign's id (`subreg campaign status` lists them)")]


def _now() -> datetime:
    return datetime.now(UTC)


def _values(given: list[str] | None) -> list[str]:
    """Repeated options and comma-separated values alike: `--phase 1 --phase 2` or `--phase 1,2`."""
    return [v.strip() for item in given or [] for v in item.split(",") if v.strip()]


def _print_json(value: Any) -> None:
    out.print_json(orjson.dumps(value).decode())


def _print_preview(preview: Any) -> None:
    as_dict = preview.as_dict()
    left = as_dict["remaining"]
    out.print(
        f"Cohort: {as_dict['size']:,} lines"
        + (f" ({left:,} left in the current wave)" if left != as_dict["size"] else "")
    )
    out.print(as_dict["summary"])
    for wave, planned in enumerate(as_dict.get("planned_waves", []), 1):
        out.print(f"  wave {wave}: {planned['begin'][:16]} -> {planned['end'][:16]}")
    for sample in as_dict["samples"]:
        out.print(f"  to {sample['to']} ({sample['segments']} SMS, {sample['encoding']}): {sample['text']}")
    if as_dict.get("wave_days", 0) > 1:
        err.print(f"[yellow]Note: at this rate within its hours one wave takes {as_dict['wave_days']} days, the "
                  f"campaign {as_dict['days']} days: days, not hours.[/yellow]")  # fmt: skip
    elif as_dict.get("days", 0) > 1:
        err.print(f"The campaign spans {as_dict['days']} days: {as_dict['waves']} waves, one a day.")


@campaign_app.command("create")
@handled
def create_cmd(
    name: Annotated[str, typer.Option(help="A name of your choice (unique)")],
    start_on: Annotated[str, typer.Option("--start-on", help="First day, YYYY-MM-DD (local date)")],
    rate: Annotated[str, typer.Option("--rate", help="Messages a second per SMSC bind (the SMSC's contract)")],
    binds: Annotated[str | None, typer.Option(help="SMSC binds (default SUBREG_CAMPAIGN_BINDS)")] = None,
    hours: Annotated[str | None, typer.Option(help="Allowed local hours, e.g. 08:00-20:00 (default setting)")] = None,
    repeats: Annotated[str, typer.Option(help="`once`, or `daily for N days` (one wave a day at most)")] = "once",
    template: Annotated[str, typer.Option(help="Reminder template, <lang>/<name>.txt")] = "campaign_reminder",
    lang: Annotated[str | None, typer.Option(help="Language of the text: vi or en (default SUBREG_LANG)")] = None,
    phase: Annotated[list[str] | None, typer.Option(help="Update phase: 1 (tenure < 5 years) or 2")] = None,
    missing: Annotated[
        list[str] | None, typer.Option(help="A missing item, e.g. documents.portrait (lines missing any of them)")
    ] = None,
    subscriber_type: Annotated[list[str] | None, typer.Option(help="individual or organization")] = None,
    payment_type: Annotated[list[str] | None, typer.Option(help="prepaid or postpaid")] = None,
    province: Annotated[
        list[str] | None, typer.Option(help="Province code of the point of sale (3 digits), or `unknown`")
    ] = None,
    state: Annotated[
        list[str] | None, typer.Option(help="Enforcement state: none, notified, one_way_locked, two_way_locked")
    ] = None,
    as_json: _Json = False,
) -> None:
    """Create a campaign as a draft (nothing is sent before `start`). Options may repeat or take a comma list;
    criteria left out take every line. Only incomplete, live lines are ever in a cohort, never a holder who
    objected to reminders or restricted processing.

    Example: subreg campaign create --name "Phase 1 portraits" --start-on 2026-12-10 --rate 40 --binds 4
    --phase 1 --missing documents.portrait --hours 08:00-20:00 --repeats "daily for 5 days"
    """
    from subreg.services.campaigns import manage

    cohort = {
        "phases": _values(phase), "missing": _values(missing), "subscriber_types": _values(subscriber_type),
        "payment_types": _values(payment_type), "provinces": _values(province), "states": _values(state),
    }  # fmt: skip
    cmd = manage.CreateCampaign(name=name, start_on=start_on, rate_per_bind=rate, binds=binds, hours=hours,
                                repeats=repeats, template=template, lang=lang, cohort=cohort)  # fmt: skip
    with open_container(init=True) as c:
        options = c.campaign_options()
        created = manage.create_campaign(cmd, uow=c.uow(), texts=c.campaign_texts(), options=options, actor=None,
                                         now=_now())  # fmt: skip
        result = manage.CampaignStatus(created, ()).as_dict(options.tz)
    if as_json:
        _print_json(result)
        return
    err.print(f"Campaign {created.id} created (draft). Next: subreg campaign preview {created.id}; "
              f"subreg campaign start {created.id}")  # fmt: skip


@campaign_app.command("preview")
@handled
def preview_cmd(campaign_id: _Id, as_json: _Json = False) -> None:
    """The cohort's size now (one COUNT), three sample messages (numbers masked) and the planned finish at the
    campaign's rate inside its allowed hours (a started campaign: what is left).

    Example: subreg campaign preview 3 --json
    """
    from subreg.services.campaigns import manage

    with open_container() as c:
        preview = manage.preview_campaign(campaign_id, uow=c.uow(), texts=c.campaign_texts(),
                                          options=c.campaign_options(), actor=None, now=_now())  # fmt: skip
    if as_json:
        _print_json(preview.as_dict())
        return
    _print_preview(preview)


def _act(action: str, campaign_id: int, as_json: bool) -> None:
    from subreg.services.campaigns import manage

    use_case = {"start": manage.start_campaign, "pause": manage.pause_campaign,
                "resume": manage.resume_campaign}[action]  # fmt: skip
    with open_container() as c:
        changed = use_case(campaign_id, uow=c.uow(), actor=None, now=_now())
        result = manage.CampaignStatus(changed, ()).as_dict(c.campaign_options().tz)
    if as_json:
        _print_json({k: result[k] for k in ("id", "name", "state", "wave")})
        return
    err.print(f"Campaign {changed.id}: {changed.state}")


@campaign_app.command("start")
@handled
def start_cmd(campaign_id: _Id, as_json: _Json = False) -> None:
    """Start a draft: `subreg worker` sends it from its start date, inside its hours, at its rate.

    Example: subreg campaign start 3
    """
    _act("start", campaign_id, as_json)


@campaign_app.command("pause")
@handled
def pause_cmd(campaign_id: _Id, as_json: _Json = False) -> None:
    """Pause a running campaign: nothing more is queued from the next tick (about a second) on.

    Example: subreg campaign pause 3
    """
    _act("pause", campaign_id, as_json)


@campaign_app.command("resume")
@handled
def resume_cmd(campaign_id: _Id, as_json: _Json = False) -> None:
    """Resume a paused campaign where it stopped (same wave, the lines already queued are not queued again).

    Example: subreg campaign resume 3
    """
    _act("resume", campaign_id, as_json)


@campaign_app.command("status")
@handled
def status_cmd(
    campaign_id: Annotated[int | None, typer.Argument(help="A campaign's id; none: list the campaigns")] = None,
    as_json: _Json = False,
) -> None:
    """A campaign's state and its messages counted by wave: queued, accepted by the SMSC, delivered, failed.
    Without an id, the campaigns, newest first.

    Example: subreg campaign status 3 --json
    """
    from subreg.services.campaigns import manage

    with open_container() as c:
        tz = c.campaign_options().tz
        if campaign_id is None:
            listed = [manage.CampaignStatus(x, ()).as_dict(tz) for x in manage.list_campaigns(uow=c.uow(), actor=None)]
        else:
            status = manage.campaign_status(campaign_id, uow=c.uow(), actor=None).as_dict(tz)
    if campaign_id is None:
        if as_json:
            _print_json([{k: x[k] for k in ("id", "name", "state", "wave", "waves", "start_on")} for x in listed])
            return
        table = Table("id", "name", "state", "wave", "start", "hours", "rate")
        for x in listed:
            table.add_row(str(x["id"]), x["name"], x["state"], f"{x['wave']}/{x['waves']}", x["start_on"], x["hours"],
                          f"{x['binds']} x {x['rate_per_bind']}/s")  # fmt: skip
        out.print(table)
        return
    if as_json:
        _print_json(status)
        return
    out.print(f"Campaign {status['id']} \"{status['name']}\": {status['state']}, wave {status['wave']}/"
              f"{status['waves']} ({status['repeats']}, {status['hours']}, {status['binds']} x "
              f"{status['rate_per_bind']} msg/s)")  # fmt: skip
    table = Table("wave", "queued", "accepted", "delivered", "failed", "total")
    for wave, counts in [*status["by_wave"].items(), ("all", status["counts"])]:
        table.add_row(wave, *(f"{counts[k]:,}" for k in ("queued", "accepted", "delivered", "failed", "total")))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(campaign_app, name="campaign")
