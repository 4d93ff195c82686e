"""Staff sign-in, sessions, passwords and TOTP through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import orjson
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from subreg.adapters.db.tables import auth_sessions, login_attempts, staff
from subreg.domain.access import totp as totp_codes
from subreg.domain.access.permissions import Role
from subreg.domain.common.errors import (
    AccountLockedError,
    InputError,
    InvalidCredentialsError,
    NotFoundError,
    TooManyAttemptsError,
    TotpRequiredError,
)
from subreg.services import access as auth
from subreg.services.access import AuthPolicy
from tests.auth_helpers import make_staff

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
POLICY = AuthPolicy(session_minutes=60, max_failures=3, lockout_minutes=15)


def login(container, username, password, totp=None, *, now=T0, kind="api", policy=POLICY, source=None):
    with container.uow() as uow:
        return auth.authenticate(
            uow, username, password, totp, kind=kind, vault=container.vault, policy=policy, now=now, source=source
        )


def resolve(container, token, *, now=T0, kind=None, policy=POLICY):
    with container.uow() as uow:
        return auth.resolve_session(uow, token, kind=kind, policy=policy, now=now)


def rows(container, table):
    with container.engine.connect() as c:
        return [r._mapping for r in c.execute(select(table))]


def staff_row(container, username):
    with container.engine.connect() as c:
        return c.execute(select(staff).where(staff.c.username == username)).one()._mapping


def code_at(uri: str, at: datetime) -> str:
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    return totp_codes.totp(base64.b32decode(secret + "=" * (-len(secret) % 8)), at)


class TestCreateStaff:
    def test_a_generated_password_is_returned_once_works_and_must_be_changed(self, container):
        with container.uow() as uow:
            uow.points_of_sale.add({"code": "HN-01", "kind": "store", "name": "Store", "active": True})
            uow.commit()
            password = auth.create_staff(uow, "lan", "Lan", "store_staff", "HN-01")
        assert len(password) >= 16
        assert password not in str(dict(staff_row(container, "lan")))
        result = login(container, "lan", password)
        assert result.must_change_password is True
        assert result.role == "store_staff"

    def test_counter_roles_need_a_point_of_sale_of_their_kind(self, container):
        with container.uow() as uow:
            uow.points_of_sale.add({"code": "AG-1", "kind": "agent", "name": "Agent", "active": True})
            uow.commit()
            with pytest.raises(InputError) as missing:
                auth.create_staff(uow, "a1", "A", "store_staff", None)
            with pytest.raises(InputError) as wrong_kind:
                auth.create_staff(uow, "a2", "A", "store_staff", "AG-1")
            with pytest.raises(InputError) as unknown:
                auth.create_staff(uow, "a3", "A", "agent", "NOPE")
        assert [e.code for e in missing.value.errors] == ["required"]
        assert [e.code for e in wrong_kind.value.errors] == ["pos_kind_mismatch"]
        assert [e.code for e in unknown.value.errors] == ["unknown_point_of_sale"]

    def test_usernames_are_unique_and_roles_known(self, container):
        make_staff(container, "auditor")
        with container.uow() as uow:
            auth.create_staff(uow, "dup", "D", "auditor", None)
            with pytest.raises(InputError) as dup:
                auth.create_staff(uow, "dup", "D", "auditor", None)
            with pytest.raises(InputError) as role:
                auth.create_staff(uow, "x", "X", "root", None)
        assert dup.value.errors[0].code == "duplicate_username"
        assert role.value.errors[0].code == "invalid_choice"

    def test_a_chosen_password_follows_the_policy(self, container):
        with container.uow() as uow:
            with pytest.raises(InputError) as short:
                auth.create_staff(uow, "bob", "B", "auditor", None, "short")
            with pytest.raises(InputError) as same:
                auth.create_staff(uow, "bob.tran.12", "B", "auditor", None, "BOB.TRAN.12")
        assert short.value.errors[0].code == "password_too_short"
        assert same.value.errors[0].code == "password_same_as_username"


class TestSignIn:
    def test_a_right_password_opens_a_session_and_resets_the_failure_count(self, container):
        user, pw = make_staff(container, "agent")
        with pytest.raises(InvalidCredentialsError):
            login(container, user, "wrong password!")
        assert staff_row(container, user)["failed_logins"] == 1
        result = login(container, user, pw)
        row = staff_row(container, user)
        assert row["failed_logins"] == 0
        assert row["last_login_at"] is not None
        info = resolve(container, result.session.token)
        assert info.actor.role == Role.AGENT
        assert info.actor.pos_kind == "agent"
        assert info.actor.point_of_sale_id is not None

    def test_unknown_user_wrong_password_and_disabled_account_get_the_same_answer(self, container):
        user, pw = make_staff(container, "dpo")
        disabled, dpw = make_staff(container, "dpo")
        with container.uow() as uow:
            auth.disable_staff(uow, disabled)
        answers = []
        for username, password in (("nobody-0901234567", pw), (user, "not the password"), (disabled, dpw)):
            with pytest.raises(InvalidCredentialsError) as exc:
                login(container, username, password)
            answers.append((type(exc.value), exc.value.code, str(exc.value)))
        assert len(set(answers)) == 1
        assert answers[0][1] == "invalid_credentials"

    def test_every_attempt_is_recorded_but_an_unknown_username_is_not_stored(self, container):
        user, pw = make_staff(container, "auditor")
        login(container, user, pw)
        with pytest.raises(InvalidCredentialsError):
            login(container, user, "bad password 1")
        with pytest.raises(InvalidCredentialsError):
            login(container, "0901234567", "my secret password")
        attempts = sorted((a["username"], a["success"], a["reason"]) for a in rows(container, login_attempts))
        assert attempts == sorted([(user, True, "ok"), (user, False, "bad_password"), ("?", False, "unknown")])
        assert "0901234567" not in str(rows(container, login_attempts))

    def test_repeated_failures_lock_the_account_even_against_its_right_password(self, container):
        user, pw = make_staff(container, "store_staff")
        for i in range(POLICY.max_failures - 1):
            with pytest.raises(InvalidCredentialsError):
                login(container, user, f"wrong-{i}-password", now=T0 + timedelta(seconds=i))
        with pytest.raises(AccountLockedError):
            login(container, user, "one more wrong one", now=T0 + timedelta(minutes=1))
        with pytest.raises(AccountLockedError):
            login(container, user, pw, now=T0 + timedelta(minutes=15))
        # The lock ends after lockout_minutes; the right password then works.
        result = login(container, user, pw, now=T0 + timedelta(minutes=16, seconds=1))
        assert result.staff_id == staff_row(container, user)["id"]

    def test_one_address_guessing_across_accounts_is_held_back(self, container):
        policy = AuthPolicy(max_failures=3, max_source_failures=4, source_window_minutes=10)
        users = [make_staff(container, "store_staff") for _ in range(5)]
        # One wrong password on each of four accounts: no account reaches its own lockout ...
        for i, (user, _) in enumerate(users[:4]):
            with pytest.raises(InvalidCredentialsError):
                login(
                    container, user, "Spring2026!", policy=policy, source="203.0.113.7", now=T0 + timedelta(seconds=i)
                )
        # ... but the address has: refused before any password is checked, even a right one.
        user, pw = users[4]
        with pytest.raises(TooManyAttemptsError):
            login(container, user, pw, policy=policy, source="203.0.113.7", now=T0 + timedelta(minutes=1))
        # Another address is not held back, and the first one may try again once the window has passed.
        assert login(container, user, pw, policy=policy, source="198.51.100.2", now=T0 + timedelta(minutes=1))
        later = T0 + timedelta(minutes=12)
        assert login(container, user, pw, policy=policy, source="203.0.113.7", now=later)
        # The address is kept only as a keyed hash.
        stored = rows(container, login_attempts)
        assert {r.reason for r in stored} >= {"bad_password", "too_many_attempts", "ok"}
        assert all(r.source_hash is None or len(r.source_hash) == 16 for r in stored)
        assert b"203.0.113.7" not in b"".join(r.source_hash or b"" for r in stored)

    def test_a_hash_made_with_weaker_parameters_is_upgraded_at_sign_in(self, container):
        user, pw = make_staff(container, "auditor")
        weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(pw)
        with container.uow() as uow:
            uow.auth.update_staff(staff_row(container, user)["id"], {"password_hash": weak})
            uow.commit()
        login(container, user, pw)
        upgraded = staff_row(container, user)["password_hash"]
        assert upgraded != weak
        assert not PasswordHasher().check_needs_rehash(upgraded)

    def test_demo_data_hashes_are_accepted(self, container):
        with container.uow() as uow:
            uow.staff.add(
                {"username": "demo", "display_name": "Demo", "role": "auditor",
                 "password_hash": PasswordHasher().hash("demo-password-1"), "active": True}
            )  # fmt: skip
            uow.commit()
        assert login(container, "demo", "demo-password-1").role == "auditor"


class TestOneAddressForAWholeStore:
    """Many tablets of a store share one address behind a NAT: when that address is held back (too many
    failures, over any accounts), its staff who signed in from it lately still sign in; others wait."""

    STORE = "203.0.113.7"  # the store's public address
    POLICY = AuthPolicy(max_failures=3, max_source_failures=4, source_window_minutes=10, trusted_source_days=30)

    def _hold_back_the_store(self, container, at):
        """Four wrong passwords on four other accounts from the store's address: it must wait now."""
        for i in range(4):
            user, _ = make_staff(container, "store_staff")
            with pytest.raises(InvalidCredentialsError):
                self._login(container, user, "Spring2026!", at + timedelta(seconds=i))
        with pytest.raises(TooManyAttemptsError):
            self._login(container, "nobody-at-all", "Spring2026!", at + timedelta(seconds=5))

    def _login(self, container, user, password, at, source=STORE):
        return login(container, user, password, policy=self.POLICY, source=source, now=at)

    def test_an_account_that_signed_in_from_the_address_lately_still_signs_in(self, container):
        user, pw = make_staff(container, "store_staff")
        self._login(container, user, pw, T0 - timedelta(days=29))
        self._hold_back_the_store(container, T0)
        assert self._login(container, user, pw, T0 + timedelta(minutes=1)).role == "store_staff"

    def test_unknown_and_untrusted_accounts_from_the_address_still_wait(self, container):
        elsewhere, elsewhere_pw = make_staff(container, "store_staff")
        self._login(container, elsewhere, elsewhere_pw, T0 - timedelta(days=1), source="198.51.100.2")
        never, never_pw = make_staff(container, "store_staff")
        self._hold_back_the_store(container, T0)
        later = T0 + timedelta(minutes=1)
        # Right passwords, but these accounts never signed in from this address: held back all the same.
        for user, password in (("nobody-at-all", "Spring2026!"), (elsewhere, elsewhere_pw), (never, never_pw)):
            with pytest.raises(TooManyAttemptsError):
                self._login(container, user, password, later)
        # A failed attempt, even a refused one, is no sign-in: it earns no trust.
        with pytest.raises(TooManyAttemptsError):
            self._login(container, never, never_pw, later + timedelta(seconds=1))

    def test_a_trusted_account_still_locks_on_its_own_wrong_passwords(self, container):
        user, pw = make_staff(container, "store_staff")
        self._login(container, user, pw, T0 - timedelta(days=2))
        self._hold_back_the_store(container, T0)
        later = T0 + timedelta(minutes=1)
        for i in range(self.POLICY.max_failures - 1):
            with pytest.raises(InvalidCredentialsError):
                self._login(container, user, f"wrong-{i}-password", later + timedelta(seconds=i))
        with pytest.raises(AccountLockedError):
            self._login(container, user, "one more wrong one", later + timedelta(seconds=10))
        with pytest.raises(AccountLockedError):
            self._login(container, user, pw, later + timedelta(minutes=1))
        # Its failures count for the address too: everyone else there keeps waiting.
        with pytest.raises(TooManyAttemptsError):
            self._login(container, "nobody-at-all", "Spring2026!", later + timedelta(minutes=2))

    def test_trust_ends_after_the_window(self, container):
        user, pw = make_staff(container, "store_staff")
        self._login(container, user, pw, T0 - timedelta(days=30, minutes=1))
        self._hold_back_the_store(container, T0)
        with pytest.raises(TooManyAttemptsError):
            self._login(container, user, pw, T0 + timedelta(minutes=1))
        # Once the address's window has passed, the account signs in again, and is trusted from then on.
        self._login(container, user, pw, T0 + timedelta(minutes=11))
        self._hold_back_the_store(container, T0 + timedelta(minutes=20))
        assert self._login(container, user, pw, T0 + timedelta(minutes=21))

    def test_the_exception_can_be_turned_off(self, container):
        user, pw = make_staff(container, "store_staff")
        self._login(container, user, pw, T0 - timedelta(days=1))
        self._hold_back_the_store(container, T0)
        strict = dataclasses.replace(self.POLICY, trusted_source_days=0)
        with pytest.raises(TooManyAttemptsError):
            login(container, user, pw, policy=strict, source=self.STORE, now=T0 + timedelta(minutes=1))

    def test_the_question_is_one_probe_of_the_index_on_successes(self, container):
        if container.engine.dialect.name != "sqlite":
            pytest.skip("the plan is read on SQLite; PostgreSQL has the same partial index (migration 0008)")
        from subreg.adapters.db.access_repo import _SIGNED_IN_FROM

        statement = _SIGNED_IN_FROM.compile(container.engine)
        values = statement.construct_params({"staff_id": 1, "source_hash": b"\0" * 16, "since": "2026-03-02"})
        params = tuple(values[name] for name in statement.positiontup)
        with container.engine.connect() as c:
            plan = c.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
        assert "USING INDEX ix_login_attempts_signed_in" in str(plan)


