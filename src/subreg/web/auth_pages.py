"""Web pages: sign in, sign out, change password (Vietnamese by default, `?lang=en` for English).

Cookies, and why:

- `subreg_session`: the session token. HttpOnly (scripts never see it), SameSite=Strict (no
  cross-site request carries it), Secure when `cookie_secure` (production, behind HTTPS), Path=/.
- `subreg_csrf`: the CSRF token, readable by the page so forms and scripts can send it back
  (`csrf_token` field or `X-CSRF-Token` header). Before sign-in it is a random value that the sign-in
  form must echo (double submit: a cross-site form cannot read it); at sign-in it is replaced by the
  session's own CSRF token, whose hash the session row keeps. Pages render it with `csrf_token(request)`.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import TemplateNotFound

from subreg.api.deps import SESSION_COOKIE, auth_policy, container, current_session, lang, requires, run_use_case
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Permission, can
from subreg.domain.common.errors import AuthenticationError, InputError, SubregError, TooManyAttemptsError
from subreg.domain.common.messages import message_for
from subreg.services import access as auth_service

__all__ = ["CSRF_COOKIE", "csrf_token", "router"]

router = APIRouter(include_in_schema=False)
_templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CSRF_COOKIE = "subreg_csrf"

_TEXT = {
    "vi": {
        "login_title": "Đăng nhập nhân viên",
        "username": "Tên đăng nhập",
        "password": "Mật khẩu",
        "totp": "Mã xác thực (nếu có)",
        "submit": "Đăng nhập",
        "password_title": "Đổi mật khẩu",
        "old_password": "Mật khẩu hiện tại",
        "new_password": "Mật khẩu mới (tối thiểu 10 ký tự)",
        "change": "Đổi mật khẩu",
        "must_change": "Bạn cần đổi mật khẩu trước khi tiếp tục.",
        "changed": "Đã đổi mật khẩu.",
        "logout": "Đăng xuất",
        "other": "English",
        "totp_title": "Xác thực hai lớp (TOTP)",
        "totp_required": "Vai trò của bạn cần xác thực hai lớp. Hãy thiết lập trước khi tiếp tục.",
        "totp_active": "Xác thực hai lớp đang bật cho tài khoản này.",
        "totp_start": "Thiết lập ứng dụng xác thực",
        "totp_scan": (
            "Quét mã QR (hoặc thêm khoá bên dưới) bằng ứng dụng xác thực (Google Authenticator, Aegis...), "
            "rồi nhập mã 6 số:"
        ),
        "totp_qr": "Mã QR để thêm tài khoản vào ứng dụng xác thực",
        "totp_code": "Mã 6 số",
        "totp_confirm": "Xác nhận",
        "totp_done": "Đã bật xác thực hai lớp.",
    },
    "en": {
        "login_title": "Staff sign-in",
        "username": "Username",
        "password": "Password",
        "totp": "One-time code (if set up)",
        "submit": "Sign in",
        "password_title": "Change password",
        "old_password": "Current password",
        "new_password": "New password (at least 10 characters)",
        "change": "Change password",
        "must_change": "You must change your password before continuing.",
        "changed": "Password changed.",
        "logout": "Sign out",
        "other": "Tiếng Việt",
        "totp_title": "Two-factor authentication (TOTP)",
        "totp_required": "Your role requires two-factor authentication. Set it up to continue.",
        "totp_active": "Two-factor authentication is on for this account.",
        "totp_start": "Set up an authenticator app",
        "totp_scan": (
            "Scan the QR code (or add the key below) with your authenticator app (Aegis, Google Authenticator...), "
            "then type its 6 digits:"
        ),
        "totp_qr": "QR code that adds the account to an authenticator app",
        "totp_code": "6-digit code",
        "totp_confirm": "Confirm",
        "totp_done": "Two-factor authentication is on.",
    },
}


def csrf_token(request: Request) -> str:
    """The CSRF token to put in a form's `csrf_token` field (the session's, or the pre-session one)."""
    return str(getattr(request.state, "new_csrf", None) or request.cookies.get(CSRF_COOKIE) or "")


def _layout() -> str:
    # The shared page layout when the web app has one; the small sign-in layout otherwise.
    try:
        _templates.env.get_template("base.html")
    except TemplateNotFound:
        return "auth_layout.html"
    return "base.html"


def _safe_next(value: str | None) -> str:
    # Only local paths: an open redirect would turn the sign-in page into a phishing helper.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _cookie_flags(request: Request) -> dict[str, Any]:
    return {"samesite": "strict", "secure": bool(request.app.state.settings.cookie_secure), "path": "/"}


def _render(request: Request, template: str, language: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    response = _templates.TemplateResponse(
        request,
        template,
        {
            "t": _TEXT[language],
            "lang": language,
            "other_lang": "en" if language == "vi" else "vi",
            "layout": _layout(),
            "csrf_token": csrf_token(request),
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _errors(exc: SubregError, language: str) -> list[str]:
    if isinstance(exc, InputError):
        return [message_for(e.code, e.field, language) for e in exc.errors]
    return [message_for(exc.code, "", language)]


@router.get("/login", response_class=HTMLResponse, dependencies=[requires(Permission.PUBLIC_LOGIN)])
async def login_form(request: Request, next: str | None = None, language: str = Depends(lang)) -> Response:
    """The sign-in form; sets a pre-session CSRF cookie when there is none."""
    if await current_session(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    fresh = None
    if not request.cookies.get(CSRF_COOKIE):
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf = fresh
    response = _render(request, "login.html", language, next=_safe_next(next), errors=[])
    if fresh:
        response.set_cookie(CSRF_COOKIE, fresh, httponly=False, **_cookie_flags(request))
    return response


@router.post("/login", response_class=HTMLResponse, dependencies=[requires(Permission.PUBLIC_LOGIN)])
async def login_submit(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=1024),
    totp: str = Form("", max_length=10),
    csrf_token_: str = Form("", alias="csrf_token", max_length=128),
    next: str = Form("/", max_length=512),
    language: str = Depends(lang),
    c: Container = Depends(container),
) -> Response:
    """Check the form; on success set the session cookies and go on (to /password when it must change)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not csrf_token_ or not hmac.compare_digest(cookie, csrf_token_):
        errors = [message_for("csrf_failed", "", language)]
        return _render(request, "login.html", language, status=403, next=_safe_next(next), errors=errors)
    policy = auth_policy(request)

    def run() -> auth_service.LoginResult:
        with c.uow() as uow:
            return auth_service.authenticate(
                uow, username, password, totp or None, kind="web", vault=c.vault, policy=policy,
                source=request.client.host if request.client else None,
            )  # fmt: skip

    try:
        result = await run_use_case(run)
    except AuthenticationError as exc:
        # The username is echoed back into the form for convenience, never logged.
        return _render(
            request, "login.html", language, status=429 if isinstance(exc, TooManyAttemptsError) else 401,
            next=_safe_next(next), errors=_errors(exc, language), username=username,
        )  # fmt: skip
    if result.must_change_password:
        target = "/password"
    elif policy.needs_totp(result.role) and not result.second_factor:
        target = "/totp"
    else:
        target = _safe_next(next)
        if target == "/" and can(result.role, Permission.SUBSCRIPTION_READ):
            target = "/pos"  # counter staff start where their work is
        elif target == "/" and can(result.role, Permission.BACKOFFICE_WORK):
            target = "/backoffice"  # back-office staff start at their queue
    response = RedirectResponse(target, status_code=303)
    max_age = policy.session_minutes * 60
    flags = _cookie_flags(request)
    response.set_cookie(SESSION_COOKIE, result.session.token, httponly=True, max_age=max_age, **flags)
    response.set_cookie(CSRF_COOKIE, result.session.csrf_token or "", httponly=False, max_age=max_age, **flags)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/logout", dependencies=[requires(Permission.SESSION_SELF)])
