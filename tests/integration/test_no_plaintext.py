"""Acceptance: no personal value reaches the disk in clear (SQLite file, its -wal and -shm, blobs).

Distinctive values are stored through the registry, then the raw bytes of every file under the var
directory are searched for them in several encodings (NFC, NFD, ASCII-folded, upper-case MRZ style;
dates in four spellings) and for a run of the image bytes. The same search over a store written
through a plaintext vault (the control) must find them, which proves the search itself works.

SQLite only: the point is the bytes of the files that an embedded deployment leaves on disk.
"""

from __future__ import annotations

import io
import random
import sqlite3
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from subreg.bootstrap import Container, bootstrap, init_storage
from subreg.config import Settings
from subreg.domain.common.text import fold, to_mrz_name
from subreg.domain.id_documents.numbers import make_cccd
from subreg.services import registry

AS_OF = date(2023, 6, 1)
NAME = "Trịnh Thị Xuyến Khuê"
GUARDIAN_NAME = "Quách Đức Thượng"
ID_NUMBER = make_cccd("079", "female", 1990, 482913)
GUARDIAN_ID = make_cccd("001", "male", 1961, 730518)
ADDRESS = "77 Ngõ Quỳnh Khánh, Phường Vĩnh Tuy, Quận Hai Bà Trưng, Hà Nội"
ORG_NAME = "Công ty TNHH Thủy Sản Ngọc Hường"
USER_NAME = "Lạc Thị Huyền Trâm"
USER_ID = make_cccd("048", "female", 1985, 613377)


def _image(seed: int) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", (64, 80))
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 80)])
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


PORTRAIT = _image(1)
ID_FRONT = _image(2)


def _person(full_name: str, number: str, dob: str, gender: str, address: str = ADDRESS) -> dict:
    return {
        "full_name": full_name,
        "date_of_birth": dob,
        "gender": gender,
        "nationality": "VNM",
        "id_type": "cccd",
        "id_number": number,
        "id_issue_date": "2021-06-01",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
        "address": address,
    }


def _records() -> list[dict]:
    individual = {
        "msisdn": "0912000111",
        "subscriber_type": "individual",
        "payment_type": "prepaid",
        "activated_on": "2016-03-01",
        "channel": "store",
        "holder": _person(NAME, ID_NUMBER, "1990-05-17", "female"),
        "guardian": {**_person(GUARDIAN_NAME, GUARDIAN_ID, "1961-11-03", "male"), "relationship": "Bố"},
        "documents": {"id_back": "ref:id_back", "confirmation_form": "ref:form"},
    }
    organization = {
        "msisdn": "0912000222",
        "subscriber_type": "organization",
        "payment_type": "postpaid",
        "activated_on": "2017-05-02",
        "channel": "agent",
        "contract_number": "HD-1",
        "holder": _person(GUARDIAN_NAME, GUARDIAN_ID, "1961-11-03", "male"),
        "organization": {
            "name": ORG_NAME,
            "registration_number": "0312345678",
            "registration_date": "2010-01-05",
            "address": ADDRESS,
            "users": [_person(USER_NAME, USER_ID, "1985-02-14", "female")],
        },
    }
    return [individual, organization]


def _date_forms(iso: str) -> list[str]:
    y, m, d = iso.split("-")
    return [iso, f"{d}/{m}/{y}", f"{y}{m}{d}", f"{d}{m}{y}"]


def _needles() -> dict[str, bytes]:
    """Every spelling of every personal value that must not appear on disk."""
    needles: dict[str, bytes] = {}
    for label, text in {
        "name": NAME,
        "guardian_name": GUARDIAN_NAME,
        "address": ADDRESS,
        "address_part": "Quỳnh Khánh",
        "org_name": ORG_NAME,
        "user_name": USER_NAME,
    }.items():
        needles[f"{label}/nfc"] = unicodedata.normalize("NFC", text).encode()
        needles[f"{label}/nfd"] = unicodedata.normalize("NFD", text).encode()
        needles[f"{label}/folded"] = fold(text).encode()
        needles[f"{label}/mrz"] = to_mrz_name(text).encode()
        needles[f"{label}/utf16"] = text.encode("utf-16-le")
    for label, number in {"id": ID_NUMBER, "guardian_id": GUARDIAN_ID, "user_id": USER_ID}.items():
        needles[label] = number.encode()
    for label, iso in {"dob": "1990-05-17", "guardian_dob": "1961-11-03", "user_dob": "1985-02-14"}.items():
        for form in _date_forms(iso):
            needles[f"{label}/{form}"] = form.encode()
    for label, data in {"portrait": PORTRAIT, "id_front": ID_FRONT}.items():
        middle = len(data) // 2
        needles[f"{label}/bytes"] = data[middle : middle + 24]
    return needles


