"""Request-scoped dependencies: the container, the caller's language, the route's permission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

__all__ = ["PERMISSION_ATTR", "container", "lang", "requires"]

PERMISSION_ATTR = "__subreg_permission__"


def container(request: Request) -> Any:
    """The application's container (built by create_app from settings)."""
    return request.app.state.container


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


def requires(permission: str) -> Any:
    """Declare the permission a route needs.

    Every route must declare one (a test walks the app and fails otherwise). Authentication and the
    role -> permission matrix arrive with the privacy work; until then the declaration is recorded on
    the request so logs and audits can name it.
    """

    def _dependency(request: Request) -> None:
        request.state.permission = permission

    dep: Callable[[Request], None] = _dependency
    setattr(dep, PERMISSION_ATTR, permission)
    return Depends(dep)
