"""CLI: this operator's numbers (`subreg numbers load-ported|show`): the ranges of the setting `operator_ranges`
and the numbers ported in and out, from the national MNP database's export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from subreg.cli._common import EXIT_UNREADABLE, err, handled, open_container, out

__all__ = ["numbers_app", "register"]

numbers_app = typer.Typer(
    help=(
        "This operator's numbers: its ranges (setting SUBREG_OPERATOR_RANGES) and the numbers ported in and out "
        "(number portability, since 16/11/2018).\n\nExample: subreg numbers load-ported mnp-2026-12-01.csv --replace"
    ),
    no_args_is_help=True,
)

_BAD_SHOWN = 20


@numbers_app.command("load-ported")
def load_ported_cmd(
    file: Annotated[Path, typer.Argument(help="The MNP export: CSV with a header naming msisdn and direction")],
    replace: Annotated[
        bool, typer.Option("--replace", help="The list becomes exactly this file (else: added to it)")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Load the numbers ported in to this operator and out of it (the national MNP database's export).

    The file is CSV (`,` or `;`) with a header; the columns `msisdn` (any accepted form: 0901234567,
    84901234567, +84 90 123 4567) and `direction` (`in`: ported to this operator, `out`: ported away) are
    read, others ignored. A number listed again takes the new direction. The load is one transaction: any
    bad line (reported by line number, field and code) refuses it whole, and an interrupted load leaves the
    previous list. Registration refuses a number ported out, and one outside SUBREG_OPERATOR_RANGES unless
    ported in. Exit code 0 when loaded, 2 when refused.

    Example: subreg numbers load-ported mnp-2026-12-01.csv --replace
    """

    @handled
    def run() -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        from subreg.bootstrap import open_ported_file
        from subreg.services.registry.ported import load_ported

        try:
            source = open_ported_file(file)
        except OSError as exc:
            err.print(f"[red]Cannot read {file}: {exc.strerror}[/red]")
            raise typer.Exit(EXIT_UNREADABLE) from None
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[rows]:,} numbers"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            disable=quiet or as_json,
        )
        task = bar.add_task(file.name, total=max(source.size, 1), rows=0)
        try:
            with open_container(init=True) as container, bar:
                lang = container.settings.lang
                result = load_ported(
                    source, uow=container.uow(), replace=replace, now=datetime.now(UTC),
                    progress=lambda offset, rows: bar.update(task, completed=offset, rows=rows),
                )  # fmt: skip
        finally:
            source.close()
        if as_json:
            out.print_json(orjson.dumps(result.as_dict()).decode())
        else:
            _report(result, replace, lang)
        if not result.loaded:
            raise typer.Exit(EXIT_UNREADABLE)

    run()


def _report(result: Any, replace: bool, lang: str) -> None:
    from subreg.domain.common.messages import message_for

    shown = result.bad[:_BAD_SHOWN]
    for line, e in shown:
        err.print(f"[red]line {line}: {e.field or '-'} {e.code}[/red] — {message_for(e.code, e.field, lang)}")
    if not result.loaded:
        more = result.bad_lines - len({line for line, _ in shown})
        if more > 0:
            err.print(f"... and {more:,} more bad lines")
        err.print(f"[red]Nothing loaded[/red]: {result.bad_lines:,} bad lines; the previous list is unchanged")
        return
    dropped = f"; the previous list ({result.replaced:,}) replaced" if replace else ""
    err.print(
        f"[green]Loaded[/green] {result.rows:,} numbers: {result.ported_in:,} ported in, "
        f"{result.ported_out:,} ported out{dropped}"
    )


@numbers_app.command("show")
def show_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Show the configured ranges (SUBREG_OPERATOR_RANGES) and how many numbers were ported in and out.

    Example: subreg numbers show --json
    """

    @handled
    def run() -> None:
        from rich.table import Table

        from subreg.services.registry.ported import ported_counts

        with open_container(init=True) as container:
            counts = ported_counts(uow=container.uow())
            ranges = container.settings.operator_range_list
        body = {
            "operator_ranges": ranges,
            "accepts_every_number": not ranges,
            "ported_in": counts.ported_in,
            "ported_out": counts.ported_out,
            "loaded_at": counts.loaded_at.isoformat() if counts.loaded_at else None,
        }
        if as_json:
            out.print_json(orjson.dumps(body).decode())
            return
        table = Table("", "", show_header=False)
        table.add_row("operator ranges", ", ".join(ranges) if ranges else "(not set: every Vietnamese mobile number)")
        table.add_row("ported in", f"{counts.ported_in:,}")
        table.add_row("ported out", f"{counts.ported_out:,}")
        table.add_row("last loaded", body["loaded_at"] or "never")
        out.print(table)

    run()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(numbers_app, name="numbers")
