"""Test helpers for signed-in requests: create an account, get a bearer token, sign in on the web.

Other test modules import these; keep the signatures stable.

    username, password = make_staff(container, "agent")               # point of sale created as needed
    headers = bearer(client, username, password)                      # {"Authorization": "Bearer ..."}
    csrf = web_login(client, username, password)                      # cookie set on `client`
    client.post("/logout", data={"csrf_token": csrf})
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from subreg.domain.access.permissions import POS_KIND_BY_ROLE
from subreg.services.access import create_staff

__all__ = ["bearer", "make_staff", "web_login"]

_SEQ = itertools.count(1)
_PASSWORD = "correct horse battery staple"
_CSRF_INPUT = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def _container_of(container_or_client: Any) -> Any:
    # Accept the container itself or a TestClient whose app holds one.
    app = getattr(container_or_client, "app", None)
    state = getattr(app, "state", None)
    return getattr(state, "container", None) or container_or_client


def make_staff(container: Any, role: str, pos_code: str | None = None, *, password: str = _PASSWORD) -> tuple[str, str]:
    """Create an active account of `role` (no password change pending); (username, password).

    Counter roles get a point of sale of their kind: `pos_code` when given (created if missing),
    else a new one. `container` may also be a TestClient.
    """
    container = _container_of(container)
    n = next(_SEQ)
    username = f"{role.replace('_', '-')}-{n}"
    kind = POS_KIND_BY_ROLE.get(role)  # type: ignore[call-overload]
    with container.uow() as uow:
        if kind is not None:
            pos_code = pos_code or f"T-{kind.upper()[:5]}-{n}"
            if uow.points_of_sale.get_by_code(pos_code) is None:
                uow.points_of_sale.add({"code": pos_code, "kind": kind, "name": f"Test {kind} {n}", "active": True})
                uow.commit()
        elif pos_code is not None and uow.points_of_sale.get_by_code(pos_code) is None:
            uow.points_of_sale.add({"code": pos_code, "kind": "store", "name": f"Test store {n}", "active": True})
            uow.commit()
        create_staff(uow, username, f"Test {role} {n}", role, pos_code, password, must_change_password=False)
    return username, password


def bearer(client: Any, username: str, password: str, totp: str | None = None) -> dict[str, str]:
    """Sign in through POST /api/v1/auth/login; the Authorization header for the token."""
    body: dict[str, Any] = {"username": username, "password": password}
    if totp is not None:
        body["totp"] = totp
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def web_login(client: Any, username: str, password: str) -> str:
    """Sign in through the /login form (the session cookie stays on `client`); the session's CSRF token.

    Send it back as the `csrf_token` form field or the `X-CSRF-Token` header on every POST.
    """
    page = client.get("/login")
    assert page.status_code == 200, page.text
    match = _CSRF_INPUT.search(page.text)
    assert match, "no csrf_token field on the sign-in form"
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    csrf = client.cookies.get("subreg_csrf")
    assert csrf, "no CSRF cookie after sign-in"
    return str(csrf)
