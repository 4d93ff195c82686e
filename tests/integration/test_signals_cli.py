"""`subreg signals` through Typer's runner on an embedded database: list with --json, review with the exit codes of
bad input (nothing written), index-portraits, and an example in every command's help."""

from __future__ import annotations

import os

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from subreg.adapters.db.tables import signal_reviews
from subreg.bootstrap import bootstrap
from subreg.cli.main import app
from subreg.config import Settings
from tests.integration.signal_data import Reg, seed

PERSON = os.urandom(32)


@pytest.fixture
def cli(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.setenv("SUBREG_LANG", "en")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    container = bootstrap(Settings())
    seed(container.engine, [Reg("HN-1", person=PERSON)] * 4)
    container.close()
    return runner


def run(cli: CliRunner, *args: str, code: int = 0):
    result = cli.invoke(app, ["signals", *args])
    assert result.exit_code == code, result.output
    return orjson.loads(result.stdout) if "--json" in args and code == 0 else result


def reviews() -> int:
    container = bootstrap(Settings())
    try:
        with container.engine.connect() as c:
            return c.execute(select(func.count()).select_from(signal_reviews)).scalar_one()
    finally:
        container.close()


def test_list_then_review_from_the_command_line(cli):
    listed = run(cli, "list", "over_limit", "--json")
    assert listed["open"] == 1
    [signal] = listed["signals"]
    assert signal["facts"] == {"document": PERSON.hex()[:12], "lines": 4, "without_contract": 4}
    assert all("*" in line["number"] for line in signal["lines"])
    done = run(cli, "review", "over_limit", signal["key"], "--decision", "dismissed", "--reason", "false_positive",
               "--json")  # fmt: skip
    assert done["decision"] == "dismissed"
    assert run(cli, "list", "over_limit", "--json")["open"] == 0
    assert run(cli, "list", "over_limit", "--all", "--json")["signals"][0]["decision"] == "dismissed"
    human = run(cli, "list", "over_limit", "--all")
    assert "0 open, 1 reviewed or dismissed" in human.stderr


def test_bad_input_names_the_field_and_writes_nothing(cli):
    key = run(cli, "list", "over_limit", "--json")["signals"][0]["key"]
    assert "kind: invalid_choice" in run(cli, "list", "nope", code=2).stderr
    bad_reason = run(cli, "review", "over_limit", key, "--decision", "reviewed", "--reason", "because", code=2)
    assert "reason: invalid_choice" in bad_reason.stderr
    missing = run(cli, "review", "over_limit", "ff" * 16 + ":4:4", "--decision", "reviewed", "--reason", "other",
                  "--note", "x", code=2)  # fmt: skip
    assert "key: not_found" in missing.stderr
    assert reviews() == 0


def test_index_portraits_with_nothing_to_index(cli):
    assert run(cli, "index-portraits", "--json") == {"indexed": 0, "unreadable": 0, "batches": 0}


@pytest.mark.parametrize("command", ["list", "review", "index-portraits"])
def test_every_command_has_an_example_in_its_help(command):
    result = CliRunner().invoke(app, ["signals", command, "--help"])
    assert result.exit_code == 0
    assert "Example: subreg signals" in result.output
