"""CLI: population-database matching (`subreg verify population`): batch files out and in, or a direct run."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from subreg.cli._common import err, handled, load_settings, out

__all__ = ["population_cmd", "register"]

_REQUIRING = ("population-db-2023", "nd163-2024", "circular-08-2026")


def _regime(settings: Any, today: date, explicit: str | None) -> str:
    """The regime the answers are recorded under: `--regime`, else the schedule's on `today` when it requires
    the match, else `population-db-2023`."""
    from subreg.domain.common.errors import FieldError, InputError
    from subreg.domain.compliance.rules import RULE_SETS
    from subreg.domain.compliance.timeline import parse_regime_schedule

    if explicit is not None:
        if explicit not in _REQUIRING:
            raise InputError([FieldError("--regime", "unknown_rule_set")])
        return explicit
    scheduled = parse_regime_schedule(settings.regime_schedule, RULE_SETS).regime_on(today)
    return scheduled if scheduled in _REQUIRING else "population-db-2023"


@handled
def population_cmd(
    batch_out: Annotated[
        Path | None, typer.Option("--batch-out", help="Write the request file (CSV) for every line to match")
    ] = None,
    batch_in: Annotated[
        Path | None, typer.Option("--batch-in", help="Read the database's answer file (CSV) and store it")
    ] = None,
    batch: Annotated[
        str | None, typer.Option(help="Name of the exchange (default: the file's name, or a timestamp)")
    ] = None,
    rematch: Annotated[
        bool, typer.Option("--rematch", help="Every live line, not only those not yet verified")
    ] = False,
    regime: Annotated[
        str | None,
        typer.Option(help="Regime the answers count under (default: the regime schedule's, population-db-2023)"),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes for decryption")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Match the lines' holders against the National Population Database on ID number, full name and date of
    birth. With --batch-out, write the request file for the exchange; with --batch-in, store the answer file
    (set-based: matched lines are verified, mismatches become the missing item verification.population_db
    and enter enforcement); with neither, ask the configured database (SUBREG_POPULATION_BACKEND) directly.

    Example: subreg verify population --batch-out requests.csv
    Example: subreg verify population --batch-in answers.csv --json
    Example: subreg verify population --json
    """
    from subreg.bootstrap import bootstrap
    from subreg.domain.common.errors import FieldError, InputError
    from subreg.services.verification import population as service

    if batch_out is not None and batch_in is not None:
        raise InputError([FieldError("--batch-in", "invalid_choice")])
    settings = load_settings()
    container = bootstrap(settings)
    now = container.clock.now()
    source = batch_in or batch_out
    name = batch or (source.name if source is not None else f"run-{now.strftime('%Y%m%dT%H%M%S')}")
    started = time.perf_counter()
    store = container.population_store()
    pool = container.worker_pool(workers or settings.import_workers)
    try:
        if batch_out is not None:
            from subreg.bootstrap import population_request_writer

            with population_request_writer(batch_out) as sink:
                report = service.write_request(
                    store, vault=container.vault, pool=pool, sink=sink, uow_factory=container.uow, now=now,
                    batch=name, rematch=rematch,
                )  # fmt: skip
        elif batch_in is not None:
            from subreg.bootstrap import population_answers

            answers = population_answers(batch_in)
            report = service.store_answers(
                store, answers, uow_factory=container.uow, now=now, batch=name,
                regime=_regime(settings, container.clock.today(), regime),
            )  # fmt: skip
        else:
            report = service.match_all(
                store, vault=container.vault, pool=pool, registry=container.population_registry(),
                uow_factory=container.uow, now=now, batch=name, rematch=rematch,
                regime=_regime(settings, container.clock.today(), regime),
            )  # fmt: skip
    finally:
        pool.close()
        store.close()
        container.close()
    wall = time.perf_counter() - started
    result = {**report.as_dict(), "wall_seconds": round(wall, 3)}
    if as_json:
        out.print_json(orjson.dumps(result).decode())
    else:
        err.print(", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in result.items()))


def register(app: typer.Typer) -> None:
    """Add `subreg verify population`, to the `verify` group if one is registered already (chip, face)."""
    for group in app.registered_groups:
        if group.name == "verify" and group.typer_instance is not None:
            group.typer_instance.command("population")(population_cmd)
            return
    verify_app = typer.Typer(
        help="Identity verification.\n\nExample: subreg verify population --batch-out requests.csv",
        no_args_is_help=True,
    )
    verify_app.command("population")(population_cmd)
    app.add_typer(verify_app, name="verify")
