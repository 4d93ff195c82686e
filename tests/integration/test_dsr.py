"""Data-subject requests and consents, through the service, the CLI and the API (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from subreg.adapters.db.tables import audit_log, consents
from subreg.api.app import create_app
from subreg.bootstrap import bootstrap, init_storage
from subreg.cli.main import app
from subreg.config import Settings
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.errors import InputError
from subreg.services import privacy, registry
from subreg.services.common import audit_trail
from tests.auth_helpers import bearer, make_staff
from tests.integration.test_shredding import jpeg, store, terminate
from tests.records import complete_record

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
DPO = Actor(staff_id=None, role=Role.DPO)  # type: ignore[arg-type]
STORE = Actor(staff_id=None, role=Role.STORE_STAFF, point_of_sale_id=None)  # type: ignore[arg-type]


def open_(container, kind, **who):
    with container.uow() as uow:
        return privacy.open_request(
            uow, kind=kind, actor=DPO, vault=container.vault, rule_set=container.rule_set, deadline_days=30,
            now=T0, **who,
        )  # fmt: skip


def actions(container):
    with container.engine.connect() as c:
        return [r.action for r in c.execute(select(audit_log.c.action).order_by(audit_log.c.seq))]


class TestConsent:
    def test_the_hash_of_the_text_shown_is_stored_not_the_text(self, container):
        sub = store(container, complete_record())
        with container.uow() as uow:
            privacy.record_consent(uow, sub.holder_id, sub.id, "2026-01", True, STORE)
            privacy.record_consent(uow, sub.holder_id, None, "2026-01", False, STORE, text="Văn bản khác")
            uow.commit()
        with container.engine.connect() as c:
            rows = c.execute(select(consents).order_by(consents.c.id)).all()
        expected = hashlib.sha256(privacy.consent_text("2026-01").encode()).hexdigest()
        assert rows[0].text_sha256 == expected
        assert rows[0].accepted is True
        assert rows[0].subscription_id == sub.id
        assert rows[1].text_sha256 == hashlib.sha256("Văn bản khác".encode()).hexdigest()
        assert "consent:recorded" in actions(container)

    def test_an_unknown_version_without_text_is_refused(self, container):
        sub = store(container, complete_record())
        with container.uow() as uow, pytest.raises(InputError):
            privacy.record_consent(uow, sub.holder_id, None, "1999-01", True, STORE)


class TestOpen:
    def test_by_number_or_id_document_with_its_deadline(self, container):
        sub = store(container, complete_record())
        by_number = open_(container, "export", msisdn="0901234567")
        by_id = open_(container, "access", id_number="079190123456")
        assert by_number.holder_id == by_id.holder_id == sub.holder_id
        assert by_number.due_on == date(2026, 4, 1)
        assert by_number.status == "open"
        assert actions(container).count("dsr:received") == 2

    def test_an_unknown_subject_or_kind_is_refused(self, container):
        store(container, complete_record())
        with pytest.raises(InputError) as err:
            open_(container, "export", msisdn="0909999999")
        assert err.value.errors[0].code == "holder_not_found"
        with pytest.raises(InputError):
            open_(container, "delete_everything", msisdn="0901234567")


class TestExport:
    def test_the_archive_holds_everything_readable(self, container):
        image = jpeg()
        sub = store(container, complete_record(), images={"portrait": image})
        with container.uow() as uow:
            privacy.record_consent(uow, sub.holder_id, sub.msisdn, "2026-01", True, STORE)
            registry.get_subscription("0901234567", uow=uow, vault=container.vault)
            subject = audit_trail.subject_for_msisdn(container.vault, "+84901234567")
            audit_trail.record(
                uow, actor=STORE, action="subscription:read", purpose="transaction", subject=subject, fields=["holder"]
            )
            uow.commit()
        request = open_(container, "export", msisdn="0901234567")
        with container.uow() as uow:
            data = privacy.export_request(
                uow, request.id, actor=DPO, vault=container.vault, registry=container.registry()
            )
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        assert "README.txt" in names
        assert "data.json" in names
        readme = archive.read("README.txt").decode()
        assert "Tiếng Việt" in readme
        assert "English" in readme
        content = orjson.loads(archive.read("data.json"))
        record = content["subscriptions"][0]["record"]
        assert record["holder"]["full_name"] == "Nguyễn Thị Ánh"
        assert record["holder"]["id_number"] == "079190123456"
        assert content["subscriptions"][0]["history"][0]["action"] == "created"
        assert content["consents"][0]["text_version"] == "2026-01"
        assert any(e["action"] == "subscription:read" for e in content["access_log"])
        assert all("actor_staff_id" not in e for e in content["access_log"])
        images = [n for n in names if n.startswith("images/")]
        assert len(images) == 1
        assert archive.read(images[0]) == image
        with container.uow() as uow:
            closed = uow.privacy.get_request(request.id)
        assert closed.status == "done"
        assert closed.outcome == "exported"
        assert actions(container)[-1] == "dsr:export"

    def test_a_restrict_request_cannot_be_exported(self, container):
        store(container, complete_record())
        request = open_(container, "restrict", msisdn="0901234567")
        with container.uow() as uow, pytest.raises(InputError):
            privacy.export_request(uow, request.id, actor=DPO, vault=container.vault, registry=container.registry())


class TestFulfil:
    @pytest.mark.parametrize(("kind", "flag"), [("restrict", "restricted"), ("object", "objected")])
    def test_flags_are_set_on_the_holder(self, container, kind, flag):
        sub = store(container, complete_record())
        request = open_(container, kind, msisdn="0901234567")
        with container.uow() as uow:
            done = privacy.fulfil_request(uow, request.id, actor=DPO, blobs=container.blobs, retention_years=5)
            flags = uow.privacy.flags(sub.holder_id)
        assert done.status == "done"
        assert done.outcome == flag
        assert getattr(flags, flag) is True
        with container.uow() as uow, pytest.raises(InputError):  # closed: not twice
            privacy.fulfil_request(uow, request.id, actor=DPO, blobs=container.blobs, retention_years=5)

    def test_erasure_of_a_live_subscription_is_refused_and_the_holder_restricted(self, container):
        sub = store(container, complete_record())
        request = open_(container, "erase", msisdn="0901234567")
        with container.uow() as uow:
            done = privacy.fulfil_request(uow, request.id, actor=DPO, blobs=container.blobs, retention_years=5)
            flags = uow.privacy.flags(sub.holder_id)
        assert done.status == "refused"
        assert done.outcome == "legal_retention"
        assert flags.restricted is True
        assert flags.erased_at is None

    def test_erasure_after_the_retention_period_shreds(self, container):
        sub = store(container, complete_record(), images={"portrait": jpeg()})
        terminate(container, "0901234567", datetime(2015, 1, 1, tzinfo=UTC))
        request = open_(container, "erase", id_number="079190123456")
        with container.uow() as uow:
            done = privacy.fulfil_request(uow, request.id, actor=DPO, blobs=container.blobs, retention_years=5)
            flags = uow.privacy.flags(sub.holder_id)
        assert done.outcome == "erased"
        assert flags.erased_at is not None
        # An export afterwards still works and says the data is gone.
        again = open_(container, "export", msisdn="0901234567")
        with container.uow() as uow:
            data = privacy.export_request(
                uow, again.id, actor=DPO, vault=container.vault, registry=container.registry()
            )
        content = orjson.loads(zipfile.ZipFile(io.BytesIO(data)).read("data.json"))
        assert content["subscriptions"][0]["erased"] is True
        assert content["holders"][0]["erased_at"]


class TestCli:
    @pytest.fixture
    def env(self, tmp_path, monkeypatch, database_url):
        monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("SUBREG_ENV", "test")
        monkeypatch.setenv("SUBREG_DATABASE_URL", database_url)
        settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url)
        init_storage(settings)
        container = bootstrap(settings)
        yield container
        container.close()

    def test_open_list_export_and_fulfil(self, env, tmp_path):
        store(env, complete_record(), images={"portrait": jpeg()})
        runner = CliRunner()
        opened = runner.invoke(app, ["dsr", "open", "--kind", "export", "--msisdn", "0901234567"])
        assert opened.exit_code == 0, opened.output
        row = orjson.loads(opened.stdout)
        assert "0901234567" not in opened.output
        assert "901234567" not in opened.output
        due = date.fromisoformat(row["due_on"])
        assert due - datetime.now(UTC).date() == timedelta(days=30)
        listed = runner.invoke(app, ["dsr", "list", "--status", "open"])
        assert [orjson.loads(x)["id"] for x in listed.stdout.splitlines()] == [row["id"]]
        out = tmp_path / "dsr.zip"
        exported = runner.invoke(app, ["dsr", "export", str(row["id"]), "--out", str(out)])
        assert exported.exit_code == 0, exported.output
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert "README.txt" in zipfile.ZipFile(out).namelist()
        # The ID number read from stdin ("-"): never on the command line.
        typed = runner.invoke(app, ["dsr", "open", "--kind", "restrict", "--id-number", "-"], input="079190123456\n")
        assert typed.exit_code == 0, typed.output
        restrict = orjson.loads(typed.stdout)
        assert restrict["holder_id"] == row["holder_id"]
        fulfilled = runner.invoke(app, ["dsr", "fulfil", str(restrict["id"])])
        assert orjson.loads(fulfilled.stdout)["outcome"] == "restricted"

    def test_bad_input_exits_2(self, env):
        runner = CliRunner()
        assert runner.invoke(app, ["dsr", "open", "--kind", "export", "--msisdn", "0909999999"]).exit_code == 2
        assert runner.invoke(app, ["dsr", "open", "--kind", "nope", "--msisdn", "0901234567"]).exit_code == 2
        assert runner.invoke(app, ["dsr", "export", "999", "--out", "x.zip"]).exit_code == 2


class TestApi:
    @pytest.fixture
    def client(self, container):
        with TestClient(create_app(container.settings, container=container)) as c:
            yield c

    def test_the_dpo_handles_a_request_end_to_end(self, client, container):
        store(container, complete_record(), images={"portrait": jpeg()})
        headers = bearer(client, *make_staff(client, "dpo"))
        created = client.post("/api/v1/dsr", json={"kind": "export", "msisdn": "0901234567"}, headers=headers)
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        assert client.get("/api/v1/dsr", params={"status": "open"}, headers=headers).json()[0]["id"] == request_id
        assert client.get(f"/api/v1/dsr/{request_id}", headers=headers).json()["kind"] == "export"
        zipped = client.post(f"/api/v1/dsr/{request_id}/export", headers=headers)
        assert zipped.status_code == 200
        assert zipped.headers["content-type"] == "application/zip"
        assert "data.json" in zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
        flag = client.post("/api/v1/dsr", json={"kind": "object", "id_number": "079190123456"}, headers=headers)
        done = client.post(f"/api/v1/dsr/{flag.json()['id']}/fulfil", headers=headers)
        assert done.json()["outcome"] == "objected"
        missing = client.get("/api/v1/dsr/999", headers=headers)
        assert missing.status_code == 404

    def test_errors_name_no_personal_data_and_other_roles_are_refused(self, client, container):
        store(container, complete_record())
        headers = bearer(client, *make_staff(client, "dpo"))
        unknown = client.post("/api/v1/dsr", json={"kind": "export", "id_number": "079190999999"}, headers=headers)
        assert unknown.status_code == 422
        assert "079190999999" not in unknown.text
        both = client.post("/api/v1/dsr", json={"kind": "export"}, headers=headers)
        assert both.status_code == 422
        for role in ("store_staff", "auditor", "admin", "compliance_officer"):
            other = bearer(client, *make_staff(client, role))
            assert client.get("/api/v1/dsr", headers=other).status_code == 403, role
