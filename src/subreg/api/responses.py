"""A JSON response rendered with orjson (fast, UTF-8, no ASCII escaping of Vietnamese)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["JSON"]


class JSON(Response):
    """JSON response; FastAPI's own ORJSONResponse is deprecated, this is the few lines it was."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
