"""CLI: encryption keys (`subreg keys rotate|status`).

Keys never appear on the terminal: only fingerprints (public hashes naming a key).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from subreg.cli._common import handled, load_settings, open_container, out

__all__ = ["keys_app", "register"]

keys_app = typer.Typer(
    help="Encryption keys: rotate the master key, show key status.\n\nExample: subreg keys status",
    no_args_is_help=True,
)


@keys_app.command("rotate")
def rotate(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="Take the new master key from this file (base64 of 32 bytes) instead of generating one; "
            "required when the key comes from SUBREG_MASTER_KEY",
        ),
    ] = None,
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the old key file as master.key.old-<timestamp>")
    ] = False,
) -> None:
    """Rotate the master key: re-wrap the key-encryption keys under a new one, in one transaction.

    Holder records are not re-encrypted. The new key replaces the key file atomically; back it up
    (apart from the database) before the next backup of the data.

    Example: subreg keys rotate --keep-old
    """

    @handled
    def run() -> None:
        from subreg.bootstrap import generate_master_key
        from subreg.domain.common.errors import FieldError, InputError
        from subreg.services.privacy.keys import rotate_master_key

        with open_container() as container:
            keyring = container.keyring()
            if keyring.from_env and new_key_file is None:
                raise InputError([FieldError("--new-key-file", "required")])
            new_key = keyring.read_key_file(new_key_file) if new_key_file else generate_master_key()
            with container.uow() as uow:
                result = rotate_master_key(uow, keyring=keyring, new_key=new_key, keep_old=keep_old)
        out.print(
            f"[green]rotated[/green]: {result.rewrapped} key-encryption keys re-wrapped; "
            f"master key {result.old_fingerprint[:16]} -> {result.new_fingerprint[:16]}"
        )
        if result.kept_old is not None:
            out.print(f"old key kept at {result.kept_old} (remove it once backups are re-keyed)")
        if keyring.from_env:
            out.print("[yellow]update SUBREG_MASTER_KEY with the new key file's content now[/yellow]")

    run()


@keys_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False) -> None:
    """Show the configured master key's fingerprint and source, the key-encryption keys, how many
    holders each wraps (and how many are shredded), and leftover key files.

    Example: subreg keys status --json
    """

    @handled
    def run() -> None:
        from subreg.bootstrap import keyring, keys_database
        from subreg.services.privacy.keys import key_status

        settings = load_settings()
        with keys_database(settings) as uow:
            status = key_status(uow, keyring=keyring(settings))
        report = status.as_dict()
        if as_json:
            out.print(orjson.dumps(report).decode(), soft_wrap=True, markup=False)
        else:
            master = report["master_key"]
            out.print(f"master key {master['fingerprint']} (from {master['source']})")
            for k in report["keks"]:
                state = "ok" if k["wrapped_by_configured_key"] else "[red]OTHER MASTER KEY[/red]"
                out.print(
                    f"  KEK {k['id']} {k['purpose']:<12} active={k['active']} {state} "
                    f"holders={k['holders']} shredded={k['shredded']}"
                )
            for path in report["key_files"]:
                out.print(f"  [yellow]key file present: {path}[/yellow]")
        if not status.healthy:
            raise typer.Exit(1)

    run()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `subreg` app."""
    app.add_typer(keys_app, name="keys")