def _disk_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _hits(root: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    files = _disk_bytes(root)
    return {
        label: [name for name, data in files.items() if needle in data]
        for label, needle in needles.items()
        if any(needle in data for data in files.values())
    }


class _PlaintextVault:
    """The control: a 'vault' that encrypts nothing (what a broken or bypassed vault would write)."""

    def __init__(self, real) -> None:
        self._real = real

    def new_data_key(self):
        return b"\x00" * 32, self._real.active_kek_id, b"plaintext-dek"

    def unwrap(self, kek_id, wrapped_dek):
        return b"\x00" * 32

    def seal(self, dek, plaintext, aad):
        return plaintext

    def open(self, dek, ciphertext, aad):
        return ciphertext

    def blind(self, id_number):
        return self._real.blind(id_number)


def _store_all(container: Container, vault) -> None:
    images = [{"portrait": PORTRAIT, "id_front": ID_FRONT}, {"portrait": PORTRAIT}]
    with container.uow() as uow:
        for record, imgs in zip(_records(), images, strict=True):
            registry.store_subscription(
                record,
                uow=uow,
                vault=vault,
                blobs=container.blobs,
                as_of=AS_OF,
                actor=None,
                channel="store",
                images=imgs,
                rule_set=container.rule_set,
            )
        uow.commit()
    # A second version of the holder (update path, history) must not leak either.
    with container.uow() as uow:
        record = _records()[0]
        record["payment_type"] = "postpaid"
        record["contract_number"] = "HD-2"
        registry.store_subscription(
            record,
            uow=uow,
            vault=vault,
            blobs=container.blobs,
            as_of=AS_OF,
            actor=None,
            channel="store",
            rule_set=container.rule_set,
        )
        uow.commit()


@pytest.fixture
def var_dir(tmp_path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def keeper(var_dir) -> Iterator[list[sqlite3.Connection]]:
    """Holds a connection open so that closing the engine does not checkpoint and delete the WAL."""
    held: list[sqlite3.Connection] = []
    yield held
    for conn in held:
        conn.close()


def _write(var_dir: Path, keeper: list[sqlite3.Connection], *, plaintext: bool) -> Path:
    settings = Settings(env="test", var_dir=var_dir)
    init_storage(settings)
    db_file = var_dir / "subreg.db"
    conn = sqlite3.connect(db_file)
    # Another open connection: SQLite checkpoints and removes the WAL only when the LAST one closes.
    conn.execute("SELECT count(*) FROM subscriptions").fetchone()
    keeper.append(conn)
    container = bootstrap(settings)
    try:
        _store_all(container, _PlaintextVault(container.vault) if plaintext else container.vault)
        with container.uow() as uow:  # the data is really there and readable through the vault
            if not plaintext:
                assert (
                    registry.get_subscription("0912000111", uow=uow, vault=container.vault)["holder"]["full_name"]
                    == NAME
                )
    finally:
        container.close()  # no checkpoint: the keeper connection is still open
    return db_file


class TestNothingPersonalOnDisk:
    def test_db_wal_shm_and_blobs_hold_no_personal_value(self, var_dir, keeper):
        db_file = _write(var_dir, keeper, plaintext=False)
        wal = Path(f"{db_file}-wal")
        assert wal.is_file()
        assert wal.stat().st_size > 0
        assert Path(f"{db_file}-shm").is_file()
        assert len(list((var_dir / "blobs").rglob("*"))) > 3
        assert _hits(var_dir, _needles()) == {}

    def test_still_nothing_after_a_checkpoint(self, var_dir, keeper):
        db_file = _write(var_dir, keeper, plaintext=False)
        keeper[0].execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert _hits(var_dir, _needles()) == {}
        keeper.pop().close()
        assert not Path(f"{db_file}-wal").exists() or Path(f"{db_file}-wal").stat().st_size == 0
        assert _hits(var_dir, _needles()) == {}

    def test_control_the_search_finds_values_written_without_encryption(self, var_dir, keeper):
        _write(var_dir, keeper, plaintext=True)
        hits = _hits(var_dir, _needles())
        # Every value the plaintext path writes as such is found, in the files where it went.
        for label in ("name/nfc", "guardian_name/nfc", "address/nfc", "org_name/nfc", "user_name/nfc",
                      "id", "guardian_id", "user_id", "dob/1990-05-17", "user_dob/1985-02-14"):  # fmt: skip
            assert label in hits, label
        assert any(name.startswith("blobs/") for name in hits["portrait/bytes"])
        assert any(name.startswith("blobs/") for name in hits["id_front/bytes"])
        assert any(name.startswith("subreg.db") for name in hits["name/nfc"])
