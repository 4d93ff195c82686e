"""`subreg import` and `subreg check` apply this operator's numbers only when `operator_ranges` is set
(SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime

import orjson
import pytest
from typer.testing import CliRunner

from subreg.cli.main import app
from subreg.domain.common.operator_numbers import operator_numbers
from subreg.services.registry.importer import ImportOptions
from tests.integration.test_import import AS_OF, REFERENCE, _bulk_session, dump_database
from tests.records import complete_record

MOBIFONE = ["070", "076", "077", "078", "079", "089", "090", "093"]
# 0901234567 MobiFone's; 0981234567 Viettel's but ported in; 0931234567 MobiFone's but ported out;
# 0971234567 Viettel's.
NUMBERS = ["0901234567", "0981234567", "0931234567", "0971234567"]
PORTED = [(84981234567, "in"), (84931234567, "out")]


def records() -> list[dict]:
    # Each on its own document (the 4th-subscription rule stays out of the way).
    out = []
    for i, n in enumerate(NUMBERS):
        record = complete_record(msisdn=n)
        record["holder"] = {**record["holder"], "id_number": f"07919012345{i}"}
        out.append(record)
    return out


def port(container) -> None:
    with container.uow() as uow:
        uow.ported.put_many(PORTED, loaded_at=datetime(2026, 12, 1, tzinfo=UTC))
        uow.commit()


def write_jsonl(path, rows) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def run_import(container, path, rejects, ranges: list[str] | None, workers: int = 1):
    from subreg.adapters.files.import_sources import fingerprint, open_source
    from subreg.adapters.files.rejects import CsvRejectFile
    from subreg.domain.registry.column_mapping import ColumnMapping
    from subreg.services.registry.importer import run_import as run

    source = open_source(path, "auto", "auto", ColumnMapping())
    options = ImportOptions(as_of=AS_OF, phase_reference=REFERENCE, workers=workers, batch_size=3)
    if ranges is not None:
        options = dataclasses.replace(options, numbers=operator_numbers(ranges))
    with _bulk_session(container) as store:
        return run(
            source, store=store, vault=container.vault, rule_set=container.rule_set, options=options,
            fingerprint=fingerprint(path, source.format, source.encoding, ""), pool=container.worker_pool(workers),
            open_rejects=lambda committed: CsvRejectFile(rejects, committed),
        )  # fmt: skip


def stored_numbers(container) -> list[int]:
    return [r[0] for r in dump_database(container.engine, container.vault)["records"]]


class TestImport:
    @pytest.mark.parametrize("workers", [1, 2])
    def test_with_ranges_another_operators_number_is_rejected(self, container, tmp_path, workers):
        port(container)
        path, rejects = tmp_path / "base.jsonl", tmp_path / "rejects.csv"
        write_jsonl(path, records())
        summary = run_import(container, path, rejects, MOBIFONE, workers=workers)
        assert (summary.imported, summary.rejected) == (2, 2)
        assert summary.reject_codes == {"not_operator_number": 2}
        rows = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8-sig"))))[1:]
        assert [(int(r[0]), r[1], r[2]) for r in rows] == [(3, "msisdn", "not_operator_number"),
                                                           (4, "msisdn", "not_operator_number")]  # fmt: skip
        assert stored_numbers(container) == [84901234567, 84981234567]

    def test_without_ranges_every_number_is_imported(self, container, tmp_path):
        port(container)
        path, rejects = tmp_path / "base.jsonl", tmp_path / "rejects.csv"
        write_jsonl(path, records())
        summary = run_import(container, path, rejects, [])
        assert (summary.imported, summary.rejected) == (4, 0)
        assert stored_numbers(container) == sorted(int("84" + n[1:]) for n in NUMBERS)


@pytest.fixture
def runner(tmp_path, monkeypatch, database_url) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.setenv("SUBREG_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def check(runner: CliRunner, path) -> tuple[int, list[dict]]:
    result = runner.invoke(app, ["check", str(path), "--json", "--as-of", "2018-04-24"])
    return result.exit_code, [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


class TestCheckCommand:
    def test_with_ranges_the_mnp_list_decides(self, runner, tmp_path, monkeypatch):
        mnp = tmp_path / "mnp.csv"
        mnp.write_text("msisdn,direction\n0981234567,in\n0931234567,out\n", encoding="utf-8")
        assert runner.invoke(app, ["numbers", "load-ported", str(mnp)]).exit_code == 0
        path = tmp_path / "in.jsonl"
        write_jsonl(path, records())
        monkeypatch.setenv("SUBREG_OPERATOR_RANGES", ",".join(MOBIFONE))
        code, results = check(runner, path)
        assert code == 1
        assert [r["complete"] for r in results] == [True, True, False, False]
        assert [e["code"] for e in results[2]["errors"]] == ["not_operator_number"]

    def test_without_ranges_no_database_is_needed(self, runner, tmp_path, monkeypatch):
        monkeypatch.setenv("SUBREG_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
        path = tmp_path / "in.jsonl"
        write_jsonl(path, records())
        code, results = check(runner, path)
        assert code == 0
        assert all(r["complete"] for r in results)

    def test_with_ranges_and_no_list_in_the_database_the_error_says_so(self, runner, tmp_path, monkeypatch):
        monkeypatch.setenv("SUBREG_OPERATOR_RANGES", "090")
        path = tmp_path / "in.jsonl"
        write_jsonl(path, records())
        result = runner.invoke(app, ["check", str(path)])
        assert result.exit_code == 2
        assert "subreg init" in result.output

    def test_a_bad_setting_is_exit_2(self, runner, tmp_path, monkeypatch):
        monkeypatch.setenv("SUBREG_OPERATOR_RANGES", "0241")
        path = tmp_path / "in.jsonl"
        write_jsonl(path, records())
        result = runner.invoke(app, ["check", str(path)])
        assert result.exit_code == 2
        assert "operator_ranges: invalid_format" in result.output
