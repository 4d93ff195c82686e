"""Request-scoped dependencies: the container, the caller's language, the caller, the route's permission.

Deny by default. Every route declares `dependencies=[requires(Permission.X)]`; the dependency

1. finds the caller: `Authorization: Bearer <token>` (an API token) or the `subreg_session` cookie
   (a web session); an expired, revoked or unknown token counts as no caller;
2. refuses a cookie-authenticated unsafe request (POST, PUT, PATCH, DELETE) that does not carry the
   session's CSRF token (`X-CSRF-Token` header or `csrf_token` form field): 403 `csrf_failed`.
   Bearer tokens need none: a browser never attaches them to a cross-site request on its own;
3. answers 401 `unauthenticated` to an anonymous caller of a non-public permission (web pages are
   redirected to /login by `api.errors`), and 403 `permission_denied` with the error
   `{field: <permission>, code: "not_permitted"}` to a role that does not hold it;
4. holds a session that must change its password, or must set up TOTP, to `session:self` routes.

The caller is left on `request.state.actor` (None when anonymous) and `request.state.session`.
Finer decisions (purpose, point of sale, scope) are the services' job, with `domain.access.permissions.authorize`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from subreg.bootstrap import Container
from subreg.domain.access.permissions import PUBLIC_PERMISSIONS, Actor, Permission, can
from subreg.domain.common.errors import AuthenticationError, CsrfError, FieldError, PermissionDeniedError
from subreg.services.access.policy import AuthPolicy
from subreg.services.access.sessions import SessionInfo, resolve_session
from subreg.services.common.retry import retrying
from subreg.services.counter.context import CounterContext

__all__ = [
    "CSRF_FORM_FIELD",
    "CSRF_HEADER",
    "PERMISSION_ATTR",
    "SESSION_COOKIE",
    "actor",
    "auth_policy",
    "container",
    "counter_context",
    "current_actor",
    "current_session",
    "lang",
    "purpose",
    "requires",
    "run_use_case",
]

PERMISSION_ATTR = "__subreg_permission__"
SESSION_COOKIE = "subreg_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FORM_FIELD = "csrf_token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What a session that must first change its password (or set up TOTP) may still reach.
_SELF_ONLY = PUBLIC_PERMISSIONS | {Permission.SESSION_SELF}
T = TypeVar("T")


class _GateDeniedError(PermissionDeniedError):
    """403 from the route gate; `errors` says why (the body code stays `permission_denied`)."""

    def __init__(self, field: str, reason: str, *, web_redirect: str | None = None) -> None:
        super().__init__(reason, errors=[FieldError(field, reason)])
        self.web_redirect = web_redirect  # where a browser GET is sent instead (api.errors)


def container(request: Request) -> Container:
    """The application's container (built by create_app from settings)."""
    found: Container = request.app.state.container
    return found


def lang(request: Request) -> str:
    """Language of messages: `?lang=`, else Accept-Language, else the configured default."""
    explicit = request.query_params.get("lang")
    if explicit in ("vi", "en"):
        return explicit
    header = request.headers.get("accept-language", "").strip().lower()
    if header.startswith("en"):
        return "en"
    if header.startswith("vi"):
        return "vi"
    return str(request.app.state.settings.lang)


def auth_policy(request: Request) -> AuthPolicy:
    """The sign-in policy (session length, lockout, TOTP roles) from the app's settings."""
    policy: AuthPolicy | None = getattr(request.app.state, "auth_policy", None)
    if policy is None:
        policy = container(request).auth_policy()
        request.app.state.auth_policy = policy
    return policy


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """(token, kind) from the Authorization header (api) or the session cookie (web)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "api"
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie, "web"
    return None, None


def _resolve(request: Request, token: str, kind: str) -> SessionInfo | None:
    with container(request).uow() as uow:
        return resolve_session(uow, token, kind=kind, policy=auth_policy(request))


async def run_use_case(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """A blocking use case on the thread pool, run again while SQLite reports it busy (services.common.retry)."""
    return await run_in_threadpool(retrying, fn, *args, **kwargs)


async def current_session(request: Request) -> Any:
    """The caller's live session (`services.access.SessionInfo`), or None; resolved once per request."""
    if hasattr(request.state, "session"):
        return request.state.session
    token, kind = _credentials(request)
    session = await run_use_case(_resolve, request, token, kind) if token and kind else None
    request.state.session = session
    request.state.actor = session.actor if session is not None else None
    return session


async def current_actor(request: Request) -> Actor | None:
    """The signed-in caller, or None for an anonymous one."""
    session = await current_session(request)
    return None if session is None else session.actor  # type: ignore[no-any-return]


async def actor(request: Request) -> Actor:
    """The signed-in caller; 401 `unauthenticated` when there is none."""
    found = await current_actor(request)
    if found is None:
        raise AuthenticationError("unauthenticated")
    return found


async def _form_value(request: Request, name: str) -> str | None:
    if not request.headers.get("content-type", "").startswith(_FORM_TYPES):
        return None
    form = await request.form()  # Starlette caches the parsed form: the route reads the same one
    value = form.get(name)
    return value if isinstance(value, str) else None


async def purpose(request: Request) -> str | None:
    """The declared purpose: header `X-Purpose`, else query or form field `purpose` (a code, not personal data)."""
    value = request.headers.get("x-purpose") or request.query_params.get("purpose")
    if not value and request.method in _UNSAFE:
        value = await _form_value(request, "purpose")
    value = (value or "").strip()
    return value or None


async def _csrf_ok(request: Request, session: Any) -> bool:
    if session.kind != "web" or request.method not in _UNSAFE:
        return True
    token = request.headers.get(CSRF_HEADER) or await _form_value(request, CSRF_FORM_FIELD)
    return bool(session.csrf_ok(token))


def requires(permission: Permission | str) -> Any:
    """Declare, and enforce, the permission a route needs (see the module docstring).

    Every route must declare one: the authorization matrix test walks the app and fails otherwise.
    """
    perm = Permission(permission)

    async def _dependency(request: Request) -> None:
        request.state.permission = perm.value
        session = await current_session(request)
        if session is not None and not await _csrf_ok(request, session):
            if perm in PUBLIC_PERMISSIONS:
                # A public route (the sign-in form) still works; it just does not act as the session.
                request.state.session, request.state.actor, session = None, None, None
            else:
                raise CsrfError("csrf_failed")
        if perm in PUBLIC_PERMISSIONS:
            return
        if session is None:
            raise AuthenticationError("unauthenticated")
        if not can(session.actor.role, perm):
            raise _GateDeniedError(perm.value, "not_permitted")
        if perm not in _SELF_ONLY:
            if session.must_change_password:
                raise _GateDeniedError("password", "password_change_required", web_redirect="/password")
            if session.totp_enrollment_required:
                raise _GateDeniedError("totp", "totp_enrollment_required", web_redirect="/totp")

    dep: Callable[[Request], Awaitable[None]] = _dependency
    setattr(dep, PERMISSION_ATTR, perm.value)
    return Depends(dep)


def counter_context(request: Request, c: Container) -> CounterContext:
    """The point-of-sale context of a request (API routes and pages alike)."""
    return c.counter_context()