class TestSessions:
    def test_only_hashes_of_the_tokens_are_stored(self, container):
        user, pw = make_staff(container, "auditor")
        web = login(container, user, pw, kind="web").session
        assert web.csrf_token
        stored = str(rows(container, auth_sessions))
        for secret in (web.token, web.csrf_token):
            assert secret not in stored
            assert secret.encode() not in b"".join(bytes(r["token_hash"]) + bytes(r["csrf_hash"] or b"")
                                                   for r in rows(container, auth_sessions))  # fmt: skip
        assert resolve(container, web.token).csrf_ok(web.csrf_token)
        assert not resolve(container, web.token).csrf_ok("forged")

    def test_a_token_expires(self, container):
        user, pw = make_staff(container, "auditor")
        token = login(container, user, pw).session.token
        assert resolve(container, token, now=T0 + timedelta(minutes=59)) is not None
        assert resolve(container, token, now=T0 + timedelta(minutes=60)) is None

    def test_logout_revokes_and_a_disabled_account_loses_its_sessions(self, container):
        user, pw = make_staff(container, "auditor")
        first = login(container, user, pw).session.token
        second = login(container, user, pw).session.token
        with container.uow() as uow:
            assert auth.logout(uow, first, now=T0) is True
            assert auth.logout(uow, first, now=T0) is False
        assert resolve(container, first) is None
        assert resolve(container, second) is not None
        with container.uow() as uow:
            auth.disable_staff(uow, user)
        assert resolve(container, second) is None

    def test_a_token_is_only_valid_for_its_kind_and_garbage_resolves_to_nobody(self, container):
        user, pw = make_staff(container, "auditor")
        api = login(container, user, pw, kind="api").session.token
        assert resolve(container, api, kind="web") is None
        assert resolve(container, api, kind="api") is not None
        for junk in (None, "", "x" * 5000, "not-a-token"):
            assert resolve(container, junk) is None

    def test_issue_session_makes_a_token_without_a_password(self, container):
        user, _ = make_staff(container, "compliance_officer")
        staff_id = staff_row(container, user)["id"]
        with container.uow() as uow:
            issued = auth.issue_session(uow, staff_id, kind="api", policy=POLICY, now=T0)
            assert auth.resolve(uow, issued.token, now=T0).role == Role.COMPLIANCE_OFFICER
            with pytest.raises(NotFoundError):
                auth.issue_session(uow, 999_999)


