"""The phone simulator: text 1414 as a number through the real channel, and read that phone's screen.

Staff holding `sms:simulate` play a subscriber's phone (demos, the operator's test bench). The MO goes
through the very use case a gateway's MO goes through (`inbound.receive`: grammar, rate window, look-up,
audit entry, here naming the staff member), then the outbox is carried out at once to the built-in centre
and its receipts applied, so the page works without `subreg sms serve`. The screen is what the centre
delivered to the number (parts joined, as a handset joins them) beside the MO the number sent.

Only with the built-in centre (a `PhoneCentre`): through a real network the reply to an MO typed here
would reach the real subscriber's phone. The wiring hands no centre then, and the page says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from subreg.domain.access.permissions import Actor, Permission, require
from subreg.domain.common.errors import CryptoError, FieldError, InputError
from subreg.domain.common.msisdn import msisdn_from_key, msisdn_key, parse_msisdn
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.domain.sms.gsm import is_gsm7
from subreg.domain.sms.segments import split
from subreg.services.common import audit_trail
from subreg.services.sms.context import SmsContext
from subreg.services.sms.inbound import Answer, receive
from subreg.services.sms.outbox import dispatch, record_receipts
from subreg.services.sms.ports import InboundMessage, PhoneCentre, SmsUnitOfWork
from subreg.services.sms.sealing import open_text

__all__ = ["MAX_MO_PARTS", "Bubble", "Screen", "TextFromPhone", "demo_numbers", "phone_screen", "text_from_phone"]

MAX_MO_PARTS = 3  # a handset sends a longer text as several SMS; a 1414 command fits in one
TRANSPORT = "builtin"


@dataclass(frozen=True, slots=True)
class TextFromPhone:
    """Send `text` to the short code from `number` (any common form of a Vietnamese mobile number)."""

    number: str
    text: str


@dataclass(frozen=True, slots=True)
class Bubble:
    """One message on the phone's screen: sent (`mo`) or received (`mt`)."""

    direction: Literal["mo", "mt"]
    at: datetime
    text: str
    peer: str  # the short code texted, or the sender of a received message
    segments: int
    encoding: str  # "gsm7" or "ucs2"


@dataclass(frozen=True, slots=True)
class Screen:
    """A phone's conversation with the short code, oldest first."""

    number: str  # E.164
    bubbles: tuple[Bubble, ...]


def _number(raw: str) -> str:
    e164 = parse_msisdn(raw) if isinstance(raw, str) else None
    if e164 is None:
        raise InputError([FieldError("msisdn", "invalid_msisdn" if raw.strip() else "required")])
    return e164


def _encoding(text: str) -> Literal["gsm7", "ucs2"]:
    return "gsm7" if is_gsm7(text) else "ucs2"


def text_from_phone(
    cmd: TextFromPhone, *, uow_factory: Callable[[], SmsUnitOfWork], ctx: SmsContext, centre: PhoneCentre,
    now: Callable[[], datetime], actor: Actor,
) -> Answer:  # fmt: skip
    """Answer one MO typed on the simulated phone, then carry the outbox out to the centre and apply its receipts.

    InputError names the field (`msisdn`, `text`); PermissionDeniedError without `sms:simulate`.
    """
    require(actor, Permission.SMS_SIMULATE)
    errors: list[FieldError] = []
    try:
        e164 = _number(cmd.number)
    except InputError as exc:
        errors.extend(exc.errors)
    text = cmd.text.strip() if isinstance(cmd.text, str) else ""
    if not text:
        errors.append(FieldError("text", "required"))
    elif len(split(text, _encoding(text), 0)) > MAX_MO_PARTS:
        errors.append(FieldError("text", "too_long"))
    if errors:
        raise InputError(errors)
    at = now()
    message = InboundMessage(e164.lstrip("+"), ctx.options.short_code, text, TRANSPORT, at, coding=_encoding(text))
    answer = receive([message], uow=uow_factory(), ctx=ctx, now=at, actor=actor)[0]
    dispatch(uow_factory=uow_factory, transport=centre, vault=ctx.vault, options=ctx.options, now=now)
    # The centre's receipts come from this very instance: every one matches a submit settled above.
    record_receipts(centre.take_receipts(), uow=uow_factory())
    return answer


def phone_screen(
    number: str, *, uow: SmsUnitOfWork, ctx: SmsContext, centre: PhoneCentre, now: datetime, actor: Actor,
    limit: int = 30,
) -> Screen:  # fmt: skip
    """What the number sent to the short code and received, oldest first (the newest `limit` of each); audited.

    The replies on it are masked already (they are what a subscriber's phone shows); the view is audited all
    the same, since it shows another number's look-ups.
    """
    require(actor, Permission.SMS_SIMULATE)
    e164 = _number(number)
    key = msisdn_key(e164)
    delivered = list(centre.inbox(key, limit=limit))
    bubbles: list[tuple[tuple[datetime, int, int], Bubble]] = []
    with uow:
        sent_at: dict[int, datetime] = {}
        for row in uow.inbound.sent_by(key, limit=limit):
            try:
                sealed = open_text(ctx.vault, row["kek_id"], row["wrapped_dek"], row["payload"], table="inbound")
            except CryptoError:  # shredded: nothing about it can be shown
                continue
            text = sealed.get("text") or ""
            encoding = "ucs2" if row["coding"] == "ucs2" else "gsm7"
            sent_at[row["id"]] = row["received_at"]
            bubble = Bubble("mo", row["received_at"], text, row["recipient"], len(split(text, _encoding(text), 0)),
                            encoding)  # fmt: skip
            bubbles.append(((row["received_at"], 0, row["id"]), bubble))
        for message in delivered:
            outbox = uow.outbox.get(message.outbox_id)
            encoding = outbox.encoding if outbox is not None else _encoding(message.text)
            # A reply sits right after the MO it answers, whatever the clocks of the two tables say.
            inbound_id = outbox.inbound_id if outbox is not None else None
            anchor = sent_at.get(inbound_id, message.at) if inbound_id is not None else message.at
            bubble = Bubble("mt", message.at, message.text, message.sender, message.parts, encoding)
            bubbles.append(((anchor, 1, message.outbox_id), bubble))
        subject = audit_trail.subject_for_msisdn(ctx.vault, e164)
        audit_trail.record(uow, actor=actor, action=AuditAction.SMS_PHONE_VIEWED, subject=subject, now=now,
                           details={"sent": len(sent_at), "received": len(delivered)})  # fmt: skip
        uow.commit()
    bubbles.sort(key=lambda item: item[0])
    return Screen(e164, tuple(b for _, b in bubbles))


def demo_numbers(*, uow: SmsUnitOfWork, actor: Actor, limit: int = 6) -> list[str]:
    """A few active numbers to play with (complete and incomplete ones alternately), in E.164."""
    require(actor, Permission.SMS_SIMULATE)
    with uow:
        return [msisdn_from_key(line.msisdn) for line in uow.subscriptions.examples(limit=limit)]
