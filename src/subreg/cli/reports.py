"""CLI: report snapshots (`subreg snapshot`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import orjson
import typer

from subreg.cli._common import err, handled, open_container, out, parse_date

__all__ = ["register"]


@handled
def snapshot_cmd(
    as_of: Annotated[str | None, typer.Option("--as-of", help="The day, YYYY-MM-DD (default: today)")] = None,
    days: Annotated[
        int, typer.Option("--days", min=1, max=366, help="Also the days before: N days ending on --as-of")
    ] = 1,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a day's existing snapshot")] = False,
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing", help="Leave days that have a snapshot alone (exit 0)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per day taken")] = False,
) -> None:
    """Take the daily snapshot of the registry's figures (what the dashboard shows): lines by state, missing
    item, phase, channel, type, enforcement state, the day's enforcement steps, campaign SMS, and updates and
    registrations per point of sale, each by the province of the point of sale. A day's snapshot is kept:
    a second one is refused unless --replace. For a past day, the dated figures (steps, SMS, the counter's
    work) are that day's; the line figures are the registry as it is now (the snapshot records when).
    The worker takes today's at SUBREG_SNAPSHOT_DAILY_AT.

    Example: subreg snapshot --as-of 2018-05-10 --replace
    """
    from subreg.domain.common.errors import ConflictError

    with open_container(init=True) as container:
        last = parse_date(as_of, "--as-of") or container.clock.today()
        for back in range(days - 1, -1, -1):
            day = last - timedelta(days=back)
            try:
                taken = container.take_snapshot(day, replace=replace)
            except ConflictError:
                if not skip_existing:
                    raise
                err.print(f"{day.isoformat()}: a snapshot exists (left alone)")
                continue
            if as_json:
                out.print_json(orjson.dumps(taken.as_dict()).decode())
            else:
                verb = "replaced" if taken.replaced else "taken"
                out.print(f"{day.isoformat()}: snapshot {verb}, {taken.figures} figures over {taken.lines:,} lines")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.command("snapshot")(snapshot_cmd)
