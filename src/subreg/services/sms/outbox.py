"""The one outbox every MT leaves through: queue a text, carry due messages out, settle them by receipts.

A row is `pending` until a dispatcher claims it (`sending`, under a lease), then `accepted` when the SMSC
answered the submit, `delivered` / `failed` by the receipts of all its parts, `rejected` when the SMSC refused
it for good or after `max_attempts` transient failures. A submit whose answer was lost (the process died, the
connection dropped) is retried when the lease ends: the built-in centre suppresses the duplicate by the part's
reference; SMPP and Kannel may deliver it twice (at least once, docs/sms.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import structlog

from subreg.domain.common.errors import CryptoError
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.sms.gsm import choose_encoding
from subreg.domain.sms.segments import split
from subreg.services.common.ports import Vault
from subreg.services.sms.options import SmsOptions
from subreg.services.sms.ports import (
    BatchTransport,
    Encoding,
    OutboundMessage,
    OutboxRow,
    Part,
    Receipt,
    SmsTransport,
    SmsUnitOfWork,
    SubmitOutcome,
)
from subreg.services.sms.sealing import open_text, seal_text

__all__ = ["PRIORITY", "DispatchCounts", "dispatch", "encode", "queue", "record_receipts"]

log = structlog.get_logger("subreg.sms")

PRIORITY = {"reply": 0, "manual": 0, "notice": 1, "campaign": 2}


@dataclass(frozen=True, slots=True)
class Queued:
    """An MT just queued: what the phone will show (for `subreg sms simulate`)."""

    outbox_id: int
    to: str
    sender: str
    text: str
    segments: int
    encoding: str


def encode(text: str, options: SmsOptions) -> tuple[Encoding, str, int]:
    """How `text` goes out: its encoding, the text as sent (unaccented GSM 7-bit unless UCS-2 is allowed), its parts."""
    encoding, final = choose_encoding(text, options.allow_ucs2)
    return encoding, final, len(split(final, encoding, 0))


def queue(
    recipient: int, text: str, *, kind: str, uow: SmsUnitOfWork, vault: Vault, options: SmsOptions, now: datetime,
    inbound_id: int | None = None, simulated: bool = False,
) -> Queued:  # fmt: skip
    """Queue one MT in the caller's unit of work: encoded and counted now, split with its UDH at submit.

    `simulated` (`subreg sms simulate`): the row is kept for the record but never claimed, so nothing is sent."""
    encoding, final, parts = encode(text, options)
    outbox_id = uow.outbox.add({
        "kind": kind, "priority": PRIORITY[kind], "recipient": recipient, "sender": options.short_code,
        "encoding": encoding, "part_count": parts, "state": "simulated" if simulated else "pending", "attempts": 0,
        "next_attempt_at": now,
        "inbound_id": inbound_id, "created_at": now, **seal_text(vault, final, table="outbox"),
    })  # fmt: skip
    return Queued(outbox_id, msisdn_from_key(recipient).lstrip("+"), options.short_code, final, parts, encoding)


@dataclass(frozen=True, slots=True)
class DispatchCounts:
    claimed: int = 0
    accepted: int = 0
    retried: int = 0
    rejected: int = 0


@lru_cache(maxsize=4096)
def _parts(text: str, encoding: Encoding, reference: int) -> tuple[Part, ...]:
    """The parts of a text (cached: a notice or a campaign sends the same text to many lines)."""
    return tuple(Part(s.udh, s.text) for s in split(text, encoding, reference))


def _message(row: OutboxRow, vault: Vault) -> OutboundMessage:
    text = open_text(vault, row.kek_id, row.wrapped_dek, row.payload, table="outbox")
    encoding: Encoding = "ucs2" if row.encoding == "ucs2" else "gsm7"
    parts = _parts(text, encoding, row.id & 0xFF)
    return OutboundMessage(row.id, msisdn_from_key(row.recipient).lstrip("+"), row.sender, encoding, parts,
                           attempt=row.attempts + 1)  # fmt: skip


def _submit(transport: SmsTransport, row: OutboxRow, vault: Vault) -> SubmitOutcome:
    """One row's outcome: an error of this row (a shredded key, a transport fault) never stalls the batch."""
    try:
        message = _message(row, vault)
    except CryptoError:
        return SubmitOutcome("rejected", error="unreadable")  # its key was shredded: it can never be sent
    try:
        return transport.submit(message)
    except Exception:  # a transport bug or fault: retried like a lost answer, the batch's other rows go on
        log.exception("sms.submit_failed", outbox_id=row.id, transport=transport.name)
        return SubmitOutcome("retry", error="submit_failed")


