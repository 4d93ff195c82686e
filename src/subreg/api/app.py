"""The FastAPI application factory. Nothing is built at import time: `create_app(settings)` does it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from subreg import __version__
from subreg.api.errors import install_error_handlers
from subreg.api.request_context import RequestContext
from subreg.api.routers import checks, health, id_documents, sms_gateways
from subreg.api.schemas.records import SubscriptionRecord
from subreg.api.sms_inbox import ContainerSmsInbox
from subreg.bootstrap import Container, bootstrap
from subreg.config import Settings
from subreg.logging import configure_logging

__all__ = ["create_app"]

API_PREFIX = "/api/v1"


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title="subreg API",
            version=__version__,
            description=(
                "Subscriber registry and KYC compliance (Decree 49/2017/ND-CP). "
                "Messages are Vietnamese by default; send `Accept-Language: en` for English."
            ),
            routes=app.routes,
        )
        # Models documented by hand-written request bodies (the rule set, not pydantic, validates them).
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        record = SubscriptionRecord.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(record.pop("$defs", {}))
        components["SubscriptionRecord"] = record
        app.openapi_schema = schema
        return schema

    return build


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """Build the API and web app; `container` defaults to `bootstrap(settings)`."""
    settings = settings or Settings()
    configure_logging(settings.log_level, json=settings.log_json)

    owns_container = container is None
    if container is None:
        container = bootstrap(settings)
        # A first bulk load killed and never resumed leaves indexes out: look-ups by ID need them.
        container.ensure_indexes()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Blocking work runs in anyio's thread pool (40 threads by default). The work is mostly CPU under
        # the GIL: past a few threads per core they only contend for it (measured at 100 updates/s: p99
        # 1.5 s with 40 threads, 0.19-0.34 s with 6; 1 ms less CPU per update). Requests beyond wait
        # in the event loop, in order.
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        yield
        app.state.sms_inbox.close()
        if owns_container:
            app.state.container.close()

    app = FastAPI(
        title="subreg",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.settings = settings
    app.state.container = container
    # The SMS gateways' callbacks (Kannel's MO and receipts): each gateway's secret, the use cases, the audit.
    app.state.sms_gateways = sms_gateways.callbacks_from(
        settings.sms_gateway_secrets.get_secret_value(), settings.sms_gateway_addresses
    )
    app.state.sms_inbox = app.state.sms_gateway_refusals = ContainerSmsInbox(container)

    app.add_middleware(RequestContext)
    install_error_handlers(app)
    from subreg.api.routers import audit, auth, dsr, subscriptions

    for router in (
        health.router,
        auth.router,
        checks.router,
        id_documents.router,
        subscriptions.router,
        audit.router,
        dsr.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(sms_gateways.router)  # no /api/v1 prefix: these are the gateways' URLs, set in their config

    from subreg.web import (
        auth_pages,
        backoffice_pages,
        campaign_pages,
        enforcement_pages,
        phone_pages,
        pos_pages,
        regulator_pages,
        report_pages,
        review_pages,
        signal_pages,
    )
    from subreg.web.routes import router as web_router

    pages = (pos_pages.router, phone_pages.router, enforcement_pages.router, campaign_pages.router)
    pages += (regulator_pages.router, signal_pages.router, review_pages.router, backoffice_pages.router)
    pages += (report_pages.router,)
    for router in (web_router, auth_pages.router, *pages):
        app.include_router(router)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app
