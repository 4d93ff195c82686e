"""Privacy on the fakes: consents, data-subject requests (open, fulfil, legal retention), crypto-shredding, the
retention sweep and the data subject's export."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.errors import ErasedError, InputError, NotFoundError
from subreg.services import privacy
from subreg.services.common import audit_trail
from subreg.services.registry import get_subscription
from tests.fakes import NOW, Fakes, image
from tests.records import complete_record, with_holder

DPO = Actor(staff_id=None, role=Role.DPO)  # type: ignore[arg-type]
STORE = Actor(staff_id=None, role=Role.STORE_STAFF)  # type: ignore[arg-type]
ID_NUMBER = "079190123456"
CUTOFF = datetime(2021, 11, 28, tzinfo=UTC)  # midnight UTC five years before NOW's date


def open_(fakes: Fakes, kind: str, **who: str) -> privacy.ports.DsrRow:
    with fakes.uow() as uow:
        return privacy.open_request(uow, kind=kind, actor=DPO, vault=fakes.vault, rule_set=fakes.rule_set,
                                    deadline_days=30, now=fakes.clock.now(), **who)  # fmt: skip


def fulfil(fakes: Fakes, request_id: int, *, years: int = 5) -> privacy.ports.DsrRow:
    with fakes.uow() as uow:
        return privacy.fulfil_request(uow, request_id, actor=DPO, blobs=fakes.blobs, retention_years=years,
                                      now=fakes.clock.now())  # fmt: skip


def export(fakes: Fakes, request_id: int) -> zipfile.ZipFile:
    with fakes.uow() as uow:
        data = privacy.export_request(uow, request_id, actor=DPO, vault=fakes.vault, registry=fakes.registry(),
                                      now=fakes.clock.now())  # fmt: skip
    return zipfile.ZipFile(io.BytesIO(data))


def terminated_at(fakes: Fakes, record: dict, when: datetime) -> None:
    """Store the record's line as terminated at `when` (the database stamps the change with its clock)."""
    fakes.clock.set(when)
    fakes.seed(record, status="terminated")
    fakes.clock.set(NOW)


class TestConsent:
    def test_the_hash_of_the_text_shown_is_stored_not_the_text(self, fakes):
        line = fakes.seed(complete_record())
        with fakes.uow() as uow:
            first = privacy.record_consent(uow, line.holder_id, line.id, "2026-01", True, STORE, now=NOW)
            privacy.record_consent(uow, line.holder_id, None, "2026-01", False, STORE, text="Văn bản khác", now=NOW)
            uow.commit()
        shown, other = fakes.rows("consents")
        assert (shown["id"], shown["subscription_id"], shown["accepted"], shown["shown_at"]) == (
            first,
            line.id,
            True,
            NOW,
        )
        assert shown["text_sha256"] == hashlib.sha256(privacy.consent_text("2026-01").encode()).hexdigest()
        assert other["text_sha256"] == hashlib.sha256("Văn bản khác".encode()).hexdigest()
        assert privacy.consent_text("2026-01") not in str(fakes.rows("consents"))
        assert [(r["action"], r["subject"]) for r in fakes.rows("audit_log")] == [
            ("consent:recorded", f"holder:{line.holder_id}")
        ] * 2

    def test_an_unknown_version_without_its_text_is_refused(self, fakes):
        line = fakes.seed(complete_record())
        with fakes.uow() as uow, pytest.raises(InputError):
            privacy.record_consent(uow, line.holder_id, None, "1999-01", True, STORE)


class TestOpen:
    def test_by_number_or_by_id_document_with_its_deadline(self, fakes):
        line = fakes.seed(complete_record())
        by_number = open_(fakes, "export", msisdn="0901234567")
        by_id = open_(fakes, "access", id_number=ID_NUMBER)
        assert by_number.holder_id == by_id.holder_id == line.holder_id
        assert (by_number.due_on, by_number.status, by_number.received_at) == (date(2026, 12, 28), "open", NOW)
        received = [r for r in fakes.rows("audit_log") if r["action"] == "dsr:received"]
        assert [(r["purpose"], r["subject"]) for r in received] == [("dsr", f"holder:{line.holder_id}")] * 2
        with fakes.uow() as uow:
            assert [r.id for r in privacy.list_requests(uow, status="open")] == [by_number.id, by_id.id]

    @pytest.mark.parametrize(
        ("kind", "who", "code"),
        [("export", {"msisdn": "0909999999"}, "holder_not_found"), ("export", {"id_number": "001099000001"},
         "holder_not_found"), ("delete_everything", {"msisdn": "0901234567"}, "invalid_choice"), ("export", {},
         "required"), ("export", {"msisdn": "0901234567", "id_number": ID_NUMBER}, "required")],
    )  # fmt: skip
    def test_an_unknown_subject_or_kind_is_refused(self, fakes, kind, who, code):
        fakes.seed(complete_record())
        with pytest.raises(InputError) as refused:
            open_(fakes, kind, **who)
        assert refused.value.errors[0].code == code
        assert fakes.rows("dsr_requests") == []