def _submit_all(transport: SmsTransport, rows: list[OutboxRow], vault: Vault) -> list[tuple[OutboxRow, SubmitOutcome]]:
    """Each row's outcome; a transport that takes batches (the built-in centre) gets them all at once."""
    if not isinstance(transport, BatchTransport):
        return [(row, _submit(transport, row, vault)) for row in rows]
    ready: list[tuple[OutboxRow, OutboundMessage]] = []
    failed: dict[int, SubmitOutcome] = {}
    for row in rows:
        try:
            ready.append((row, _message(row, vault)))
        except CryptoError:
            failed[row.id] = SubmitOutcome("rejected", error="unreadable")  # its key was shredded
    try:
        answers = transport.submit_many([m for _, m in ready])
    except Exception:
        log.exception("sms.submit_failed", transport=transport.name, batch=len(ready))
        answers = [SubmitOutcome("retry", error="submit_failed")] * len(ready)
    done = {row.id: outcome for (row, _), outcome in zip(ready, answers, strict=True)}
    return [(row, failed.get(row.id) or done[row.id]) for row in rows]


def _backoff(options: SmsOptions, attempts: int) -> float:
    first: float = options.retry_after.total_seconds()
    return min(first * 2.0 ** max(attempts - 1, 0), options.retry_cap.total_seconds())


def _settle(
    row: OutboxRow, outcome: SubmitOutcome, at: datetime, transport: str, options: SmsOptions
) -> dict[str, object]:
    attempts = row.attempts + 1
    values: dict[str, object] = {"attempts": attempts, "last_error": outcome.error}
    if outcome.status == "accepted":
        return values | {"state": "accepted", "accepted_at": at, "transport": transport}
    if outcome.status == "retry" and attempts < options.max_attempts:
        return values | {"state": "pending", "next_attempt_at": at + timedelta(seconds=_backoff(options, attempts))}
    return values | {"state": "rejected", "final_at": at}


def dispatch(
    *, uow_factory: Callable[[], SmsUnitOfWork], transport: SmsTransport, vault: Vault, options: SmsOptions,
    now: Callable[[], datetime], limit: int = 100,
) -> DispatchCounts:  # fmt: skip
    """Claim up to `limit` due messages (replies first), submit each, record what the SMSC answered.

    The claim commits before any submit (a crash mid-batch leaves leased rows, claimed again when the lease
    ends); the outcomes commit together after the batch (group commit). A receipt that arrives before its
    submit is recorded is returned unmatched by `record_receipts`, and the listener offers it again.
    """
    start = now()
    with uow_factory() as uow:
        uow.lock_for_write()
        rows = uow.outbox.claim(now=start, lease_until=start + options.lease, limit=limit)
        uow.commit()
    if not rows:
        return DispatchCounts()
    outcomes = _submit_all(transport, rows, vault)
    at = now()
    settled = [(row, outcome, _settle(row, outcome, at, transport.name, options)) for row, outcome in outcomes]
    with uow_factory() as uow:
        uow.lock_for_write()
        uow.outbox.settle_many([(row.id, values) for row, _, values in settled])
        uow.outbox.add_submits_many(
            [(row.id, transport.name, o.message_ids) for row, o, _ in settled if o.status == "accepted"]
        )
        uow.commit()
    states = Counter(str(values["state"]) for _, _, values in settled)
    for row, outcome, _ in settled:
        if outcome.status != "accepted":
            log.info("sms.submit_not_accepted", outbox_id=row.id, status=outcome.status, error=outcome.error)
    return DispatchCounts(len(rows), states["accepted"], states["pending"], states["rejected"])


def record_receipts(receipts: Sequence[Receipt], *, uow: SmsUnitOfWork) -> list[Receipt]:
    """Apply delivery receipts; a message is `delivered` when every part is, `failed` when a part is not.

    Returns the receipts whose message id is not (yet) known: the submit that produced it may still be
    settling; the caller offers them again a little later and drops them after a while.
    """
    unmatched: list[Receipt] = []
    with uow:
        uow.lock_for_write()
        wanted = [r for r in receipts if r.state != "buffered"]
        finals: dict[int, dict[str, object]] = {}
        for receipt, found in zip(wanted, uow.outbox.apply_receipts(wanted), strict=True):
            if found is None:
                unmatched.append(receipt)
            elif found.complete:
                final = "delivered" if all(s == "delivered" for s in found.part_states) else "failed"
                finals[found.outbox_id] = {"state": final, "final_at": receipt.at}
        uow.outbox.settle_many(list(finals.items()))
        uow.commit()
    return unmatched
