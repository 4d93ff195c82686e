"""README.md names every `subreg` command and every API route group, and nothing that does not exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from subreg.cli.main import app as cli_app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
_API = "/api/v1"


def _is_group(command: Any) -> bool:
    # Typer may ship its own copy of click: recognise a group by what it has, not by its class.
    return hasattr(command, "commands")


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    """Every command and sub-command by its full name ("init", "dsr", "dsr open", ...)."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        found[full] = command
        if _is_group(command):
            found |= _commands(command, f"{full} ")
    return found


COMMANDS = _commands(typer.main.get_command(cli_app))
LEAVES = sorted(name for name, command in COMMANDS.items() if not _is_group(command))


def _readme_command_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("subreg ")]


class TestCommands:
    def test_the_walk_sees_top_level_and_nested_commands(self):
        assert {"init", "import", "id parse-qr", "dsr retention", "staff reset-password"} <= set(LEAVES)

    def test_every_command_is_in_the_readme(self):
        shown = "\n".join(_readme_command_lines())
        missing = [name for name in LEAVES if not re.search(rf"^subreg {re.escape(name)}(?![\w-])", shown, re.M)]
        assert missing == [], f"README.md's command list lacks: {missing}"

    def test_every_command_in_the_readme_exists(self):
        unknown = []
        for line in _readme_command_lines():
            words = line.split()[1:3]
            name = words[0]
            if _is_group(COMMANDS.get(name)):
                name = " ".join(words)
            if name not in COMMANDS or _is_group(COMMANDS[name]):
                unknown.append(line)
        assert unknown == [], f"README.md shows commands that do not exist: {unknown}"


def _openapi_paths(client) -> list[str]:
    return sorted(client.app.openapi()["paths"])


def _group(path: str) -> str:
    return _API + "/" + path.removeprefix(_API + "/").split("/")[0]


class TestRoutes:
    def test_the_walk_sees_the_api(self, client):
        paths = _openapi_paths(client)
        assert {"/api/v1/health", "/api/v1/subscriptions/lookup", "/api/v1/dsr/{request_id}/fulfil"} <= set(paths)
        # Outside /api/v1 only the SMS gateways' callbacks, whose URLs live in the gateways' own configuration.
        assert all(p.startswith((_API + "/", "/sms/kannel/")) for p in paths)

    def test_every_route_group_is_in_the_readme(self, client):
        groups = sorted({_group(p) if p.startswith(_API) else p for p in _openapi_paths(client)})
        missing = [g for g in groups if not re.search(rf"{re.escape(g)}(?![\w-])", README)]
        assert missing == [], f"README.md's route table lacks: {missing}"

    def test_every_route_in_the_readme_exists(self, client):
        paths = [*_openapi_paths(client), f"{_API}/openapi.json"]
        named = set(re.findall(rf"{re.escape(_API)}/[\w./{{}}-]*", README))
        unknown = sorted(
            n for n in named if not any(p == n.rstrip("/") or p.startswith(n.rstrip("/") + "/") for p in paths)
        )
        assert unknown == [], f"README.md names routes that do not exist: {unknown}"