class TestPasswords:
    def test_change_needs_the_old_password_and_ends_other_sessions(self, container):
        user, pw = make_staff(container, "dpo")
        here = login(container, user, pw).session
        elsewhere = login(container, user, pw).session
        staff_id = staff_row(container, user)["id"]
        with container.uow() as uow:
            with pytest.raises(InputError) as wrong:
                auth.change_password(uow, staff_id, "not it at all", "a brand new password")
            with pytest.raises(InputError) as short:
                auth.change_password(uow, staff_id, pw, "short")
            with pytest.raises(InputError) as same_user:
                auth.change_password(uow, staff_id, pw, user.upper())
            with pytest.raises(InputError) as unchanged:
                auth.change_password(uow, staff_id, pw, pw)
            auth.change_password(uow, staff_id, pw, "a brand new password", keep_session=here.session_id)
        assert wrong.value.errors[0].code == "wrong_password"
        assert short.value.errors[0].code == "password_too_short"
        assert same_user.value.errors[0].code in ("password_same_as_username", "password_too_short")
        assert unchanged.value.errors[0].code == "password_unchanged"
        assert resolve(container, here.token) is not None
        assert resolve(container, elsewhere.token) is None
        with pytest.raises(InvalidCredentialsError):
            login(container, user, pw)
        assert login(container, user, "a brand new password").must_change_password is False

    def test_admin_reset_unlocks_forces_a_change_and_ends_sessions(self, container):
        user, pw = make_staff(container, "agent")
        token = login(container, user, pw).session.token
        for i in range(POLICY.max_failures):
            with pytest.raises((InvalidCredentialsError, AccountLockedError)):
                login(container, user, f"wrong-{i}-password")
        with container.uow() as uow:
            new = auth.admin_reset_password(uow, user, now=T0)
            with pytest.raises(NotFoundError):
                auth.admin_reset_password(uow, "nobody")
        assert resolve(container, token) is None
        result = login(container, user, new)
        assert result.must_change_password is True
        assert resolve(container, result.session.token).must_change_password is True


