"""CLI: staff accounts (`subreg staff add|list|disable|reset-password`).

Passwords are generated, printed once and never stored in clear; the account must change it at first
sign-in. Whoever runs these commands holds the server's keys and database, so no sign-in is asked.
"""

from __future__ import annotations

from typing import Annotated

import typer

from subreg.cli._common import handled, open_container, out

__all__ = ["register", "staff_app"]

staff_app = typer.Typer(
    help=(
        "Staff accounts: add, list, disable, reset a password.\n\n"
        "Example: subreg staff add lan.nguyen --role store_staff --pos HN-HK-01"
    ),
    no_args_is_help=True,
)


@staff_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name (no spaces, at most 64 characters)")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="store_staff | agent | authorized_point | compliance_officer | auditor | dpo | admin | "
            "regional_manager",
        ),
    ],
    pos: Annotated[str | None, typer.Option("--pos", help="Point of sale code (required for counter roles)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name (default: the username)")] = None,
    province: Annotated[
        list[str] | None,
        typer.Option("--province", help="A province a regional_manager sees (3-digit code; repeat the option)"),
    ] = None,
) -> None:
    """Create a staff account and print its generated password once.

    Example: subreg staff add lan.nguyen --role store_staff --pos HN-HK-01 --name "Nguyễn Thị Lan"

    Example: subreg staff add hung.tran --role regional_manager --province 001 --province 079
    """

    @handled
    def run() -> None:
        from subreg.services.access import create_staff

        with open_container(init=True) as container, container.uow() as uow:
            password = create_staff(uow, username, name or username, role, pos, provinces=province or ())
        out.print(f"[green]Created[/green] {username} ({role})")
        out.print(f"Password (shown once, must be changed at first sign-in): [bold]{password}[/bold]")

    run()


@staff_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line instead of a table")] = False,
) -> None:
    """List staff accounts (never passwords or secrets).

    Example: subreg staff list --json
    """

    @handled
    def run() -> None:
        import dataclasses

        import orjson
        from rich.table import Table

        from subreg.services.access import list_staff

        with open_container(init=True) as container, container.uow() as uow:
            accounts = list_staff(uow)
        if as_json:
            for a in accounts:
                typer.echo(orjson.dumps(dataclasses.asdict(a)).decode("utf-8"))
            return
        table = Table(title="Staff")
        for col in ("username", "name", "role", "pos", "provinces", "state", "totp", "last login"):
            table.add_column(col)
        for a in accounts:
            state = (
                "disabled"
                if not a.active
                else "locked"
                if a.locked
                else "must change"
                if a.must_change_password
                else "ok"
            )
            table.add_row(
                a.username,
                a.display_name,
                a.role,
                a.pos_code or "-",
                " ".join(a.provinces) or "-",
                state,
                "yes" if a.totp_enrolled else "no",
                a.last_login_at.strftime("%Y-%m-%d %H:%M") if a.last_login_at else "-",
            )
        out.print(table)

    run()


@staff_app.command("provinces")
def provinces(
    username: Annotated[str, typer.Argument(help="Login name of a regional_manager")],
    province: Annotated[
        list[str] | None, typer.Option("--province", help="A province code (repeat; none: the account sees none)")
    ] = None,
) -> None:
    """Set the provinces a regional manager sees on the dashboard (those of the lines' points of sale).

    Example: subreg staff provinces hung.tran --province 001 --province 079
    """

    @handled
    def run() -> None:
        from subreg.services.access import set_provinces

        with open_container(init=True) as container, container.uow() as uow:
            codes = set_provinces(uow, username, province or ())
        out.print(f"{username}: provinces {', '.join(sorted(codes)) or '(none)'}")

    run()


@staff_app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Disable an account and end its sessions (the account and its history are kept).

    Example: subreg staff disable lan.nguyen
    """

    @handled
    def run() -> None:
        from subreg.services.access import disable_staff

        with open_container(init=True) as container, container.uow() as uow:
            disable_staff(uow, username)
        out.print(f"[yellow]Disabled[/yellow] {username}")

    run()


@staff_app.command("reset-password")
def reset_password(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Give an account a new generated password (printed once); it must be changed at next sign-in.

    Also unlocks the account, removes its TOTP second factor (to be set up again) and ends its sessions.

    Example: subreg staff reset-password lan.nguyen
    """

    @handled
    def run() -> None:
        from subreg.services.access import admin_reset_password

        with open_container(init=True) as container, container.uow() as uow:
            password = admin_reset_password(uow, username)
        out.print(f"New password for {username} (shown once): [bold]{password}[/bold]")

    run()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(staff_app, name="staff")
