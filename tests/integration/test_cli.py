"""The command line, run through Typer's runner against real files and an embedded database."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from subreg.cli.main import app
from tests.records import complete_record

QR = "079190123456|123456789|Nguyễn Thị Ánh|17051990|Nữ|12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh|01062021"


@pytest.fixture
def runner(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def _write_jsonl(path, records) -> str:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return str(path)


class TestCheck:
    def test_exit_code_0_when_every_record_is_complete(self, runner, tmp_path):
        src = _write_jsonl(tmp_path / "ok.jsonl", [complete_record(), complete_record(msisdn="0912345678")])
        result = runner.invoke(app, ["check", src, "--json", "--as-of", "2018-04-24"])
        assert result.exit_code == 0, result.output
        lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        assert [r["complete"] for r in lines] == [True, True]

    def test_exit_code_1_when_any_record_is_incomplete(self, runner, tmp_path):
        incomplete = complete_record()
        del incomplete["documents"]["portrait"]
        src = _write_jsonl(tmp_path / "mixed.jsonl", [complete_record(), incomplete])
        result = runner.invoke(app, ["check", src, "--as-of", "2018-04-24"])
        assert result.exit_code == 1
        assert "documents.portrait" in result.stdout

    def test_exit_code_2_for_a_missing_file(self, runner, tmp_path):
        result = runner.invoke(app, ["check", str(tmp_path / "nope.jsonl")])
        assert result.exit_code == 2

    def test_exit_code_2_for_binary_garbage(self, runner, tmp_path):
        path = tmp_path / "garbage.bin"
        path.write_bytes(bytes(range(256)) * 40)
        result = runner.invoke(app, ["check", str(path)])
        assert result.exit_code == 2

    def test_exit_code_2_for_a_bad_as_of(self, runner, tmp_path):
        src = _write_jsonl(tmp_path / "ok.jsonl", [complete_record()])
        result = runner.invoke(app, ["check", src, "--as-of", "24/04/2018"])
        assert result.exit_code == 2

    def test_reads_standard_input_and_reports_malformed_lines_without_stopping(self, runner):
        data = orjson.dumps(complete_record()) + b"\n{not json\n" + orjson.dumps(complete_record()) + b"\n"
        result = runner.invoke(app, ["check", "-", "--json", "--as-of", "2018-04-24"], input=data)
        assert result.exit_code == 1
        lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        assert len(lines) == 3
        assert lines[1]["errors"][0]["code"] == "invalid_json"
        assert lines[2]["complete"] is True

    def test_english_messages_on_request(self, runner, tmp_path):
        src = _write_jsonl(tmp_path / "bad.jsonl", [complete_record(msisdn="12345")])
        result = runner.invoke(app, ["check", src, "--json", "--lang", "en", "--as-of", "2018-04-24"])
        line = orjson.loads(result.stdout.splitlines()[0])
        assert line["errors"][0]["message"].startswith("Not a Vietnamese mobile number")


class TestDemoData:
    def test_out_writes_the_same_records_for_the_same_seed(self, runner, tmp_path):
        a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
        assert runner.invoke(app, ["demo-data", "--count", "200", "--seed", "5", "--out", str(a)]).exit_code == 0
        assert runner.invoke(app, ["demo-data", "--count", "200", "--seed", "5", "--out", str(b)]).exit_code == 0
        assert a.read_bytes() == b.read_bytes()
        assert len(a.read_bytes().splitlines()) == 200

    def test_generated_records_check_as_a_mix(self, runner, tmp_path):
        out = tmp_path / "demo.jsonl"
        runner.invoke(app, ["demo-data", "--count", "500", "--seed", "1", "--out", str(out)])
        result = runner.invoke(app, ["check", str(out), "--json", "--as-of", "2018-03-15"])
        assert result.exit_code == 1
        results = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        complete = sum(r["complete"] for r in results)
        invalid = sum(not r["valid"] for r in results)
        assert 0 < complete < 500
        assert 0 < invalid < 500

    def test_csv_out_is_readable_by_check(self, runner, tmp_path):
        out = tmp_path / "demo.csv"
        assert runner.invoke(app, ["demo-data", "--count", "50", "--seed", "3", "--out", str(out)]).exit_code == 0
        result = runner.invoke(app, ["check", str(out), "--json", "--as-of", "2018-03-15"])
        assert result.exit_code in (0, 1)
        assert len([line for line in result.stdout.splitlines() if line.startswith("{")]) == 50

    def test_load_then_if_empty_loads_only_once(self, runner, tmp_path):
        assert runner.invoke(app, ["init"]).exit_code == 0
        first = runner.invoke(app, ["demo-data", "--count", "40", "--seed", "2", "--if-empty"])
        assert first.exit_code == 0, first.output
        assert "store_staff" in first.stdout
        second = runner.invoke(app, ["demo-data", "--count", "40", "--seed", "2", "--if-empty"])
        assert second.exit_code == 0
        assert "already loaded" in second.output


class TestIdCommands:
    def test_parse_qr_prints_holder_fields_as_json(self, runner):
        result = runner.invoke(app, ["id", "parse-qr", QR])
        assert result.exit_code == 0, result.output
        body = orjson.loads(result.stdout)
        assert body["holder"]["full_name"] == "Nguyễn Thị Ánh"
        assert body["holder"]["address"].endswith("TP Hồ Chí Minh")

    def test_parse_qr_refuses_garbage_with_exit_2(self, runner):
        result = runner.invoke(app, ["id", "parse-qr", "hello"])
        assert result.exit_code == 2
        assert "invalid_qr" in result.output


class TestHelp:
    @pytest.mark.parametrize(
        "command",
        [["init"], ["serve"], ["demo-data"], ["check"], ["id", "parse-qr"], ["id", "parse-mrz"]],
    )
    def test_every_command_has_help_with_an_example(self, runner, command):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.stdout
