"""What the SMS use cases share, built once by the wiring: keys, reply templates, options, the rule set's key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from subreg.services.common.ports import Vault
from subreg.services.sms.options import SmsOptions
from subreg.services.sms.ports import ReplyTemplates

__all__ = ["SmsContext"]


@dataclass(frozen=True, slots=True)
class SmsContext:
    vault: Vault
    templates: ReplyTemplates
    options: SmsOptions
    # The rule set's document key of {"holder": {"id_type", "id_number"}} (None: not a valid ID number).
    document_key: Callable[[Mapping[str, Any]], str | None]
