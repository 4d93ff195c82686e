"""CLI: the audit log (`subreg audit verify|checkpoint|query|anomalies`).

Whoever runs these holds the server's keys and database; the commands still write their own reads to
the log (`audit:read`, `audit:verified`) with no staff account, so a read from the shell is visible too.
Exit codes: 0 fine, 1 the chain is broken (verify), 2 bad input or an error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

import orjson
import typer

from subreg.cli._common import handled, open_container, out

__all__ = ["audit_app", "parse_moment", "register"]

EXIT_OK, EXIT_BROKEN, EXIT_INPUT = 0, 1, 2

audit_app = typer.Typer(
    help=(
        "The tamper-evident audit log: verify the chain, query entries, anomaly signals.\n\n"
        "Example: subreg audit verify --json"
    ),
    no_args_is_help=True,
)


def parse_moment(value: str | None, option: str, *, end: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD: the start of that UTC day, or the next day's start when `end`) or an ISO
    date-time (UTC when it names no zone); InputError for anything else."""
    from datetime import timedelta

    from subreg.domain.common.errors import FieldError, InputError

    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError([FieldError(option, "invalid_format")]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit_app.command("verify")
def verify_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Entries read per query")] = 5000,
) -> None:
    """Verify the hash chain from the first entry to the last; name the first bad entry.

    Also compares with the head checkpoint (var/audit.head) to catch the newest entries being cut
    off, and moves that checkpoint forward when all is well. Exit code 0 intact, 1 broken.

    Example: subreg audit verify --json
    """

    @handled
    def run() -> int:
        from subreg.domain.privacy.audit_chain import AuditAction
        from subreg.services.common import audit_trail
        from subreg.services.privacy import audit_log

        with open_container() as container:
            with container.uow() as uow:
                report = audit_log.verify(uow, head_file=container.audit_head(), batch_size=batch_size)
            if report.ok:
                # A unit of its own: the long read above must not have to become a writer (SQLite).
                with container.uow() as uow:
                    audit_trail.record(
                        uow, actor=None, action=AuditAction.AUDIT_VERIFIED,
                        details={"via": "cli", "checked": report.checked},
                    )  # fmt: skip
                    uow.commit()
        if as_json:
            out.print_json(orjson.dumps(report.as_dict()).decode())
        elif report.ok:
            out.print(f"[green]intact[/green]: {report.checked} entries, head seq {report.head_seq}")
        else:
            out.print(
                f"[red]BROKEN[/red]: first bad entry seq {report.first_bad_seq} ({report.reason}); "
                f"{report.checked} entries verified before it"
            )
        return EXIT_OK if report.ok else EXIT_BROKEN

    raise typer.Exit(run())


@audit_app.command("checkpoint")
def checkpoint_cmd() -> None:
    """Write the current head (seq and hash) to var/audit.head without verifying.

    Keep a copy of that file away from the database (it is small): a log cut short before it is
    reported as `truncated` by `subreg audit verify`.

    Example: subreg audit checkpoint
    """

    @handled
    def run() -> None:
        from subreg.services.privacy import audit_log

        with open_container() as container, container.uow() as uow:
            head = audit_log.checkpoint(uow, container.audit_head())
        out.print(f"checkpoint: seq {head.seq}")

    run()


