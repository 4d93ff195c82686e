"""Loading the MNP list (`subreg numbers load-ported`, `subreg numbers show`) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from subreg.adapters.db.tables import audit_log
from subreg.adapters.files.ported_csv import PortedCsv
from subreg.cli.main import app
from subreg.domain.common.errors import FieldError
from subreg.services.registry.ported import load_ported

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def runner(tmp_path, monkeypatch, database_url) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.setenv("SUBREG_DATABASE_URL", database_url)
    monkeypatch.setenv("SUBREG_LANG", "en")
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def show(runner: CliRunner) -> dict:
    result = runner.invoke(app, ["numbers", "show", "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def counts(runner: CliRunner) -> tuple[int, int]:
    body = show(runner)
    return body["ported_in"], body["ported_out"]


class TestLoadPorted:
    def test_numbers_in_any_form_are_loaded_and_counted(self, runner, tmp_path):
        src = write(tmp_path, "mnp.csv", "msisdn,direction,ported_on\n0981234567,in,2026-11-30\n"
                    "+84 90 123 4567,OUT,2026-11-30\n84931234567,out,2026-11-29\n\n")  # fmt: skip
        result = runner.invoke(app, ["numbers", "load-ported", src, "--json"])
        assert result.exit_code == 0, result.output
        assert orjson.loads(result.stdout) == {
            "loaded": True, "rows": 3, "ported_in": 1, "ported_out": 2, "replaced": 0, "bad_lines": 0, "errors": [],
        }  # fmt: skip
        body = show(runner)
        assert (body["ported_in"], body["ported_out"], body["operator_ranges"]) == (1, 2, [])
        assert body["loaded_at"] is not None

    def test_a_second_file_adds_to_the_list_and_replace_makes_it_the_file(self, runner, tmp_path):
        first = write(tmp_path, "a.csv", "msisdn,direction\n0981234567,in\n0901234567,out\n")
        second = write(tmp_path, "b.csv", "direction;msisdn\nin;0931234567\nin;0901234567\n")
        assert runner.invoke(app, ["numbers", "load-ported", first]).exit_code == 0
        result = runner.invoke(app, ["numbers", "load-ported", second])
        assert result.exit_code == 0, result.output
        assert counts(runner) == (3, 0)  # 0901234567 came back: it takes the new direction
        result = runner.invoke(app, ["numbers", "load-ported", first, "--replace"])
        assert result.exit_code == 0, result.output
        assert "previous list (3) replaced" in result.output
        assert counts(runner) == (1, 1)

    def test_bad_lines_are_reported_by_line_field_and_code_and_nothing_is_loaded(self, runner, tmp_path):
        good = write(tmp_path, "good.csv", "msisdn,direction\n0981234567,in\n")
        assert runner.invoke(app, ["numbers", "load-ported", good]).exit_code == 0
        bad = write(tmp_path, "bad.csv", "msisdn,direction\n0931234567,out\n0241234567,out\n0911234567,sideways\n"
                    ",in\n0921234567\n")  # fmt: skip
        result = runner.invoke(app, ["numbers", "load-ported", bad, "--replace"])
        assert result.exit_code == 2
        for expected in ("line 3: msisdn invalid_msisdn", "line 4: direction invalid_choice",
                         "line 5: msisdn required", "line 6: direction required", "4 bad lines"):  # fmt: skip
            assert expected in result.output
        assert "0241234567" not in result.output
        assert "0911234567" not in result.output
        assert counts(runner) == (1, 0)  # the previous list, untouched by --replace

    def test_bad_lines_as_json(self, runner, tmp_path):
        bad = write(tmp_path, "bad.csv", "msisdn,direction\n12345,in\n")
        result = runner.invoke(app, ["numbers", "load-ported", bad, "--json"])
        assert result.exit_code == 2
        body = orjson.loads(result.stdout)
        assert (body["loaded"], body["errors"]) == (False, [{"line": 2, "field": "msisdn", "code": "invalid_msisdn"}])

    def test_a_file_without_the_columns_is_refused_at_line_1(self, runner, tmp_path):
        src = write(tmp_path, "nohead.csv", "0981234567,in\n")
        result = runner.invoke(app, ["numbers", "load-ported", src])
        assert result.exit_code == 2
        assert "line 1: msisdn required" in result.output

    def test_a_missing_file_exits_2(self, runner, tmp_path):
        assert runner.invoke(app, ["numbers", "load-ported", str(tmp_path / "nope.csv")]).exit_code == 2

    def test_a_load_is_audited_with_counts_only(self, runner, tmp_path, database_url):
        src = write(tmp_path, "mnp.csv", "msisdn,direction\n0981234567,in\n")
        assert runner.invoke(app, ["numbers", "load-ported", src]).exit_code == 0
        from subreg.adapters.db.engine import create_engine_for

        engine = create_engine_for(database_url)
        try:
            with engine.connect() as c:
                (entry,) = [r for r in c.execute(select(audit_log)) if r.action == "ported_numbers:loaded"]
        finally:
            engine.dispose()
        assert orjson.loads(entry.details) == {"rows": 1, "in": 1, "out": 0, "replace": False, "replaced": 0}
        assert "981234567" not in entry.details


class TestShow:
    def test_the_configured_ranges_are_shown(self, runner, monkeypatch):
        monkeypatch.setenv("SUBREG_OPERATOR_RANGES", "090, 093,0901000000-0901999999")
        body = show(runner)
        assert body["operator_ranges"] == ["090", "093", "0901000000-0901999999"]
        assert body["accepts_every_number"] is False
        table = runner.invoke(app, ["numbers", "show"])
        assert "090, 093" in table.stdout
        assert "never" in table.stdout

    def test_a_bad_setting_is_a_clear_error(self, runner, monkeypatch):
        monkeypatch.setenv("SUBREG_OPERATOR_RANGES", "090,024")
        result = runner.invoke(app, ["numbers", "show"])
        assert result.exit_code == 2
        assert "operator_ranges: invalid_format" in result.output

    @pytest.mark.parametrize("command", [["numbers", "load-ported"], ["numbers", "show"]])
    def test_help_has_an_example(self, runner, command):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.stdout


class _Breaks:
    """A source that fails after its lines (a kill, a full disk): the load must leave the old list."""

    size = 100

    def __init__(self, n: int) -> None:
        self.n = n

    def items(self) -> Iterator[tuple[int, int, tuple[str, str] | FieldError]]:
        for i in range(self.n):
            yield i + 2, i, (f"09312345{i:02d}", "out")
        raise OSError("disk gone")

    def close(self) -> None:
        pass


class TestLoadService:
    def test_an_interrupted_load_leaves_the_previous_list(self, container):
        with container.uow() as uow:
            uow.ported.put_many([(84981234567, "in")], loaded_at=NOW)
            uow.commit()
        with pytest.raises(OSError, match="disk gone"):
            load_ported(_Breaks(25), uow=container.uow(), replace=True, now=NOW, chunk=10)
        with container.uow() as uow:
            assert (uow.ported.counts().ported_in, uow.ported.counts().ported_out) == (1, 0)

    def test_progress_is_reported_per_chunk(self, container, tmp_path):
        path = tmp_path / "mnp.csv"
        path.write_text("msisdn,direction\n" + "".join(f"09312{i:05d},out\n" for i in range(25)), encoding="utf-8")
        seen: list[tuple[int, int]] = []
        source = PortedCsv(path)
        try:
            done = load_ported(source, uow=container.uow(), replace=False, now=NOW, chunk=10,
                               progress=lambda offset, rows: seen.append((offset, rows)))  # fmt: skip
        finally:
            source.close()
        assert done.ported_out == 25
        assert [rows for _, rows in seen] == [10, 20, 25]
        assert seen[-1][0] == path.stat().st_size


class TestPortedCsv:
    def test_bom_quotes_extra_columns_and_a_line_not_utf8(self, tmp_path):
        path = tmp_path / "mnp.csv"
        path.write_bytes(b'\xef\xbb\xbfDate,MSISDN,Direction\r\n2026-11-30,"0981 234 567",in\r\n'
                         b"2026-11-30,09\xff1234567,out\r\n2026-11-30,0901234567\r\n")  # fmt: skip
        source = PortedCsv(path)
        try:
            items = [(line, item) for line, _offset, item in source.items()]
        finally:
            source.close()
        assert items == [
            (2, ("0981 234 567", "in")),
            (3, FieldError("", "invalid_encoding")),
            (4, FieldError("direction", "required")),
        ]

    def test_an_empty_file_has_no_header(self, tmp_path):
        path = tmp_path / "empty.csv"
        path.write_bytes(b"")
        source = PortedCsv(path)
        try:
            assert [item for _line, _offset, item in source.items()] == [FieldError("msisdn", "required")]
        finally:
            source.close()
