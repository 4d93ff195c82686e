"""Structured logging (structlog, JSON) with a redaction processor.

Why redact at all when code never logs personal data on purpose: a stray exception value or a
third-party message can carry a phone or ID number; the last processor masks anything that looks
like one before it leaves the process.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

__all__ = ["configure_logging", "get_logger", "redact"]

# Digit runs of 9+ (MSISDNs, CMND/CCCD numbers), optionally with +/spaces/dots/dashes inside.
_NUMBER = re.compile(r"\+?\d(?:[\s.\-]?\d){8,}")
_SENSITIVE_KEYS = frozenset(
    {"full_name", "name", "id_number", "date_of_birth", "address", "msisdn", "password", "token", "qr", "mrz"}
)


def redact(value: Any) -> Any:
    """Mask number-like runs in strings; recurse into containers."""
    if isinstance(value, str):
        return _NUMBER.sub("[redacted]", value)
    if isinstance(value, dict):
        return {k: ("[redacted]" if k in _SENSITIVE_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


# Values subreg generates itself (random hex ids, timestamps) that the number rule would mangle.
_OWN_KEYS = frozenset({"request_id", "timestamp"})


def _redact_processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    return {k: ("[redacted]" if k in _SENSITIVE_KEYS else v if k in _OWN_KEYS else redact(v)) for k, v in event.items()}


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Set up structlog once for the process (called by the entrypoints, never at import)."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> Any:
    """A bound structlog logger."""
    return structlog.get_logger(name)
