"""CLI: data-subject requests and retention (`subreg dsr open|list|export|fulfil|retention`).

Numbers given on the command line are never printed back; requests are named by their id.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from subreg.cli._common import err, handled, open_container, out, parse_date

__all__ = ["dsr_app", "register"]

dsr_app = typer.Typer(
    help=(
        "Data-subject requests (export, access, restrict, object, erase) and retention.\n\n"
        "Example: subreg dsr open --kind export --msisdn 0912345678"
    ),
    no_args_is_help=True,
)


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "holder_id": row.holder_id,
        "status": row.status,
        "received_at": row.received_at.isoformat() if row.received_at else None,
        "due_on": row.due_on.isoformat() if row.due_on else None,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "outcome": row.outcome,
    }


def _print(row: Any) -> None:

    out.print(orjson.dumps(_row(row)).decode(), soft_wrap=True, markup=False)


def _read_secret(label: str) -> str:
    """A value typed at a hidden prompt (terminal) or the first line of stdin (a pipe)."""
    import sys

    if sys.stdin.isatty():
        return str(typer.prompt(label, hide_input=True)).strip()
    return sys.stdin.readline().strip()


@dsr_app.command("open")
def open_cmd(
    kind: Annotated[str, typer.Option("--kind", help="export | access | restrict | object | erase")],
    msisdn: Annotated[str | None, typer.Option("--msisdn", help="A phone number of the data subject")] = None,
    id_number: Annotated[
        str | None,
        typer.Option(
            "--id-number",
            help="The data subject's ID document number; '-' asks for it (hidden) or reads it from stdin, "
            "so that it stays out of the shell history and the process list",
        ),
    ] = None,
) -> None:
    """Log a data-subject request; its deadline is today + SUBREG_DSR_DEADLINE_DAYS.

    Example: subreg dsr open --kind export --id-number -
    """
    if id_number == "-":
        id_number = _read_secret("ID number")

    @handled
    def run() -> None:
        from subreg.services import privacy

        with open_container() as c, c.uow() as uow:
            row = privacy.open_request(
                uow, kind=kind, actor=None, vault=c.vault, rule_set=c.rule_set,
                deadline_days=c.settings.dsr_deadline_days, msisdn=msisdn, id_number=id_number,
            )  # fmt: skip
        _print(row)

    run()


@dsr_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="open | done | refused")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, soonest deadline first")] = 100,
) -> None:
    """List requests, soonest deadline first (one JSON object per line).

    Example: subreg dsr list --status open
    """

    @handled
    def run() -> None:
        from subreg.services import privacy

        with open_container() as c, c.uow() as uow:
            rows = privacy.list_requests(uow, status=status, limit=limit)
        for row in rows:
            _print(row)

    run()


@dsr_app.command("export")
def export_cmd(
    request_id: Annotated[int, typer.Argument(help="The request id (kind export or access)")],
    out_file: Annotated[Path, typer.Option("--out", help="The archive to write (.zip), created 0600")],
) -> None:
    """Write everything held about the request's data subject to a ZIP archive: README.txt
    (Vietnamese and English), data.json, images/. The request is closed as `exported`.

    Example: subreg dsr export 12 --out dsr-12.zip
    """

    @handled
    def run() -> None:
        from subreg.services import privacy

        with open_container() as c, c.uow() as uow:
            archive = privacy.export_request(uow, request_id, actor=None, vault=c.vault, registry=c.registry())
        # The archive holds personal data: readable by the owner only, from the first byte.
        fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(archive)
        err.print(f"wrote {out_file} ({len(archive)} bytes)")

    run()


@dsr_app.command("fulfil")
def fulfil_cmd(request_id: Annotated[int, typer.Argument(help="The request id (restrict, object or erase)")]) -> None:
    """Carry out a restrict, object or erase request and close it.

    Erasure crypto-shreds the holder, unless a subscription is live or still in its retention
    period (then the request is refused with `legal_retention` and the holder restricted).

    Example: subreg dsr fulfil 12
    """

    @handled
    def run() -> None:
        from subreg.services import privacy

        with open_container() as c, c.uow() as uow:
            row = privacy.fulfil_request(
                uow, request_id, actor=None, blobs=c.blobs, retention_years=c.settings.retention_years
            )
        _print(row)

    run()


@dsr_app.command("retention")
def retention_cmd(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Reference date YYYY-MM-DD (default today)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, shred nothing")] = False,
) -> None:
    """Crypto-shred every holder whose subscriptions were all terminated more than
    SUBREG_RETENTION_YEARS ago (set-based, in batches). Prints one JSON object.

    Example: subreg dsr retention --as-of 2026-01-01 --dry-run
    """

    @handled
    def run() -> None:
        from subreg.services import privacy

        with open_container() as c, c.uow() as uow:
            day = parse_date(as_of, "--as-of") or c.clock.today()
            result = privacy.retention_sweep(
                uow, as_of=day, years=c.settings.retention_years, actor=None, blobs=c.blobs, dry_run=dry_run
            )
        out.print(orjson.dumps(result.as_dict()).decode(), soft_wrap=True, markup=False)

    run()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(dsr_app, name="dsr")
