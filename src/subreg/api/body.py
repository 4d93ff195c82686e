"""Reading request bodies with a hard size limit (before anything is parsed)."""

from __future__ import annotations

from fastapi import Request
from starlette.exceptions import HTTPException

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) anything larger than `limit` bytes without buffering it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413)
        chunks.append(chunk)
    return b"".join(chunks)
