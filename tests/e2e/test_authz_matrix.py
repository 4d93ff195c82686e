"""The authorization matrix: every route of the app × no session and each role.

Deny by default, checked generically: routes added later are covered without touching this file.

- Every route (API and web) must declare a permission with `requires(...)`; only the documentation
  routes listed in `UNGATED` are exempt.
- No session on a non-public route: 401 `unauthenticated` (API) or a redirect to /login (web page).
- A role without the route's permission: 403 from the gate (`not_permitted` on that permission).
- A role with it: the gate lets it through. The route may still refuse the dummy input (404, 409,
  422, or a 403 from a finer purpose/scope decision), but never with the gate's answer, and never 5xx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from subreg.api.deps import PERMISSION_ATTR
from subreg.domain.access.permissions import (
    PERSONAL_DATA_PERMISSIONS,
    PUBLIC_PERMISSIONS,
    Permission,
    Role,
    allowed_purposes,
    can,
)
from subreg.services.access import issue_session
from tests.auth_helpers import make_staff

# The only routes without a permission: the OpenAPI document and its viewer (no data, no actions).
UNGATED = frozenset({"/api/v1/openapi.json", "/docs", "/docs/oauth2-redirect"})
GATE_CODES = frozenset({"not_permitted", "password_change_required", "totp_enrollment_required"})
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def _route_items(app: Any) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, route) for every route, through included routers (FastAPI >= 0.13x nests them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        for route in app.routes:
            yield getattr(route, "path", ""), set(getattr(route, "methods", None) or ()), route
        return
    for ctx in iter_route_contexts(app.routes):
        yield ctx.path or "", set(ctx.methods or ()), ctx


def _permissions(route: Any) -> set[str]:
    """Every permission declared on the route (route-level and router-level dependencies)."""
    found: set[str] = set()
    dependant = getattr(route, "dependant", None)
    stack = [dependant] if dependant is not None else []
    while stack:
        d = stack.pop()
        value = getattr(d.call, PERMISSION_ATTR, None)
        if value:
            found.add(value)
        stack.extend(d.dependencies)
    for dep in getattr(route, "dependencies", None) or ():
        value = getattr(dep.dependency, PERMISSION_ATTR, None)
        if value:
            found.add(value)
    return found


def _gated_routes(app: Any) -> list[tuple[str, str, frozenset[str]]]:
    routes = []
    for path, methods, route in _route_items(app):
        if path in UNGATED:
            continue
        for method in sorted(methods - {"HEAD", "OPTIONS"}) or ["GET"]:
            routes.append((method, path, frozenset(_permissions(route))))
    return routes


def _dummy_path(path: str) -> str:
    # A value naming no existing row: the matrix must not disable its own test accounts on the way.
    return _PARAM.sub("999999", path)


def _is_web(path: str) -> bool:
    return not path.startswith("/api/")


def _gate_codes(response: Any) -> set[str]:
    """The gate's reason codes in an error body (empty when the body is not the gate's)."""
    if response.status_code != 403:
        return set()
    try:
        body = response.json()
    except ValueError:  # an HTML error page: look for the codes in its text
        return {c for c in GATE_CODES if c in response.text}
    errors = body.get("error", {}).get("errors", []) if isinstance(body, dict) else []
    return {e.get("code") for e in errors} & GATE_CODES


def _send(client: Any, method: str, path: str, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return client.request(method, _dummy_path(path), **kwargs)


@pytest.fixture
def sessions(client: Any) -> Any:
    """A function giving a FRESH bearer header for a role (routes such as logout revoke the one used)."""
    container = client.app.state.container
    staff_ids: dict[Role, int] = {}
    for role in Role:
        username, _ = make_staff(container, role.value)
        with container.uow() as uow:
            staff_ids[role] = uow.auth.staff_by_username(username).id

    def header(role: Role) -> dict[str, str]:
        with container.uow() as uow:
            token = issue_session(uow, staff_ids[role], kind="api").token
        return {"Authorization": f"Bearer {token}"}

    return header


class TestEveryRouteIsGated:
    def test_the_walk_sees_the_routes_of_included_routers(self, client):
        paths = {path for _, path, _ in _gated_routes(client.app)}
        # Control: a walk that missed the included routers would pass the other tests vacuously.
        assert {"/api/v1/health", "/api/v1/auth/login", "/api/v1/auth/me", "/login", "/"} <= paths

    def test_documentation_routes_are_the_only_ungated_ones(self, client):
        seen = {path for path, _, _ in _route_items(client.app)}
        assert seen >= UNGATED, "UNGATED lists a route that no longer exists: update the list"

    def test_every_route_declares_exactly_one_known_permission(self, client):
        undeclared = [f"{m} {p}" for m, p, perms in _gated_routes(client.app) if not perms]
        assert undeclared == [], f"routes without requires(...): {undeclared}"
        known = {p.value for p in Permission}
        unknown = [f"{m} {p}: {perms}" for m, p, perms in _gated_routes(client.app) if not perms <= known]
        assert unknown == []


class TestMatrix:
    def test_no_session_reaches_only_public_routes(self, client):
        failures = []
        for method, path, perms in _gated_routes(client.app):
            response = _send(client, method, path, {})
            public = all(p in PUBLIC_PERMISSIONS for p in perms)
            if public:
                if response.status_code == 401 or _gate_codes(response) or response.status_code >= 500:
                    failures.append(f"{method} {path}: public but answered {response.status_code}")
            elif _is_web(path):
                location = response.headers.get("location", "")
                if not (response.status_code == 401 or (response.status_code == 303 and location.startswith("/login"))):
                    failures.append(f"{method} {path}: anonymous got {response.status_code}, not a sign-in")
            elif response.status_code != 401 or response.json()["error"]["code"] != "unauthenticated":
                failures.append(f"{method} {path}: anonymous got {response.status_code} {response.text[:120]}")
        assert failures == []

    def test_each_role_reaches_exactly_the_routes_its_permissions_allow(self, client, sessions):
        failures = []
        for method, path, perms in _gated_routes(client.app):
            for role in Role:
                allowed = all(can(role, p) for p in perms)
                response = _send(client, method, path, sessions(role))
                status = response.status_code
                if allowed:
                    if status == 401 or _gate_codes(response) or status >= 500:
                        failures.append(f"{role} {method} {path}: allowed but got {status} {response.text[:160]}")
                elif status != 403 or "not_permitted" not in _gate_codes(response):
                    failures.append(f"{role} {method} {path}: must be refused by the gate, got {status}")
                elif not _is_web(path):
                    body = response.json()["error"]
                    assert body["code"] == "permission_denied"
                    assert {e["field"] for e in body["errors"]} <= set(perms)
        assert failures == [], "\n".join(failures)


class TestPersonalData:
    def test_an_admin_cannot_reach_any_route_that_reads_personal_data(self, client, sessions):
        # The permissions that expose ID numbers, names, images: an admin holds none of them...
        assert not any(can(Role.ADMIN, p) for p in PERSONAL_DATA_PERMISSIONS)
        # ...and every route declaring one refuses an admin session (once such routes exist).
        personal = [(m, p) for m, p, perms in _gated_routes(client.app) if perms & PERSONAL_DATA_PERMISSIONS]
        for method, path in personal:
            response = _send(client, method, path, sessions(Role.ADMIN))
            assert response.status_code == 403, f"{method} {path}"
            assert "not_permitted" in _gate_codes(response)

    def test_a_regional_manager_reaches_the_reports_and_nothing_personal(self, client, sessions):
        # Aggregates of its provinces only: no permission on personal data, no purpose to declare...
        assert not any(can(Role.REGIONAL_MANAGER, p) for p in PERSONAL_DATA_PERMISSIONS)
        assert allowed_purposes(Role.REGIONAL_MANAGER, Permission.SUBSCRIPTION_READ) == frozenset()
        everyone = PUBLIC_PERMISSIONS | {Permission.SESSION_SELF}
        beyond = {(p, perms) for _m, p, perms in _gated_routes(client.app)
                  if perms and not perms <= everyone and all(can(Role.REGIONAL_MANAGER, x) for x in perms)}  # fmt: skip
        # ...and, beyond the public and session routes, only the reports (scoped to its provinces by the use cases).
        assert {perms for _p, perms in beyond} == {frozenset({Permission.REPORTS_READ.value})}
        assert {"/reports", "/reports/dashboard/{chart}.csv"} <= {p for p, _perms in beyond}
        personal = [(m, p) for m, p, perms in _gated_routes(client.app) if perms & PERSONAL_DATA_PERMISSIONS]
        for method, path in personal:
            response = _send(client, method, path, sessions(Role.REGIONAL_MANAGER))
            assert response.status_code == 403, f"{method} {path}"
            assert "not_permitted" in _gate_codes(response)

    def test_a_compliance_officer_cannot_view_images(self, client, sessions):
        assert not can(Role.COMPLIANCE_OFFICER, Permission.DOCUMENT_VIEW_IMAGE)
        images = [(m, p) for m, p, perms in _gated_routes(client.app) if Permission.DOCUMENT_VIEW_IMAGE in perms]
        for method, path in images:
            assert _send(client, method, path, sessions(Role.COMPLIANCE_OFFICER)).status_code == 403


def test_routes_listed_as_api_routes_are_not_skipped(client):
    # The walk must also see plain APIRoute objects (the shape older FastAPI versions expose).
    api_routes = [r for _, _, r in _route_items(client.app) if isinstance(getattr(r, "original_route", r), APIRoute)]
    assert len(api_routes) >= 5


def test_the_walk_flags_a_route_without_a_permission():
    # Control for the deny-by-default check: an undeclared route inside an included router is found.
    from fastapi import APIRouter, FastAPI

    from subreg.api.deps import requires

    router = APIRouter()

    @router.get("/declared", dependencies=[requires(Permission.AUDIT_READ)])
    def declared() -> None: ...

    @router.get("/forgotten")
    def forgotten() -> None: ...

    app = FastAPI()
    app.include_router(router, prefix="/api/v1/x")
    found = {path: perms for _, path, perms in _gated_routes(app)}
    assert found["/api/v1/x/declared"] == {"audit:read"}
    assert found["/api/v1/x/forgotten"] == frozenset()
