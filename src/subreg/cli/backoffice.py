"""CLI: the back-office work queue (`subreg backoffice queue-fill`, `subreg backoffice status`).

Filling is set-based (one INSERT ... SELECT on the clear compliance columns; nothing is decrypted) and can run
every night after the evaluation. Nothing personal is printed: counts only.
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from subreg.cli._common import handled, open_container, out

__all__ = ["backoffice_app", "register"]

backoffice_app = typer.Typer(
    help=(
        "The back-office work queue: lines completed from the ID scans on file (see docs/backoffice-queue.md).\n\n"
        "Example: subreg backoffice queue-fill"
    ),
    no_args_is_help=True,
)

_Json = Annotated[bool, typer.Option("--json", help="JSON output")]


@backoffice_app.command("queue-fill")
@handled
def queue_fill(as_json: _Json = False) -> None:
    """Queue every incomplete line whose missing fields its stored ID scans can give, oldest deadline first.

    A line already queued (or set aside at its current version) is not queued again.

    Example: subreg backoffice queue-fill --json
    """
    from subreg.services.backoffice.work_queue import fill_queue, queue_counts

    with open_container() as c:
        ctx = c.work_context()
        added = fill_queue(uow=c.uow(), ctx=ctx)
        counts = queue_counts(uow=c.uow(), now=ctx.now)
    if as_json:
        out.print_json(orjson.dumps({"queued": added, "open": counts.open}).decode())
    else:
        out.print(f"Queued {added} lines; {counts.open} items open.")


@backoffice_app.command("status")
@handled
def status(as_json: _Json = False) -> None:
    """The queue's figures: open items (held now), done, set aside.

    Example: subreg backoffice status
    """
    from subreg.services.backoffice.work_queue import queue_counts

    with open_container() as c:
        counts = queue_counts(uow=c.uow(), now=c.clock.now())
    figures = {"open": counts.open, "held": counts.held, "done": counts.done, "skipped": counts.skipped}
    if as_json:
        out.print_json(orjson.dumps(figures).decode())
    else:
        out.print(", ".join(f"{k}: {v}" for k, v in figures.items()))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(backoffice_app, name="backoffice")
