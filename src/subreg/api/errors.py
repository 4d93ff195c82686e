"""The one place where API errors become HTTP responses with stable codes.

Body shape: {"error": {"code", "message", "errors": [{"field", "code", "message"}]}}.
No personal data: messages are built from codes and field paths only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from subreg.api.deps import lang as lang_of
from subreg.api.responses import JSON
from subreg.domain.common.errors import (
    AuthenticationError,
    ConflictError,
    ErasedError,
    ExternalServiceError,
    FieldError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolationError,
    SubregError,
    TooManyAttemptsError,
    UnreadableInputError,
)
from subreg.domain.common.messages import message_for, summary_for
from subreg.logging import get_logger

__all__ = ["error_body", "install_error_handlers", "status_of"]

# The first class an error is an instance of decides (subclasses before their parents).
_STATUS: list[tuple[type[SubregError], int]] = [
    (ErasedError, 410),
    # A body that cannot be read at all (binary, not UTF-8, neither JSON lines nor CSV with known columns):
    # nothing in it could be checked, 400 Bad Request. Input that was read and is invalid, field by field
    # (a JSON syntax error included, as FastAPI answers it for every JSON body): 422.
    (UnreadableInputError, 400),
    (InputError, 422),
    (NotFoundError, 404),
    (RuleViolationError, 409),
    (ConflictError, 409),
    (PermissionDeniedError, 403),
    (TooManyAttemptsError, 429),
    (AuthenticationError, 401),
    (ExternalServiceError, 503),
]

# pydantic error types -> our codes
_PYDANTIC_CODES = {
    "missing": "required",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "enum": "invalid_choice",
    "literal_error": "invalid_choice",
    "json_invalid": "invalid_json",
    "extra_forbidden": "unknown_field",
}


def error_body(code: str, lang: str, errors: list[FieldError] | None = None) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {
        "error": {
            "code": code,
            "message": summary_for(code, lang),
            "errors": [
                {"field": e.field, "code": e.code, "message": message_for(e.code, e.field, lang)}
                for e in (errors or [])
            ],
        }
    }


def status_of(exc: SubregError) -> int:
    """The HTTP status of an error (API and pages alike)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that translate exceptions to responses."""
    log = get_logger("subreg.api")

    @app.exception_handler(SubregError)
    async def _subreg(request: Request, exc: SubregError) -> Response:
        if type(exc) is AuthenticationError and not request.url.path.startswith("/api/"):
            # A web page reached without a session: send the browser to the sign-in form. Only the
            # path is carried over (a query string could one day hold something personal).
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        web_redirect = getattr(exc, "web_redirect", None)
        if web_redirect and request.method == "GET" and not request.url.path.startswith("/api/"):
            # The gate holds this session to its own account (password change, TOTP set-up): show the page.
            return RedirectResponse(web_redirect, status_code=303)
        errors = getattr(exc, "errors", None)
        body = error_body(exc.code, lang_of(request), errors)
        if isinstance(exc, RuleViolationError):
            body["error"]["missing"] = list(exc.missing)
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 429:
            headers = {"Retry-After": str(60 * request.app.state.settings.login_source_window_minutes)}
        return JSON(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSON:
        errors = [
            FieldError(_field_path(tuple(e.get("loc", ()))), _PYDANTIC_CODES.get(e.get("type", ""), "invalid_format"))
            for e in exc.errors()
        ]
        return JSON(error_body("invalid_input", lang_of(request), errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSON:
        code = {404: "not_found", 413: "payload_too_large", 403: "permission_denied"}.get(exc.status_code, "http_error")
        return JSON(error_body(code, lang_of(request)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        # Log the type only: the exception text may quote input values.
        log.error("unhandled_error", error_type=type(exc).__name__, path=request.url.path)
        return JSON(error_body("internal_error", lang_of(request)), status_code=500)