class TestFulfil:
    @pytest.mark.parametrize(("kind", "flag"), [("restrict", "restricted"), ("object", "objected")])
    def test_the_flag_is_set_and_the_request_closed_once(self, fakes, kind, flag):
        line = fakes.seed(complete_record())
        request = open_(fakes, kind, msisdn="0901234567")
        done = fulfil(fakes, request.id)
        assert (done.status, done.outcome, done.closed_at) == ("done", flag, NOW)
        with fakes.uow() as uow:
            flags = uow.privacy.flags(line.holder_id)
        assert getattr(flags, flag) is True
        assert flags.erased_at is None
        assert fakes.rows("audit_log")[-1]["action"] == "dsr:closed"
        with pytest.raises(InputError) as again:
            fulfil(fakes, request.id)
        assert again.value.errors[0].code == "dsr_not_open"

    def test_an_export_request_is_not_fulfilled_and_an_unknown_one_is_not_found(self, fakes):
        fakes.seed(complete_record())
        request = open_(fakes, "export", msisdn="0901234567")
        with pytest.raises(InputError):
            fulfil(fakes, request.id)
        with pytest.raises(NotFoundError):
            fulfil(fakes, request.id + 1000)

    def test_erasure_of_a_live_line_is_refused_and_the_holder_restricted(self, fakes):
        line = fakes.seed(complete_record())
        done = fulfil(fakes, open_(fakes, "erase", msisdn="0901234567").id)
        assert (done.status, done.outcome) == ("refused", "legal_retention")
        with fakes.uow() as uow:
            flags = uow.privacy.flags(line.holder_id)
        assert (flags.restricted, flags.erased_at) == (True, None)

    @settings(max_examples=25, deadline=None)
    @given(days=st.integers(min_value=0, max_value=4000))
    def test_erasure_waits_until_the_legal_retention_period_has_passed(self, days):
        fakes = Fakes.build()
        line = fakes.seed(complete_record(), images={"portrait": image("portrait")})
        ended = NOW - timedelta(days=days)
        terminated_at(fakes, complete_record(), ended)
        done = fulfil(fakes, open_(fakes, "erase", id_number=ID_NUMBER).id)
        erased = ended < CUTOFF
        assert (done.status, done.outcome) == (("done", "erased") if erased else ("refused", "legal_retention"))
        with fakes.uow() as uow:
            flags = uow.privacy.flags(line.holder_id)
        assert (flags.erased_at is not None, flags.restricted) == (erased, not erased)
        assert (fakes.blobs.keys() == []) is erased
        assert ("dsr:erasure" in [r["action"] for r in fakes.rows("audit_log")]) is erased


class TestShredding:
    def test_after_shredding_nothing_reads_and_the_images_are_gone(self, fakes):
        line = fakes.seed(complete_record(), images={"portrait": image("portrait")})
        with fakes.uow() as uow:
            deleted = privacy.shred_holder(uow, line.holder_id, actor=DPO, reason="dsr", blobs=fakes.blobs, now=NOW)
        assert (deleted, fakes.blobs.keys()) == (1, [])
        with fakes.uow() as uow, pytest.raises(ErasedError):
            get_subscription("0901234567", uow=uow, vault=fakes.vault)
        with fakes.uow() as uow:
            assert privacy.shred_holder(uow, line.holder_id, actor=DPO, reason="dsr", blobs=fakes.blobs) == 0
            with pytest.raises(NotFoundError):
                privacy.shred_holder(uow, line.holder_id + 1000, actor=DPO, reason="dsr", blobs=fakes.blobs)
        (erasure,) = fakes.rows("audit_log")
        assert (erasure["action"], erasure["subject"], erasure["purpose"]) == (
            "dsr:erasure", f"holder:{line.holder_id}", "dsr"
        )  # fmt: skip

    def test_the_retention_sweep_shreds_whoever_left_long_enough_ago(self, fakes):
        gone = fakes.seed(complete_record(), images={"portrait": image("portrait")})
        recent = with_holder(complete_record(msisdn="0901234568"), id_number="079190654321")
        stayed = fakes.seed(recent)
        terminated_at(fakes, complete_record(), datetime(2015, 1, 1, tzinfo=UTC))
        terminated_at(fakes, recent, datetime(2025, 1, 1, tzinfo=UTC))
        with fakes.uow() as uow:
            dry = privacy.retention_sweep(uow, as_of=NOW.date(), years=5, actor=None, blobs=fakes.blobs, dry_run=True)
            done = privacy.retention_sweep(uow, as_of=NOW.date(), years=5, actor=None, blobs=fakes.blobs, batch_size=1)
        assert (dry.candidates, dry.shredded, dry.dry_run) == (1, 0, True)
        assert (done.cutoff, done.shredded, done.blobs_deleted) == ("2021-11-28", 1, 1)
        with fakes.uow() as uow:
            assert uow.privacy.flags(gone.holder_id).erased_at is not None
            assert uow.privacy.flags(stayed.holder_id).erased_at is None


