"""`subreg snapshot` and `subreg staff ... --province` through Typer's runner on an embedded database with demo data."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from subreg.adapters.db.tables import report_snapshots, snapshot_figures, staff, staff_provinces, subscriptions
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


def _scalar(tmp_path, stmt):
    c = bootstrap(Settings(env="test", var_dir=tmp_path / "var"))
    try:
        with c.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()
    finally:
        c.close()


def test_snapshots_are_taken_kept_and_replaced(runner, tmp_path):
    taken = runner.invoke(app, ["snapshot", "--as-of", "2026-11-20", "--days", "3", "--json"])
    assert taken.exit_code == 0, taken.output
    days = [orjson.loads(chunk)["as_of"] for chunk in taken.stdout.replace("}\n{", "}\x00{").split("\x00")]
    assert days == ["2026-11-18", "2026-11-19", "2026-11-20"]
    lines = _scalar(tmp_path, select(func.count()).select_from(subscriptions))
    total = select(func.sum(snapshot_figures.c.n)).where(snapshot_figures.c.dimension == "lines")
    assert _scalar(tmp_path, total) == 3 * lines
    again = runner.invoke(app, ["snapshot", "--as-of", "2026-11-20"])
    assert again.exit_code == 2
    assert "snapshot_exists" in again.output
    assert runner.invoke(app, ["snapshot", "--as-of", "2026-11-20", "--skip-existing"]).exit_code == 0
    replaced = runner.invoke(app, ["snapshot", "--as-of", "2026-11-20", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "replaced" in replaced.output
    assert _scalar(tmp_path, select(func.count()).select_from(report_snapshots)) == 3
    future = runner.invoke(app, ["snapshot", "--as-of", "2999-01-01"])
    assert future.exit_code == 2
    assert "date_in_future" in future.output
    assert "Example: subreg snapshot" in runner.invoke(app, ["snapshot", "--help"]).output


def test_a_regional_manager_is_given_its_provinces(runner, tmp_path):
    added = runner.invoke(app, ["staff", "add", "hung", "--role", "regional_manager", "--province", "001",
                                "--province", "079"])  # fmt: skip
    assert added.exit_code == 0, added.output
    hungs = select(func.count()).select_from(staff_provinces.join(staff)).where(staff.c.username == "hung")
    assert _scalar(tmp_path, hungs) == 2
    changed = runner.invoke(app, ["staff", "provinces", "hung", "--province", "048"])
    assert changed.exit_code == 0, changed.output
    only = (
        select(staff_provinces.c.province_code)
        .join(staff, staff.c.id == staff_provinces.c.staff_id)
        .where(staff.c.username == "hung")
    )
    assert _scalar(tmp_path, only) == "048"
    unknown = runner.invoke(app, ["staff", "provinces", "hung", "--province", "003"])
    assert unknown.exit_code == 2
    assert "unknown_province_code" in unknown.output
    refused = runner.invoke(app, ["staff", "add", "lan", "--role", "auditor", "--province", "001"])
    assert refused.exit_code == 2
    assert "provinces_not_allowed" in refused.output
    listed = runner.invoke(app, ["staff", "list", "--json"])
    accounts = {a["username"]: a["provinces"] for a in map(orjson.loads, listed.stdout.splitlines())}
    assert accounts["hung"] == ["048"]
    assert accounts["manager.north"] == ["001", "031"]  # the demo's regional manager
