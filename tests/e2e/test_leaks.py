"""The leak test: a full scenario with known, distinctive values, then a search for them everywhere
they must not be: the SQLite database file and its WAL, the blob store, the captured log output (the
app's structlog JSON and stdlib logging), every HTTP error body, and CLI output.

Searched forms: the name in NFC, NFD and ASCII-folded spelling, and its distinctive token alone
(case-insensitive, which also covers MRZ-style capitals and JSON \\u-escapes of the other words); the
ID number; the date of birth as ISO, dd/mm/yyyy, ddmmyyyy (the CCCD QR form) and YYMMDD (MRZ); the
address; bytes of the portrait (a marker in its JPEG comment and a slice of its body); the phone
number (logs, errors and CLI output only: the database keys subscriptions on the number as an 8-byte
integer by design, which a text search would not see anyway).

Controls prove the search finds what it looks for: the same scanner finds the values in the DSR
export (an authorized response), in a log line deliberately carrying the name, and in a copy of the
database file with the name appended.
"""

from __future__ import annotations

import io
import logging
import unicodedata
import zipfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import orjson
import pytest
import structlog
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.cli.main import app as cli_app
from subreg.config import Settings
from subreg.services import registry
from tests.auth_helpers import bearer, make_staff
from tests.records import complete_record

NAME = "Trịnh Thị Leakcheck"
TOKEN = "leakcheck"
ID_NUMBER = "001185739214"  # CCCD: Hà Nội (001), female born in the 1900s (1), 1985 (85)
DOB = date(1985, 7, 23)
ADDRESS = "42 Ngõ Rò Rỉ Kiểmtra, Phường Quán Thánh, Quận Ba Đình, Hà Nội"
PHONE = "0912345678"
PHONE_E164 = "+84912345678"
IMAGE_MARKER = b"IMGLEAKMARK-7f3a9c51"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _portrait() -> bytes:
    # A noisy picture (not a flat colour) so that a slice of its body is distinctive.
    image = Image.effect_noise((64, 80), 80).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=95, comment=IMAGE_MARKER)
    return buf.getvalue()


PORTRAIT = _portrait()


def needles(*, with_phone: bool) -> dict[str, bytes]:
    """What must never be found, as bytes (UTF-8; each textual form on its own)."""
    texts = {
        "name NFC": unicodedata.normalize("NFC", NAME),
        "name NFD": unicodedata.normalize("NFD", NAME),
        "name folded": _fold(NAME),
        "name token": TOKEN,
        "id number": ID_NUMBER,
        "dob iso": DOB.isoformat(),
        "dob dd/mm/yyyy": DOB.strftime("%d/%m/%Y"),
        "dob ddmmyyyy": DOB.strftime("%d%m%Y"),
        "dob mrz": DOB.strftime("%y%m%d"),
        "address NFC": unicodedata.normalize("NFC", ADDRESS),
        "address NFD": unicodedata.normalize("NFD", ADDRESS),
        "address folded": _fold(ADDRESS),
        "address token": _fold("Kiểmtra"),
    }
    found = {k: v.encode("utf-8") for k, v in texts.items()}
    found["image marker"] = IMAGE_MARKER
    found["image body"] = PORTRAIT[len(PORTRAIT) // 2 : len(PORTRAIT) // 2 + 32]
    if with_phone:
        found["phone"] = PHONE.encode()
        found["phone e164"] = PHONE_E164.encode()
        found["phone digits"] = PHONE[1:].encode()
    return found


def hits(blob: bytes, where: str, *, with_phone: bool = True) -> list[str]:
    """`where: form` for every needle found in `blob` (case-insensitive for text forms)."""
    lowered = blob.lower()
    out = []
    for label, needle in needles(with_phone=with_phone).items():
        target = lowered if not label.startswith("image") else blob
        probe = needle.lower() if not label.startswith("image") else needle
        if probe in target:
            out.append(f"{where}: {label}")
    return out


def files_under(root: Path, *, skip: Iterable[Path] = ()) -> list[Path]:
    skipped = {p.resolve() for p in skip}
    return [p for p in sorted(root.rglob("*")) if p.is_file() and p.resolve() not in skipped]


def leak_record() -> dict:
    record = complete_record(msisdn=PHONE, point_of_sale="HN-LEAK-01")
    record["holder"].update(
        full_name=NAME,
        date_of_birth=DOB.isoformat(),
        id_type="cccd",
        id_number=ID_NUMBER,
        id_issue_date="2021-06-01",
        id_expiry_date="2045-07-23",
        address=ADDRESS,
        gender="female",
    )
    return record


@pytest.fixture
def scene(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("SUBREG_VAR_DIR", str(var))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.delenv("SUBREG_DATABASE_URL", raising=False)
    settings = Settings(env="test", var_dir=var, log_json=True, log_level="DEBUG")
    init_storage(settings)
    log_file = tmp_path / "app.log"
    with log_file.open("w", encoding="utf-8") as log_stream:
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        # Everything the app logs goes to the file: structlog JSON, and stdlib logging (libraries).
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=log_stream))
        handler = logging.StreamHandler(log_stream)
        # httpx logs the TEST CLIENT's own requests (URLs the test chose to send): not the app's output.
        handler.addFilter(lambda record: not record.name.startswith("httpx"))
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            with client:
                yield client, settings, log_file, log_stream
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
            structlog.configure(logger_factory=structlog.PrintLoggerFactory())


