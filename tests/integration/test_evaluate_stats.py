"""Compliance evaluation at scale (phase, 4th-subscription rule, state) and statistics, on both backends.

The set-based SQL results are compared with the same rules computed in Python over the stored rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from subreg.adapters.db.bulk import open_bulk_session
from subreg.cli.main import app
from subreg.domain.compliance.phase import phase_of
from subreg.services.registry.evaluation import MISSING_ITEMS, evaluate, mask_of, missing_of, recheck
from subreg.services.registry.stats import compliance_stats, over_limit
from tests.integration.test_import import _demo, do_import

REFERENCE = date(2018, 4, 24)


def _rows(engine):
    with engine.connect() as c:
        return c.execute(
            text(
                "SELECT s.msisdn, s.activated_on, s.subscriber_type, s.status, s.has_contract, s.contract_needed, "
                "s.phase, s.state, s.complete, s.error_codes, s.missing, h.id_blind "
                "FROM subscriptions s JOIN holders h ON h.id = s.holder_id"
            )
        ).all()


def _as_date(v):
    return v if isinstance(v, date) or v is None else date.fromisoformat(v)


def _expected_contract_needed(rows) -> set[int]:
    groups = defaultdict(list)
    for r in rows:
        if r.status != "terminated" and r.id_blind is not None:
            groups[bytes(r.id_blind)].append(r)
    out = set()
    for members in groups.values():
        members.sort(key=lambda r: (_as_date(r.activated_on) or date.min, r.msisdn))
        for i, r in enumerate(members, start=1):
            if i >= 4 and r.subscriber_type == "individual" and not r.has_contract:
                out.add(r.msisdn)
    return out


def _demo_over_limit(tmp_path):
    path, records = _demo(tmp_path, 800, seed=17)
    # Drop the contract of every other record that has one, so that some groups of 4+ lack contracts.
    with_contract = [r for r in records if (r.get("documents") or {}).get("contract")]
    for r in with_contract[::2]:
        del r["documents"]["contract"]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


@pytest.fixture
def loaded(container, tmp_path):
    do_import(container, _demo_over_limit(tmp_path), batch_size=200)
    return container


def test_missing_mask_round_trips():
    items = ["holder.full_name", "documents.portrait", "organization.users[3].id_number"]
    assert missing_of(mask_of(items)) == ["holder.full_name", "documents.portrait", "other"]
    assert len(MISSING_ITEMS) <= 63


def test_evaluate_matches_the_rules_computed_in_python(loaded):
    store = open_bulk_session(loaded.engine)
    try:
        report = evaluate(store, reference=REFERENCE)
    finally:
        store.close()
    rows = _rows(loaded.engine)
    expected = _expected_contract_needed(rows)
    assert expected, "the demo data has ID documents with 4+ subscriptions without contract"
    assert {r.msisdn for r in rows if r.contract_needed} == expected
    assert report.changed["contract_needed"] >= len(expected)
    for r in rows:
        assert r.phase == phase_of(_as_date(r.activated_on), REFERENCE)
        want = 3 if r.error_codes else 2 if r.contract_needed else 0 if r.complete else 1
        assert r.state == want, r.msisdn
    # A second evaluation at the same reference changes nothing; another reference moves phases only.
    store = open_bulk_session(loaded.engine)
    try:
        again = evaluate(store, reference=REFERENCE)
        assert again.changed["phase"] == again.changed["state"] == 0
        later = evaluate(store, reference=date(2024, 4, 24))
    finally:
        store.close()
    moved = sum(1 for r in rows if r.phase != phase_of(_as_date(r.activated_on), date(2024, 4, 24)))
    assert later.changed["phase"] == moved > 0


def test_stats_counts_every_dimension(loaded):
    store = open_bulk_session(loaded.engine)
    try:
        evaluate(store, reference=REFERENCE)
        stats = compliance_stats(store)
        other = compliance_stats(store, as_of=date(2024, 4, 24))
        same = compliance_stats(store, as_of=REFERENCE)  # computed in the query = stored by evaluate
        docs = over_limit(store)
    finally:
        store.close()
    rows = _rows(loaded.engine)
    assert stats["total"] == len(rows) == sum(stats["by_state"].values())
    names = {0: "complete", 1: "incomplete", 2: "contract_needed", 3: "invalid"}
    assert stats["by_state"] == dict(sorted(Counter(names[r.state] for r in rows).items()))
    for dim in ("by_phase", "by_subscriber_type", "by_payment_type", "by_channel", "by_province"):
        assert sum(stats[dim].values()) == len(rows), dim
    missing = Counter()
    for r in rows:
        missing.update(missing_of(mask_of(m for m in r.missing.split(",") if m)))
    assert stats["by_missing"] == dict(missing.most_common())
    phases = Counter(phase_of(_as_date(r.activated_on), date(2024, 4, 24)) for r in rows)
    assert other["by_phase"].get("phase_2", 0) == phases[2]
    assert other["by_phase"].get("phase_1", 0) == phases[1]
    assert other["by_phase"].get("unknown", 0) == phases[None]
    assert same["by_phase"] == stats["by_phase"]
    assert len(same["by_phase"]) >= 2
    assert other["by_state"] == stats["by_state"]
    assert other["by_province"] == stats["by_province"]
    # Over-limit: documents with 4+ active subscriptions without contract, by blind index only.
    groups = defaultdict(list)
    for r in rows:
        if r.status != "terminated" and r.id_blind is not None:
            groups[bytes(r.id_blind).hex()].append(r)
    want = {b for b, m in groups.items() if sum(1 for r in m if not r.has_contract) >= 4}
    assert {d["document"] for d in docs} == want
    assert want


def test_cli_import_evaluate_stats(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_DATABASE_URL", database_url)
    monkeypatch.setenv("SUBREG_ENV", "test")
    path, _ = _demo(tmp_path, 120, seed=4)
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(path), "--quiet", "--json", "--workers", "1", "--as-of", "2018-03-15"])
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)["total"]
    assert summary["imported"] + summary["rejected"] == 120
    result = runner.invoke(app, ["evaluate", "--as-of", "2018-04-24", "--json"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["total"] == summary["imported"]
    result = runner.invoke(app, ["stats", "--over-limit", "--json"])
    assert result.exit_code == 0, result.output
    assert "documents" in orjson.loads(result.stdout)
    for command in ("import", "evaluate", "stats"):
        assert "Example:" in runner.invoke(app, [command, "--help"]).output


@pytest.mark.parametrize("evaluate_after", [True, False])
def test_cli_import_applies_the_whole_base_rules_unless_told_not_to(
    container, settings, tmp_path, monkeypatch, evaluate_after
):
    # `container` initialised the database the CLI imports into (same settings, through the environment).
    monkeypatch.setenv("SUBREG_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SUBREG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SUBREG_ENV", "test")
    args = ["import", str(_demo_over_limit(tmp_path)), "--quiet", "--json", "--workers", "1", "--as-of", "2018-03-15"]
    result = CliRunner().invoke(app, [*args, "--evaluate" if evaluate_after else "--no-evaluate"])
    assert result.exit_code == 0, result.output
    rows = _rows(container.engine)
    needed = {r.msisdn for r in rows if r.contract_needed}
    if evaluate_after:
        assert orjson.loads(result.stdout)["evaluation"]["changed"]["contract_needed"] > 0
        assert needed == _expected_contract_needed(rows)
        assert needed
        assert all(r.state == 2 for r in rows if r.msisdn in needed and not r.error_codes)
    else:
        assert "evaluation" not in orjson.loads(result.stdout)
        assert needed == set()  # the import alone sees one subscription at a time


def test_recheck_rewrites_verdicts_after_a_rule_change(loaded):
    # Simulate stale verdicts (as if written by an older rule set): mark everything complete.
    with loaded.engine.begin() as c:
        truth = dict(c.execute(text("SELECT msisdn, missing FROM subscriptions")).all())
        c.execute(
            text("UPDATE subscriptions SET complete = :t, missing = '', error_codes = '', rule_set = 'old'"),
            {"t": True},
        )
    store = open_bulk_session(loaded.engine)
    try:
        result = recheck(
            store,
            vault=loaded.vault,
            rule_set=loaded.rule_set,
            as_of=date(2018, 3, 15),
            pool=loaded.worker_pool(2),
            page_size=97,
        )
        evaluate(store, reference=REFERENCE)
    finally:
        store.close()
    assert result["checked"] == len(truth)
    with loaded.engine.connect() as c:
        after = dict(c.execute(text("SELECT msisdn, missing FROM subscriptions")).all())
        rule_sets = {r[0] for r in c.execute(text("SELECT DISTINCT rule_set FROM subscriptions"))}
    assert after == truth
    assert result["changed"] == len(truth)
    assert rule_sets == {"nd49-2017"}
