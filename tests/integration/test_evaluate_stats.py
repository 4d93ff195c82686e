"""Compliance evaluation at scale (time, phase, the 4th-subscription rule) and statistics, on both backends.

The set-based SQL results are compared with the one Python definition of the holder's active lines
(`services.registry.lines`) over the stored rows; the counter's writer, the import, the evaluation and the
statistics must agree on the same generated base.
"""

from __future__ import annotations

import copy
import random
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from subreg.adapters.db.bulk import open_bulk_session
from subreg.cli.main import app
from subreg.domain.compliance.missing_mask import mask_of, missing_of
from subreg.domain.compliance.phase import phase_of
from subreg.domain.compliance.state import state_of
from subreg.domain.id_documents.numbers import make_cccd
from subreg.services.registry import store_subscription
from subreg.services.registry.evaluation import evaluate
from subreg.services.registry.lines import needs_contract, ordinal_of
from subreg.services.registry.ports import SubscriptionRow
from subreg.services.registry.stats import compliance_stats, over_limit
from tests.integration.test_import import _demo, do_import
from tests.records import complete_record

REFERENCE = date(2018, 4, 24)
AS_OF = date(2018, 4, 24)


def _rows(engine) -> list[Any]:
    with engine.connect() as c:
        return c.execute(
            text(
                "SELECT s.id, s.msisdn, s.activated_on, s.subscriber_type, s.status, s.has_contract, "
                "s.contract_needed, s.phase, s.verdict, s.complete, s.error_codes, s.missing, s.person_key, "
                "s.valid_until, s.rule_set FROM subscriptions s"
            )
        ).all()


def _as_date(v):
    return v if isinstance(v, date) or v is None else date.fromisoformat(v)


def _expected_contract_needed(rows, from_ordinal: int = 4) -> set[int]:
    """The 4th-subscription rule computed with `services.registry.lines` over the stored rows."""
    people = defaultdict(list)
    for r in rows:
        if r.person_key is not None:
            people[bytes(r.person_key)].append(r)
    out = set()
    for members in people.values():
        lines = [_line(r) for r in members]
        for r in members:
            ordinal = ordinal_of(_as_date(r.activated_on), r.msisdn, lines)
            if needs_contract(
                status=r.status,
                ordinal=ordinal, subscriber_type=r.subscriber_type, has_contract=bool(r.has_contract),
                from_ordinal=from_ordinal,
            ):  # fmt: skip
                out.add(r.id)
    return out


def _line(r) -> SubscriptionRow:
    return SubscriptionRow(
        id=r.id, msisdn=r.msisdn, generation=1, holder_id=0, subscriber_type=r.subscriber_type, payment_type=None,
        activated_on=_as_date(r.activated_on), channel=None, point_of_sale_id=None, point_of_sale_code=None,
        contract_number=None, purpose=None, status=r.status, complete=bool(r.complete), missing=(), error_codes=(),
        rule_set="", evaluated_on=AS_OF, version=1,
    )  # fmt: skip


def _evaluate(container, *, as_of: date = AS_OF, reference: date = REFERENCE):
    store = open_bulk_session(container.engine)
    try:
        return evaluate(
            store, as_of=as_of, reference=reference, rule_set=container.rule_set, vault=container.vault,
            pool=container.worker_pool(1),
        )  # fmt: skip
    finally:
        store.close()


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


def test_missing_mask_round_trips(container):
    items = container.rule_set.missing_items
    paths = ["holder.full_name", "documents.portrait", "organization.users[3].id_number", "not.an.item"]
    assert missing_of(mask_of(paths, items), items) == [
        "holder.full_name", "documents.portrait", "organization.users[].id_number", "other",
    ]  # fmt: skip


