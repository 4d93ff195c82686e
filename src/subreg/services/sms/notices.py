"""Enforcement notices as SMS: rendered from the operator's templates, encoded, counted and sealed once.

Implements `enforcement.ports.NoticeComposer` for the wiring: a sweep sends one text per action to every
line that takes it, so the text is prepared here once and the same sealed bytes go into each outbox row
(the notice holds no personal data: no name, no number).
"""

from __future__ import annotations

from datetime import date

from subreg.services.enforcement.ports import PreparedNotice
from subreg.services.sms.context import SmsContext
from subreg.services.sms.outbox import encode
from subreg.services.sms.sealing import seal_text

__all__ = ["SmsNotices"]

# A repeated notice says the same as the first one.
_TEMPLATE = {"notify": "notice_notify", "renotify": "notice_notify"}


class SmsNotices:
    def __init__(self, ctx: SmsContext) -> None:
        self._ctx = ctx

    def compose(self, action: str, *, as_of: date, next_on: date | None) -> PreparedNotice:
        ctx = self._ctx
        name = _TEMPLATE.get(action, f"notice_{action}")
        text = ctx.templates.render(name, ctx.options.lang, {
            "next_on": next_on.strftime("%d/%m/%Y") if next_on else None, "renotify": action == "renotify",
            "as_of": as_of.strftime("%d/%m/%Y"),
        })  # fmt: skip
        encoding, final, parts = encode(text, ctx.options)
        return PreparedNotice(ctx.options.short_code, encoding, parts, seal_text(ctx.vault, final, table="outbox"))
