"""Staff send one SMS to a number (`subreg sms send`): checked, queued in the outbox, audited."""

from __future__ import annotations

from datetime import datetime

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.common.msisdn import msisdn_key, parse_msisdn
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.sms.context import SmsContext
from subreg.services.sms.outbox import Queued, queue
from subreg.services.sms.ports import SmsUnitOfWork

__all__ = ["MAX_PARTS", "send_text"]

MAX_PARTS = 10  # a longer text is a document, not an SMS: refused, not cut


def send_text(to: str, text: str, *, uow: SmsUnitOfWork, ctx: SmsContext, now: datetime, actor: Actor | None) -> Queued:
    """Queue `text` to `to` (any common form of a Vietnamese mobile number); InputError says which field is wrong."""
    e164 = parse_msisdn(to) if isinstance(to, str) else None
    errors = [] if e164 is not None else [FieldError("to", "invalid_msisdn")]
    if not isinstance(text, str) or not text.strip():
        errors.append(FieldError("text", "required"))
    if errors:
        raise InputError(errors)
    assert e164 is not None
    with uow:
        uow.lock_for_write()
        queued = queue(msisdn_key(e164), text.strip(), kind="manual", uow=uow, vault=ctx.vault, options=ctx.options,
                       now=now)  # fmt: skip
        if queued.segments > MAX_PARTS:
            uow.rollback()
            raise InputError([FieldError("text", "too_long")])
        audit_trail.record(
            uow, actor=actor, action=AuditAction.SMS_SENT, subject=audit_trail.subject_for_msisdn(ctx.vault, e164),
            now=now, details={"outbox_id": queued.outbox_id, "segments": queued.segments},
        )  # fmt: skip
        uow.commit()
    return queued
