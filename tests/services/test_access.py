"""Staff identity on the fakes: accounts, sign-in with lockout and the per-address limit, TOTP, sessions, passwords."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.domain.access import totp as totp_codes
from subreg.domain.access.permissions import Role
from subreg.domain.common.errors import (
    AccountLockedError,
    ConflictError,
    InputError,
    InvalidCredentialsError,
    NotFoundError,
    TooManyAttemptsError,
    TotpRequiredError,
)
from subreg.services import access as auth
from subreg.services.access import AuthPolicy
from tests.fakes import Fakes

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
POLICY = AuthPolicy(session_minutes=60, max_failures=3, lockout_minutes=15)
PASSWORD = "correct horse battery staple"


def account(fakes: Fakes, username: str, role: str = "store_staff", *, password: str = PASSWORD) -> int:
    """An active account (a store of its kind when the role needs one) whose password needs no change; its id."""
    code = None
    if role in ("store_staff", "agent", "authorized_point"):
        code = f"POS-{role}"
        fakes.point_of_sale(code, "store" if role == "store_staff" else role)
    with fakes.uow() as uow:
        auth.create_staff(uow, username, username.title(), role, code, password, must_change_password=False, now=T0)
        row = uow.auth.staff_by_username(username)
    assert row is not None
    return row.id


def login(fakes: Fakes, username: str, password: str = PASSWORD, totp: str | None = None, **kw) -> auth.LoginResult:
    kw.setdefault("now", T0)
    kw.setdefault("policy", POLICY)
    with fakes.uow() as uow:
        return auth.authenticate(uow, username, password, totp, vault=fakes.vault, **kw)


def resolve(fakes: Fakes, token: str | None, *, now: datetime = T0, kind: str | None = None) -> auth.SessionInfo | None:
    with fakes.uow() as uow:
        return auth.resolve_session(uow, token, kind=kind, policy=POLICY, now=now)


def staff_row(fakes: Fakes, username: str) -> dict:
    (row,) = [r for r in fakes.rows("staff") if r["username"] == username]
    return row


def code_at(uri: str, at: datetime) -> str:
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    return totp_codes.totp(base64.b32decode(secret + "=" * (-len(secret) % 8)), at)


class TestCreateStaff:
    def test_a_generated_password_is_shown_once_works_and_must_be_changed(self, fakes):
        fakes.point_of_sale("HN-01", "store")
        with fakes.uow() as uow:
            password = auth.create_staff(uow, "lan", "Lan", "store_staff", "HN-01", now=T0)
        assert len(password) >= 16
        row = staff_row(fakes, "lan")
        assert password not in str(row)
        assert (row["must_change_password"], row["password_changed_at"]) == (True, T0)
        result = login(fakes, "lan", password)
        assert (result.must_change_password, result.role) == (True, "store_staff")
        (created, _) = fakes.rows("audit_log")
        assert (created["action"], created["subject"]) == ("staff:created", f"staff:{row['id']}")

    @pytest.mark.parametrize(
        ("role", "pos", "code"),
        [("store_staff", None, "required"), ("store_staff", "AG-1", "pos_kind_mismatch"),
         ("agent", "NOPE", "unknown_point_of_sale"), ("root", None, "invalid_choice")],
    )  # fmt: skip
    def test_counter_roles_need_a_point_of_sale_of_their_kind(self, fakes, role, pos, code):
        fakes.point_of_sale("AG-1", "agent")
        with fakes.uow() as uow, pytest.raises(InputError) as refused:
            auth.create_staff(uow, "a1", "A", role, pos)
        assert [e.code for e in refused.value.errors] == [code]
        assert fakes.rows("staff") == []

    def test_back_office_roles_need_no_point_of_sale_and_usernames_are_unique(self, fakes):
        with fakes.uow() as uow:
            auth.create_staff(uow, "dup", "D", "auditor", None)
            with pytest.raises(InputError) as dup:
                auth.create_staff(uow, "dup", "D", "dpo", None)
        assert dup.value.errors[0].code == "duplicate_username"
        assert [(r["username"], r["point_of_sale_id"]) for r in fakes.rows("staff")] == [("dup", None)]

    @settings(max_examples=40, deadline=None)
    @given(username=st.from_regex(r"[a-z][a-z0-9.]{0,15}", fullmatch=True), password=st.text(max_size=14))
    def test_a_chosen_password_is_accepted_when_long_enough_and_not_the_username(self, username, password):
        fakes = Fakes.build()
        acceptable = len(password) >= 10 and password.strip().casefold() != username.casefold()
        with fakes.uow() as uow:
            if acceptable:
                assert auth.create_staff(uow, username, "X", "auditor", None, password) == password
            else:
                with pytest.raises(InputError) as refused:
                    auth.create_staff(uow, username, "X", "auditor", None, password)
                assert refused.value.errors[0].code in ("password_too_short", "password_same_as_username")
        assert len(fakes.rows("staff")) == int(acceptable)


class TestSignIn:
    def test_a_right_password_opens_a_session_and_resets_the_failures(self, fakes):
        staff_id = account(fakes, "lan", "agent")
        with pytest.raises(InvalidCredentialsError):
            login(fakes, "lan", "wrong password!")
        assert staff_row(fakes, "lan")["failed_logins"] == 1
        result = login(fakes, "lan")
        row = staff_row(fakes, "lan")
        assert (row["failed_logins"], row["last_login_at"], result.staff_id) == (0, T0, staff_id)
        info = resolve(fakes, result.session.token)
        assert (info.actor.role, info.actor.pos_kind, info.actor.staff_id) == (Role.AGENT, "agent", staff_id)
        assert info.expires_at == T0 + timedelta(minutes=60)

    def test_unknown_user_wrong_password_and_disabled_account_get_one_answer(self, fakes):
        account(fakes, "lan", "dpo")
        account(fakes, "off", "dpo")
        with fakes.uow() as uow:
            auth.disable_staff(uow, "off", now=T0)
        answers = set()
        for username, password in (("nobody-0901234567", PASSWORD), ("lan", "not the password"), ("off", PASSWORD)):
            with pytest.raises(InvalidCredentialsError) as refused:
                login(fakes, username, password)
            answers.add((type(refused.value), refused.value.code, str(refused.value)))
        assert answers == {(InvalidCredentialsError, "invalid_credentials", "invalid_credentials")}
        attempts = [(a["username"], a["success"], a["reason"]) for a in fakes.rows("login_attempts")]
        assert attempts == [("?", False, "unknown"), ("lan", False, "bad_password"), ("off", False, "disabled")]
        assert "0901234567" not in str(fakes.rows("login_attempts")) + str(fakes.rows("audit_log"))

    @settings(max_examples=30, deadline=None)
    @given(attempts=st.lists(st.booleans(), max_size=10))
    def test_failures_in_a_row_lock_the_account_even_against_its_right_password(self, attempts):
        fakes = Fakes.build()
        account(fakes, "lan")
        failures, locked = 0, False
        for i, right in enumerate(attempts):
            at = T0 + timedelta(seconds=i)
            if locked:
                with pytest.raises(AccountLockedError):
                    login(fakes, "lan", PASSWORD if right else "wrong password", now=at)
            elif right:
                login(fakes, "lan", now=at)
                failures = 0
            else:
                failures += 1
                locked = failures >= POLICY.max_failures
                with pytest.raises(AccountLockedError if locked else InvalidCredentialsError):
                    login(fakes, "lan", "wrong password", now=at)
        assert (staff_row(fakes, "lan")["locked_until"] is not None) is locked
        if locked:  # the lock ends after lockout_minutes, and the right password works again
            login(fakes, "lan", now=T0 + timedelta(minutes=POLICY.lockout_minutes, seconds=len(attempts) + 1))

    def test_one_address_guessing_across_accounts_is_held_back(self, fakes):
        policy = AuthPolicy(max_failures=3, max_source_failures=4, source_window_minutes=10)
        for n in range(5):
            account(fakes, f"user{n}")
        for n in range(4):  # one wrong password on each of four accounts: none reaches its own lockout
            with pytest.raises(InvalidCredentialsError):
                login(fakes, f"user{n}", "Spring2026!", policy=policy, source="203.0.113.7", now=T0)
        later = T0 + timedelta(minutes=1)
        with pytest.raises(TooManyAttemptsError):  # refused before the password is looked at, even a right one
            login(fakes, "user4", policy=policy, source="203.0.113.7", now=later)
        assert login(fakes, "user4", policy=policy, source="198.51.100.2", now=later)
        assert login(fakes, "user4", policy=policy, source="203.0.113.7", now=T0 + timedelta(minutes=12))
        hashes = {r["source_hash"] for r in fakes.rows("login_attempts")}
        assert all(h is not None and len(h) == 16 and b"203.0.113.7" not in h for h in hashes)
        assert len(hashes) == 2

    def test_behind_a_held_back_address_an_account_that_signed_in_from_it_lately_still_signs_in(self, fakes):
        policy = AuthPolicy(max_failures=3, max_source_failures=4, source_window_minutes=10, trusted_source_days=30)
        store = "203.0.113.7"  # one address for a whole store's tablets (a NAT)
        for n in range(4):
            account(fakes, f"user{n}")
        account(fakes, "regular")
        account(fakes, "newcomer")
        login(fakes, "regular", policy=policy, source=store, now=T0 - timedelta(days=29))
        login(fakes, "newcomer", policy=policy, source="198.51.100.2", now=T0 - timedelta(days=1))
        for n in range(4):
            with pytest.raises(InvalidCredentialsError):
                login(fakes, f"user{n}", "Spring2026!", policy=policy, source=store, now=T0)
        later = T0 + timedelta(minutes=1)
        assert login(fakes, "regular", policy=policy, source=store, now=later)
        with pytest.raises(TooManyAttemptsError):  # never signed in from this address
            login(fakes, "newcomer", policy=policy, source=store, now=later)
        strict = AuthPolicy(max_failures=3, max_source_failures=4, source_window_minutes=10, trusted_source_days=0)
        with pytest.raises(TooManyAttemptsError):  # the exception turned off
            login(fakes, "regular", policy=strict, source=store, now=later)

    def test_a_hash_made_with_other_parameters_is_replaced_at_sign_in(self, fakes, cheap_password_hashing):
        staff_id = account(fakes, "lan", "auditor")
        other = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1).hash(PASSWORD)
        with fakes.uow() as uow:
            uow.auth.update_staff(staff_id, {"password_hash": other})
            uow.commit()
        login(fakes, "lan")
        upgraded = staff_row(fakes, "lan")["password_hash"]
        assert upgraded != other
        assert not cheap_password_hashing.check_needs_rehash(upgraded)


class TestTotp:
    def enrolled(self, fakes: Fakes) -> tuple[str, auth.IssuedSession]:
        staff_id = account(fakes, "root", "admin")
        session = login(fakes, "root").session
        with fakes.uow() as uow:
            uri = auth.enroll_totp(uow, staff_id, vault=fakes.vault)
            auth.confirm_totp(uow, staff_id, code_at(uri, T0), vault=fakes.vault, session_id=session.session_id, now=T0)
        return uri, session

    def test_enrolment_stays_pending_until_a_code_confirms_it(self, fakes):
        staff_id = account(fakes, "root", "admin")
        with fakes.uow() as uow:
            with pytest.raises(InputError) as none:
                auth.confirm_totp(uow, staff_id, "123456", vault=fakes.vault, now=T0)
            uri = auth.enroll_totp(uow, staff_id, vault=fakes.vault)
            with pytest.raises(InputError) as bad:
                auth.confirm_totp(uow, staff_id, "000000", vault=fakes.vault, now=T0)
        assert (none.value.errors[0].code, bad.value.errors[0].code) == ("totp_not_enrolled", "invalid_totp")
        assert uri.startswith("otpauth://totp/")
        assert login(fakes, "root").second_factor is False  # pending: no code asked yet

    def test_once_confirmed_sign_in_needs_a_fresh_code_that_cannot_be_replayed(self, fakes):
        uri, session = self.enrolled(fakes)
        assert resolve(fakes, session.token).second_factor is True
        later = T0 + timedelta(minutes=5)
        with pytest.raises(TotpRequiredError):
            login(fakes, "root", now=later)
        with pytest.raises(InvalidCredentialsError):
            login(fakes, "root", totp="000000", now=later)
        code = code_at(uri, later)
        assert login(fakes, "root", totp=code, now=later).second_factor is True
        with pytest.raises(InvalidCredentialsError):
            login(fakes, "root", totp=code, now=later)
        reasons = [a["reason"] for a in fakes.rows("login_attempts")]
        assert reasons[-4:] == ["totp_required", "bad_totp", "ok", "bad_totp"]

    def test_the_secret_is_sealed_and_bound_to_its_account(self, fakes):
        uri, _ = self.enrolled(fakes)
        b32 = parse_qs(urlparse(uri).query)["secret"][0]
        secret = base64.b32decode(b32 + "=" * (-len(b32) % 8))
        sealed = staff_row(fakes, "root")["totp_secret"]
        assert secret not in sealed
        assert secret.hex().encode() not in sealed
        other = account(fakes, "other", "admin")
        with fakes.uow() as uow:
            uow.auth.update_staff(other, {"totp_secret": sealed})
            uow.commit()
        with pytest.raises(Exception, match=r"(?i)crypto|decrypt"):
            login(fakes, "other")

    def test_a_role_that_must_use_totp_is_told_to_enrol(self, fakes):
        account(fakes, "root", "admin")
        token = login(fakes, "root").session.token
        with fakes.uow() as uow:
            info = auth.resolve_session(uow, token, policy=AuthPolicy(totp_roles=frozenset({"admin"})), now=T0)
        assert info.totp_enrollment_required is True


class TestSessions:
    def test_only_hashes_of_the_tokens_are_stored_and_the_csrf_token_is_checked(self, fakes):
        account(fakes, "lan", "auditor")
        web = login(fakes, "lan", kind="web").session
        stored = str(fakes.rows("auth_sessions"))
        assert web.token not in stored
        assert web.csrf_token not in stored
        info = resolve(fakes, web.token)
        assert info.csrf_ok(web.csrf_token)
        assert not info.csrf_ok("forged")
        assert not info.csrf_ok(None)

    def test_a_token_expires_and_is_valid_for_its_kind_only(self, fakes):
        account(fakes, "lan", "auditor")
        token = login(fakes, "lan").session.token
        assert resolve(fakes, token, now=T0 + timedelta(minutes=59)) is not None
        assert resolve(fakes, token, now=T0 + timedelta(minutes=60)) is None
        assert resolve(fakes, token, kind="web") is None
        assert resolve(fakes, token, kind="api") is not None

    @settings(max_examples=30, deadline=None)
    @given(junk=st.one_of(st.none(), st.text(max_size=300)))
    def test_anything_but_a_live_token_resolves_to_nobody(self, junk):
        fakes = Fakes.build()
        with fakes.uow() as uow:
            assert auth.resolve(uow, junk, now=T0) is None

    def test_seen_at_is_written_at_most_every_five_minutes(self, fakes):
        account(fakes, "lan", "auditor")
        token = login(fakes, "lan").session.token

        def last_seen() -> datetime:
            return fakes.rows("auth_sessions")[0]["last_seen_at"]

        resolve(fakes, token, now=T0 + timedelta(minutes=4))
        assert last_seen() == T0
        resolve(fakes, token, now=T0 + timedelta(minutes=5))
        assert last_seen() == T0 + timedelta(minutes=5)

    def test_logout_revokes_and_a_disabled_account_loses_every_session(self, fakes):
        account(fakes, "lan", "auditor")
        first, second = login(fakes, "lan").session.token, login(fakes, "lan").session.token
        with fakes.uow() as uow:
            assert auth.logout(uow, first, now=T0) is True
            assert auth.logout(uow, first, now=T0) is False
        assert resolve(fakes, first) is None
        assert resolve(fakes, second) is not None
        with fakes.uow() as uow:
            auth.disable_staff(uow, "lan", now=T0)
        assert resolve(fakes, second) is None
        assert [r["action"] for r in fakes.rows("audit_log")][-2:] == ["auth:logout", "staff:updated"]

    def test_issue_session_makes_a_token_without_a_password(self, fakes):
        staff_id = account(fakes, "co", "compliance_officer")
        with fakes.uow() as uow:
            issued = auth.issue_session(uow, staff_id, kind="api", policy=POLICY, now=T0)
            assert auth.resolve(uow, issued.token, now=T0).role == Role.COMPLIANCE_OFFICER
            with pytest.raises(NotFoundError):
                auth.issue_session(uow, staff_id + 1000)


class TestPasswords:
    def test_a_change_needs_the_old_password_and_ends_the_other_sessions(self, fakes):
        staff_id = account(fakes, "lan", "dpo")
        here, elsewhere = login(fakes, "lan").session, login(fakes, "lan").session
        new = "a brand new password"
        with fakes.uow() as uow:
            refusals = [
                ("not it at all", new, "wrong_password"), (PASSWORD, "short", "password_too_short"),
                (PASSWORD, "LAN", "password_too_short"), (PASSWORD, PASSWORD, "password_unchanged"),
            ]  # fmt: skip
            for old, proposed, code in refusals:
                with pytest.raises(InputError) as refused:
                    auth.change_password(uow, staff_id, old, proposed)
                assert refused.value.errors[0].code == code
            auth.change_password(uow, staff_id, PASSWORD, new, keep_session=here.session_id, now=T0)
        assert resolve(fakes, here.token) is not None
        assert resolve(fakes, elsewhere.token) is None
        with pytest.raises(InvalidCredentialsError):
            login(fakes, "lan")
        assert login(fakes, "lan", new).must_change_password is False

    def test_a_change_racing_a_reset_is_refused(self, fakes, monkeypatch):
        staff_id = account(fakes, "lan", "dpo")
        from subreg.services.access import accounts

        original = accounts.check_password_policy

        def reset_meanwhile(*args, **kwargs):  # another administrator resets between the reads and the write
            with fakes.uow() as other:
                auth.admin_reset_password(other, staff_id, now=T0)
            return original(*args, **kwargs)

        monkeypatch.setattr(accounts, "check_password_policy", reset_meanwhile)
        with fakes.uow() as uow, pytest.raises(ConflictError):
            auth.change_password(uow, staff_id, PASSWORD, "a brand new password")

    def test_an_admin_reset_unlocks_forces_a_change_and_ends_the_sessions(self, fakes):
        account(fakes, "lan", "agent")
        token = login(fakes, "lan").session.token
        for i in range(POLICY.max_failures):
            with pytest.raises((InvalidCredentialsError, AccountLockedError)):
                login(fakes, "lan", f"wrong-{i}-password")
        with fakes.uow() as uow:
            new = auth.admin_reset_password(uow, "lan", now=T0)
            with pytest.raises(NotFoundError):
                auth.admin_reset_password(uow, "nobody")
        assert resolve(fakes, token) is None
        result = login(fakes, "lan", new)
        assert result.must_change_password is True
        assert resolve(fakes, result.session.token).must_change_password is True
        with fakes.uow() as uow:
            (listed,) = auth.list_staff(uow, now=T0)
        assert (listed.username, listed.locked, listed.must_change_password) == ("lan", False, True)
