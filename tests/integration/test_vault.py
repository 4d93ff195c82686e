"""The vault against the database and the file system: master key, KEK rows, wrong keys, shredding."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from sqlalchemy import text

from subreg.adapters.crypto.vault import (
    AesGcmVault,
    ensure_keys,
    ensure_master_key,
    load_master_key,
    master_key_id,
)
from subreg.domain.common.errors import CryptoError

MASTER = os.urandom(32)


def _init(engine, master=MASTER):
    with engine.begin() as conn:
        ensure_keys(conn, master)


class TestMasterKey:
    def test_dev_creates_a_private_key_file_once(self, tmp_path):
        path = tmp_path / "keys" / "master.key"
        ensure_master_key(env="dev", master_key=None, master_key_file=path)
        first = path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        ensure_master_key(env="test", master_key=None, master_key_file=path)
        assert path.read_bytes() == first
        assert len(load_master_key(master_key=None, master_key_file=path)) == 32

    def test_prod_refuses_to_create_a_key(self, tmp_path):
        path = tmp_path / "master.key"
        with pytest.raises(CryptoError):
            ensure_master_key(env="prod", master_key=None, master_key_file=path)
        assert not path.exists()

    def test_the_environment_key_wins_over_the_file(self, tmp_path):
        key = os.urandom(32)
        path = tmp_path / "master.key"
        path.write_text(base64.b64encode(os.urandom(32)).decode())
        assert load_master_key(master_key=base64.b64encode(key).decode(), master_key_file=path) == key

    @pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"short").decode()])
    def test_a_malformed_key_is_refused(self, text):
        with pytest.raises(CryptoError):
            load_master_key(master_key=text, master_key_file=None)

    def test_a_missing_key_is_refused(self, tmp_path):
        with pytest.raises(CryptoError):
            load_master_key(master_key=None, master_key_file=tmp_path / "absent.key")


class TestKeysInTheDatabase:
    def test_keys_are_created_once_and_reload_to_the_same_vault(self, engine):
        _init(engine)
        _init(engine)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT purpose, wrapped_key FROM key_encryption_keys").all()
        assert sorted(r[0] for r in rows) == ["blind_index", "data"]
        a, b = AesGcmVault.load(engine, MASTER), AesGcmVault.load(engine, MASTER)
        assert a.blind("079190123456") == b.blind("079190123456")
        dek, kek_id, wrapped = a.new_data_key()
        assert b.unwrap(kek_id, wrapped) == dek

    def test_kek_rows_hold_no_raw_key_material(self, engine):
        _init(engine)
        vault = AesGcmVault.load(engine, MASTER)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT wrapped_key FROM key_encryption_keys")
            stored = [bytes(r[0]) for r in rows]
        assert all(vault._blind_key not in w for w in stored)

    def test_a_wrong_master_key_reads_nothing(self, engine):
        _init(engine)
        with pytest.raises(CryptoError):
            AesGcmVault.load(engine, os.urandom(32))

    def test_a_wrong_master_key_fails_even_with_a_forged_fingerprint(self, engine):
        _init(engine)
        wrong = os.urandom(32)
        with engine.begin() as conn:
            conn.execute(text("UPDATE key_encryption_keys SET master_key_id = :m"), {"m": master_key_id(wrong)})
        with pytest.raises(CryptoError):
            AesGcmVault.load(engine, wrong)

    def test_an_uninitialised_database_is_a_crypto_error(self, engine):
        with pytest.raises(CryptoError):
            AesGcmVault.load(engine, MASTER)

    def test_blind_index_is_keyed_per_installation(self, engine, tmp_path):
        _init(engine)
        other = AesGcmVault({1: os.urandom(32)}, 1, os.urandom(32))
        assert AesGcmVault.load(engine, MASTER).blind("079190123456") != other.blind("079190123456")
