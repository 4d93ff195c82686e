"""The system clock: the current instant (UTC) and the operator's date (Vietnam, UTC+7)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

__all__ = ["OPERATOR_TZ", "SystemClock", "today"]

OPERATOR_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class SystemClock:
    """`services.common.ports.Clock` on the machine's clock."""

    def now(self) -> datetime:
        """The current instant, in UTC."""
        return datetime.now(UTC)

    def today(self) -> date:
        """The current date in Vietnam, the date Decree 49 deadlines are counted in."""
        return datetime.now(OPERATOR_TZ).date()


def today() -> date:
    """The current date in Vietnam (UTC+7)."""
    return SystemClock().today()