class TestTotp:
    def _enrolled(self, container, role="admin"):
        user, pw = make_staff(container, role)
        session = login(container, user, pw).session
        staff_id = staff_row(container, user)["id"]
        with container.uow() as uow:
            uri = auth.enroll_totp(uow, staff_id, vault=container.vault)
            auth.confirm_totp(
                uow, staff_id, code_at(uri, T0), vault=container.vault, session_id=session.session_id, now=T0
            )
        return user, pw, uri, session

    def test_enrolment_is_pending_until_a_code_confirms_it(self, container):
        user, pw = make_staff(container, "admin")
        staff_id = staff_row(container, user)["id"]
        with container.uow() as uow:
            with pytest.raises(InputError) as none:
                auth.confirm_totp(uow, staff_id, "123456", vault=container.vault, now=T0)
            uri = auth.enroll_totp(uow, staff_id, vault=container.vault)
            with pytest.raises(InputError) as bad:
                auth.confirm_totp(uow, staff_id, "000000", vault=container.vault, now=T0)
        assert none.value.errors[0].code == "totp_not_enrolled"
        assert bad.value.errors[0].code == "invalid_totp"
        assert uri.startswith("otpauth://totp/")
        assert login(container, user, pw).second_factor is False  # pending: no code asked yet

    def test_once_confirmed_sign_in_needs_a_fresh_code(self, container):
        user, pw, uri, session = self._enrolled(container)
        assert resolve(container, session.token).second_factor is True
        later = T0 + timedelta(minutes=5)
        with pytest.raises(TotpRequiredError):
            login(container, user, pw, now=later)
        with pytest.raises(InvalidCredentialsError):
            login(container, user, pw, "000000", now=later)
        code = code_at(uri, later)
        assert login(container, user, pw, code, now=later).second_factor is True
        with pytest.raises(InvalidCredentialsError):  # the same code cannot be replayed
            login(container, user, pw, code, now=later)

    def test_the_secret_is_stored_sealed_and_bound_to_its_account(self, container):
        user, _, uri, _ = self._enrolled(container)
        b32 = parse_qs(urlparse(uri).query)["secret"][0]
        secret = base64.b32decode(b32 + "=" * (-len(b32) % 8))
        blob = bytes(staff_row(container, user)["totp_secret"])
        assert secret not in blob
        assert secret.hex().encode() not in blob
        assert b32.encode() not in blob
        # Copied onto another account, the sealed secret does not open (AAD staff-totp:<id>).
        other, other_pw = make_staff(container, "admin")
        with container.uow() as uow:
            uow.auth.update_staff(staff_row(container, other)["id"], {"totp_secret": blob})
            uow.commit()
        with pytest.raises(Exception, match=r"(?i)crypto|decrypt|tag|invalid"):
            login(container, other, other_pw)


