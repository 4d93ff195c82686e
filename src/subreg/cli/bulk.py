"""CLI: bulk import of an operator's subscriber base, compliance evaluation and statistics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from subreg.cli._common import EXIT_UNREADABLE, handled, load_settings, parse_date, regime_for

err = Console(stderr=True)
out = Console()


class _RowsPerSecond(ProgressColumn):
    """Rows done and rows per second (the task's `rows` field)."""

    def render(self, task: Task) -> Text:
        rows = int(task.fields.get("rows", 0))
        elapsed = task.elapsed or 0.0
        rate = rows / elapsed if elapsed > 0 else 0.0
        return Text(f"{rows:,} rows  {rate:,.0f} rows/s")


class _BarProgress:
    """`ImportProgress` on the terminal: one Rich bar per file (rows, rows/s, ETA), totals after each."""

    def __init__(self, quiet: bool, as_json: bool, dry_run: bool) -> None:
        self.quiet, self.as_json, self.dry_run = quiet, as_json, dry_run
        self._bar: Progress | None = None

    def file_started(self, name: str, size: int) -> Any:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            _RowsPerSecond(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            disable=self.quiet,
            transient=False,
        )
        self._bar.start()
        task = self._bar.add_task(name, total=max(size, 1), rows=0)
        bar = self._bar

        def advance(offset: int, rows: int) -> None:
            bar.update(task, completed=offset, rows=rows)

        return advance

    def file_done(self, summary: Any, seconds: float, rejects: Path) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self.as_json:
            return
        resumed = f" (resumed after line {summary.resumed_at_line})" if summary.resumed_at_line else ""
        err.print(
            f"{summary.source}{resumed}: {summary.imported:,} imported, {summary.updated:,} updated, "
            f"{summary.unchanged:,} unchanged, {summary.rejected:,} rejected, "
            f"{summary.incomplete:,} incomplete - {seconds:.1f} s"
            + (f"; rejects in {rejects}" if summary.rejected else "")
            + (" [dry run: nothing written]" if self.dry_run else "")
        )

    def indexes(self, started: bool, seconds: float) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self.quiet:
            return
        err.print("Building the indexes deferred during the load..." if started else f"Indexes built - {seconds:.1f} s")


def import_command(
    files: Annotated[list[Path], typer.Argument(help="Export files (CSV, JSON lines, Parquet)", show_default=False)],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, csv, jsonl or parquet (Parquet needs pyarrow: the parquet extra)")
    ] = "auto",
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML column mapping (operator columns, date formats)")
    ] = None,
    encoding: Annotated[str, typer.Option(help="auto, utf-8, utf-8-sig or cp1258 (Windows-1258)")] = "auto",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and count; write nothing")] = False,
    reject_file: Annotated[
        Path | None, typer.Option("--reject-file", help="Rejected rows CSV (default: FILE.rejects.csv)")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: settings)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction")] = 5000,
    as_of: Annotated[str | None, typer.Option(help="Check date YYYY-MM-DD (default: today in Vietnam)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    evaluate_after: Annotated[
        bool,
        typer.Option(
            "--evaluate/--no-evaluate",
            help="Then apply the whole-base rules (4th subscription per ID document) as `subreg evaluate` does",
        ),
    ] = True,
) -> None:
    """Import an operator's subscriber base: normalize, validate, encrypt, upsert by MSISDN.

    Re-importing a file changes nothing; an interrupted import resumes where it stopped when the same
    command runs again. Rejected rows go to the reject file (line, field, code, message, original); with
    SUBREG_OPERATOR_RANGES set, so does a number that is not this operator's (`not_operator_number`).
    Then the base is evaluated (`subreg evaluate`), so `subreg stats` shows the true picture at once.

    Example: subreg import export.csv --mapping mapping.toml --reject-file rejects.csv
    """
    from subreg.bootstrap import bootstrap, import_file_system, init_storage, operator_numbers, system_clock
    from subreg.domain.common.errors import UnreadableInputError
    from subreg.services.registry.import_files import ImportRun, import_files
    from subreg.services.registry.importer import ImportOptions

    settings = load_settings()
    mapping_text = ""
    if mapping is not None:
        try:
            mapping_text = mapping.read_text(encoding="utf-8")
        except OSError as exc:
            err.print(f"[red]Cannot read {mapping}: {exc.strerror}[/red]")
            raise typer.Exit(EXIT_UNREADABLE) from None
    options = ImportOptions(
        as_of=parse_date(as_of, "--as-of") or system_clock().today(),
        phase_reference=parse_date(settings.phase_reference_date, "phase_reference_date"),
        workers=workers or settings.import_workers,
        batch_size=batch_size,
        lang=settings.lang,
        dry_run=dry_run,
        numbers=operator_numbers(settings),
    )
    run = ImportRun(files, options, fmt, encoding, mapping_text, reject_file, evaluate_after)
    init_storage(settings)
    container = bootstrap(settings)
    try:
        report = import_files(
            run,
            session=container.bulk_session,
            files=import_file_system(),
            vault=container.vault,
            rule_set=container.rule_set,
            pool=container.worker_pool(options.workers),
            progress=_BarProgress(quiet, as_json, dry_run),
        )
        if report.evaluation is not None:  # lines the file completed are restored by the worker within seconds
            from datetime import UTC, datetime

            from subreg.services.enforcement.sweep import request_restores

            request_restores(uow=container.uow(), channel="import", now=datetime.now(UTC))
    except UnreadableInputError as exc:
        err.print(f"[red]unreadable input[/red]: {exc}")
        raise typer.Exit(EXIT_UNREADABLE) from None
    finally:
        container.close()
    if as_json:
        out.print_json(orjson.dumps(report.as_dict()).decode())
    elif report.evaluation is not None:
        changed = ", ".join(f"{k} {v:,}" for k, v in report.evaluation.changed.items())
        err.print(f"Evaluated in {report.evaluation_seconds:.1f} s; rows changed: {changed}")


