"""The audit log through the service, on SQLite and PostgreSQL: appending, chaining, concurrency,
tamper detection (with the triggers dropped, as an attacker with database rights would), queries and
anomaly signals."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from sqlalchemy import select, text

from subreg.adapters.db.tables import audit_log
from subreg.adapters.files.audit_head import FileAuditHead
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.errors import ConflictError, InputError
from subreg.domain.privacy.anomalies import SignalKind
from subreg.domain.privacy.audit_chain import AuditAction, verify_chain
from subreg.services.common import audit_trail
from subreg.services.privacy import audit_log as audit

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STORE = Actor(staff_id=7, role=Role.STORE_STAFF, point_of_sale_id=3, pos_kind="store")
AUDITOR = Actor(staff_id=9, role=Role.AUDITOR)


def append(container, n, *, actor=STORE, action=AuditAction.SUBSCRIPTION_READ, start=T0, step=timedelta(minutes=1)):
    with container.uow() as uow:
        for i in range(n):
            audit_trail.record(
                uow, actor=actor, action=action, subject=f"holder:{i}", fields=["holder.full_name"],
                purpose="transaction", details={"n": i}, now=start + i * step,
            )  # fmt: skip
        uow.commit()


def stored(container):
    with container.engine.connect() as c:
        return [r._mapping for r in c.execute(select(audit_log).order_by(audit_log.c.seq))]


def drop_triggers(container):
    """What an attacker with database rights does first."""
    with container.engine.begin() as c:
        if c.dialect.name == "postgresql":
            c.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
            c.exec_driver_sql("DROP TRIGGER audit_log_no_truncate ON audit_log")
        else:
            c.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            c.exec_driver_sql("DROP TRIGGER audit_log_no_delete")


def tamper(container, sql, **params):
    with container.engine.begin() as c:
        c.execute(text(sql), params)


def verify(container, head_file=None):
    with container.uow() as uow:
        return audit.verify(uow, head_file=head_file, batch_size=3)


class TestRecord:
    def test_an_entry_commits_with_the_callers_work_and_chains_to_the_previous(self, container):
        append(container, 3)
        rows = stored(container)
        assert [r["seq"] for r in rows] == [1, 2, 3]
        assert rows[0]["prev_hash"] == "0" * 64
        assert rows[1]["prev_hash"] == rows[0]["hash"]
        assert rows[0]["actor_staff_id"] == 7
        assert rows[0]["point_of_sale_id"] == 3
        assert rows[0]["actor_role"] == "store_staff"
        assert rows[0]["purpose"] == "transaction"

    def test_an_entry_rolls_back_with_the_callers_work(self, container):
        with container.uow() as uow:
            audit_trail.record(uow, actor=STORE, action="staff:updated", now=T0)
            # no commit: leaving the block rolls back
        assert stored(container) == []

    def test_the_chain_is_keyed_so_plain_sha256_does_not_verify_it(self, container):
        append(container, 2)
        with container.uow() as uow:
            entries = list(uow.audit.iter_entries())
            assert verify_chain(entries, uow.audit.chain_key).ok
        assert not verify_chain(entries).ok  # without the key, nobody can recompute the hashes

    def test_a_personal_data_action_without_purpose_is_refused(self, container):
        with container.uow() as uow, pytest.raises(InputError) as err:
            audit_trail.record(uow, actor=STORE, action=AuditAction.SUBSCRIPTION_READ, subject="holder:1")
        assert err.value.errors[0].field == "audit.purpose"
        assert err.value.errors[0].code == "required"

    def test_a_personal_field_in_details_is_refused(self, container):
        with container.uow() as uow, pytest.raises(InputError) as err:
            audit_trail.record(uow, actor=STORE, action="staff:updated", details={"full_name": "x"})
        assert err.value.errors[0].code == "personal_data_key"

    def test_the_request_id_comes_from_the_logging_context(self, container):
        structlog.contextvars.bind_contextvars(request_id="req-abc")
        try:
            append(container, 1)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        assert stored(container)[0]["request_id"] == "req-abc"

    def test_a_phone_number_subject_is_a_keyed_hash_never_the_number(self, container):
        subject = audit_trail.subject_for_msisdn(container.vault, "+84912345678")
        assert subject.startswith("sub:")
        assert len(subject) == 4 + 32
        assert "912345678" not in subject
        assert subject == audit_trail.subject_for_msisdn(container.vault, "+84912345678")
        assert subject != audit_trail.subject_for_msisdn(container.vault, "+84912345679")
        assert audit_trail.subject_for_holder(17) == "holder:17"

    def test_concurrent_appenders_form_one_unbroken_chain(self, container):
        threads, per_thread, errors = 4, 15, []

        def work():
            try:
                for _ in range(per_thread):
                    with container.uow() as uow:
                        audit_trail.record(uow, actor=STORE, action="staff:updated")
                        uow.commit()
            except Exception as exc:
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
        rows = stored(container)
        assert [r["seq"] for r in rows] == list(range(1, threads * per_thread + 1))
        assert verify(container).ok


class TestApi:
    """GET /api/v1/audit, POST /api/v1/audit/search, GET /api/v1/audit/anomalies."""

    @pytest.fixture
    def client(self, container):
        from fastapi.testclient import TestClient

        from subreg.api.app import create_app

        with TestClient(create_app(container.settings, container=container)) as c:
            yield c

    def _headers(self, client, role):
        from tests.auth_helpers import bearer, make_staff

        return bearer(client, *make_staff(client, role))

    def test_the_auditor_lists_entries_and_the_read_is_logged(self, client, container):
        append(container, 3)
        headers = self._headers(client, "auditor")
        response = client.get("/api/v1/audit", params={"action": "subscription:read", "limit": 2}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert [e["seq"] for e in page["entries"]] == [3, 2]
        assert page["next_before_seq"] == 2
        more = client.get("/api/v1/audit", params={"action": "subscription:read", "before_seq": 2}, headers=headers)
        assert [e["seq"] for e in more.json()["entries"]] == [1]
        reads = [r for r in stored(container) if r["action"] == "audit:read"]
        assert len(reads) == 2
        assert reads[0]["actor_role"] == "auditor"

    def test_search_by_number_goes_in_the_body_and_matches_the_keyed_subject(self, client, container):
        subject = audit_trail.subject_for_msisdn(container.vault, "+84912345678")
        with container.uow() as uow:
            audit_trail.record(uow, actor=STORE, action="subscription:read", subject=subject, purpose="transaction")
            audit_trail.record(uow, actor=STORE, action="subscription:read", subject="holder:1", purpose="transaction")
            uow.commit()
        headers = self._headers(client, "auditor")
        response = client.post("/api/v1/audit/search", json={"msisdn": "0912345678"}, headers=headers)
        assert response.status_code == 200, response.text
        assert [e["subject"] for e in response.json()["entries"]] == [subject]
        assert "912345678" not in response.text
        bad = client.post("/api/v1/audit/search", json={"msisdn": "12"}, headers=headers)
        assert bad.status_code == 422
        assert "12" not in bad.json()["error"]["message"]

    def test_other_roles_cannot_read_the_log(self, client):
        for role in ("store_staff", "compliance_officer", "dpo", "admin"):
            response = client.get("/api/v1/audit", headers=self._headers(client, role))
            assert response.status_code == 403, role
        assert client.get("/api/v1/audit").status_code == 401

    def test_the_compliance_team_gets_anomaly_signals(self, client, container):
        with container.uow() as uow:
            for _i in range(25):
                audit_trail.record(
                    uow, actor=STORE, action="lookup:by_id", purpose="transaction", now=datetime.now(UTC)
                )
            uow.commit()
        response = client.get("/api/v1/audit/anomalies", headers=self._headers(client, "compliance_officer"))
        assert response.status_code == 200, response.text
        kinds = {(s["kind"], s["staff_id"]) for s in response.json()["signals"]}
        assert (SignalKind.ID_LOOKUPS_WITHOUT_TRANSACTION.value, 7) in kinds
        assert client.get("/api/v1/audit/anomalies", headers=self._headers(client, "store_staff")).status_code == 403


class TestVerifyService:
    def test_a_checkpoint_made_under_another_key_is_not_trusted(self, container, tmp_path):
        append(container, 2)
        head = FileAuditHead(tmp_path / "audit.head")
        assert verify(container, head).ok
        seq, digest, _fp = head.path.read_text().split()
        head.path.write_text(f"{seq} {digest} 0000000000000000\n")
        report = verify(container, head)
        assert not report.ok
        assert report.reason == "wrong_key"

    def test_verification_streams_in_batches(self, container):
        append(container, 10)
        with container.uow() as uow:
            report = audit.verify(uow, batch_size=3)
        assert report.ok
        assert report.checked == 10


class TestSnapshotConflicts:
    def test_a_read_then_append_racing_another_writer_is_a_retryable_conflict_not_a_fork(self, container):
        with container.uow() as first:
            first.subscriptions.count()  # the transaction has read: on SQLite it now holds a snapshot
            with container.uow() as second:
                audit_trail.record(second, actor=STORE, action="staff:updated")
                second.commit()
            if container.engine.dialect.name == "sqlite":
                with pytest.raises(ConflictError):
                    audit_trail.record(first, actor=STORE, action="staff:updated")
            else:
                audit_trail.record(first, actor=STORE, action="staff:updated")
                first.commit()
        assert verify(container).ok

    def test_holding_the_lock_before_reading_makes_read_then_append_safe(self, container):
        with container.uow() as first:
            audit_trail.hold_appender_lock(first)
            first.subscriptions.count()
            done = threading.Event()

            def other():
                with container.uow() as second:
                    audit_trail.record(second, actor=STORE, action="staff:updated")
                    second.commit()
                done.set()

            writer = threading.Thread(target=other)
            writer.start()
            # Give the other appender every chance to slip in: it must wait for this unit instead.
            assert not done.wait(0.2)
            audit_trail.record(first, actor=STORE, action="staff:updated")
            first.commit()
        writer.join()
        assert [r["seq"] for r in stored(container)] == [1, 2]
        assert verify(container).ok
