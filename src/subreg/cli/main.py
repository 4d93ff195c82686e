"""The `subreg` command line (Typer). Errors become exit codes in exactly one place: `handled`."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer

from subreg.cli._common import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_UNREADABLE,
    err,
    handled,
    load_settings,
    out,
    parse_date,
    regime_for,
)
from subreg.config import Settings
from subreg.domain.common.errors import InputError

app = typer.Typer(
    name="subreg",
    help="subreg: subscriber registry and Decree 49 KYC compliance.\n\nExample: subreg check records.jsonl --json",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
id_app = typer.Typer(help="Read Vietnamese ID cards (chip-CCCD QR code, TD1 MRZ).", no_args_is_help=True)
app.add_typer(id_app, name="id")


@app.command()
@handled
def init() -> None:
    """Create ./var, the master key (dev), and migrate the database to the latest schema.

    Example: subreg init
    """
    from subreg.bootstrap import init_storage

    settings = load_settings()
    init_storage(settings)
    out.print(f"[green]Database ready[/green]: {_safe_url(settings.database_url)}")


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url


def _logins_file(settings: Settings) -> Path:
    return settings.var_dir / "demo-logins.txt"


@app.command("demo-data")
@handled
def demo_data(
    count: Annotated[int, typer.Option(min=1, help="How many subscriptions")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 2018,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write records to FILE (.jsonl or .csv, '-' for stdout) instead of loading"),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl or csv (default: from --out's extension)")] = None,
    as_of: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD (default 2018-03-15)")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Load only into an empty database")] = False,
) -> None:
    """Generate a synthetic operator: points of sale, staff and realistic subscriptions.

    A controlled mix of complete, incomplete and invalid records, deterministic for a seed.

    Example: subreg demo-data --count 100000 --seed 7 --out demo.jsonl
    """
    from subreg.bootstrap import bootstrap, demo_card_scans, demo_jpegs, init_storage, write_records
    from subreg.services.registry import demo_data as demo
    from subreg.services.registry.evaluation import evaluate

    ref = parse_date(as_of, "--as-of") or date(2018, 3, 15)
    if out_file is not None:
        kind = fmt or ("csv" if out_file.suffix.lower() == ".csv" else "jsonl")
        if kind not in ("jsonl", "csv"):
            raise InputError([_field_error("--format", "invalid_choice")])
        records = demo.generate_records(count, seed, as_of=ref)
        if str(out_file) == "-":
            write_records(records, sys.stdout.buffer, kind)
        else:
            with out_file.open("wb") as stream:
                write_records(records, stream, kind)
            err.print(f"Wrote {count} records to {out_file}")
        return

    settings = load_settings()
    init_storage(settings)
    container = bootstrap(settings)
    try:
        if if_empty and not demo.is_empty(container.uow()):
            err.print("Demo data already loaded; nothing to do.")
            return
        logins = demo.load_demo(
            container.uow(), vault=container.vault, blobs=container.blobs, rule_set=container.rule_set,
            jpegs=demo_jpegs(seed), count=count, seed=seed, as_of=ref, card_scans=demo_card_scans,
        )  # fmt: skip
        # The 4th-subscription rule and the phases need the whole base: evaluate it as an import would.
        store = container.bulk_session()
        try:
            evaluate(
                store, as_of=container.clock.today(), reference=date.fromisoformat(settings.phase_reference_date),
                rule_set=container.rule_set, vault=container.vault, pool=container.worker_pool(1),
            )  # fmt: skip
        finally:
            store.close()
    finally:
        container.close()
    path = _logins_file(settings)
    path.write_text("".join(f"{role}\t{user}\t{password}\n" for role, user, password in logins), encoding="utf-8")
    path.chmod(0o600)
    out.print(f"[green]Loaded {count} demo subscriptions[/green]")
    _print_logins(settings)


def _field_error(field: str, code: str) -> Any:
    from subreg.domain.common.errors import FieldError

    return FieldError(field, code)


def _print_logins(settings: Settings) -> None:
    path = _logins_file(settings)
    if not path.exists():
        return
    from rich.table import Table

    table = Table(title="Demo logins (tài khoản demo)")
    for col in ("role", "username", "password"):
        table.add_column(col)
    for line in path.read_text(encoding="utf-8").splitlines():
        table.add_row(*line.split("\t"))
    out.print(table)


@app.command()
@handled
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from SUBREG_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from SUBREG_PORT)")] = None,
    workers: Annotated[
        int | None, typer.Option(min=0, help="Server processes (default SUBREG_WORKERS; 0: one per CPU core)")
    ] = None,
) -> None:
    """Start the HTTP server (API under /api/v1, docs at /docs).

    The image checks of the point of sale are CPU-bound: one process per core serves the most updates.
    On SQLite the processes' writers queue at a shared lock file (one writer at a time, in turn).

    Example: subreg serve --port 8000 --workers 2
    """
    import uvicorn

    from subreg.api.app import create_app

    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    processes = workers if workers is not None else settings.workers
    processes = processes or os.cpu_count() or 1
    os.environ["SUBREG_WORKERS"] = str(processes)  # each process sizes its share of the cores from it
    settings = settings.model_copy(update={"workers": processes})
    application = create_app(settings)  # built here too: a wrong setting fails now, before any worker starts
    out.print(
        f"[bold green]subreg is running:[/bold green] http://{host}:{port}/  (API docs: http://{host}:{port}/docs)"
    )
    if settings.env == "dev":
        _print_logins(settings)
    if processes == 1:
        uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
        return
    # Each worker process builds its own app from the same environment (SUBREG_*).
    uvicorn.run("subreg.api.app:create_app", factory=True, host=host, port=port, workers=processes,
                log_level="warning", access_log=False)  # fmt: skip


def _open_input(source: str) -> BinaryIO:
    if source == "-":
        return sys.stdin.buffer
    path = Path(source)
    try:
        return path.open("rb")
    except OSError as exc:
        err.print(f"[red]Cannot read {source}: {exc.strerror}[/red]")
        raise typer.Exit(EXIT_UNREADABLE) from None


@app.command()
@handled
def check(
    source: Annotated[str, typer.Argument(help="JSON lines or CSV file, or '-' for standard input")] = "-",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON check result per line on stdout")] = False,
    as_of: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD (default: today in Vietnam)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, jsonl or csv")] = "auto",
    rule_set: Annotated[
        str | None, typer.Option(help="Rule set (default: the regime schedule's on --as-of, nd49-2017)")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Language of messages: vi or en")] = None,
) -> None:
    """Validate records without storing them; one check result per record.

    Exit code 0 when every record is complete, 1 when any is not, 2 when the input is unreadable.
    With SUBREG_OPERATOR_RANGES set, a number that is not this operator's (outside the ranges and not
    ported in, or ported out: `subreg numbers load-ported`) is invalid: `not_operator_number`.

    Example: subreg check records.jsonl --json --as-of 2018-04-24
    Example: subreg check records.jsonl --rule-set population-db-2023
    """
    from contextlib import ExitStack

    from subreg.bootstrap import operator_numbers, ported_lookup, read_records, system_clock
    from subreg.domain.common.errors import UnreadableInputError
    from subreg.services.registry.checks import check_records

    settings = load_settings()
    language = lang or settings.lang
    if language not in ("vi", "en"):
        raise InputError([_field_error("--lang", "invalid_choice")])
    if fmt not in ("auto", "jsonl", "csv"):
        raise InputError([_field_error("--format", "invalid_choice")])
    ref = parse_date(as_of, "--as-of") or system_clock().today()
    rules = regime_for(settings, ref, rule_set)
    numbers = operator_numbers(settings)
    resources = ExitStack()
    # The MNP list is only read when the ranges are set: without them `check` needs no database.
    ported = None if numbers.accepts_all else resources.enter_context(ported_lookup(settings))
    stream = _open_input(source)
    total = complete = invalid = 0
    write = sys.stdout.buffer.write
    try:
        results = check_records(
            read_records(stream, fmt), rule_set=rules, as_of=ref, lang=language, numbers=numbers, ported=ported
        )
        for result in results:
            total += 1
            if result["complete"]:
                complete += 1
            elif not result["valid"]:
                invalid += 1
            if as_json:
                write(orjson.dumps(result) + b"\n")
            elif not result["complete"]:
                write(_human_line(result).encode() + b"\n")
    except UnreadableInputError as exc:
        err.print(f"[red]Unreadable input[/red]: {exc}")
        raise typer.Exit(EXIT_UNREADABLE) from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
        resources.close()
        sys.stdout.flush()
    incomplete = total - complete - invalid
    err.print(f"{total} records: {complete} complete, {incomplete} incomplete, {invalid} invalid")
    raise typer.Exit(EXIT_OK if total and complete == total else EXIT_INCOMPLETE)


def _human_line(result: dict[str, Any]) -> str:
    parts = [f"line {result.get('line', '?')}", result.get("msisdn") or "-"]
    if result["errors"]:
        parts.append("errors: " + ", ".join(f"{e['field']}={e['code']}" for e in result["errors"]))
    if result["missing"]:
        parts.append("missing: " + ", ".join(result["missing"]))
    return "  ".join(parts)


def _print_holder(source: str, holder: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps({"source": source, "holder": holder}, option=orjson.OPT_INDENT_2).decode() + "\n")


@id_app.command("parse-qr")
@handled
def parse_qr(
    text: Annotated[str | None, typer.Argument(help="The QR payload (pipe-separated)")] = None,
    image: Annotated[Path | None, typer.Option(help="Photo of the card's QR code")] = None,
) -> None:
    """Print the holder fields of a chip-CCCD QR code as JSON.

    Example: subreg id parse-qr --image card-back.jpg
    """
    from subreg.bootstrap import card_reader
    from subreg.domain.id_documents.card_codes import parse_cccd_qr

    if image is not None:
        text = card_reader(load_settings()).decode_qr(_read_image(image))
    if not text:
        raise InputError([_field_error("text", "required")])
    _print_holder("qr", parse_cccd_qr(text))


@id_app.command("parse-mrz")
@handled
def parse_mrz(
    text: Annotated[str | None, typer.Argument(help="The 3-line TD1 MRZ ('-' reads standard input)")] = None,
    image: Annotated[Path | None, typer.Option(help="Photo of the card's back (MRZ read by Tesseract)")] = None,
) -> None:
    """Print the holder fields of a TD1 MRZ (back of the chip CCCD) as JSON; check digits are verified.

    Example: subreg id parse-mrz "$(cat mrz.txt)"
    """
    from subreg.bootstrap import card_reader, system_clock
    from subreg.domain.id_documents.card_codes import parse_td1_mrz

    if image is not None:
        text = card_reader(load_settings()).read_mrz(_read_image(image))
    elif text == "-":
        text = sys.stdin.read()
    if not text:
        raise InputError([_field_error("text", "required")])
    _print_holder("mrz", parse_td1_mrz(text, as_of=system_clock().today()))


def _read_image(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        err.print(f"[red]Cannot read {path}: {exc.strerror}[/red]")
        raise typer.Exit(EXIT_UNREADABLE) from None


def _register_modules() -> None:
    # Each area keeps its commands in its own module (cli/<area>.py) and adds them here.
    from subreg.cli import (
        audit,
        backoffice,
        blobs,
        bulk,
        campaigns,
        dsr,
        enforcement,
        keys,
        numbers,
        report,
        reports,
        review,
        signals,
        sms,
        staff,
        verify_biometric,
    )  # fmt: skip

    for module in (staff, audit, keys, dsr, bulk, blobs, numbers, sms, enforcement, campaigns, report, signals,
                   backoffice, review, reports, verify_biometric):  # fmt: skip
        module.register(app)
    backoffice.register(app)
    from subreg.cli import verify

    verify.register(app)  # `subreg verify population` (joins a `verify` group registered above, if any)


_register_modules()


def main() -> None:
    """Console entry point."""
    app()
