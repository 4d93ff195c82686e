"""CLI: the back office: completing subscriptions from what is already on file (`subreg complete --derive`) and
the work queue of lines their stored ID scans can complete (`subreg backoffice queue-fill`, `status`).

Queue filling is set-based (one INSERT ... SELECT on the clear compliance columns; nothing is decrypted) and can
run every night after the evaluation. Nothing personal is printed: counts only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from subreg.cli._common import EXIT_UNREADABLE, err, handled, open_container, out, parse_date

__all__ = ["backoffice_app", "complete_cmd", "register"]


@handled
def complete_cmd(
    derive: Annotated[
        bool, typer.Option("--derive", help="Fill absent values the papers on file give (the rule set's derivations)")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be filled and completed; change nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Lines per page read, and lines filled per transaction")
    ] = 5000,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: settings)")] = None,
    as_of: Annotated[str | None, typer.Option(help="Date the papers are judged at (default: today)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar")] = False,
) -> None:
    """Complete subscriptions from what is already on file, without asking the subscriber.

    --derive applies the rule set's derivations to every line whose record supports them: nationality from a
    CMND/CCCD, gender and birth year from a CCCD number, purpose personal_use for an individual, the subscriber
    type. Only ABSENT values are filled, never one that is there; each value filled is recorded with its rule and
    source field (field_provenance) and in the line's history (channel `derivation`). Lines it completes are
    restored by the worker. An interrupted run resumes where it stopped when run again the same day.

    Example: subreg complete --derive --dry-run --json
    """
    from subreg.services.backoffice.derive import DeriveOptions, DeriveReport, complete_by_derivation
    from subreg.services.enforcement.sweep import request_restores

    if not derive:
        err.print("[red]--derive: nothing to do without it (the back-office queue fills the rest from scans)[/red]")
        raise typer.Exit(EXIT_UNREADABLE)
    with open_container(init=True) as container:
        options = DeriveOptions(
            as_of=parse_date(as_of, "--as-of") or container.clock.today(), batch_size=batch, dry_run=dry_run
        )
        store = container.derive_store()
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[lines]:,} lines  {task.fields[filled]:,} filled"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            disable=quiet or as_json,
        )
        task = bar.add_task("derive" + (" (dry run)" if dry_run else ""), total=None, lines=0, filled=0)

        def progress(done: int, last: int, report: DeriveReport) -> None:
            bar.update(task, total=max(last, 1), completed=done, lines=report.lines_read, filled=report.lines_filled)

        def restore() -> int:
            return request_restores(uow=container.uow(), channel="derivation", now=datetime.now(UTC))

        try:
            with bar:
                report = complete_by_derivation(
                    options, store=store, uow_factory=container.uow, vault=container.vault,
                    rule_set=container.rule_set,
                    pool=container.worker_pool(workers or container.settings.import_workers),
                    now=lambda: datetime.now(UTC), restore=restore, progress=progress,
                )  # fmt: skip
        finally:
            store.close()
    result: dict[str, Any] = report.as_dict()
    if as_json:
        out.print_json(orjson.dumps(result).decode())
        return
    fields = ", ".join(f"{k} {v:,}" for k, v in result["filled"].items()) or "none"
    err.print(
        f"{'Would fill' if dry_run else 'Filled'} {result['values_filled']:,} values in {result['lines_filled']:,} "
        f"of {result['lines_read']:,} lines read ({fields}); "
        f"{result['made_complete']:,} lines {'would become' if dry_run else 'became'} complete "
        f"({result['restorable']:,} in enforcement, to restore) - {result['seconds']:.1f} s"
        + (" [dry run: nothing written]" if dry_run else "")
        + (" (resumed)" if result["resumed"] else "")
    )


backoffice_app = typer.Typer(
    help=(
        "The back-office work queue: lines completed from the ID scans on file (see docs/backoffice.md).\n\n"
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
    app.command("complete")(complete_cmd)
    app.add_typer(backoffice_app, name="backoffice")
