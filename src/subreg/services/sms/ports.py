"""Ports of the SMS channel (1414 look-ups now; campaign reminders and enforcement notices later).

A transport (SMPP, Kannel's HTTP, the built-in centre) moves messages; the use cases never know which.
Inbound messages (MO) and delivery receipts reach the use cases as the dataclasses below; outbound
messages (MT) leave through one durable outbox, already split into parts with their UDH by the domain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from subreg.services.common.ports import UnitOfWork
from subreg.services.registry.ports import HolderRepository, SubscriptionRepository

__all__ = [
    "BatchTransport",
    "DeliveredMessage",
    "Encoding",
    "InboundMessage",
    "InboundRepository",
    "OutboundMessage",
    "OutboxRepository",
    "OutboxRow",
    "Part",
    "PhoneCentre",
    "RateRepository",
    "Receipt",
    "ReceiptMatch",
    "ReplyTemplates",
    "SenderWindow",
    "SmsTransport",
    "SmsUnitOfWork",
    "SubmitOutcome",
]

Encoding = Literal["gsm7", "ucs2"]


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One MO as a transport received it (one SMS: a transport joins a concatenated MO before this)."""

    sender: str  # as the gateway gave it: "84901234567", "+84901234567", "0901234567" or garbage
    recipient: str  # the short code dialled, e.g. "1414"
    text: str | None  # decoded text; None for a binary message
    transport: str  # "smpp:<bind>", "kannel:<gateway>", "builtin", "cli"
    received_at: datetime
    gateway_id: str | None = None  # the gateway's own id of the MO: a redelivered MO is answered once
    coding: str = "gsm7"  # "gsm7", "ucs2", "latin1", "binary": as the gateway said


@dataclass(frozen=True, slots=True)
class Part:
    """One SMS of a (possibly concatenated) message: its user data header and its text."""

    udh: bytes  # b"" for a single-part message; 05 00 03 ref total seq for a concatenated one
    text: str  # the characters of this part (the transport encodes them in the message's encoding)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """An MT ready to submit: `id` is the outbox row, so a peer that deduplicates can use it."""

    id: int
    to: str  # E.164 without "+", e.g. "84901234567"
    sender: str  # the short code or alphanumeric sender, e.g. "1414"
    encoding: Encoding
    parts: tuple[Part, ...]
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    """What the SMSC (or gateway) answered to a submit.

    `accepted`: every part was accepted, `message_ids` holds the SMSC's id per part (for receipts).
    `retry`: a transient failure (throttled, queue full, connection lost before the answer): submit again.
    `rejected`: a permanent refusal (invalid destination, ...): never submit again.
    """

    status: Literal["accepted", "retry", "rejected"]
    message_ids: tuple[str, ...] = ()
    error: str | None = None  # a stable code safe to log (e.g. "ESME_RTHROTTLED"), never message text


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt: the SMSC's id of one submitted part and what became of it."""

    transport: str
    message_id: str
    state: Literal["delivered", "failed", "expired", "rejected", "unknown", "buffered"]
    at: datetime
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptMatch:
    """The message a receipt belongs to; `complete` when every part has a final state (listed by part)."""

    outbox_id: int
    complete: bool
    part_states: tuple[str, ...]


class SmsTransport(Protocol):
    """Submits MT messages to a gateway. MO and receipts come back through the use cases' entry points
    (`services.sms.inbound.receive`, `services.sms.outbox.record_receipts`), called by the adapter's listener
    or by the gateway's HTTP callback."""

    name: str  # "smpp", "kannel", "builtin": stored with each submit, so a receipt finds its message

    def submit(self, message: OutboundMessage) -> SubmitOutcome:
        """Submit every part (blocking until the peer answered, failed or timed out)."""
        ...

    def close(self) -> None:
        """Unbind / release connections."""
        ...


@runtime_checkable
class BatchTransport(Protocol):
    """A transport that takes a whole batch at once (the built-in centre: one transaction per batch)."""

    def submit_many(self, messages: Sequence[OutboundMessage]) -> list[SubmitOutcome]:
        """`submit` for each message, in order."""
        ...


class DeliveredMessage(Protocol):
    """A message as a handset shows it: concatenated parts joined."""

    outbox_id: int  # the outbox row it came from
    sender: str
    at: datetime
    text: str
    parts: int  # how many SMS it took


