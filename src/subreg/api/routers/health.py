"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from subreg import __version__
from subreg.api.deps import container, requires
from subreg.bootstrap import Container

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    status: str = Field(..., examples=["ok"])
    version: str = Field(..., examples=[__version__])
    database: str = Field(..., examples=["ok"])
    rule_set: str = Field(..., examples=["nd49-2017"])


@router.get(
    "/health",
    response_model=HealthRead,
    summary="Service health",
    description="`status` is `ok` when the database answers, `degraded` otherwise.",
    dependencies=[requires("public:health")],
)
async def health(c: Container = Depends(container)) -> HealthRead:
    """Report whether the service and its database are up."""
    db_ok = await run_in_threadpool(c.ping)
    return HealthRead(
        status="ok" if db_ok else "degraded",
        version=__version__,
        database="ok" if db_ok else "unavailable",
        rule_set=c.settings.rule_set,
    )
