"""Population-database matching on SQLite and PostgreSQL: the batch request out, the database's answers in,
stored set-based; the answers are checked against the deliberate mismatches the reference registry holds.

The base is demo data loaded under `population-db-2023` (so every citizen's line misses
`verification.population_db`); the reference registry is built from the same generated records with larger
shares of deliberate mismatches than the default, so that a few hundred lines show every kind.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from subreg.adapters.db.population_repo import open_population_store
from subreg.adapters.population.batch_file import BatchRequestWriter, read_answers, read_requests, write_answers
from subreg.adapters.population.reference import (
    DeliberateRates,
    MirrorReferenceRegistry,
    ReferenceRegistry,
    build_reference_table,
    deliberate,
)
from subreg.adapters.processes import ForkPool, InlinePool
from subreg.bootstrap import bootstrap
from subreg.cli.main import app
from subreg.config import Settings
from subreg.domain.compliance.missing_mask import bits_of
from subreg.domain.compliance.rules import get_rule_set
from subreg.domain.compliance.rules.base import rule_tag
from subreg.services.registry.bulk_load import bulk_load
from subreg.services.registry.demo_data import generate_records
from subreg.services.registry.evaluation import evaluate
from subreg.services.verification.population import match_all, store_answers, write_request

AS_OF = date(2023, 3, 1)
N = 400
SEED = 11
RATES = DeliberateRates(unknown=0.05, name=0.10, birth=0.05, seed=7)
PDB = get_rule_set("population-db-2023")
BIT = bits_of(tuple(PDB.missing_items))["verification.population_db"]
NOW = datetime(2023, 3, 2, 8, 0, tzinfo=UTC)
EXPECTED = {
    None: ("match", "match", "match"),
    "unknown": ("not_found", "not_found", "not_found"),
    "name": ("match", "mismatch", "match"),
    "birth": ("match", "match", "mismatch"),
}


def _load(container: Any) -> None:
    with container.uow() as uow:
        bulk_load(
            generate_records(N, SEED, as_of=AS_OF), uow=uow, vault=container.vault, blobs=container.blobs,
            as_of=AS_OF, rule_set=PDB, batch_size=500,
        )  # fmt: skip


def _lines(engine: Any) -> dict[int, Any]:
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT s.id, s.missing_mask, s.missing, s.complete, s.verdict, s.verified_regime, s.verified_method, "
                "s.verified_at, s.rule_set, m.id_number, m.full_name, m.date_of_birth FROM subscriptions s "
                "LEFT JOIN population_matches m ON m.subscription_id = s.id"
            )
        ).all()
    return {int(r.id): r for r in rows}


def _check_stored(engine: Any, requests: dict[int, str]) -> dict[str | None, int]:
    """Every requested line carries the answer its deliberate mismatch implies, and the line's columns follow."""
    lines = _lines(engine)
    kinds: dict[str | None, int] = {}
    for ref, number in requests.items():
        kind = deliberate(number, RATES)
        kinds[kind] = kinds.get(kind, 0) + 1
        line = lines[ref]
        assert (line.id_number, line.full_name, line.date_of_birth) == EXPECTED[kind], ref
        missing_bit = bool(int(line.missing_mask or 0) & BIT)
        assert ("verification.population_db" in line.missing.split(",")) is missing_bit
        if kind is None:
            assert (line.verified_regime, line.verified_method) == ("population-db-2023", "population_db")
            assert line.verified_at is not None
            assert not missing_bit
        else:
            assert line.verified_method is None
            assert missing_bit
            assert not line.complete
    unrequested = [r for i, r in lines.items() if i not in requests]
    assert all(r.id_number is None and r.verified_method is None for r in unrequested)
    return kinds


