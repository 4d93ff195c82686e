"""`subreg audit ...` against a real database (SQLite and PostgreSQL).

Tamper tests edit the table directly, after dropping the append-only triggers as an attacker with
database rights would, and expect `subreg audit verify` to exit non-zero naming the first bad entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from subreg.bootstrap import bootstrap, init_storage
from subreg.cli.main import app
from subreg.config import Settings
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.privacy.audit_chain import chain_hash
from subreg.services.common import audit_trail
from tests.auth_helpers import make_staff
from tests.integration.test_audit_log import drop_triggers, stored

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
ENTRIES = 6


@pytest.fixture
def env(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUBREG_ENV", "test")
    monkeypatch.setenv("SUBREG_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    settings = Settings(env="test", var_dir=tmp_path / "var", database_url=database_url)
    init_storage(settings)
    container = bootstrap(settings)
    yield container
    container.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def seed(container, n=ENTRIES, actor=None, **kwargs):
    actor = actor or Actor(staff_id=None, role=Role.STORE_STAFF)  # type: ignore[arg-type]
    with container.uow() as uow:
        for i in range(n):
            audit_trail.record(
                uow, actor=actor, action="subscription:read", subject=f"holder:{i}",
                purpose="transaction", now=T0 + timedelta(minutes=i), **kwargs,
            )  # fmt: skip
        uow.commit()


def run_verify(runner):
    result = runner.invoke(app, ["audit", "verify", "--json"])
    return result.exit_code, orjson.loads(result.stdout) if result.stdout.strip().startswith("{") else result.output


def sql(container, statement, **params):
    with container.engine.begin() as c:
        c.execute(text(statement), params)


def renumber(container, moves):
    """Move rows to new seq numbers one at a time (a primary key forbids two rows sharing one)."""
    for old, new in moves:
        sql(container, "UPDATE audit_log SET seq = :new WHERE seq = :old", old=old, new=new)


def _edit(c):
    sql(c, "UPDATE audit_log SET purpose = 'update' WHERE seq = 3")


def _edit_details(c):
    sql(c, "UPDATE audit_log SET details = :d WHERE seq = 4", d='{"approved":true}')


def _delete(c):
    sql(c, "DELETE FROM audit_log WHERE seq = 3")


def _delete_first(c):
    sql(c, "DELETE FROM audit_log WHERE seq = 1")


def _insert_forged_in_the_middle(c):
    # Make room at seq 4 and slip a forged row in, chained to entry 3 as well as a forger can.
    renumber(c, [(6, 7), (5, 6), (4, 5)])
    row = {r["seq"]: r for r in stored(c)}[3]
    sql(
        c,
        "INSERT INTO audit_log (seq, at, action, fields, details, prev_hash, hash) "
        "VALUES (4, :at, 'staff:updated', '[]', '{}', :prev, :hash)",
        at=row["at"], prev=row["hash"], hash="f" * 64,
    )  # fmt: skip


def _insert_forged_at_the_end(c):
    last = stored(c)[-1]
    sql(
        c,
        "INSERT INTO audit_log (seq, at, action, fields, details, prev_hash, hash) "
        "VALUES (7, :at, 'staff:updated', '[]', '{}', :prev, :hash)",
        at=last["at"], prev=last["hash"], hash="e" * 64,
    )  # fmt: skip


def _swap_numbers(c):
    renumber(c, [(3, 100), (4, 3), (100, 4)])


def _swap_contents(c):
    rows = {r["seq"]: r for r in stored(c)}
    cols = ("at", "subject", "prev_hash", "hash")
    for seq, other in ((3, 4), (4, 3)):
        sets = ", ".join(f"{k} = :{k}" for k in cols)
        sql(c, f"UPDATE audit_log SET {sets} WHERE seq = :seq", seq=seq, **{k: rows[other][k] for k in cols})  # noqa: S608


def _recompute_with_sha256(c):
    # The attacker edits entry 2 and recomputes every hash after it, without the key.
    rows = stored(c)
    prev = rows[0]["hash"]
    for row in rows[1:]:
        entry = {**row, "fields": orjson.loads(row["fields"]), "details": orjson.loads(row["details"])}
        if row["seq"] == 2:
            entry["purpose"] = "update"
        new_hash = chain_hash(prev, entry)
        sql(
            c, "UPDATE audit_log SET purpose = :p, prev_hash = :prev, hash = :h WHERE seq = :s",
            p=entry["purpose"], prev=prev, h=new_hash, s=row["seq"],
        )  # fmt: skip
        prev = new_hash


def _bad_genesis(c):
    sql(c, "UPDATE audit_log SET prev_hash = :h WHERE seq = 1", h="1" * 64)


TAMPERING = [
    pytest.param(_edit, 3, {"edited"}, id="edit-a-field"),
    pytest.param(_edit_details, 4, {"edited"}, id="edit-details"),
    pytest.param(_delete, 3, {"deleted_or_inserted"}, id="delete-a-row"),
    pytest.param(_delete_first, 1, {"deleted_or_inserted"}, id="delete-the-first-row"),
    pytest.param(_insert_forged_in_the_middle, 4, {"deleted_or_inserted"}, id="insert-forged-row"),
    pytest.param(_insert_forged_at_the_end, 7, {"edited", "deleted_or_inserted"}, id="append-forged-row"),
    pytest.param(_swap_numbers, 3, {"reordered"}, id="swap-seq-numbers"),
    pytest.param(_swap_contents, 3, {"reordered"}, id="swap-row-contents"),
    pytest.param(_recompute_with_sha256, 2, {"edited", "deleted_or_inserted"}, id="edit-and-rehash"),
    pytest.param(_bad_genesis, 1, {"bad_genesis"}, id="bad-genesis"),
]


class TestVerify:
    def test_an_intact_log_exits_0_and_writes_the_head_checkpoint(self, env, runner, tmp_path):
        seed(env)
        code, report = run_verify(runner)
        assert code == 0, report
        assert report["ok"] is True
        assert report["checked"] == ENTRIES
        head = (tmp_path / "var" / "audit.head").read_text().split()
        assert head[0] == str(ENTRIES)
        # The successful verification is itself logged.
        assert stored(env)[-1]["action"] == "audit:verified"
        assert run_verify(runner)[0] == 0

    def test_an_empty_log_is_intact(self, env, runner):
        assert run_verify(runner)[0] == 0

    @pytest.mark.parametrize(("tamper", "first_bad", "reasons"), TAMPERING)
    def test_tampering_is_detected_and_the_first_bad_entry_named(self, env, runner, tamper, first_bad, reasons):
        seed(env)
        drop_triggers(env)
        tamper(env)
        code, report = run_verify(runner)
        assert code == 1, report
        assert report["ok"] is False
        assert report["first_bad_seq"] == first_bad
        assert report["reason"] in reasons

    def test_the_text_output_names_the_first_bad_entry(self, env, runner):
        seed(env)
        drop_triggers(env)
        _edit(env)
        result = runner.invoke(app, ["audit", "verify"])
        assert result.exit_code == 1
        assert "seq 3" in result.output
        assert "edited" in result.output

    def test_cutting_off_the_newest_entries_is_reported_as_truncated(self, env, runner):
        seed(env)
        assert run_verify(runner)[0] == 0  # head checkpoint now at the audit:verified entry (7)
        drop_triggers(env)
        sql(env, "DELETE FROM audit_log WHERE seq >= 5")
        code, report = run_verify(runner)
        assert code == 1
        assert report["reason"] == "truncated"
        assert report["first_bad_seq"] == 5

    def test_without_a_checkpoint_truncation_is_invisible_which_is_why_checkpoints_exist(self, env, runner):
        seed(env)
        drop_triggers(env)
        sql(env, "DELETE FROM audit_log WHERE seq >= 5")
        assert run_verify(runner)[0] == 0

    def test_checkpoint_command_records_the_head(self, env, runner, tmp_path):
        seed(env)
        result = runner.invoke(app, ["audit", "checkpoint"])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "var" / "audit.head").read_text().split()[0] == str(ENTRIES)

    def test_the_triggers_refuse_edits_in_the_first_place(self, env):
        seed(env, 1)
        with pytest.raises(Exception, match="append-only"):
            sql(env, "UPDATE audit_log SET purpose = 'update' WHERE seq = 1")
        with pytest.raises(Exception, match="append-only"):
            sql(env, "DELETE FROM audit_log WHERE seq = 1")


class TestQuery:
    def test_filters_by_subscription_number_without_printing_it(self, env, runner):
        subject = audit_trail.subject_for_msisdn(env.vault, "+84912345678")
        other = audit_trail.subject_for_msisdn(env.vault, "+84987654321")
        with env.uow() as uow:
            for s in (subject, other, subject):
                audit_trail.record(uow, actor=None, action="subscription:read", subject=s, purpose="transaction")
            uow.commit()
        result = runner.invoke(app, ["audit", "query", "--subject", "0912345678", "--json"])
        assert result.exit_code == 0, result.output
        lines = [orjson.loads(line) for line in result.stdout.splitlines()]
        assert [e["seq"] for e in lines] == [3, 1]
        assert "912345678" not in result.output
        # the query itself was logged
        last = stored(env)[-1]
        assert last["action"] == "audit:read"
        assert last["subject"] == subject

    def test_filters_by_staff_time_purpose_and_action(self, env, runner):
        username, _ = make_staff(env, "store_staff")
        with env.uow() as uow:
            staff_id = uow.staff.get_by_username(username).id
        actor = Actor(staff_id=staff_id, role=Role.STORE_STAFF, point_of_sale_id=None)
        seed(env, 3, actor=actor)
        seed(env, 2)  # no staff
        with env.uow() as uow:
            audit_trail.record(
                uow, actor=actor, action="subscription:updated", purpose="update", now=T0 + timedelta(days=2)
            )
            uow.commit()
        base = ["audit", "query", "--json", "--staff", username]
        seqs = lambda args: [orjson.loads(x)["seq"] for x in runner.invoke(app, base + args).stdout.splitlines()]  # noqa: E731
        assert len(seqs([])) == 4
        assert len(seqs(["--action", "subscription:read"])) == 3
        assert len(seqs(["--purpose", "update"])) == 1
        assert len(seqs(["--since", "2026-03-03"])) == 1
        assert len(seqs(["--until", "2026-03-02"])) == 3
        assert len(seqs(["--limit", "2"])) == 2

    def test_a_bad_number_or_date_exits_2(self, env, runner):
        assert runner.invoke(app, ["audit", "query", "--subject", "12"]).exit_code == 2
        assert runner.invoke(app, ["audit", "query", "--since", "02/03/2026"]).exit_code == 2
        assert runner.invoke(app, ["audit", "query", "--staff", "nobody"]).exit_code == 2


class TestAnomalies:
    def test_reports_the_three_signals(self, env, runner):
        heavy = Actor(staff_id=1, role=Role.STORE_STAFF)
        night = Actor(staff_id=5, role=Role.STORE_STAFF)
        with env.uow() as uow:
            # Peers reading 10 records each; staff 1 reads 200 (and looks up 60 IDs, no transaction).
            for staff in (2, 3, 4):
                peer = Actor(staff_id=staff, role=Role.STORE_STAFF)
                for i in range(10):
                    audit_trail.record(uow, actor=peer, action="subscription:read", purpose="transaction",
                                 now=T0 + timedelta(minutes=i))  # fmt: skip
            for i in range(140):
                audit_trail.record(uow, actor=heavy, action="subscription:read", purpose="transaction",
                             now=T0 + timedelta(minutes=i))  # fmt: skip
            for i in range(60):
                audit_trail.record(uow, actor=heavy, action="lookup:by_id", purpose="transaction",
                             now=T0 + timedelta(minutes=i))  # fmt: skip
            # 23:30 in Hà Nội is 16:30 UTC.
            for i in range(3):
                audit_trail.record(uow, actor=night, action="subscription:read", purpose="transaction",
                             now=datetime(2026, 3, 2, 16, 30 + i, tzinfo=UTC))  # fmt: skip
            uow.commit()
        result = runner.invoke(app, ["audit", "anomalies", "--since", "2026-03-01", "--json"])
        assert result.exit_code == 0, result.output
        signals = {(s["kind"], s["staff_id"]) for s in orjson.loads(result.stdout)["signals"]}
        assert ("read_volume", 1) in signals
        assert ("id_lookups_without_transaction", 1) in signals
        assert ("after_hours", 5) in signals
        assert not any(staff in (2, 3, 4) for _, staff in signals)
