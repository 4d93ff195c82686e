"""The SMS channel's options, built from settings by the wiring (the use cases never read settings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from subreg.domain.sms.replies import Masking

__all__ = ["SmsOptions"]


@dataclass(frozen=True, slots=True)
class SmsOptions:
    short_code: str = "1414"
    lang: str = "vi"
    allow_ucs2: bool = False  # False: unaccented Vietnamese in GSM 7-bit (one SMS holds 160 characters, not 70)
    masking: Masking = field(default_factory=Masking)
    msisdn_keep_last: int = 4  # digits of each number `TTTB <ID>` lists
    rate_limit: int = 20  # look-ups per sender per window; the next one is refused politely, later ones dropped
    rate_window: timedelta = timedelta(hours=1)
    max_attempts: int = 8  # submits of one MT before it is given up (`failed`)
    retry_after: timedelta = timedelta(seconds=5)  # first retry; doubles each attempt, at most `retry_cap`
    retry_cap: timedelta = timedelta(minutes=10)
    lease: timedelta = timedelta(seconds=60)  # a claimed row nobody settled is claimed again after this