def test_batch_out_and_in_store_the_deliberate_mismatches(container: Any, tmp_path: Path) -> None:
    _load(container)
    request_file = tmp_path / "requests.csv"
    store = open_population_store(container.engine)
    try:
        with BatchRequestWriter(request_file) as sink:
            asked = write_request(
                store, vault=container.vault, pool=InlinePool(), sink=sink, uow_factory=container.uow, now=NOW,
                batch="requests.csv", page_size=97,
            )  # fmt: skip
        assert request_file.stat().st_mode & 0o777 == 0o600
        queries = read_requests(request_file)
        assert asked.asked == len(queries) > N // 2
        # The database's side: the reference registry built from the same demo records.
        registry = ReferenceRegistry(build_reference_table(generate_records(N, SEED, as_of=AS_OF), RATES))
        answer_file = tmp_path / "answers.csv"
        write_answers(answer_file, registry.match(queries))
        report = store_answers(
            store, read_answers(answer_file), uow_factory=container.uow, now=NOW, batch="answers.csv",
            regime="population-db-2023",
        )  # fmt: skip
    finally:
        store.close()
    kinds = _check_stored(container.engine, {q.ref: q.id_number for q in queries})
    assert all(kinds.get(k) for k in EXPECTED), kinds  # every kind of answer occurred
    assert report.outcome["matched"] == kinds[None]
    assert report.outcome["not_found"] == kinds["unknown"]
    assert report.outcome["name_mismatch"] == kinds["name"]
    assert report.outcome["birth_mismatch"] == kinds["birth"]
    assert report.outcome["matched_lines_updated"] == kinds[None]

    # A re-check of every line under the regime reads the verification columns and agrees with the batch.
    before = {i: (r.missing_mask, r.complete) for i, r in _lines(container.engine).items()}
    with container.engine.begin() as c:
        c.execute(text("UPDATE subscriptions SET rule_set = 'stale/0'"))
    bulk = container.bulk_session()
    try:
        evaluate(bulk, as_of=AS_OF, reference=AS_OF, rule_set=PDB, vault=container.vault, pool=InlinePool())
    finally:
        bulk.close()
    after = {i: (r.missing_mask, r.complete) for i, r in _lines(container.engine).items()}
    assert after == before

    # Nothing left to ask: the matched lines are verified; the others are asked again.
    store = open_population_store(container.engine)
    try:
        with BatchRequestWriter(tmp_path / "again.csv") as sink:
            again = write_request(
                store, vault=container.vault, pool=InlinePool(), sink=sink, uow_factory=container.uow, now=NOW,
                batch="again.csv",
            )  # fmt: skip
    finally:
        store.close()
    assert again.asked == len(queries) - kinds[None]