def test_evaluate_matches_the_rules_computed_in_python(loaded):
    report = _evaluate(loaded)
    assert report.full  # the first evaluation re-ranks every person
    rows = _rows(loaded.engine)
    expected = _expected_contract_needed(rows)
    assert expected, "the demo data has people with 4+ lines without contract"
    assert {r.id for r in rows if r.contract_needed} == expected
    assert report.changed["contract_needed"] >= len(expected)
    for r in rows:
        assert r.phase == phase_of(_as_date(r.activated_on), REFERENCE)
        assert r.verdict == (3 if r.error_codes else 0 if r.complete else 1)
    # Nothing changed: nothing to do; another reference moves phases only.
    again = _evaluate(loaded)
    assert not again.full
    assert again.changed == {"rechecked": 0, "contract_needed": 0}
    later = _evaluate(loaded, reference=date(2024, 4, 24))
    moved = sum(1 for r in rows if r.phase != phase_of(_as_date(r.activated_on), date(2024, 4, 24)))
    assert later.changed["phase"] == moved > 0


def test_a_change_re_ranks_its_person_only_and_agrees_with_a_full_evaluation(loaded):
    _evaluate(loaded)
    rows = _rows(loaded.engine)
    needed = {r.id for r in rows if r.contract_needed}
    # Terminate a line that needs a contract: it no longer counts, and needs nothing any more.
    first = next(r for r in rows if r.id in needed)
    with loaded.uow() as uow:
        sub = uow.subscriptions.get_by_id(first.id)
        record = loaded.registry().record_of(sub, uow=uow)
        store_subscription(
            {**record, "status": "terminated"}, uow=uow, vault=loaded.vault, blobs=loaded.blobs, as_of=AS_OF,
            actor=None, channel="store", rule_set=loaded.rule_set,
        )  # fmt: skip
        uow.commit()
    report = _evaluate(loaded)
    assert not report.full
    after = _rows(loaded.engine)
    assert {r.id for r in after if r.contract_needed} == _expected_contract_needed(after) != needed
    # A full re-ranking finds nothing more to change.
    with loaded.engine.begin() as c:
        c.execute(text("INSERT INTO evaluation_dirty (person_key) VALUES (:k)"), {"k": b"*"})
    assert _evaluate(loaded).changed["contract_needed"] == 0


def test_time_re_checks_only_the_lines_a_date_reached_and_an_earlier_date_re_checks_the_later(container):
    expiring = complete_record(msisdn="0901234560")
    expiring["holder"] = {**expiring["holder"], "id_expiry_date": "2019-01-10"}
    with container.uow() as uow:
        for record in (expiring, complete_record(msisdn="0901234561", holder=_other_holder())):
            store_subscription(
                record, uow=uow, vault=container.vault, blobs=container.blobs, as_of=AS_OF, actor=None,
                channel="legacy_import", rule_set=container.rule_set,
            )  # fmt: skip
        uow.commit()
    _evaluate(container)
    before = {r.msisdn: r for r in _rows(container.engine)}
    assert before[84901234560].complete
    assert _as_date(before[84901234560].valid_until) <= date(2019, 1, 11)
    later = _evaluate(container, as_of=date(2019, 2, 1))
    assert later.changed["rechecked"] == 1  # the other line's answer cannot change with time
    after = {r.msisdn: r for r in _rows(container.engine)}
    assert not after[84901234560].complete
    assert "id_expired" in after[84901234560].error_codes
    assert after[84901234561].complete
    # Back to an earlier date: every line evaluated after it is checked again.
    earlier = _evaluate(container, as_of=AS_OF)
    assert earlier.changed["rechecked"] >= 1
    assert {r.msisdn: r.complete for r in _rows(container.engine)}[84901234560]


def test_a_new_revision_of_the_rules_re_checks_every_line(loaded):
    _evaluate(loaded)
    with loaded.engine.begin() as c:
        truth = dict(c.execute(text("SELECT id, missing FROM subscriptions")).all())
        c.execute(text("UPDATE subscriptions SET complete = :t, missing = '', error_codes = '', rule_set = 'old/1'"),
                  {"t": True})  # fmt: skip
        c.execute(text("UPDATE evaluation_runs SET rule_set = 'old/1'"))
    report = _evaluate(loaded)
    assert report.changed["rechecked"] == len(truth)
    with loaded.engine.connect() as c:
        assert dict(c.execute(text("SELECT id, missing FROM subscriptions")).all()) == truth
        tags = {r[0] for r in c.execute(text("SELECT DISTINCT rule_set FROM subscriptions"))}
    assert tags == {f"{loaded.rule_set.name}/{loaded.rule_set.revision}"}


