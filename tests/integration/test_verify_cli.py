"""`subreg verify chip` and `subreg verify face`: exit codes and outputs (reason codes, no personal data)."""

from __future__ import annotations

import orjson
import pytest
from skimage import data
from typer.testing import CliRunner

from subreg.cli.main import app
from tests.fixtures.faces import astronaut, jpeg
from tests.fixtures.icao import HOLDER, make_chip


@pytest.fixture
def runner(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    return CliRunner()


@pytest.fixture
def chip_files(tmp_path):
    chip = make_chip(jpeg(astronaut()))
    files = {}
    for name, payload in (("dg1", chip.groups[1]), ("dg2", chip.groups[2]), ("dg13", chip.groups[13]),
                          ("sod", chip.sod), ("csca", chip.csca.pem)):  # fmt: skip
        path = tmp_path / f"{name}.bin"
        path.write_bytes(payload)
        files[name] = str(path)
    return files


def _args(files, **extra):
    args = ["verify", "chip", "--dg1", files["dg1"], "--dg2", files["dg2"], "--dg13", files["dg13"]]
    args += ["--sod", files["sod"], "--csca", files["csca"]]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


def test_verify_chip_passes_and_writes_the_portrait(runner, chip_files, tmp_path):
    portrait = tmp_path / "dg2.jpg"
    typed = orjson.dumps({"id_number": HOLDER["id_number"]}).decode()
    result = runner.invoke(app, _args(chip_files, typed=typed, portrait_out=str(portrait)))
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["passed"] is True
    assert portrait.read_bytes() == jpeg(astronaut())


def test_verify_chip_refuses_a_mismatch_with_field_names_only(runner, chip_files):
    typed = orjson.dumps({"id_number": "001095099999"}).decode()
    result = runner.invoke(app, _args(chip_files, typed=typed))
    assert result.exit_code == 1
    report = orjson.loads(result.output)
    assert report == {"passed": False, "reason": "dg1_mismatch", "details": ["id_number"], "portrait_format": None}
    assert "001095" not in result.output


def test_verify_chip_refuses_an_altered_data_group(runner, chip_files, tmp_path):
    dg2 = tmp_path / "dg2.bin"
    raw = bytearray(dg2.read_bytes())
    raw[len(raw) // 2] ^= 1
    dg2.write_bytes(bytes(raw))
    result = runner.invoke(app, _args(chip_files))
    assert result.exit_code == 1
    assert orjson.loads(result.output)["reason"] == "data_group_hash_mismatch"


def test_verify_face_match_and_refusal(runner, tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg(astronaut()))
    (tmp_path / "b.jpg").write_bytes(jpeg(astronaut().rotate(8), 60))
    (tmp_path / "cat.jpg").write_bytes(jpeg(data.chelsea()))
    result = runner.invoke(app, ["verify", "face", str(tmp_path / "b.jpg"), str(tmp_path / "a.jpg")])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.output)
    assert report["decision"] == "passed"
    assert report["threshold"] == 0.5
    result = runner.invoke(app, ["verify", "face", str(tmp_path / "cat.jpg"), str(tmp_path / "a.jpg")])
    assert result.exit_code == 1
    assert orjson.loads(result.output)["reason"] == "no_face"


@pytest.mark.parametrize("command", [["verify"], ["verify", "chip"], ["verify", "face"]])
def test_verify_commands_have_help_with_an_example(runner, command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
