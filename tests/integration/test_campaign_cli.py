"""`subreg campaign` through Typer's runner on an embedded database: create, preview, start, pause, resume, status
with --json, the exit codes, and an example in every command's help."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from subreg.bootstrap import bootstrap
from subreg.cli.main import app
from subreg.config import Settings
from tests.integration.campaign_lines import Line, seed_lines


@pytest.fixture
def cli(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.setenv("SUBREG_LANG", "en")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    container = bootstrap(Settings())
    seed_lines(container.engine, [Line(phase=1 + i % 2, objected=i == 4) for i in range(12)])
    container.close()
    return runner


def run(cli: CliRunner, *args: str, code: int = 0) -> object:
    result = cli.invoke(app, ["campaign", *args])
    assert result.exit_code == code, result.output
    return orjson.loads(result.stdout) if "--json" in args and code == 0 else result


def test_a_campaign_from_the_command_line(cli):
    created = run(cli, "create", "--name", "Phase 1", "--start-on", "2026-12-10", "--rate", "40", "--binds", "4",
                  "--phase", "1", "--repeats", "daily for 5 days", "--hours", "08:00-20:00", "--json")  # fmt: skip
    assert (created["state"], created["waves"], created["binds"], created["cohort"]["phases"]) == ("draft", 5, 4, [1])
    preview = run(cli, "preview", str(created["id"]), "--json")
    assert preview["size"] == 5  # phase 1: lines 0, 2, 4, 6, 8, 10, but line 4's holder objected
    assert len(preview["samples"]) == 3
    assert preview["days"] == 5
    assert preview["planned_finish"].startswith("2026-12-14T08:00")
    assert "5 lines at 4 bind(s) x 40 msg/s = 160 msg/s" in preview["summary"]
    human = run(cli, "preview", str(created["id"]))
    assert "spans 5 days: 5 waves, one a day" in human.stderr
    assert run(cli, "start", str(created["id"]), "--json")["state"] == "running"
    assert run(cli, "pause", str(created["id"]), "--json")["state"] == "paused"
    assert run(cli, "resume", str(created["id"]), "--json")["state"] == "running"
    status = run(cli, "status", str(created["id"]), "--json")
    assert status["counts"] == {"queued": 0, "accepted": 0, "delivered": 0, "failed": 0, "total": 0}
    assert [c["name"] for c in run(cli, "status", "--json")] == ["Phase 1"]


def test_wrong_input_and_wrong_states_exit_2_naming_the_field(cli):
    bad = run(cli, "create", "--name", "x", "--start-on", "10/12", "--rate", "0", "--phase", "3", code=2)
    for expected in ("start_on: invalid_format", "rate_per_bind: out_of_range", "cohort.phases: invalid_choice"):
        assert expected in bad.stderr
    run(cli, "create", "--name", "y", "--start-on", "2026-12-10", "--rate", "5")
    assert "cannot pause when draft" in run(cli, "pause", "1", code=2).stderr
    assert "not_found" in run(cli, "start", "99", code=2).stderr


@pytest.mark.parametrize("command", ["create", "preview", "start", "pause", "resume", "status"])
def test_every_command_has_an_example_in_its_help(command):
    result = CliRunner().invoke(app, ["campaign", command, "--help"])
    assert result.exit_code == 0
    assert "Example: subreg campaign" in result.stdout
