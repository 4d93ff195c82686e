"""`subreg keys rotate|status` on SQLite and PostgreSQL: rotate, restart, everything still readable;
the old key file alone reads nothing; holder rows are never re-encrypted."""

from __future__ import annotations

import base64
import io
import os
import stat
from datetime import date

import orjson
import pytest
from PIL import Image
from sqlalchemy import select, text
from typer.testing import CliRunner

from subreg.adapters.crypto.vault import AesGcmVault, load_master_key
from subreg.adapters.db.tables import holders, key_encryption_keys
from subreg.bootstrap import bootstrap, init_storage
from subreg.cli.main import app
from subreg.config import Settings
from subreg.domain.common.errors import CryptoError
from subreg.services import registry
from subreg.services.common import audit_trail
from subreg.services.privacy import audit_log
from tests.records import complete_record

AS_OF = date(2023, 6, 1)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 50), (10, 200, 30)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def settings(tmp_path, monkeypatch, database_url) -> Settings:
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.setenv("SUBREG_DATABASE_URL", database_url)
    monkeypatch.delenv("SUBREG_MASTER_KEY", raising=False)
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url)
    init_storage(settings)
    return settings


def _store(settings, image):
    container = bootstrap(settings)
    try:
        with container.uow() as uow:
            registry.store_subscription(
                complete_record(), uow=uow, vault=container.vault, blobs=container.blobs, as_of=AS_OF,
                actor=None, channel="store", images={"portrait": image}, rule_set=container.rule_set,
            )  # fmt: skip
            audit_trail.record(uow, actor=None, action="staff:updated")
            uow.commit()
            return uow.documents.list_for(uow.subscriptions.get(84901234567).id)[-1].id
    finally:
        container.close()


def _read(settings, doc_id):
    container = bootstrap(settings)
    try:
        with container.uow() as uow:
            record = registry.get_subscription("0901234567", uow=uow, vault=container.vault)
            _, data = registry.read_document(doc_id, uow=uow, vault=container.vault, blobs=container.blobs)
        return record, data
    finally:
        container.close()


def _holder_rows(settings):
    container = bootstrap(settings)
    try:
        with container.engine.connect() as c:
            return [tuple(r) for r in c.execute(select(holders.c.id, holders.c.wrapped_dek, holders.c.payload))]
    finally:
        container.close()


class TestRotate:
    def test_rotate_restart_and_everything_is_still_readable(self, settings):
        image = _jpeg()
        doc_id = _store(settings, image)
        old_key_text = settings.master_key_file.read_text()
        before = _holder_rows(settings)

        result = CliRunner().invoke(app, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "2 key-encryption keys re-wrapped" in result.output

        new_key_text = settings.master_key_file.read_text()
        assert new_key_text != old_key_text
        assert stat.S_IMODE(settings.master_key_file.stat().st_mode) == 0o600
        assert old_key_text.strip() not in result.output
        assert new_key_text.strip() not in result.output
        # No old key left behind without --keep-old, and no staged file.
        assert sorted(p.name for p in settings.master_key_file.parent.glob("master.key*")) == ["master.key"]

        # Restart: a new bootstrap from the files reads everything.
        record, data = _read(settings, doc_id)
        assert record["holder"]["full_name"] == "Nguyễn Thị Ánh"
        assert data == image
        # Holder rows were not re-encrypted, only the KEK rows changed.
        assert _holder_rows(settings) == before
        # The audit chain verifies across the rotation, and the rotation is in it.
        container = bootstrap(settings)
        try:
            with container.uow() as uow:
                assert audit_log.verify(uow).ok
                actions = [e.action for e in uow.audit.iter_entries()]
            assert actions[-1] == "keys:rotated"
        finally:
            container.close()

    def test_the_old_key_file_alone_reads_nothing(self, settings, tmp_path):
        doc_id = _store(settings, _jpeg())
        result = CliRunner().invoke(app, ["keys", "rotate", "--keep-old"])
        assert result.exit_code == 0, result.output
        kept = list(settings.master_key_file.parent.glob("master.key.old-*"))
        assert len(kept) == 1
        old_key = load_master_key(master_key=None, master_key_file=kept[0])

        # Starting with the old key file is refused...
        old_settings = Settings(
            env="test", var_dir=settings.var_dir, database_url=settings.database_url, master_key_file=kept[0]
        )
        with pytest.raises(CryptoError):
            bootstrap(old_settings)
        # ...and not merely by the fingerprint check: with the fingerprint forged back, the KEKs
        # still do not decrypt under the old key.
        container = bootstrap(settings)
        try:
            from subreg.adapters.crypto.vault import master_key_id

            with container.engine.begin() as c:
                c.execute(key_encryption_keys.update().values(master_key_id=master_key_id(old_key)))
            with pytest.raises(CryptoError, match="decryption failed"):
                AesGcmVault.load(container.engine, old_key)
        finally:
            container.close()
        assert doc_id

    def test_a_given_new_key_file_is_used(self, settings, tmp_path):
        new_key = os.urandom(32)
        path = tmp_path / "provisioned.key"
        path.write_text(base64.b64encode(new_key).decode())
        result = CliRunner().invoke(app, ["keys", "rotate", "--new-key-file", str(path)])
        assert result.exit_code == 0, result.output
        assert load_master_key(master_key=None, master_key_file=settings.master_key_file) == new_key
        bootstrap(settings).close()

    def test_rotating_to_the_same_key_is_refused_and_changes_nothing(self, settings):
        before = settings.master_key_file.read_text()
        result = CliRunner().invoke(app, ["keys", "rotate", "--new-key-file", str(settings.master_key_file)])
        assert result.exit_code == 2
        assert settings.master_key_file.read_text() == before
        bootstrap(settings).close()

    def test_a_rotation_that_fails_midway_changes_nothing(self, settings, monkeypatch):
        doc_id = _store(settings, _jpeg())
        before = settings.master_key_file.read_text()
        from subreg.adapters.crypto import vault

        real = vault.rewrap_keks

        def rewrap_then_fail(connection, old, new):
            real(connection, old, new)  # every row re-wrapped inside the transaction...
            raise RuntimeError("disk full")  # ...then the commit never happens

        monkeypatch.setattr(vault, "rewrap_keks", rewrap_then_fail)
        result = CliRunner().invoke(app, ["keys", "rotate"])
        assert result.exit_code != 0
        assert settings.master_key_file.read_text() == before
        assert sorted(p.name for p in settings.master_key_file.parent.glob("master.key*")) == ["master.key"]
        record, _ = _read(settings, doc_id)
        assert record["holder"]["id_number"] == "079190123456"

    def test_status_flags_keys_wrapped_by_another_master_key(self, settings):
        container = bootstrap(settings)
        try:
            with container.engine.begin() as c:
                c.execute(text("UPDATE key_encryption_keys SET master_key_id = 'x' WHERE purpose = 'data'"))
        finally:
            container.close()
        result = CliRunner().invoke(app, ["keys", "status"])
        assert result.exit_code == 1
        assert "OTHER MASTER KEY" in result.output

    def test_status_shows_fingerprints_and_counts_not_keys(self, settings):
        _store(settings, _jpeg())
        result = CliRunner().invoke(app, ["keys", "status", "--json"])
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)
        assert report["master_key"]["source"] == "file"
        assert {k["purpose"] for k in report["keks"]} == {"data", "blind_index"}
        assert all(k["wrapped_by_configured_key"] for k in report["keks"])
        assert sum(k["holders"] for k in report["keks"]) == 1
        assert settings.master_key_file.read_text().strip() not in result.output