def evaluate_command(
    as_of: Annotated[
        str | None, typer.Option(help="Evaluation date YYYY-MM-DD: answers hold on that day (default: today)")
    ] = None,
    phase_reference: Annotated[
        str | None,
        typer.Option(help="Reference date of the update phases (default: settings phase_reference_date)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes for re-checks (default: settings)")
    ] = None,
    rule_set: Annotated[
        str | None,
        typer.Option(help="Answer under this regime (default: the regime schedule's on --as-of)"),
    ] = None,
) -> None:
    """Bring every line's compliance up to a date: re-check what time changed (expired papers, 14th
    birthdays), re-rank the people whose lines changed (the 4th-subscription rule), and after a change of
    the rules re-check every line. Incremental: a run where nothing changed takes a moment.

    Example: subreg evaluate --as-of 2018-04-24
    Example: subreg evaluate --as-of 2023-04-01 --rule-set population-db-2023
    """
    from subreg.bootstrap import bootstrap
    from subreg.services.registry.evaluation import evaluate

    settings = load_settings()
    reference = parse_date(phase_reference, "--phase-reference") or parse_date(
        settings.phase_reference_date, "phase_reference_date"
    )
    container = bootstrap(settings)
    day = parse_date(as_of, "--as-of") or container.clock.today()
    rules = regime_for(settings, day, rule_set)
    container.ensure_indexes()  # a first load killed and never resumed left some out
    store = container.bulk_session()
    try:
        started = time.perf_counter()
        report = evaluate(
            store, as_of=day, reference=reference, rule_set=rules, vault=container.vault,
            pool=container.worker_pool(workers or settings.import_workers),
        )  # fmt: skip
        wall = time.perf_counter() - started
    finally:
        store.close()
        container.close()
    if as_json:
        out.print_json(orjson.dumps({**report.as_dict(), "wall_seconds": round(wall, 3)}).decode())
    else:
        changed = ", ".join(f"{k} {v:,}" for k, v in report.changed.items())
        err.print(f"Evaluated as of {day.isoformat()} in {wall:.1f} s; lines changed: {changed}")


def stats_command(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--phase-reference",
            "--as-of",
            help="Count the phases for this campaign reference date instead of as stored by `subreg evaluate` "
            "(`--as-of` is the older name)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    over_limit: Annotated[
        bool, typer.Option("--over-limit", help="List ID documents with 4+ subscriptions without contract")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="With --over-limit: at most this many documents")] = 1000,
    rule_set: Annotated[
        str | None,
        typer.Option(help="Name the missing items of this regime (default: the regime schedule's today)"),
    ] = None,
) -> None:
    """Counts by state, missing item, phase, subscriber type, payment type, channel and province.

    The lines' verdicts are those `subreg evaluate` stored (under the regime it was run with); `--rule-set`
    names the missing items, so a later regime's items (`verification.population_db`) are counted.

    Example: subreg stats --phase-reference 2018-04-24 --json
    Example: subreg stats --rule-set population-db-2023 --json
    """
    from subreg.bootstrap import bootstrap
    from subreg.services.registry import stats as service

    settings = load_settings()
    reference = parse_date(as_of, "--phase-reference")
    container = bootstrap(settings)
    container.ensure_indexes()  # a first load killed and never resumed left some out
    store = container.bulk_session()
    try:
        if over_limit:
            docs = service.over_limit(store, limit=limit)
        else:
            rules = regime_for(settings, container.clock.today(), rule_set)
            result = service.compliance_stats(store, rule_set=rules, as_of=reference)
    finally:
        store.close()
        container.close()
    if over_limit:
        if as_json:
            out.print_json(orjson.dumps({"documents": docs}).decode())
            return
        table = Table("document (blind index)", "subscriptions", "without contract", "contract needed")
        for d in docs:
            table.add_row(d["document"], str(d["subscriptions"]), str(d["without_contract"]), str(d["contract_needed"]))
        out.print(table)
        err.print(f"{len(docs)} ID documents")
        return
    if as_json:
        out.print_json(orjson.dumps(result).decode())
        return
    out.print(f"[bold]{result['total']:,} subscriptions[/bold]")
    for name, counts in result.items():
        if not name.startswith("by_") or not counts:
            continue
        table = Table(name.removeprefix("by_").replace("_", " "), "count", "%")
        for key, n in list(counts.items())[:40]:
            table.add_row(key, f"{n:,}", f"{100 * n / max(result['total'], 1):.1f}")
        out.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""

    app.command("import")(handled(import_command))
    app.command("evaluate")(handled(evaluate_command))
    app.command("stats")(handled(stats_command))