def test_stats_counts_every_dimension(loaded):
    _evaluate(loaded)
    store = open_bulk_session(loaded.engine)
    try:
        stats = compliance_stats(store, rule_set=loaded.rule_set)
        other = compliance_stats(store, rule_set=loaded.rule_set, as_of=date(2024, 4, 24))
        same = compliance_stats(store, rule_set=loaded.rule_set, as_of=REFERENCE)
        people = over_limit(store)
    finally:
        store.close()
    rows = _rows(loaded.engine)
    assert stats["total"] == len(rows) == sum(stats["by_state"].values())
    states = Counter(
        state_of(valid=not r.error_codes, complete=bool(r.complete), contract_needed=bool(r.contract_needed)).label
        for r in rows
    )
    assert stats["by_state"] == dict(sorted(states.items()))
    assert stats["by_state"]["contract_needed"] > 0
    for dim in ("by_phase", "by_subscriber_type", "by_payment_type", "by_channel", "by_province"):
        assert sum(stats[dim].values()) == len(rows), dim
    items = loaded.rule_set.missing_items
    missing = Counter()
    for r in rows:
        missing.update(missing_of(mask_of((m for m in r.missing.split(",") if m), items), items))
    assert stats["by_missing"] == dict(missing.most_common())
    phases = Counter(phase_of(_as_date(r.activated_on), date(2024, 4, 24)) for r in rows)
    assert other["by_phase"].get("phase_2", 0) == phases[2]
    assert other["by_phase"].get("phase_1", 0) == phases[1]
    assert other["by_phase"].get("unknown", 0) == phases[None]
    assert same["by_phase"] == stats["by_phase"]
    assert other["by_state"] == stats["by_state"]
    # Over the limit: people with 4+ active lines without contract, by person key only.
    groups = defaultdict(list)
    for r in rows:
        if r.status != "terminated" and r.person_key is not None:
            groups[bytes(r.person_key).hex()].append(r)
    want = {k for k, m in groups.items() if sum(1 for r in m if not r.has_contract) >= 4}
    assert {d["document"] for d in people} == want
    assert want


# --- one answer everywhere: counter, import, evaluation, statistics ------------------------------------


def _other_holder(**changes: Any) -> dict[str, Any]:
    holder = {
        "full_name": "Lê Văn Cường", "date_of_birth": "1980-01-02", "gender": "male", "nationality": "VNM",
        "id_type": "cccd", "id_number": make_cccd("001", "male", 1980, 4242), "id_issue_date": "2016-08-01",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH", "id_expiry_date": "2040-01-02",
    }  # fmt: skip
    return {**holder, **changes}