class PhoneCentre(SmsTransport, Protocol):
    """A transport that is its own network (the built-in centre): it keeps what it delivered to each number,
    and hands back its own delivery receipts."""

    def take_receipts(self) -> list[Receipt]:
        """The receipts of what was delivered since the last call."""
        ...

    def inbox(self, recipient: int, *, limit: int = 50) -> Sequence[DeliveredMessage]:
        """The newest messages delivered to one number (msisdn key), newest first."""
        ...


class ReplyTemplates(Protocol):
    """The operator's reply texts (Jinja2 files in the adapter), by name and language."""

    def render(self, name: str, lang: str, context: Mapping[str, Any]) -> str:
        """The text of template `name` (e.g. "status", "id_numbers", "help", "rate_limited") in `lang`."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An outbox row as stored (its text sealed under its own data key)."""

    id: int
    priority: int  # 0: 1414 replies, 1: notices, 2: campaigns (lower goes first)
    recipient: int  # msisdn key
    sender: str
    encoding: str
    part_count: int
    state: str  # pending, sending, accepted, delivered, failed, rejected
    attempts: int
    next_attempt_at: datetime
    kek_id: int
    wrapped_dek: bytes | None
    payload: bytes
    created_at: datetime
    inbound_id: int | None = None
    kind: str = "reply"
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class SenderWindow:
    """A sender's rate window: when it began, how many MO it has counted, whether the refusal went out."""

    sender: int  # msisdn key
    window_start: datetime
    count: int
    refused: bool


class InboundRepository(Protocol):
    def add(self, row: Mapping[str, Any]) -> int | None:
        """Store an MO; None when (transport, gateway_id) is already stored (a redelivery)."""
        ...

    def mark(self, inbound_id: int, *, state: str, at: datetime) -> None:
        """answered, rate_limited, dropped, invalid_sender, ..."""
        ...

    def unanswered(self, *, limit: int) -> list[Mapping[str, Any]]:
        """MO stored but not answered (a crash between receipt and reply), oldest first."""
        ...

    def sent_by(self, sender: int, *, limit: int) -> list[Mapping[str, Any]]:
        """The newest MO stored from one number (msisdn key), newest first: the phone simulator's sent messages."""
        ...


class OutboxRepository(Protocol):
    def add(self, row: Mapping[str, Any]) -> int:
        """Queue one MT (state pending)."""
        ...

    def claim(self, *, now: datetime, lease_until: datetime, limit: int) -> list[OutboxRow]:
        """Due rows (pending, or sending with an expired lease), highest priority first, marked `sending`
        until `lease_until` so that another dispatcher does not take them."""
        ...

    def settle(self, outbox_id: int, values: Mapping[str, Any]) -> None:
        """Update state, attempts, next_attempt_at, last_error, accepted_at, final_at."""
        ...

    def add_submits(self, outbox_id: int, transport: str, message_ids: Sequence[str]) -> None:
        """Remember the SMSC's id of each part, for receipts; ids of an earlier submit of the row not among them are
        forgotten (a resubmission the SMSC answered with new ids), ids already known are kept as they are."""
        ...

    def apply_receipt(self, receipt: Receipt) -> ReceiptMatch | None:
        """Record a part's receipt: its message, and whether every part now has a final receipt (None: unknown id)."""
        ...

    def settle_many(self, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        """`settle` for a batch (one statement per shape of values)."""
        ...

    def add_submits_many(self, items: Sequence[tuple[int, str, Sequence[str]]]) -> None:
        """`add_submits` for a batch of (outbox id, transport, message ids)."""
        ...

    def apply_receipts(self, receipts: Sequence[Receipt]) -> list[ReceiptMatch | None]:
        """`apply_receipt` for a batch, in order (the match reflects every receipt of the batch)."""
        ...

    def get(self, outbox_id: int) -> OutboxRow | None: ...

    def for_recipient(self, recipient: int, *, limit: int) -> list[OutboxRow]:
        """The newest rows to one number (the phone simulator's inbox)."""
        ...


class RateRepository(Protocol):
    def window(self, sender: int) -> SenderWindow | None: ...

    def put(self, window: SenderWindow) -> None: ...


class SmsUnitOfWork(UnitOfWork, Protocol):
    """What the SMS channel reads and writes: its own tables, and the registry's lines and holders (read only)."""

    inbound: InboundRepository
    outbox: OutboxRepository
    rates: RateRepository
    subscriptions: SubscriptionRepository
    holders: HolderRepository
