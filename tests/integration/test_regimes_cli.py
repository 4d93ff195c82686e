"""`subreg check` keeps nd49-2017 unless --rule-set or the regime schedule says otherwise."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from subreg.cli.main import app
from tests.records import complete_record

SCHEDULE = {"2017-04-24": "nd49-2017", "2022-08-01": "population-db-2023", "2026-04-15": "circular-08-2026"}


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    path = tmp_path / "r.jsonl"
    path.write_bytes(orjson.dumps(complete_record()) + b"\n")
    return path


def _check(records: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["check", str(records), "--json", *args])
    return result.exit_code, orjson.loads(result.stdout.splitlines()[0]) if result.stdout else {}


def test_default_schedule_keeps_nd49(records: Path) -> None:
    code, result = _check(records, "--as-of", "2024-01-01")
    assert code == 0
    assert result["complete"]


def test_the_schedule_picks_the_regime_of_the_date(records: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUBREG_REGIME_SCHEDULE", orjson.dumps(SCHEDULE).decode())
    assert _check(records, "--as-of", "2020-01-01")[0] == 0
    code, result = _check(records, "--as-of", "2023-04-01")
    assert code == 1
    assert result["missing"] == ["verification.population_db"]
    code, result = _check(records, "--as-of", "2023-04-01", "--rule-set", "nd49-2017")
    assert code == 0


def test_check_reads_the_verification_section(records: Path, tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    record = complete_record(activated_on="2026-05-01", verification={"population_db": "match"})
    path.write_bytes(orjson.dumps(record) + b"\n")
    code, result = _check(path, "--as-of", "2026-06-01", "--rule-set", "circular-08-2026")
    assert code == 1
    assert result["missing"] == ["verification.face"]


def test_an_unknown_rule_set_names_the_option(records: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(records), "--rule-set", "pdb-2022"])
    assert result.exit_code != 0
    assert "--rule-set" in result.output
