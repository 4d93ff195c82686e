"""Crypto-shredding and the retention sweep, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import orjson
import pytest
from PIL import Image
from sqlalchemy import select, text
from typer.testing import CliRunner

from subreg.adapters.db.tables import audit_log, holders
from subreg.bootstrap import bootstrap, init_storage
from subreg.cli.main import app
from subreg.config import Settings
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.errors import CryptoError, ErasedError
from subreg.domain.common.msisdn import msisdn_key
from subreg.services import privacy, registry
from tests.records import complete_record, with_holder

AS_OF = date(2023, 6, 1)
DPO = Actor(staff_id=None, role=Role.DPO)  # type: ignore[arg-type]


def jpeg(color=(90, 20, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 50), color).save(buf, format="JPEG")
    return buf.getvalue()


def store(container, record, images=None):
    with container.uow() as uow:
        registry.store_subscription(
            record, uow=uow, vault=container.vault, blobs=container.blobs, as_of=AS_OF, actor=None,
            channel="store", images=images, rule_set=container.rule_set,
        )  # fmt: skip
        uow.commit()
        return uow.subscriptions.get(msisdn_key(_e164(record["msisdn"])))


def _e164(number: str) -> str:
    return "+84" + number[1:]


def terminate(container, msisdn: str, when: datetime):
    with container.engine.begin() as c:
        c.execute(
            text("UPDATE subscriptions SET status = 'terminated', updated_at = :at WHERE msisdn = :m"),
            {"at": when if c.dialect.name != "sqlite" else when.replace(tzinfo=None), "m": msisdn_key(_e164(msisdn))},
        )


def holder_row(container, holder_id):
    with container.engine.connect() as c:
        return c.execute(select(holders).where(holders.c.id == holder_id)).one()._mapping


def second_holder(number: str, id_number: str):
    return with_holder(complete_record(msisdn=number), id_number=id_number)


class TestShredHolder:
    def test_after_shredding_reads_fail_clearly_and_the_ciphertext_stays_unreadable(self, container):
        sub = store(container, complete_record(), images={"portrait": jpeg()})
        with container.uow() as uow:
            doc = uow.documents.list_for(sub.id)[-1]
        before = holder_row(container, sub.holder_id)
        assert container.blobs.exists(doc.blob_key)

        with container.uow() as uow:
            deleted = privacy.shred_holder(uow, sub.holder_id, actor=DPO, reason="dsr", blobs=container.blobs)
        assert deleted == 1

        with container.uow() as uow, pytest.raises(ErasedError) as err:
            registry.get_subscription("0901234567", uow=uow, vault=container.vault)
        assert err.value.code == "erased"
        assert isinstance(err.value, CryptoError)
        with container.uow() as uow, pytest.raises(ErasedError):
            registry.read_document(doc.id, uow=uow, vault=container.vault, blobs=container.blobs)

        after = holder_row(container, sub.holder_id)
        assert after["wrapped_dek"] is None
        assert after["erased_at"] is not None
        assert bytes(after["payload"]) == bytes(before["payload"])  # the ciphertext is still there...
        assert b"Nguy" not in bytes(after["payload"])  # ...and it is ciphertext
        assert not container.blobs.exists(doc.blob_key)  # image bytes deleted

    def test_shredding_is_logged_and_idempotent(self, container):
        sub = store(container, complete_record())
        for _ in range(2):
            with container.uow() as uow:
                privacy.shred_holder(uow, sub.holder_id, actor=DPO, reason="dsr", blobs=container.blobs)
        with container.engine.connect() as c:
            erasures = c.execute(select(audit_log).where(audit_log.c.action == "dsr:erasure")).all()
        assert len(erasures) == 1
        assert erasures[0].subject == f"holder:{sub.holder_id}"
        assert erasures[0].purpose == "dsr"

    def test_a_shredded_holder_is_not_reused_by_a_new_registration(self, container):
        sub = store(container, complete_record())
        with container.uow() as uow:
            privacy.shred_holder(uow, sub.holder_id, actor=DPO, reason="dsr", blobs=container.blobs)
        again = store(container, complete_record(msisdn="0901234568"))
        assert again.holder_id != sub.holder_id
        with container.uow() as uow:
            assert registry.get_subscription("0901234568", uow=uow, vault=container.vault)["holder"]["full_name"]


class TestRetention:
    @pytest.fixture
    def three(self, container):
        old = store(container, second_holder("0901000001", "079190000011"), images={"portrait": jpeg()})
        recent = store(container, second_holder("0901000002", "079190000022"))
        live = store(container, second_holder("0901000003", "079190000033"))
        terminate(container, "0901000001", datetime(2019, 5, 1, tzinfo=UTC))
        terminate(container, "0901000002", datetime(2024, 5, 1, tzinfo=UTC))
        return old, recent, live

    def test_only_holders_terminated_beyond_the_retention_period_are_shredded(self, container, three):
        old, recent, live = three
        with container.uow() as uow:
            dry = privacy.retention_sweep(
                uow, as_of=date(2026, 1, 1), years=5, actor=None, blobs=container.blobs, dry_run=True
            )
        assert dry.candidates == 1
        assert dry.shredded == 0
        assert holder_row(container, old.holder_id)["wrapped_dek"] is not None

        with container.uow() as uow:
            result = privacy.retention_sweep(uow, as_of=date(2026, 1, 1), years=5, actor=None, blobs=container.blobs)
        assert result.shredded == 1
        assert result.blobs_deleted == 1
        assert holder_row(container, old.holder_id)["erased_at"] is not None
        assert holder_row(container, recent.holder_id)["wrapped_dek"] is not None
        assert holder_row(container, live.holder_id)["wrapped_dek"] is not None
        with container.uow() as uow:  # a second sweep finds nothing more
            assert privacy.retention_sweep(uow, as_of=date(2026, 1, 1), years=5, actor=None,
                                           blobs=container.blobs).shredded == 0  # fmt: skip

    def test_a_holder_with_one_live_subscription_is_kept(self, container):
        a = store(container, second_holder("0901000004", "079190000044"))
        store(container, second_holder("0901000005", "079190000044"))  # same ID document, same holder
        terminate(container, "0901000004", datetime(2015, 1, 1, tzinfo=UTC))
        with container.uow() as uow:
            result = privacy.retention_sweep(uow, as_of=date(2026, 1, 1), years=5, actor=None, blobs=container.blobs)
        assert result.shredded == 0
        assert holder_row(container, a.holder_id)["wrapped_dek"] is not None

    def test_batches_cover_every_candidate(self, container):
        ids = []
        for n in range(5):
            number = f"09010001{n:02d}"
            ids.append(store(container, second_holder(number, f"0791900001{n:02d}")).holder_id)
            terminate(container, number, datetime(2010, 1, 1, tzinfo=UTC))
        with container.uow() as uow:
            result = privacy.retention_sweep(
                uow, as_of=date(2026, 1, 1), years=5, actor=None, blobs=container.blobs, batch_size=2
            )
        assert result.shredded == 5
        assert all(holder_row(container, i)["wrapped_dek"] is None for i in ids)

    def test_the_cli_sweeps_with_dry_run_and_as_of(self, tmp_path, monkeypatch, database_url):
        monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("SUBREG_ENV", "test")
        monkeypatch.setenv("SUBREG_DATABASE_URL", database_url)
        monkeypatch.setenv("SUBREG_RETENTION_YEARS", "5")
        settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url)
        init_storage(settings)
        container = bootstrap(settings)
        try:
            sub = store(container, complete_record())
            terminate(container, "0901234567", datetime(2019, 1, 1, tzinfo=UTC))
            runner = CliRunner()
            dry = runner.invoke(app, ["dsr", "retention", "--as-of", "2026-01-01", "--dry-run"])
            assert dry.exit_code == 0, dry.output
            assert orjson.loads(dry.stdout)["candidates"] == 1
            assert holder_row(container, sub.holder_id)["wrapped_dek"] is not None
            early = runner.invoke(app, ["dsr", "retention", "--as-of", "2023-12-31"])
            assert orjson.loads(early.stdout)["shredded"] == 0
            done = runner.invoke(app, ["dsr", "retention", "--as-of", "2026-01-01"])
            assert done.exit_code == 0, done.output
            assert orjson.loads(done.stdout)["shredded"] == 1
            assert holder_row(container, sub.holder_id)["wrapped_dek"] is None
            assert runner.invoke(app, ["dsr", "retention", "--as-of", "01/01/2026"]).exit_code == 2
        finally:
            container.close()
