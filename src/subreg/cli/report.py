"""CLI: reports for the regulator (`subreg report regulator`).

The report holds counts by province only (no personal data); it is computed from the dated history of events,
so any past period is exact. xlsx is binary: it goes to `--out FILE`, or to standard output when that is a file
or a pipe, never to a terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from subreg.cli._common import err, handled, open_container
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.reports.regulator import FORMATS

__all__ = ["register", "report_app"]

report_app = typer.Typer(
    help="Reports.\n\nExample: subreg report regulator --from 2026-11-01 --to 2026-11-30 --format xlsx --out nov.xlsx",
    no_args_is_help=True,
)


def _format(fmt: str | None, out_file: Path | None) -> str:
    """The format asked, else the one `--out`'s extension names, else CSV; InputError `invalid_choice`."""
    if fmt is None:
        suffix = out_file.suffix.lower().lstrip(".") if out_file is not None else ""
        return suffix if suffix in FORMATS else "csv"
    if fmt.lower() not in FORMATS:
        raise InputError([FieldError("format", "invalid_choice")])
    return fmt.lower()


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


@report_app.command("regulator")
@handled
def regulator_cmd(
    start: Annotated[str, typer.Option("--from", help="First day of the period, YYYY-MM-DD (included)")],
    end: Annotated[str, typer.Option("--to", help="Last day of the period, YYYY-MM-DD (included; not after today)")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="xlsx, csv or html (default: from --out's extension, else csv)")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to FILE (default: standard output)")] = None,
    province: Annotated[
        str | None, typer.Option("--province", help="Only these provinces: 3-digit codes, comma-separated; unknown")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Labels in vi or en (default SUBREG_LANG)")] = None,
) -> None:
    """The regulator's report: subscriptions at the end of the period, updated, registered, locked one-way and
    two-way, terminated and restored in the period, by province of the point of sale and in total.

    Example: subreg report regulator --from 2026-11-01 --to 2026-11-30 --format xlsx --out report-2026-11.xlsx
    """
    from subreg.services.reports.regulator import RegulatorRequest, regulator_report

    chosen = _format(fmt, out_file)
    if lang is not None and lang not in ("vi", "en"):
        raise InputError([FieldError("lang", "invalid_choice")])
    if chosen == "xlsx" and out_file is None and _stdout_is_terminal():
        raise InputError([FieldError("out", "binary_to_terminal")])
    with open_container() as c:
        renderer = c.regulator_renderer(lang)
        report = regulator_report(
            RegulatorRequest(start, end, province), figures=c.regulator_figures(), options=c.report_options(),
            now=c.clock.now(),
        )  # fmt: skip
        data = renderer.render(report, chosen)
    if out_file is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out_file.write_bytes(data)
        err.print(f"Wrote {out_file} ({chosen}, {len(data):,} bytes)")
    if report.empty:
        err.print("[yellow]No data for this period: no subscription and no event.[/yellow]")


def register(app: typer.Typer) -> None:
    """Add `subreg report` to the main application."""
    app.add_typer(report_app, name="report")
