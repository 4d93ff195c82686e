"""Sign-in over HTTP: API tokens, web sessions, cookies, CSRF, lockout, passwords, TOTP.

Runs on SQLite and PostgreSQL (the `settings` fixture follows `database_url`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings
from subreg.domain.access import totp as totp_codes
from subreg.services.access import create_staff
from tests.auth_helpers import bearer, make_staff, web_login

GATED_SELF = "/api/v1/auth/me"


@contextmanager
def app_client(settings: Settings, base_url: str = "http://testserver", **overrides: Any) -> Iterator[TestClient]:
    configured = settings.model_copy(update=overrides)
    init_storage(configured)
    with TestClient(create_app(configured), base_url=base_url, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    with app_client(settings, login_max_failures=3) as client:
        yield client


def set_cookies(response: Any) -> dict[str, Any]:
    jar: dict[str, Any] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        jar.update(cookie)
    return jar


def login(client: TestClient, username: str, password: str, **extra: Any) -> Any:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password, **extra})


def totp_now(uri: str) -> str:
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    return totp_codes.totp(base64.b32decode(secret + "=" * (-len(secret) % 8)), datetime.now(UTC))


class TestApiTokens:
    def test_a_token_from_login_identifies_the_caller(self, api):
        user, pw = make_staff(api, "agent")
        response = login(api, user, pw)
        assert response.status_code == 200
        body = response.json()
        assert body["role"] == "agent"
        assert body["must_change_password"] is False
        me = api.get(GATED_SELF, headers={"Authorization": f"Bearer {body['token']}"}).json()
        assert (me["username"], me["role"], me["point_of_sale"]["kind"]) == (user, "agent", "agent")
        assert "subscription:lookup_by_id" not in me["permissions"]

    def test_an_address_that_keeps_failing_gets_429_with_retry_after(self, settings):
        with app_client(settings, login_max_source_failures=3, login_source_window_minutes=5) as client:
            user, pw = make_staff(client, "agent")
            for _ in range(3):
                assert login(client, user, "not the password").status_code == 401
            held = login(client, user, pw)
            assert held.status_code == 429
            assert held.headers["retry-after"] == "300"
            assert held.json()["error"]["code"] == "too_many_attempts"
            csrf = set_cookies(client.get("/login"))["subreg_csrf"].value
            web = client.post("/login", data={"username": user, "password": pw, "csrf_token": csrf})
            assert web.status_code == 429
            assert "Quá nhiều lần đăng nhập sai" in web.text

    def test_staff_who_signed_in_from_a_held_back_address_lately_still_sign_in(self, settings):
        # One store behind one NAT: a colleague's mistyping (or an attacker) holds the address back,
        # but not the tablets whose accounts signed in from it lately.
        with app_client(settings, login_max_source_failures=3, login_source_window_minutes=5) as client:
            regular, regular_pw = make_staff(client, "store_staff")
            assert login(client, regular, regular_pw).status_code == 200
            newcomer, newcomer_pw = make_staff(client, "store_staff")
            for _ in range(3):
                assert login(client, "someone-else", "not the password").status_code == 401
            assert login(client, newcomer, newcomer_pw).status_code == 429
            assert login(client, regular, regular_pw).status_code == 200

    def test_wrong_password_and_unknown_user_get_byte_identical_answers(self, api):
        user, _ = make_staff(api, "auditor")
        wrong = login(api, user, "definitely not it")
        unknown = login(api, "0912345678", "definitely not it")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json()["error"]["code"] == "invalid_credentials"
        assert wrong.headers["www-authenticate"] == "Bearer"
        assert "0912345678" not in unknown.text

    def test_the_account_locks_after_repeated_failures(self, api):
        user, pw = make_staff(api, "store_staff")
        codes = [login(api, user, f"wrong password {i}").json()["error"]["code"] for i in range(3)]
        assert codes == ["invalid_credentials", "invalid_credentials", "account_locked"]
        locked = login(api, user, pw)
        assert locked.status_code == 401
        assert locked.json()["error"]["code"] == "account_locked"

    def test_no_token_a_garbage_token_and_a_revoked_token_are_all_unauthenticated(self, api):
        user, pw = make_staff(api, "dpo")
        headers = bearer(api, user, pw)
        assert api.get(GATED_SELF, headers=headers).status_code == 200
        assert api.post("/api/v1/auth/logout", headers=headers).status_code == 200
        for h in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic eDp5"}, headers):
            response = api.get(GATED_SELF, headers=h)
            assert response.status_code == 401, h
            assert response.json()["error"]["code"] == "unauthenticated"

    def test_a_token_expires(self, settings):
        with app_client(settings, session_minutes=0) as client:
            user, pw = make_staff(client, "auditor")
            headers = bearer(client, user, pw)
            assert client.get(GATED_SELF, headers=headers).status_code == 401

    def test_validation_errors_use_the_error_shape(self, api):
        response = api.post("/api/v1/auth/login", json={"username": ""})
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["error"]["errors"]} >= {"password"}


class TestWebSessions:
    def test_back_office_roles_land_on_the_home_page(self, api):
        user, pw = make_staff(api, "admin")
        page = api.get("/login")
        token = set_cookies(page)["subreg_csrf"].value
        response = api.post("/login", data={"username": user, "password": pw, "csrf_token": token},
                            follow_redirects=False)  # fmt: skip
        assert response.headers["location"] in ("/", "/totp", "/password")
        assert response.headers["location"] != "/pos"

    def test_sign_in_sets_strict_httponly_cookies(self, api):
        user, pw = make_staff(api, "agent")
        page = api.get("/login")
        pre = set_cookies(page)["subreg_csrf"]
        assert pre["samesite"].lower() == "strict"
        assert not pre["secure"]
        response = api.post(
            "/login", data={"username": user, "password": pw, "csrf_token": pre.value}, follow_redirects=False
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/pos"  # counter staff land on the point-of-sale page
        jar = set_cookies(response)
        session, csrf = jar["subreg_session"], jar["subreg_csrf"]
        assert session["httponly"] is True
        assert session["samesite"].lower() == "strict"
        assert session["path"] == "/"
        assert not csrf["httponly"]  # the page must read it to send it back
        assert csrf.value != pre.value  # replaced by the session's own token at sign-in

    def test_cookies_are_secure_when_configured(self, settings):
        with app_client(settings, base_url="https://testserver", cookie_secure=True) as client:
            user, pw = make_staff(client, "agent")
            page = client.get("/login")
            assert set_cookies(page)["subreg_csrf"]["secure"] is True
            csrf = set_cookies(page)["subreg_csrf"].value
            response = client.post(
                "/login", data={"username": user, "password": pw, "csrf_token": csrf}, follow_redirects=False
            )
            assert set_cookies(response)["subreg_session"]["secure"] is True

    def test_a_cookie_session_needs_its_csrf_token_for_changes(self, api):
        user, pw = make_staff(api, "auditor")
        csrf = web_login(api, user, pw)
        assert api.get(GATED_SELF).status_code == 200  # reads need no token
        refused = api.post("/api/v1/auth/logout")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_failed"
        forged = api.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "forged"})
        assert forged.json()["error"]["code"] == "csrf_failed"
        assert api.get(GATED_SELF).status_code == 200  # still signed in
        out = api.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.status_code == 303
        assert api.get(GATED_SELF).status_code == 401

    def test_the_csrf_header_works_for_scripts(self, api):
        user, pw = make_staff(api, "auditor")
        csrf = web_login(api, user, pw)
        assert api.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200

    def test_the_sign_in_form_refuses_a_post_without_its_token(self, api):
        user, pw = make_staff(api, "agent")
        api.get("/login")
        response = api.post("/login", data={"username": user, "password": pw, "csrf_token": "guess"})
        assert response.status_code == 403
        assert "subreg_session" not in set_cookies(response)

    def test_a_failed_web_sign_in_shows_a_generic_message_in_the_chosen_language(self, api):
        page = api.get("/login?lang=en")
        csrf = set_cookies(page)["subreg_csrf"].value
        response = api.post(
            "/login?lang=en", data={"username": "nobody", "password": "wrong password", "csrf_token": csrf}
        )
        assert response.status_code == 401
        assert "Wrong username or password" in response.text
        vi = api.post("/login", data={"username": "nobody", "password": "wrong password", "csrf_token": csrf})
        assert "Tên đăng nhập hoặc mật khẩu không đúng" in vi.text

    def test_pages_send_anonymous_visitors_to_sign_in_and_back_only_to_local_paths(self, api):
        response = api.get("/password", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/password"
        user, pw = make_staff(api, "agent")
        csrf = set_cookies(api.get("/login"))["subreg_csrf"].value
        # An unsafe target falls back to the start page: /pos for this counter role.
        cases = (("/password", "/password"), ("//evil.example/x", "/pos"), ("https://evil.example", "/pos"))
        for target, expected in cases:
            api.cookies.delete("subreg_session")
            response = api.post(
                "/login",
                data={"username": user, "password": pw, "csrf_token": csrf, "next": target},
                follow_redirects=False,
            )
            assert response.headers["location"] == expected
            csrf = set_cookies(response)["subreg_csrf"].value


class TestPasswords:
    def test_an_account_with_a_generated_password_must_change_it_first(self, api):
        container = api.app.state.container
        with container.uow() as uow:
            uow.points_of_sale.add({"code": "HN-1", "kind": "store", "name": "Store", "active": True})
            uow.commit()
            password = create_staff(uow, "lan.nguyen", "Lan", "store_staff", "HN-1")
        token = login(api, "lan.nguyen", password).json()
        assert token["must_change_password"] is True
        headers = {"Authorization": f"Bearer {token['token']}"}
        blocked = api.post("/api/v1/checks", headers=headers, json=[])
        assert blocked.status_code == 403
        assert blocked.json()["error"]["errors"][0]["code"] == "password_change_required"
        assert api.get(GATED_SELF, headers=headers).status_code == 200
        weak = api.post(
            "/api/v1/auth/password", headers=headers, json={"old_password": password, "new_password": "short"}
        )
        assert weak.status_code == 422
        assert weak.json()["error"]["errors"][0]["code"] == "password_too_short"
        changed = api.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"old_password": password, "new_password": "a long new passphrase"},
        )
        assert changed.status_code == 200
        assert api.post("/api/v1/checks", headers=headers, json=[]).status_code != 403
        assert login(api, "lan.nguyen", password).status_code == 401

    def test_the_web_form_changes_the_password(self, api):
        user, pw = make_staff(api, "agent")
        csrf = web_login(api, user, pw)
        bad = api.post(
            "/password", data={"old_password": "nope nope nope", "new_password": "x" * 12, "csrf_token": csrf}
        )
        assert bad.status_code == 422
        ok = api.post("/password", data={"old_password": pw, "new_password": "another long one", "csrf_token": csrf})
        assert ok.status_code == 200
        assert login(api, user, "another long one").status_code == 200


class TestTotp:
    def test_a_back_office_role_must_enrol_then_use_a_code(self, settings):
        with app_client(settings, totp_roles="admin,dpo") as client:
            user, pw = make_staff(client, "admin")
            headers = bearer(client, user, pw)
            me = client.get(GATED_SELF, headers=headers).json()
            assert me["totp_enrollment_required"] is True
            # Until enrolled the session reaches only its own account routes (here: the admin's staff routes).
            enroll = client.post("/api/v1/auth/totp/enroll", headers=headers)
            assert enroll.status_code == 200
            uri = enroll.json()["otpauth_uri"]
            assert uri.startswith("otpauth://totp/")
            bad = client.post("/api/v1/auth/totp/confirm", headers=headers, json={"code": "000000"})
            assert bad.status_code == 422
            assert bad.json()["error"]["errors"][0]["code"] == "invalid_totp"
            ok = client.post("/api/v1/auth/totp/confirm", headers=headers, json={"code": totp_now(uri)})
            assert ok.status_code == 200
            assert client.get(GATED_SELF, headers=headers).json()["second_factor"] is True
            no_code = login(client, user, pw)
            assert no_code.status_code == 401
            assert no_code.json()["error"]["code"] == "totp_required"

    def test_a_role_outside_the_totp_list_is_not_held_back(self, settings):
        with app_client(settings, totp_roles="admin") as client:
            user, pw = make_staff(client, "store_staff")
            headers = bearer(client, user, pw)
            assert client.get(GATED_SELF, headers=headers).json()["totp_enrollment_required"] is False
            assert client.post("/api/v1/checks", headers=headers, json=[]).status_code != 403

    def test_a_session_without_its_second_factor_is_held_to_its_own_account(self, settings):
        with app_client(settings, totp_roles="compliance_officer") as client:
            user, pw = make_staff(client, "compliance_officer")
            headers = bearer(client, user, pw)
            held = client.post("/api/v1/checks", headers=headers, json=[])
            assert held.status_code == 403
            assert held.json()["error"]["errors"][0]["code"] == "totp_enrollment_required"


class TestWebHolds:
    """A session that must change its password or set up TOTP is sent to that page first."""

    @staticmethod
    def _add_page(client: TestClient) -> None:
        from subreg.api.deps import requires
        from subreg.domain.access.permissions import Permission

        def page() -> dict[str, str]:
            return {"ok": "yes"}

        client.app.add_api_route("/test-page", page, methods=["GET"], dependencies=[requires(Permission.AUDIT_READ)])

    def test_a_generated_password_leads_to_the_password_page(self, api):
        self._add_page(api)
        container = api.app.state.container
        with container.uow() as uow:
            password = create_staff(uow, "kim.le.auditor", "Kim", "auditor", None)
        csrf = set_cookies(api.get("/login"))["subreg_csrf"].value
        signed_in = api.post(
            "/login",
            data={"username": "kim.le.auditor", "password": password, "csrf_token": csrf, "next": "/test-page"},
            follow_redirects=False,
        )
        assert signed_in.headers["location"] == "/password"
        held = api.get("/test-page", follow_redirects=False)
        assert held.status_code == 303
        assert held.headers["location"] == "/password"
        assert "Bạn cần đổi mật khẩu" in api.get("/password").text

    def test_a_back_office_account_sets_up_totp_on_the_web(self, settings):
        with app_client(settings, totp_roles="auditor") as client:
            self._add_page(client)
            user, pw = make_staff(client, "auditor")
            csrf = set_cookies(client.get("/login"))["subreg_csrf"].value
            signed_in = client.post(
                "/login", data={"username": user, "password": pw, "csrf_token": csrf}, follow_redirects=False
            )
            assert signed_in.headers["location"] == "/totp"
            csrf = set_cookies(signed_in)["subreg_csrf"].value
            assert client.get("/test-page", follow_redirects=False).headers["location"] == "/totp"
            started = client.post("/totp?lang=en", data={"csrf_token": csrf})
            assert started.status_code == 200
            assert started.headers["cache-control"] == "no-store"
            secret = started.text.split('<code id="totp-secret">')[1].split("<")[0]
            # The QR code on the page carries the same otpauth URI (decoded back from the image).
            png = started.text.split('id="totp-qr" src="data:image/png;base64,')[1].split('"')[0]
            (read,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(png))))
            assert read.text.startswith("otpauth://totp/")
            assert f"secret={secret}" in read.text
            code = totp_codes.totp(base64.b32decode(secret + "=" * (-len(secret) % 8)), datetime.now(UTC))
            wrong = client.post("/totp?lang=en", data={"csrf_token": csrf, "code": "000000"})
            assert wrong.status_code == 422
            done = client.post("/totp?lang=en", data={"csrf_token": csrf, "code": code})
            assert "Two-factor authentication is on." in done.text
            assert client.get("/test-page").json() == {"ok": "yes"}


class TestStaffAdministration:
    def test_an_admin_creates_lists_resets_and_disables_accounts(self, api):
        admin = bearer(api, *make_staff(api, "admin"))
        container = api.app.state.container
        with container.uow() as uow:
            uow.points_of_sale.add({"code": "AG-9", "kind": "agent", "name": "Agent", "active": True})
            uow.commit()
        created = api.post(
            "/api/v1/staff",
            headers=admin,
            json={"username": "dai.ly.9", "display_name": "Đại lý 9", "role": "agent", "pos_code": "AG-9"},
        )
        assert created.status_code == 201, created.text
        staff_id, password = created.json()["id"], created.json()["password"]
        listed = {a["username"]: a for a in api.get("/api/v1/staff", headers=admin).json()}
        assert listed["dai.ly.9"]["must_change_password"] is True
        assert "password" not in listed["dai.ly.9"]
        assert "argon2" not in str(listed)
        assert login(api, "dai.ly.9", password).status_code == 200
        reset = api.post(f"/api/v1/staff/{staff_id}/reset-password", headers=admin)
        assert reset.status_code == 200
        assert login(api, "dai.ly.9", password).status_code == 401
        assert login(api, "dai.ly.9", reset.json()["password"]).status_code == 200
        assert api.post(f"/api/v1/staff/{staff_id}/disable", headers=admin).status_code == 200
        assert login(api, "dai.ly.9", reset.json()["password"]).json()["error"]["code"] == "invalid_credentials"
        assert api.post("/api/v1/staff/999999/disable", headers=admin).status_code == 404

    def test_duplicate_and_mismatched_accounts_are_refused_with_field_codes(self, api):
        admin = bearer(api, *make_staff(api, "admin"))
        body = {"username": "kt.1", "display_name": "KT", "role": "auditor"}
        assert api.post("/api/v1/staff", headers=admin, json=body).status_code == 201
        dup = api.post("/api/v1/staff", headers=admin, json=body)
        assert dup.status_code == 422
        assert dup.json()["error"]["errors"][0]["code"] == "duplicate_username"
        no_pos = api.post("/api/v1/staff", headers=admin, json={**body, "username": "kt.2", "role": "store_staff"})
        assert no_pos.json()["error"]["errors"][0] == {
            "field": "pos",
            "code": "required",
            "message": no_pos.json()["error"]["errors"][0]["message"],
        }

    def test_only_admins_manage_staff(self, api):
        for role in ("store_staff", "dpo", "auditor", "compliance_officer"):
            headers = bearer(api, *make_staff(api, role))
            assert api.get("/api/v1/staff", headers=headers).status_code == 403


class TestDependencies:
    def test_purpose_comes_from_the_header_the_query_or_the_form(self, api):
        from fastapi import Depends

        from subreg.api.deps import actor, purpose, requires
        from subreg.domain.access.permissions import Permission

        def echo(p: str | None = Depends(purpose), who: Any = Depends(actor)) -> dict[str, Any]:
            return {"purpose": p, "staff_id": who.staff_id, "role": str(who.role)}

        api.app.add_api_route(
            "/api/v1/test-purpose", echo, methods=["GET", "POST"], dependencies=[requires(Permission.CHECKS_RUN)]
        )
        headers = bearer(api, *make_staff(api, "store_staff"))
        url = "/api/v1/test-purpose"
        assert api.get(url, headers={**headers, "X-Purpose": "transaction"}).json()["purpose"] == "transaction"
        assert api.get(f"{url}?purpose=update", headers=headers).json()["purpose"] == "update"
        assert api.post(url, headers=headers, data={"purpose": "registration"}).json()["purpose"] == "registration"
        assert api.get(url, headers=headers).json()["purpose"] is None
        assert api.get(url, headers=headers).json()["role"] == "store_staff"
        assert api.get(url).status_code == 401