async def logout_submit(request: Request, c: Container = Depends(container)) -> Response:
    """End the web session (CSRF-checked like every change) and go back to the sign-in form."""
    token = request.cookies.get(SESSION_COOKIE)

    def run() -> None:
        with c.uow() as uow:
            auth_service.logout(uow, token)

    await run_use_case(run)
    response = RedirectResponse("/login", status_code=303)
    flags = _cookie_flags(request)
    response.delete_cookie(SESSION_COOKIE, httponly=True, **flags)
    response.delete_cookie(CSRF_COOKIE, **flags)
    return response


@router.get("/password", response_class=HTMLResponse, dependencies=[requires(Permission.SESSION_SELF)])
async def password_form(request: Request, language: str = Depends(lang)) -> Response:
    """The change-password form."""
    session = await current_session(request)
    return _render(request, "password.html", language, must_change=session.must_change_password, errors=[])


@router.post("/password", response_class=HTMLResponse, dependencies=[requires(Permission.SESSION_SELF)])
async def password_submit(
    request: Request,
    old_password: str = Form("", max_length=1024),
    new_password: str = Form("", max_length=1024),
    language: str = Depends(lang),
    c: Container = Depends(container),
) -> Response:
    """Change the password; other sessions of the account are ended."""
    session = await current_session(request)

    def run() -> None:
        with c.uow() as uow:
            auth_service.change_password(
                uow, session.actor.staff_id, old_password, new_password, keep_session=session.session_id
            )

    try:
        await run_use_case(run)
    except InputError as exc:
        return _render(
            request, "password.html", language, status=422, must_change=session.must_change_password,
            errors=_errors(exc, language),
        )  # fmt: skip
    return _render(request, "password.html", language, must_change=False, errors=[], done=True)


@router.get("/totp", response_class=HTMLResponse, dependencies=[requires(Permission.SESSION_SELF)])
async def totp_page(request: Request, language: str = Depends(lang)) -> Response:
    """Two-factor status, and the button that starts setting it up."""
    session = await current_session(request)
    return _render(request, "totp.html", language, session=session, errors=[])


def _qr_png(text: str) -> str:
    """`text` as a QR code, a PNG data URI (drawn here: the key never goes to a QR service)."""
    import base64
    import io

    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    image = Image.fromarray(zxingcpp.write_barcode_to_image(code, scale=6))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@router.post("/totp", response_class=HTMLResponse, dependencies=[requires(Permission.SESSION_SELF)])
async def totp_submit(
    request: Request,
    code: str = Form("", max_length=10),
    language: str = Depends(lang),
    c: Container = Depends(container),
) -> Response:
    """Without a code: start enrolment and show the key. With one: confirm the pending key."""
    session = await current_session(request)
    staff_id = session.actor.staff_id
    if not code:

        def enroll() -> str:
            with c.uow() as uow:
                return auth_service.enroll_totp(uow, staff_id, vault=c.vault)

        uri = await run_use_case(enroll)
        secret = parse_qs(urlparse(uri).query)["secret"][0]
        return _render(request, "totp.html", language, session=session, errors=[], uri=uri, secret=secret,
                       qr=_qr_png(uri))  # fmt: skip

    def confirm() -> None:
        with c.uow() as uow:
            auth_service.confirm_totp(uow, staff_id, code, vault=c.vault, session_id=session.session_id)

    try:
        await run_use_case(confirm)
    except InputError as exc:
        return _render(request, "totp.html", language, status=422, session=session, errors=_errors(exc, language))
    return _render(request, "totp.html", language, session=session, errors=[], done=True)