def test_a_full_scenario_leaks_nothing_outside_authorized_responses(scene, tmp_path):
    client, settings, log_file, log_stream = scene
    container = client.app.state.container
    errors: list[tuple[str, bytes]] = []  # every HTTP error body, and where it came from

    def call(method: str, path: str, **kwargs):
        response = client.request(method, path, **kwargs)
        if response.status_code >= 400:
            errors.append((f"{method} {path} -> {response.status_code}", response.content))
        return response

    # Accounts: a store at its point of sale, a DPO, an auditor.
    store_headers = bearer(client, *make_staff(client, "store_staff", "HN-LEAK-01"))
    dpo_headers = bearer(client, *make_staff(client, "dpo"))
    auditor_headers = bearer(client, *make_staff(client, "auditor"))

    # Register (the service, with a portrait and ID images), then read it back.
    with container.uow() as uow:
        registry.store_subscription(
            leak_record(), uow=uow, vault=container.vault, blobs=container.blobs, as_of=date(2026, 3, 2),
            actor=None, channel="store", images={"portrait": PORTRAIT, "id_front": PORTRAIT},
            rule_set=container.rule_set,
        )  # fmt: skip
        uow.commit()
    with container.uow() as uow:
        stored = registry.get_subscription(PHONE, uow=uow, vault=container.vault)
    assert stored["holder"]["full_name"] == NAME

    # Look up through the API (an authorized response: the store serving the customer), by number and by ID.
    looked = call("POST", "/api/v1/subscriptions/lookup", json={"msisdn": PHONE, "purpose": "update"},
                  headers=store_headers)  # fmt: skip
    assert looked.status_code == 200, looked.text
    by_id = call(
        "POST",
        "/api/v1/subscriptions/lookup-by-id",
        json={"id_type": "cccd", "id_number": ID_NUMBER, "purpose": "transaction"},
        headers=store_headers,
    )
    assert by_id.status_code == 200, by_id.text

    # Update the address through the API (JSON fields only).
    changes = {"holder": {"address": ADDRESS + " (mới)"}}
    call("POST", "/api/v1/subscriptions/update", headers=store_headers,
         json={"msisdn": PHONE, "purpose": "update", "changes": changes})  # fmt: skip

    # Error responses carrying the personal values in the request: none may echo them back.
    call("POST", "/api/v1/subscriptions/lookup", json={"msisdn": "0912345679", "purpose": "update"},
         headers=store_headers)  # fmt: skip
    call("POST", "/api/v1/subscriptions/lookup", json={"msisdn": PHONE + "99", "purpose": "update"},
         headers=store_headers)  # fmt: skip
    call("POST", "/api/v1/subscriptions/lookup", json={"msisdn": PHONE, "purpose": NAME}, headers=store_headers)
    call("POST", "/api/v1/subscriptions/visits", json={"msisdn": PHONE, "id_number": "001185000000"},
         headers=store_headers)  # fmt: skip
    bad_dob = {**leak_record()["holder"], "date_of_birth": DOB.strftime("%d/%m/%Y")}
    call("POST", "/api/v1/subscriptions", headers=store_headers,
         json={**leak_record(), "msisdn": "0912345670", "holder": bad_dob})  # fmt: skip
    bad_id = {**leak_record()["holder"], "id_number": ID_NUMBER + "X"}
    call("POST", "/api/v1/checks", json={**leak_record(), "holder": bad_id}, headers=store_headers)
    call("POST", "/api/v1/dsr", json={"kind": "export", "id_number": ID_NUMBER + "0"}, headers=dpo_headers)
    call("POST", "/api/v1/dsr", json={"kind": "export", "msisdn": PHONE, "id_number": ID_NUMBER},
         headers=dpo_headers)  # fmt: skip
    call("POST", "/api/v1/audit/search", json={"msisdn": NAME}, headers=auditor_headers)
    call("GET", "/api/v1/audit", params={"purpose": NAME}, headers=store_headers)  # wrong role
    call("POST", "/api/v1/auth/login", json={"username": ID_NUMBER, "password": NAME})
    call("GET", f"/api/v1/subscriptions/{PHONE}")  # unknown route, a number in the URL
    assert len(errors) >= 10

    # The DSR export through the API (authorized: the DPO answering the subject) and the CLI.
    opened = call("POST", "/api/v1/dsr", json={"kind": "export", "id_number": ID_NUMBER}, headers=dpo_headers)
    assert opened.status_code == 201, opened.text
    exported = call("POST", f"/api/v1/dsr/{opened.json()['id']}/export", headers=dpo_headers)
    assert exported.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(exported.content))

    # The audit log, queried by the auditor (API) and from the shell (CLI).
    searched = call("POST", "/api/v1/audit/search", json={"msisdn": PHONE}, headers=auditor_headers)
    assert searched.status_code == 200
    assert len(searched.json()["entries"]) >= 2  # the look-up and the update at least
    runner = CliRunner()
    cli_outputs = [
        runner.invoke(cli_app, ["audit", "query", "--subject", PHONE, "--json"]),
        runner.invoke(cli_app, ["audit", "verify", "--json"]),
        runner.invoke(cli_app, ["dsr", "open", "--kind", "access", "--msisdn", PHONE]),
        runner.invoke(cli_app, ["dsr", "open", "--kind", "access", "--id-number", "001185999999"]),
        runner.invoke(cli_app, ["audit", "query", "--subject", NAME]),
    ]
    assert cli_outputs[1].exit_code == 0, cli_outputs[1].output
    access_id = orjson.loads(cli_outputs[2].stdout)["id"]
    cli_zip = tmp_path / "exports" / "access.zip"
    cli_zip.parent.mkdir()
    cli_outputs.append(runner.invoke(cli_app, ["dsr", "export", str(access_id), "--out", str(cli_zip)]))
    assert cli_outputs[-1].exit_code == 0, cli_outputs[-1].output
    log_stream.flush()

    # --- the search ---------------------------------------------------------------------------------
    leaks: list[str] = []
    db = settings.var_dir / "subreg.db"
    wal = Path(str(db) + "-wal")
    assert db.is_file()
    # While the app is open, the WAL holds the latest pages; read every database file as it is now.
    for path in files_under(settings.var_dir, skip=[settings.master_key_file]):
        leaks += hits(path.read_bytes(), f"var/{path.relative_to(settings.var_dir)}", with_phone=False)
    assert wal.is_file()  # and it was searched with the rest
    blob_files = files_under(settings.blob_dir)
    assert len(blob_files) >= 2  # the portrait and the ID image, encrypted
    log_text = log_file.read_bytes()
    assert b"http_request" in log_text  # the capture really holds the app's log
    leaks += hits(log_text, "log")
    for where, body in errors:
        leaks += hits(body, f"error body {where}")
    for i, result in enumerate(cli_outputs):
        leaks += hits(result.output.encode(), f"cli output {i}")
    assert leaks == [], "\n".join(leaks)

    # --- controls: the same search finds the values where they legitimately are ----------------------
    data = archive.read("data.json")
    found = hits(data, "export")
    assert {"export: name NFC", "export: id number", "export: dob iso", "export: address NFC"} <= set(found)
    images = [archive.read(n) for n in archive.namelist() if n.startswith("images/")]
    assert any(hits(img, "export image") for img in images)
    assert hits(zipfile.ZipFile(cli_zip).read("data.json"), "cli export")
    # A log line deliberately carrying the name is found (in every normal form it was written in).
    control_log = tmp_path / "control.log"
    with control_log.open("w", encoding="utf-8") as stream:
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=stream))
        structlog.get_logger("control").info("planted", note=unicodedata.normalize("NFD", NAME))
    structlog.configure(logger_factory=structlog.PrintLoggerFactory())
    assert "control: name token" in hits(control_log.read_bytes(), "control")
    # A copy of the database file with the ID number and the name planted in it is flagged.
    planted = db.read_bytes() + ID_NUMBER.encode() + _fold(NAME).upper().encode()
    assert {"planted: id number", "planted: name folded", "planted: name token"} <= set(hits(planted, "planted"))
