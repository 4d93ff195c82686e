"""`subreg enforce` and `subreg orders` through Typer's runner on an embedded database with demo data."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from subreg.bootstrap import bootstrap
from subreg.cli.main import app
from subreg.config import Settings


@pytest.fixture
def runner(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.chdir(tmp_path)
    r = CliRunner()
    assert r.invoke(app, ["init"]).exit_code == 0
    assert r.invoke(app, ["demo-data", "--count", "200", "--seed", "3"]).exit_code == 0
    return r


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_a_dry_run_answers_what_the_run_does_and_changes_nothing(runner, tmp_path):
    dry = _json(runner.invoke(app, ["enforce", "--as-of", "2018-04-25", "--dry-run", "--json"]))
    assert set(dry) >= {"as_of", "transitions", "by_province"}
    assert set(dry["transitions"]) == {"notify", "lock_one_way", "lock_two_way", "terminate", "restore"}
    assert dry["transitions"]["notify"] > 0
    again = _json(runner.invoke(app, ["enforce", "--as-of", "2018-04-25", "--dry-run", "--json"]))
    assert again["transitions"] == dry["transitions"]  # nothing changed in between
    real = _json(runner.invoke(app, ["enforce", "--as-of", "2018-04-25", "--json"]))
    assert (real["transitions"], real["by_province"]) == (dry["transitions"], dry["by_province"])
    assert sum(sum(c.values()) for c in real["by_province"].values()) == real["transitions"]["notify"]
    assert _json(runner.invoke(app, ["enforce", "--as-of", "2018-04-25", "--json"]))["transitions"]["notify"] == 0


def test_held_lines_are_counted_and_listed_masked(runner, tmp_path):
    settings = Settings(env="test", var_dir=tmp_path / "var")
    c = bootstrap(settings)
    with c.engine.begin() as conn:
        conn.execute(text("UPDATE holders SET restricted = true WHERE id IN (SELECT holder_id FROM subscriptions "
                          "WHERE missing LIKE '%documents.%' ORDER BY id LIMIT 2)"))  # fmt: skip
    c.close()
    out = _json(runner.invoke(app, ["enforce", "--as-of", "2018-04-25", "--dry-run", "--json", "--held"]))
    assert out["held"] >= 2
    assert len(out["held_lines"]) == out["held"]
    assert all(row["msisdn"].startswith("******") for row in out["held_lines"])


def test_orders_failed_lists_nothing_on_a_fresh_base_and_help_has_examples(runner):
    assert _json(runner.invoke(app, ["orders", "failed", "--json"])) == []
    for command in (["enforce", "--help"], ["orders", "failed", "--help"], ["worker", "--help"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0
        assert "Example" in result.stdout


def test_a_bad_date_is_refused_with_exit_2(runner):
    result = runner.invoke(app, ["enforce", "--as-of", "2018-02-30"])
    assert result.exit_code == 2
