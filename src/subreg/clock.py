"""The operator's calendar: 'today' in Vietnam, read only by entrypoints and passed inwards."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = ["OPERATOR_TZ", "today"]

OPERATOR_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def today() -> date:
    """The current date in Vietnam (UTC+7), the date Decree 49 deadlines are counted in."""
    return datetime.now(OPERATOR_TZ).date()