class TestStaffCli:
    """`subreg staff ...` through Typer's runner on a temporary embedded database."""

    @pytest.fixture
    def runner(self, tmp_path, monkeypatch):
        from typer.testing import CliRunner

        monkeypatch.setenv("SUBREG_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("SUBREG_ENV", "test")
        monkeypatch.chdir(tmp_path)
        return CliRunner()

    @staticmethod
    def _container(tmp_path):
        from subreg.bootstrap import bootstrap
        from subreg.config import Settings

        return bootstrap(Settings(env="test", var_dir=tmp_path / "var"))

    def _seed_pos(self, runner, tmp_path):
        from subreg.cli.main import app

        assert runner.invoke(app, ["init"]).exit_code == 0
        container = self._container(tmp_path)
        with container.uow() as uow:
            uow.points_of_sale.add({"code": "HN-HK-01", "kind": "store", "name": "Store", "active": True})
            uow.commit()
        container.close()

    def test_add_prints_a_password_once_that_signs_in(self, runner, tmp_path):
        from subreg.cli.main import app

        self._seed_pos(runner, tmp_path)
        result = runner.invoke(app, ["staff", "add", "lan.nguyen", "--role", "store_staff", "--pos", "HN-HK-01",
                                     "--name", "Nguyễn Thị Lan"])  # fmt: skip
        assert result.exit_code == 0, result.output
        password = result.stdout.strip().split()[-1]
        container = self._container(tmp_path)
        try:
            with container.uow() as uow:
                signed_in = auth.authenticate(uow, "lan.nguyen", password, vault=container.vault)
            assert signed_in.must_change_password is True
        finally:
            container.close()
        listing = runner.invoke(app, ["staff", "list", "--json"])
        assert listing.exit_code == 0
        accounts = [orjson.loads(line) for line in listing.stdout.splitlines()]
        assert [(a["username"], a["role"], a["pos_code"], a["active"]) for a in accounts] == [
            ("lan.nguyen", "store_staff", "HN-HK-01", True)
        ]
        table = runner.invoke(app, ["staff", "list"])
        assert table.exit_code == 0
        assert "Staff" in table.stdout
        for output in (listing.stdout, table.stdout):
            assert password not in output
            assert "argon2" not in output

    def test_bad_input_exits_2_with_the_code(self, runner, tmp_path):
        from subreg.cli.main import app

        self._seed_pos(runner, tmp_path)
        unknown_pos = runner.invoke(app, ["staff", "add", "x.y", "--role", "agent", "--pos", "NOPE"])
        assert unknown_pos.exit_code == 2
        assert "unknown_point_of_sale" in unknown_pos.output
        bad_role = runner.invoke(app, ["staff", "add", "x.y", "--role", "root"])
        assert bad_role.exit_code == 2
        assert runner.invoke(app, ["staff", "disable", "nobody"]).exit_code == 2

    def test_disable_and_reset_password(self, runner, tmp_path):
        from subreg.cli.main import app

        self._seed_pos(runner, tmp_path)
        first = runner.invoke(app, ["staff", "add", "an.tran", "--role", "auditor"]).stdout.strip().split()[-1]
        reset = runner.invoke(app, ["staff", "reset-password", "an.tran"])
        assert reset.exit_code == 0
        second = reset.stdout.strip().split()[-1]
        assert second != first
        container = self._container(tmp_path)
        try:
            with container.uow() as uow:
                with pytest.raises(InvalidCredentialsError):
                    auth.authenticate(uow, "an.tran", first, vault=container.vault)
                assert auth.authenticate(uow, "an.tran", second, vault=container.vault).role == "auditor"
            assert runner.invoke(app, ["staff", "disable", "an.tran"]).exit_code == 0
            with container.uow() as uow, pytest.raises(InvalidCredentialsError):
                auth.authenticate(uow, "an.tran", second, vault=container.vault)
        finally:
            container.close()

    @pytest.mark.parametrize("command", ["add", "list", "disable", "reset-password"])
    def test_every_command_has_an_example_in_its_help(self, runner, command):
        from subreg.cli.main import app

        result = runner.invoke(app, ["staff", command, "--help"])
        assert result.exit_code == 0
        assert "Example: subreg staff" in result.stdout


class TestAuditTrail:
    def test_sign_ins_sign_outs_and_account_changes_are_audited_without_typed_usernames(self, container):
        user, pw = make_staff(container, "agent")
        staff_id = staff_row(container, user)["id"]
        token = login(container, user, pw).session.token
        with pytest.raises(InvalidCredentialsError):
            login(container, "0987654321", "a guessed password")
        with pytest.raises(InvalidCredentialsError):
            login(container, user, "a guessed password")
        with container.uow() as uow:
            auth.logout(uow, token, now=T0)
            auth.disable_staff(uow, user, now=T0)
        with container.uow() as uow:
            entries = list(uow.audit.iter_entries())
        seen = [(e.action, e.subject, e.actor_staff_id) for e in entries]
        assert seen == [
            ("staff:created", f"staff:{staff_id}", None),
            ("auth:login", f"staff:{staff_id}", staff_id),
            ("auth:login_failed", None, None),
            ("auth:login_failed", f"staff:{staff_id}", None),
            ("auth:logout", f"staff:{staff_id}", staff_id),
            ("staff:updated", f"staff:{staff_id}", None),
        ]
        assert entries[2].details["reason"] == "unknown"
        assert entries[3].details["reason"] == "bad_password"
        text = repr(entries)
        assert "0987654321" not in text
        assert "a guessed password" not in text
        assert pw not in text