@audit_app.command("query")
def query_cmd(
    staff: Annotated[str | None, typer.Option("--staff", help="Username of the staff account")] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Phone number of the subscription (never printed back)")
    ] = None,
    holder: Annotated[int | None, typer.Option("--holder", help="Holder id")] = None,
    since: Annotated[str | None, typer.Option(help="From (YYYY-MM-DD or ISO date-time, UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="Until, exclusive (a date includes that whole day)")] = None,
    purpose: Annotated[str | None, typer.Option(help="Declared purpose, e.g. transaction")] = None,
    action: Annotated[str | None, typer.Option(help="Action, e.g. subscription:read")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many, newest first")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """List audit entries by staff, subscription, time, purpose or action (newest first).

    The query itself is written to the log (`audit:read`).

    Example: subreg audit query --subject 0912345678 --since 2026-01-01 --purpose transaction --json
    """

    @handled
    def run() -> None:
        from rich.table import Table

        from subreg.domain.common.errors import FieldError, InputError
        from subreg.domain.common.msisdn import parse_msisdn
        from subreg.services.common import audit_trail
        from subreg.services.common.ports import AuditFilter
        from subreg.services.privacy import audit_log

        lo, hi = parse_moment(since, "--since"), parse_moment(until, "--until", end=True)
        with open_container() as container, container.uow() as uow:
            keys: tuple[str, ...] = ()
            if subject is not None:
                e164 = parse_msisdn(subject)
                if e164 is None:
                    raise InputError([FieldError("--subject", "invalid_msisdn")])
                keys = audit_log.subjects_of_number(uow, container.vault, e164)
            elif holder is not None:
                keys = (audit_trail.subject_for_holder(holder),)
            staff_id: int | None = None
            if staff is not None:
                row = uow.staff.get_by_username(staff)
                if row is None:
                    raise InputError([FieldError("--staff", "not_found")])
                staff_id = row.id
            criteria = AuditFilter(
                staff_id=staff_id, subjects=keys, purpose=purpose, action=action, limit=limit,
                since=audit_log.utc_timestamp(lo) if lo else None,
                until=audit_log.utc_timestamp(hi) if hi else None,
            )  # fmt: skip
            entries = audit_log.query(uow, actor=None, criteria=criteria)
            uow.commit()
        if as_json:
            for entry in entries:
                out.print(orjson.dumps(audit_log.entry_as_dict(entry)).decode(), soft_wrap=True, markup=False)
            return
        table = Table("seq", "at", "staff", "role", "pos", "action", "subject", "purpose", "fields")
        for e in entries:
            table.add_row(
                str(e.seq), e.at, str(e.actor_staff_id or "-"), e.actor_role or "-", str(e.point_of_sale_id or "-"),
                e.action, e.subject or "-", e.purpose or "-", ",".join(e.fields),
            )  # fmt: skip
        out.print(table)

    run()


@audit_app.command("anomalies")
def anomalies_cmd(
    since: Annotated[str | None, typer.Option(help="From (YYYY-MM-DD or ISO date-time); default 30 days ago")] = None,
    until: Annotated[str | None, typer.Option(help="Until, exclusive (a date includes that whole day)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Signals for the compliance team: heavy readers among peers, reads outside opening hours,
    many ID lookups without a transaction. A signal is a reason to look, not a verdict.

    Opening hours and time zone come from SUBREG_OPENING_HOURS and SUBREG_LOCAL_TIMEZONE.

    Example: subreg audit anomalies --since 2026-03-01 --json
    """

    @handled
    def run() -> None:
        from rich.table import Table

        from subreg.services.privacy import audit_log

        lo = parse_moment(since, "--since") or audit_log.period_since(30)
        hi = parse_moment(until, "--until", end=True)
        with open_container() as container, container.uow() as uow:
            opening, closing = audit_log.parse_opening_hours(container.settings.opening_hours)
            report = audit_log.anomalies(
                uow, since=lo, until=hi, opening=opening, closing=closing,
                timezone=container.settings.local_timezone, via="cli",
            )  # fmt: skip
            uow.commit()
        if as_json:
            out.print(orjson.dumps(report.as_dict()).decode(), soft_wrap=True, markup=False)
            return
        table = Table("signal", "staff", "value", "threshold")
        for s in report.signals:
            table.add_row(str(s.kind), str(s.staff_id), f"{s.value:g}", f"{s.threshold:g}")
        out.print(table)
        if not report.signals:
            out.print("no signals")

    run()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(audit_app, name="audit")