class TestExport:
    def test_the_archive_holds_everything_kept_about_the_subject(self, fakes):
        portrait = image("portrait")
        line = fakes.seed(complete_record(), images={"portrait": portrait})
        with fakes.uow() as uow:
            privacy.record_consent(uow, line.holder_id, line.id, "2026-01", True, STORE, now=NOW)
            audit_trail.record(uow, actor=Actor(staff_id=7, role=Role.STORE_STAFF, point_of_sale_id=3),
                               action="subscription:read", purpose="transaction",
                               subject=audit_trail.subject_for_line(line.id), fields=["holder"], now=NOW)  # fmt: skip
            uow.commit()
        request = open_(fakes, "export", msisdn="0901234567")
        archive = export(fakes, request.id)
        images = [n for n in archive.namelist() if n.startswith("images/")]
        assert sorted(archive.namelist()) == sorted(["README.txt", "data.json", *images])
        readme = archive.read("README.txt").decode()
        assert ("Tiếng Việt" in readme, "English" in readme, f"Request no.: {request.id}" in readme) == (True,) * 3
        data = orjson.loads(archive.read("data.json"))
        (sub,) = data["subscriptions"]
        assert (sub["msisdn"], sub["record"]["holder"]["id_number"]) == ("+84901234567", ID_NUMBER)
        assert [h["action"] for h in sub["history"]] == ["created"]
        assert {d["kind"] for d in sub["documents"]} == {"portrait", "id_front", "id_back", "confirmation_form"}
        assert (data["consents"][0]["msisdn"], data["consents"][0]["text_version"]) == ("+84901234567", "2026-01")
        assert [r["kind"] for r in data["requests"]] == ["export"]
        assert data["holders"] == [{"holder_id": line.holder_id, "restricted": False, "objected": False,
                                    "erased_at": None}]  # fmt: skip
        read = [e for e in data["access_log"] if e["action"] == "subscription:read"]
        assert read == [{"at": "2026-11-28T03:00:00.000000Z", "role": "store_staff", "point_of_sale_id": 3,
                         "action": "subscription:read", "purpose": "transaction", "fields": ["holder"]}]  # fmt: skip
        assert "actor_staff_id" not in str(data["access_log"])
        assert [archive.read(n) for n in images] == [portrait]
        with fakes.uow() as uow:
            closed = uow.privacy.get_request(request.id)
        assert (closed.status, closed.outcome) == ("done", "exported")
        assert fakes.rows("audit_log")[-1]["action"] == "dsr:export"

    def test_a_restrict_request_is_not_exported(self, fakes):
        fakes.seed(complete_record())
        request = open_(fakes, "restrict", msisdn="0901234567")
        with pytest.raises(InputError):
            export(fakes, request.id)

    def test_after_erasure_the_export_says_the_data_is_gone(self, fakes):
        fakes.seed(complete_record(), images={"portrait": image("portrait")})
        terminated_at(fakes, complete_record(), datetime(2015, 1, 1, tzinfo=UTC))
        fulfil(fakes, open_(fakes, "erase", id_number=ID_NUMBER).id)
        data = orjson.loads(export(fakes, open_(fakes, "export", msisdn="0901234567").id).read("data.json"))
        (sub,) = data["subscriptions"]
        assert (sub["erased"], sub["record"]) == (True, None)
        assert all("file" not in d for d in sub["documents"])
        assert data["holders"][0]["erased_at"] == NOW.isoformat()