def test_a_direct_run_with_the_mirror_registry_in_worker_processes(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subreg.services.verification import population

    monkeypatch.setattr(population, "COMMIT_EVERY", 50)  # answers committed in steps
    _load(container)
    store = open_population_store(container.engine)
    pool = ForkPool(2)
    try:
        report = match_all(
            store, vault=container.vault, pool=pool, registry=MirrorReferenceRegistry(RATES),
            uow_factory=container.uow, now=NOW, batch="direct", regime="population-db-2023", page_size=64,
        )  # fmt: skip
    finally:
        pool.close()
        store.close()
    with container.engine.connect() as c:
        numbers = {}
        for (ref,) in c.execute(text("SELECT subscription_id FROM population_matches")):
            numbers[int(ref)] = None
    assert report.answered == report.asked == len(numbers)
    # The refs' numbers come from the payloads: ask the request writer's view through a second, inline run.
    store = open_population_store(container.engine)
    try:
        queries: list[Any] = []

        class _Sink:
            def write(self, qs: Any) -> None:
                queries.extend(qs)

        write_request(store, vault=container.vault, pool=InlinePool(), sink=_Sink(), uow_factory=container.uow,
                      now=NOW, batch="all", rematch=True)  # fmt: skip
    finally:
        store.close()
    kinds = _check_stored(container.engine, {q.ref: q.id_number for q in queries})
    assert report.outcome["matched"] == kinds[None]


def test_a_mismatch_under_an_nd49_verdict_changes_no_missing_item(container: Any, tmp_path: Path) -> None:
    with container.uow() as uow:
        bulk_load(
            generate_records(60, SEED, as_of=AS_OF), uow=uow, vault=container.vault, blobs=container.blobs,
            as_of=AS_OF, rule_set=get_rule_set("nd49-2017"), batch_size=500,
        )  # fmt: skip
    before = {i: (r.missing_mask, r.missing, r.complete) for i, r in _lines(container.engine).items()}
    store = open_population_store(container.engine)
    try:
        report = match_all(
            store, vault=container.vault, pool=InlinePool(), registry=MirrorReferenceRegistry(RATES),
            uow_factory=container.uow, now=NOW, batch="nd49", regime="population-db-2023",
        )  # fmt: skip
    finally:
        store.close()
    after = {i: (r.missing_mask, r.missing, r.complete) for i, r in _lines(container.engine).items()}
    assert report.outcome["mismatched_lines_updated"] == 0
    assert after == before  # the nd49 verdicts know no such item; the next evaluation under a later regime will


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.setenv("SUBREG_DATABASE_URL", database_url)
    monkeypatch.setenv("SUBREG_REGIME_SCHEDULE", orjson.dumps({"2017-04-24": "nd49-2017",
                       "2022-08-01": "population-db-2023"}).decode())  # fmt: skip
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    return runner


def test_cli_batch_out_then_in(cli: CliRunner, tmp_path: Path) -> None:
    container = bootstrap(Settings())
    try:
        _load(container)
    finally:
        container.close()
    out = tmp_path / "req.csv"
    result = cli.invoke(app, ["verify", "population", "--batch-out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["asked"] == len(read_requests(out))
    registry = ReferenceRegistry(build_reference_table(generate_records(N, SEED, as_of=AS_OF), RATES))
    answers = tmp_path / "ans.csv"
    write_answers(answers, registry.match(read_requests(out)))
    result = cli.invoke(app, ["verify", "population", "--batch-in", str(answers), "--json"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["batch"] == "ans.csv"
    assert report["answered"] == len(read_requests(out))
    container = bootstrap(Settings())
    try:
        _check_stored(container.engine, {q.ref: q.id_number for q in read_requests(out)})
    finally:
        container.close()
    # Statistics under the regime name the new item.
    result = cli.invoke(app, ["stats", "--json", "--rule-set", "population-db-2023"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["by_missing"]["verification.population_db"] > 0


def test_cli_refuses_a_bad_answer_file_and_stores_nothing(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ref,id_number,full_name,date_of_birth\n1,match,maybe,match\nx,match,match,match\n")
    result = cli.invoke(app, ["verify", "population", "--batch-in", str(bad)])
    assert result.exit_code != 0
    assert "batch_in.line[2].full_name" in result.output
    assert "batch_in.line[3].ref" in result.output
    header = tmp_path / "header.csv"
    header.write_text("ref;id\n")
    result = cli.invoke(app, ["verify", "population", "--batch-in", str(header)])
    assert "batch_in.header" in result.output


def test_help_has_examples(cli: CliRunner) -> None:
    result = cli.invoke(app, ["verify", "population", "--help"])
    assert result.exit_code == 0
    assert "Example: subreg verify population --batch-out" in result.output
    for command in (["evaluate", "--help"], ["stats", "--help"], ["check", "--help"]):
        assert "--rule-set" in cli.invoke(app, command).output


def test_rule_tag_of_the_regime() -> None:
    assert rule_tag(PDB) == "population-db-2023/1"


def test_mismatches_enter_enforcement_under_the_2023_timeline(tmp_path: Path, database_url: str) -> None:
    from datetime import timedelta

    from subreg.bootstrap import init_storage
    from subreg.services.enforcement.sweep import sweep

    settings = Settings(env="test", var_dir=tmp_path / "v", database_url=database_url,
                        regime_schedule={"2017-04-24": "nd49-2017", "2022-08-01": "population-db-2023"})  # fmt: skip
    init_storage(settings)
    container = bootstrap(settings)
    try:
        _load(container)
        store = open_population_store(container.engine)
        try:
            match_all(
                store, vault=container.vault, pool=InlinePool(), registry=MirrorReferenceRegistry(RATES),
                uow_factory=container.uow, now=NOW, batch="b", regime="population-db-2023",
            )  # fmt: skip
        finally:
            store.close()
        lines = _lines(container.engine)
        # Lines whose only missing item is the match: the mismatched ones; and the matched, complete ones.
        only_match = {i for i, r in lines.items() if r.missing == "verification.population_db"}
        complete = {i for i, r in lines.items() if r.complete}
        assert only_match
        assert complete
        options, notices = container.enforcement_options(), container.notices()
        day = date(2023, 3, 26)
        for offset in range(6):  # 26/3 .. 31/3: five daily notices, then the fixed one-way date
            container.reevaluate(day + timedelta(days=offset))  # as `subreg enforce` does, under the regime
            report = sweep(uow=container.uow(), as_of=day + timedelta(days=offset), now=NOW, options=options,
                           notices=notices)  # fmt: skip
            assert report.regime == "population-db-2023"
        with container.engine.connect() as c:
            state = dict(c.execute(text("SELECT id, enf_state FROM subscriptions")).all())
            contract_needed = {i for (i,) in c.execute(text("SELECT id FROM subscriptions WHERE contract_needed"))}
        assert all(state[i] == 2 for i in only_match - contract_needed)  # locked one way on 31/3/2023
        complete -= contract_needed  # the 4th-subscription rule is enforced too
        assert complete
        assert all(state[i] is None for i in complete)  # matched and complete: never in enforcement
    finally:
        container.close()
