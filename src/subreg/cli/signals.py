"""CLI: fraud and quality signals (`subreg signals list KIND`, `subreg signals review ...`,
`subreg signals index-portraits`).

The command line acts with no staff identity (whoever runs it holds the database and the keys); listing,
deciding and indexing are audited all the same, with no actor. Nothing personal is printed: line ids, masked
numbers, point-of-sale codes, staff usernames and counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from subreg.cli._common import err, handled, open_container, out, parse_date

__all__ = ["register", "signals_app"]

_KINDS = "over_limit, pos_volume, portrait_reuse, multi_pos_day, staff_reads"

signals_app = typer.Typer(
    help=(
        "Fraud and quality signals, each a list a compliance officer works through (see docs/signals.md).\n\n"
        f"Kinds: {_KINDS}.\n\n"
        "Example: subreg signals list pos_volume --json"
    ),
    no_args_is_help=True,
)

_Json = Annotated[bool, typer.Option("--json", help="JSON output")]


def _print_json(value: Any) -> None:
    out.print_json(orjson.dumps(value).decode())


def _today(c: Any, as_of: str | None) -> Any:
    return parse_date(as_of, "--as-of") or c.clock.today()


def _facts(facts: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'/'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in facts.items())


@signals_app.command("list")
@handled
def list_cmd(
    kind: Annotated[str, typer.Argument(help=f"Which list: {_KINDS}")],
    all_: Annotated[bool, typer.Option("--all", help="Also the signals already reviewed or dismissed")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge the days up to this one (YYYY-MM-DD)")] = None,
    as_json: _Json = False,
) -> None:
    """A kind's open signals, worst first: their key, facts, lines (masked) and newest decision.

    Example: subreg signals list over_limit --json
    """
    from subreg.services.signals.lists import list_signals

    with open_container() as c:
        found = list_signals(
            kind, uow=c.uow(), options=c.signal_options(), actor=None, today=_today(c, as_of),
            now=datetime.now(UTC), documents=c.registry(), hasher=c.portrait_hasher(), include_closed=all_,
        )  # fmt: skip
    if as_json:
        _print_json(found.as_dict())
        return
    table = Table("key", "facts", "lines", "decision")
    for item in found.items:
        lines = " ".join(f"{r.line_id}:{r.masked}" for r in item.lines[:6]) + (" ..." if len(item.lines) > 6 else "")
        table.add_row(item.key, _facts(dict(item.facts)), lines, f"{item.decision or ''} {item.reason or ''}".strip())
    out.print(table)
    err.print(f"{found.open_count} open, {found.closed_count} reviewed or dismissed ({found.kind})")


@signals_app.command("review")
@handled
def review_cmd(
    kind: Annotated[str, typer.Argument(help=f"Which list: {_KINDS}")],
    key: Annotated[str, typer.Argument(help="The signal's key, as `subreg signals list` shows it")],
    decision: Annotated[str, typer.Option("--decision", help="reviewed, dismissed or escalated")],
    reason: Annotated[str, typer.Option("--reason", help="A reason code (docs/signals.md lists them)")],
    note: Annotated[str | None, typer.Option("--note", help="Free text (no personal data), 500 characters")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The day the list was judged at (YYYY-MM-DD)")] = None,
    as_json: _Json = False,
) -> None:
    """Record a decision on one signal; a reviewed or dismissed one leaves the open list until its facts change.

    Example: subreg signals review over_limit 3f1c...:5:5 --decision escalated --reason suspected_fraud
    """
    from subreg.domain.common.errors import NotFoundError
    from subreg.domain.common.messages import message_for
    from subreg.services.signals.lists import review_signal

    values = {"kind": kind, "key": key, "decision": decision, "reason": reason, "note": note}
    with open_container() as c:
        try:
            stored = review_signal(
                values, uow=c.uow(), options=c.signal_options(), actor=None, today=_today(c, as_of),
                now=datetime.now(UTC), documents=c.registry(), hasher=c.portrait_hasher(),
            )  # fmt: skip
        except NotFoundError as exc:  # name the field, as for bad input (the signal key is not in today's list)
            for e in exc.errors:
                err.print(f"[red]{e.field}: {e.code}[/red] — {message_for(e.code, e.field, c.settings.lang)}")
            raise typer.Exit(2) from None
    if as_json:
        _print_json({"kind": stored.kind, "key": stored.key, "decision": stored.decision, "reason": stored.reason})
        return
    err.print(f"{stored.kind} {stored.key}: {stored.decision} ({stored.reason})")


@signals_app.command("index-portraits")
@handled
def index_cmd(
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Stop after this many portraits")] = None,
    as_json: _Json = False,
) -> None:
    """Key the perceptual-hash bands of stored portraits that have none yet (decrypted in batches, audited).

    New portraits are keyed at the counter; run this once for those stored before (it resumes where it stopped).

    Example: subreg signals index-portraits --limit 100000
    """
    from subreg.services.signals.portraits import index_portraits

    with open_container() as c:
        hasher = c.portrait_hasher()
        report = index_portraits(uow=c.uow(), documents=c.registry(), hasher=hasher, options=c.signal_options(),
                                 actor=None, now=datetime.now(UTC), limit=limit)  # fmt: skip
    if as_json:
        _print_json(report.as_dict())
        return
    err.print(f"{report.indexed} portraits indexed, {report.unreadable} unreadable, in {report.batches} batch(es)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(signals_app, name="signals")