def _people_base(seed: int) -> list[dict[str, Any]]:
    """Lines of several people: one with lines on a CMND and on the CCCD whose QR names it (one person), a
    passport and a CMND with the same digits (two people), contracts on some lines, terminated ones."""
    rng = random.Random(seed)
    cmnd = {"full_name": "Phạm Thị Dung", "date_of_birth": "1985-03-04", "gender": "female", "id_type": "cmnd",
            "id_number": "123456789", "id_issue_date": "2012-05-06", "id_issue_place": "CA Hà Nội"}  # fmt: skip
    cccd = {**cmnd, "id_type": "cccd", "id_number": make_cccd("001", "female", 1985, 777),
            "id_issue_date": "2017-06-01", "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
            "previous_id_number": "123456789"}  # fmt: skip
    passport = {"full_name": "John Smith", "date_of_birth": "1975-07-08", "gender": "male", "nationality": "GBR",
                "id_type": "passport", "id_number": "123456789", "id_issue_date": "2016-01-01",
                "id_issue_place": "HMPO", "id_expiry_date": "2026-01-01"}  # fmt: skip
    people = [cmnd, cmnd, cmnd, cccd, cccd, cccd, passport, passport, passport, passport]
    people += [_other_holder() for _ in range(5)]
    records = []
    for i, holder in enumerate(people):
        record = complete_record(msisdn=f"09012{i:05d}", activated_on=f"201{i % 8}-0{1 + i % 9}-1{i % 10}")
        record["holder"] = copy.deepcopy(holder)
        if holder["id_type"] == "passport":
            record["documents"] = {"portrait": "blob:p", "passport_page": "blob:pp", "confirmation_form": "blob:c"}
        if rng.random() < 0.2:
            record["documents"] = {**record["documents"], "contract": "blob:k"}
            record["contract_number"] = f"HD-{i}"
        if rng.random() < 0.1:
            record["status"] = "terminated"
        records.append(record)
    return records


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counter_import_evaluation_and_statistics_agree(container, settings, tmp_path, seed):
    records = _people_base(seed)
    # The import, then the evaluation.
    path = tmp_path / "base.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    do_import(container, path)
    _evaluate(container)
    imported = {r.msisdn: r for r in _rows(container.engine)}
    # The counter's writer, one line at a time, in activation order (as the lines were registered).
    from subreg.bootstrap import bootstrap, init_storage
    from subreg.config import Settings

    other = Settings(env="test", var_dir=tmp_path / "counter", database_url=_second_database(settings, tmp_path))
    init_storage(other)
    counter = bootstrap(other)
    try:
        for record in sorted(records, key=lambda r: (r["activated_on"], r["msisdn"])):
            with counter.uow() as uow:
                store_subscription(
                    record, uow=uow, vault=counter.vault, blobs=counter.blobs, as_of=AS_OF, actor=None,
                    channel="store", rule_set=counter.rule_set,
                )  # fmt: skip
                uow.commit()
        written = {r.msisdn: r for r in _rows(counter.engine)}
        _evaluate(counter)
        evaluated = {r.msisdn: r for r in _rows(counter.engine)}
        store = open_bulk_session(counter.engine)
        try:
            stats = compliance_stats(store, rule_set=counter.rule_set)
        finally:
            store.close()
    finally:
        counter.close()
    expected = {
        imported[r.msisdn].msisdn for r in imported.values() if r.id in _expected_contract_needed(imported.values())
    }
    assert {m for m, r in imported.items() if r.contract_needed} == expected
    assert {m for m, r in written.items() if r.contract_needed} == expected  # the counter knew at once
    assert {m for m, r in evaluated.items() if r.contract_needed} == expected
    assert stats["by_state"].get("contract_needed", 0) == sum(1 for m in expected if not imported[m].error_codes)
    # The CMND's and the CCCD's lines are one person; the passport with the same digits another.
    cmnd_and_cccd = {bytes(imported[84901200000 + i].person_key) for i in range(6)}
    passport = {bytes(imported[84901200000 + i].person_key) for i in range(6, 10)}
    assert len(cmnd_and_cccd) == 1
    assert len(passport) == 1
    assert cmnd_and_cccd != passport


def _second_database(settings, tmp_path) -> str:
    """A second empty database on the same backend as `settings` (a SQLite file, or a fresh schema)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'counter' / 'subreg.db'}"
    import uuid

    from sqlalchemy import make_url

    from subreg.adapters.db.engine import create_engine_for

    schema = f"test_{uuid.uuid4().hex[:16]}"
    base = make_url(url).difference_update_query(["options"])
    admin = create_engine_for(base.render_as_string(hide_password=False))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    return base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


# --- the command line ----------------------------------------------------------------------------------


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
    assert orjson.loads(result.stdout)["changed"]["contract_needed"] == 0  # the import evaluated already
    result = runner.invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["total"] == summary["imported"]
    stored = orjson.loads(result.stdout)
    # A later campaign reference moves lines to phase 2; the older option name gives the same answer.
    later = [orjson.loads(runner.invoke(app, ["stats", option, "2030-01-01", "--json"]).stdout)
             for option in ("--phase-reference", "--as-of")]  # fmt: skip
    assert later[0] == later[1]
    assert later[0]["total"] == stored["total"]
    assert later[0]["by_phase"] != stored["by_phase"]
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
    needed = {r.id for r in rows if r.contract_needed}
    if evaluate_after:
        assert orjson.loads(result.stdout)["evaluation"]["changed"]["contract_needed"] > 0
        assert needed == _expected_contract_needed(rows)
        assert needed
    else:
        assert "evaluation" not in orjson.loads(result.stdout)
        assert needed == set()  # the import alone sees one line at a time
