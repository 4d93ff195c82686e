"""CLI: enforcement after the deadline (`subreg enforce`), network orders (`subreg orders`), the worker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer
from rich.table import Table

from subreg.cli._common import err, handled, open_container, out, parse_date

__all__ = ["register"]

orders_app = typer.Typer(
    help="Network orders (lock, unlock, terminate) and their answers.\n\nExample: subreg orders failed",
    no_args_is_help=True,
)


@handled
def enforce_cmd(
    as_of: Annotated[str | None, typer.Option("--as-of", help="The sweep's date, YYYY-MM-DD (default: today)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what the sweep would do; change nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    held: Annotated[
        bool, typer.Option("--held", help="Also list the held lines (holders who restricted processing)")
    ] = False,
) -> None:
    """Move every incomplete line one step along its regime's timeline: notice, one-way lock, two-way lock,
    termination; restore complete ones. Re-evaluates the time-dependent rules at that date first (a dry run
    too, inside its transaction, which it rolls back). The worker runs this daily at SUBREG_ENFORCE_DAILY_AT.

    Example: subreg enforce --as-of 2018-05-10 --dry-run --json
    """
    from subreg.services.enforcement.sweep import sweep

    with open_container(init=True) as container:
        day = parse_date(as_of, "--as-of") or container.clock.today()
        options = container.enforcement_options()
        evaluation = None if dry_run else container.reevaluate(day)
        # A dry run re-evaluates inside its own transaction (rolled back): exactly what the real run would do.
        prepare = (lambda uow: container.reevaluate_within(uow, day)) if dry_run else None
        report = sweep(uow=container.uow(), as_of=day, now=datetime.now(UTC), options=options,
                       notices=container.notices(), dry_run=dry_run, prepare=prepare)  # fmt: skip
        listed = []
        if held:
            with container.uow() as uow:
                listed = [{"line": i, "msisdn": f"******{m % 10000:04d}"} for i, m in uow.enforcement.held(limit=1000)]
    result = report.as_dict() | ({"held_lines": listed} if held else {})
    if evaluation is not None:
        result["evaluation"] = evaluation.get("changed", {})
    if as_json:
        out.print_json(orjson.dumps(result).decode())
        return
    what = "would do" if dry_run else "did"
    err.print(f"Enforcement {what} on {day.isoformat()} (regime {report.regime}):")
    table = Table("province", *report.transitions, "renotify")
    for province, counts in sorted(report.by_province.items()):
        table.add_row(
            province, *(f"{counts.get(a, 0):,}" for a in report.transitions), f"{counts.get('renotify', 0):,}"
        )
    table.add_row("total", *(f"{n:,}" for n in report.transitions.values()), f"{report.renotify:,}")
    out.print(table)
    err.print(f"Held (restricted processing, not locked): {report.held:,}")
    for row in listed:
        out.print(f"  line {row['line']}  {row['msisdn']}")


@orders_app.command("failed")
@handled
def failed_cmd(
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Orders the network refused, or that ran out of attempts: they wait for staff, never dropped.

    Example: subreg orders failed --json
    """
    with open_container() as container, container.uow() as uow:
        rows = uow.orders.failed(limit=limit)
    if as_json:
        out.print_json(orjson.dumps([dict(r) for r in rows], default=str).decode())
        return
    table = Table("order", "line", "action", "attempts", "error", "network", "at")
    for r in rows:
        table.add_row(str(r["id"]), str(r["subscription_id"]), r["action"], str(r["attempts"]), r["last_error"] or "",
                      r["provisioner"] or "", str(r["processed_at"] or ""))  # fmt: skip
    out.print(table)
    err.print(f"{len(rows)} failed order(s). Queue them again with: subreg orders retry ID ...")


@orders_app.command("retry")
@handled
def retry_cmd(order_ids: Annotated[list[int], typer.Argument(help="Failed orders' ids")]) -> None:
    """Queue failed orders again (after the cause was fixed on the network side).

    Example: subreg orders retry 17 18
    """
    with open_container() as container, container.uow() as uow:
        uow.lock_for_write()
        n = uow.orders.retry(order_ids, now=datetime.now(UTC))
        uow.commit()
    err.print(f"{n} order(s) queued again")


@handled
def worker_cmd(
    sms: Annotated[bool, typer.Option("--sms/--no-sms", help="Also run the SMS channel (transport, outbox)")] = True,
    schedule: Annotated[bool, typer.Option("--schedule/--no-schedule", help="Run the daily sweep on time")] = True,
) -> None:
    """The worker: SMS outbox and transport, network orders, restorations within seconds, the daily sweep,
    campaign waves, the daily bulk derivation (`subreg complete --derive`, before the sweep).

    Several may run (claims skip each other's rows). Stop with Ctrl+C.

    Example: SUBREG_NETWORK_PROVISIONER=osmohlr subreg worker
    """
    import signal
    import threading

    from subreg.jobs.campaigns import CampaignJobs
    from subreg.jobs.derive import DeriveJobs
    from subreg.jobs.enforcement import EnforcementJobs
    from subreg.jobs.sms import SmsService

    with open_container(init=True) as container:
        jobs = EnforcementJobs(container, schedule=schedule)
        campaigns = CampaignJobs(container)
        service = SmsService(container) if sms else None
        derivation = DeriveJobs(container) if schedule else None  # the daily bulk derivation, before the sweep
        stops = (
            [jobs.stop, campaigns.stop]
            + ([service.stop] if service else [])
            + ([derivation.stop] if derivation else [])
        )
        signal.signal(signal.SIGTERM, lambda *_: [s() for s in stops])
        err.print(f"Worker running: network {jobs.network.name}"
                  + (f", SMS transport {service.transport.name}" if service else "") + " (Ctrl+C stops)")  # fmt: skip
        runner = threading.Thread(target=jobs.run, name="enforcement", daemon=True)
        runner.start()
        waves = threading.Thread(target=campaigns.run, name="campaigns", daemon=True)
        waves.start()
        deriving = threading.Thread(target=derivation.run, name="derivation", daemon=True) if derivation else None
        if deriving is not None:
            deriving.start()
        try:
            if service is not None:
                service.run()
            else:
                runner.join()
        except KeyboardInterrupt:
            pass
        finally:
            for stop in stops:
                stop()
            runner.join(timeout=15)
            waves.join(timeout=15)
            if deriving is not None:
                deriving.join(timeout=15)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.command("enforce")(enforce_cmd)
    app.command("worker")(worker_cmd)
    app.add_typer(orders_app, name="orders")
