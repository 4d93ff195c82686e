"""CLI: the supervisor review queue (`subreg review pending`).

Deciding is a supervisor's work in the web pages (`/review`: the images beside the record, each decision
audited under their account); the command line lists what waits, with nothing personal: item ids, line ids,
flags, kinds, point-of-sale ids and ages.
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from subreg.cli._common import handled, open_container, out

__all__ = ["register", "review_app"]

review_app = typer.Typer(
    help=(
        "The supervisor review queue: flagged registrations and updates (see docs/backoffice.md).\n\n"
        "Example: subreg review pending --json"
    ),
    no_args_is_help=True,
)


@review_app.command("pending")
@handled
def pending_cmd(
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Items listed at most, oldest first")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """The items waiting for a supervisor, oldest first: id, line, kind, flags, point of sale, claimed or not.

    Example: subreg review pending --limit 20
    """
    from subreg.services.backoffice.review import pending_items

    with open_container() as c:
        items = pending_items(uow=c.uow(), limit=limit)
    rows = [
        {"item": i.id, "line": i.subscription_id, "kind": i.kind, "flags": list(i.flags),
         "point_of_sale_id": i.point_of_sale_id, "created_at": i.created_at.isoformat() if i.created_at else None,
         "claimed": i.claimed_by is not None}
        for i in items
    ]  # fmt: skip
    if as_json:
        out.print_json(orjson.dumps({"pending": rows}).decode())
        return
    table = Table("item", "line", "kind", "flags", "point of sale", "queued at", "claimed")
    for r in rows:
        pos = str(r["point_of_sale_id"] or "")
        table.add_row(str(r["item"]), str(r["line"]), r["kind"], ", ".join(r["flags"]), pos,
                      (r["created_at"] or "")[:16], "yes" if r["claimed"] else "")  # fmt: skip
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add `subreg review` to the main command."""
    app.add_typer(review_app, name="review")
