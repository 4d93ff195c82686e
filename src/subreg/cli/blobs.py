"""CLI: maintenance of the blob store (`subreg blobs sweep`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import orjson
import typer

from subreg.cli._common import handled, open_container, out

__all__ = ["blobs_app", "register"]

blobs_app = typer.Typer(
    help="The encrypted document store.\n\nExample: subreg blobs sweep --dry-run",
    no_args_is_help=True,
)


@blobs_app.command("sweep")
def sweep_cmd(
    older_than_minutes: Annotated[
        int, typer.Option(min=1, help="Only files older than this (younger ones may belong to a request in flight)")
    ] = 60,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count the orphans, remove nothing")] = False,
) -> None:
    """Remove image files that no document references (left by refused or interrupted updates).

    Prints one JSON object with the counts. Safe to run while the counters work.

    Example: subreg blobs sweep --older-than-minutes 120
    """
    from datetime import UTC, datetime, timedelta

    from subreg.services.registry.blob_sweep import sweep_orphan_blobs

    @handled
    def run() -> None:
        with open_container() as c:
            report = sweep_orphan_blobs(
                c.uow(),
                c.blobs,
                older_than=timedelta(minutes=older_than_minutes),
                now=datetime.now(UTC),
                dry_run=dry_run,
            )
        out.print(orjson.dumps(asdict(report)).decode(), soft_wrap=True, markup=False)

    run()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(blobs_app, name="blobs")
