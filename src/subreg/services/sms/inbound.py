"""Answer MO messages to 1414: store each, count it against its sender's window, look up, audit, queue the reply.

A batch is one transaction (group commit): every MO in it is stored, answered and audited together, and the
gateway is acknowledged only after the commit, so a crash before it loses nothing the gateway will not offer
again, and a crash after it answers once (a redelivered MO, found by its gateway id, is not answered twice).
The replies leave through the outbox (`services.sms.outbox`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from subreg.domain.access.permissions import Actor, Purpose
from subreg.domain.common.errors import CryptoError
from subreg.domain.common.msisdn import msisdn_key, parse_msisdn
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.domain.sms.grammar import Help, IdQuery, StatusQuery, parse
from subreg.domain.sms.replies import rate_decision
from subreg.services.common import audit_trail
from subreg.services.sms.context import SmsContext
from subreg.services.sms.lookup import Found, id_numbers, own_line
from subreg.services.sms.outbox import Queued, queue
from subreg.services.sms.ports import InboundMessage, SenderWindow, SmsUnitOfWork
from subreg.services.sms.sealing import seal_text

__all__ = ["Answer", "receive"]

log = structlog.get_logger("subreg.sms")

# Replies that come from a look-up: each one is audited, found or not (help and refusals read nothing).
_LOOKUPS = frozenset({"status", "not_registered", "id_numbers", "id_unknown"})


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one MO: `answered`, `rate_limited` (refused once), `dropped`, `invalid_sender`,
    `duplicate` (a redelivery, answered before) — and the replies queued for it."""

    inbound_id: int | None
    outcome: str
    replies: tuple[Queued, ...] = ()


def _sender_key(raw: str) -> int | None:
    e164 = parse_msisdn(raw)
    return msisdn_key(e164) if e164 is not None else None


def _admit(sender: int, now: datetime, uow: SmsUnitOfWork, ctx: SmsContext) -> str:
    window = uow.rates.window(sender)
    o = ctx.options
    decision, after = rate_decision(
        window.window_start if window else None, window.count if window else 0, window.refused if window else False,
        now, o.rate_limit, o.rate_window,
    )  # fmt: skip
    uow.rates.put(SenderWindow(sender, after.window_start, after.count, after.refused))
    return decision


def _found(message: InboundMessage, sender: int, uow: SmsUnitOfWork, ctx: SmsContext) -> Found:
    command = parse(message.text)
    try:
        if isinstance(command, StatusQuery):
            return own_line(sender, uow=uow, vault=ctx.vault, options=ctx.options)
        if isinstance(command, IdQuery):
            return id_numbers(command, sender, uow=uow, vault=ctx.vault, options=ctx.options,
                              document_key=ctx.document_key)  # fmt: skip
    except CryptoError:
        # A shredded holder (erasure, retention): nothing about them can be said.
        return Found("not_registered", {}, outcome="not_registered")
    assert isinstance(command, Help)
    return Found("help", {"reason": command.reason}, outcome="help")


def _answer_one(
    message: InboundMessage, uow: SmsUnitOfWork, ctx: SmsContext, now: datetime, simulated: bool, actor: Actor | None
) -> Answer:
    sender = _sender_key(message.sender)
    # Stored with the state it will most likely end in (one write less per look-up); the rare other
    # endings below change it in the same transaction, so no other reader ever sees the first guess.
    inbound_id = uow.inbound.add({
        "received_at": message.received_at, "transport": message.transport[:48],
        "gateway_id": message.gateway_id[:96] if message.gateway_id else None,
        "sender": sender, "recipient": message.recipient[:20], "coding": message.coding[:10],
        "state": "answered" if sender is not None else "invalid_sender", "answered_at": now,
        **seal_text(ctx.vault, {"sender": message.sender, "text": message.text}, table="inbound"),
    })  # fmt: skip
    if inbound_id is None:
        return Answer(None, "duplicate")
    if sender is None:
        log.info("sms.invalid_sender", inbound_id=inbound_id, transport=message.transport)
        return Answer(inbound_id, "invalid_sender")
    decision = _admit(sender, now, uow, ctx)
    if decision == "drop":
        uow.inbound.mark(inbound_id, state="dropped", at=now)
        return Answer(inbound_id, "dropped")
    refused = decision == "refuse"
    found = Found("rate_limited", {}, outcome="rate_limited") if refused else _found(message, sender, uow, ctx)
    if found.template in _LOOKUPS:
        audit_trail.record(
            uow, actor=actor, action=AuditAction.SMS_LOOKUP, subject=found.subject, fields=found.fields,
            purpose=Purpose.SUBSCRIBER_SELF_SERVICE, now=now,
            details={"channel": message.transport, "inbound_id": inbound_id, "outcome": found.outcome},
        )  # fmt: skip
    text = ctx.templates.render(found.template, ctx.options.lang, found.context)
    reply = queue(sender, text, kind="reply", uow=uow, vault=ctx.vault, options=ctx.options, now=now,
                  inbound_id=inbound_id, simulated=simulated)  # fmt: skip
    if refused:
        uow.inbound.mark(inbound_id, state="rate_limited", at=now)
    return Answer(inbound_id, found.outcome, (reply,))


def receive(
    messages: Sequence[InboundMessage], *, uow: SmsUnitOfWork, ctx: SmsContext, now: datetime, simulated: bool = False,
    actor: Actor | None = None,
) -> list[Answer]:  # fmt: skip
    """Store and answer a batch of MO in one transaction; acknowledge the gateway after this returns.

    `simulated`: everything happens (stored, counted, looked up, audited) but the replies are never sent.
    `actor`: the staff member who typed the MO in the phone simulator, named in the audit entries (None: the
    subscriber, through a gateway)."""
    with uow:
        uow.lock_for_write()
        answers = [_answer_one(m, uow, ctx, now, simulated, actor) for m in messages]
        uow.commit()
    return answers
