"""Campaign reminders as SMS: rendered from the operator's templates, encoded, counted and sealed once per tick.

Implements `campaigns.ports.CampaignTexts` for the wiring, as `notices.py` does for enforcement: a reminder
holds no personal data (no name, no number), so one sealed text is copied into every outbox row of a tick.
Templates are `<lang>/campaign_<name>.txt` beside the 1414 replies (the operator's folder first); a template
gets `wave` and `waves` besides the globals (operator, update_where, short_code).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from subreg.domain.common.errors import FieldError, InputError
from subreg.services.campaigns.ports import PreparedText
from subreg.services.sms.context import SmsContext
from subreg.services.sms.outbox import encode
from subreg.services.sms.sealing import seal_text

__all__ = ["SmsCampaignTexts"]


class SmsCampaignTexts:
    def __init__(self, ctx: SmsContext) -> None:
        self._ctx = ctx

    def compose(self, template: str, lang: str, context: Mapping[str, Any]) -> PreparedText:
        ctx = self._ctx
        try:
            text = ctx.templates.render(template, lang, context)
        except LookupError:  # the template loader's "no such file" (jinja2.TemplateNotFound is a LookupError)
            raise InputError([FieldError("template", "unknown_template")]) from None
        encoding, final, parts = encode(text, ctx.options)
        return PreparedText(final, ctx.options.short_code, encoding, parts, seal_text(ctx.vault, final, table="outbox"))
