"""The purpose-bound, tamper-evident audit log: record, verify, query, anomaly signals.

`record` appends in the CALLER's unit of work: the entry commits or rolls back with the work it
describes, so the log never claims a change that did not happen, nor misses one that did.

The chain is HMAC-SHA256 under a key derived inside the vault and never stored (see
`adapters.vault.AesGcmVault.audit_key`): someone with write access to the database can edit rows,
but cannot recompute the hashes after them, so `verify` names the first entry touched. Cutting off
the newest entries leaves a valid shorter chain: a head checkpoint kept outside the database
(`var/audit.head`, written by `verify` and `checkpoint`) catches that.

Subjects are keys, never personal data: `subject_for_msisdn` is a keyed HMAC of the number (the
same number always gives the same subject, so queries by subscription work; the table alone does
not reveal it), `subject_for_holder` the holder's row id.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.privacy.anomalies import (
    Signal,
    after_hours_reads,
    id_lookups_without_transaction,
    read_volume_outliers,
)
from subreg.domain.privacy.audit_chain import (
    AuditAction,
    AuditDraft,
    AuditEntry,
    Checkpoint,
    VerifyResult,
    chain_hash,
    key_fingerprint,
    seal,
    utc_timestamp,
    verify_chain,
)
from subreg.services.ports import UnitOfWork
from subreg.services.ports_audit import AuditFilter

__all__ = [
    "READ_ACTIONS",
    "TRANSACTION_ACTIONS",
    "AnomalyReport",
    "HeadFile",
    "VerifyReport",
    "anomalies",
    "hold_appender_lock",
    "query",
    "record",
    "subject_for_holder",
    "subject_for_msisdn",
    "verify",
]

# What counts as a "read of a record" for the volume and after-hours rules, an ID lookup, and a
# transaction that explains lookups (a lookup followed by a registration or an update is normal).
READ_ACTIONS: tuple[str, ...] = (
    AuditAction.SUBSCRIPTION_READ,
    AuditAction.LOOKUP_BY_ID,
    AuditAction.DOCUMENT_IMAGE_VIEWED,
)
LOOKUP_ACTIONS: tuple[str, ...] = (AuditAction.LOOKUP_BY_ID,)
TRANSACTION_ACTIONS: tuple[str, ...] = (
    AuditAction.SUBSCRIPTION_REGISTERED,
    AuditAction.SUBSCRIPTION_UPDATED,
    AuditAction.DOCUMENT_UPLOADED,
    "counter:transaction",
)

_VALUE_ERROR = re.compile(r"(?P<field>[\w.]+): (?P<code>[a-z_]+)")


class Blinder(Protocol):
    """What `subject_for_msisdn` needs from the vault: its keyed blind index."""

    def blind(self, id_number: str) -> bytes: ...


def subject_for_msisdn(vault: Blinder, e164: str) -> str:
    """`sub:` + 32 hex digits of a keyed HMAC of the E.164 number: stable, and no number in clear.

    The `msisdn:` prefix keeps these values apart from the ID-number blind index under the same key.
    """
    return "sub:" + vault.blind("msisdn:" + e164).hex()[:32]


def subject_for_holder(holder_id: int) -> str:
    """`holder:<id>` (a row id, not personal data)."""
    return f"holder:{int(holder_id)}"


def _context_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value)[:64] if value else None


def _input_error(exc: ValueError) -> InputError:
    match = _VALUE_ERROR.fullmatch(str(exc))
    if match is None:
        return InputError([FieldError("audit", "invalid_format")])
    return InputError([FieldError(match["field"], match["code"])])


def hold_appender_lock(uow: UnitOfWork) -> None:
    """Take the appenders' lock now, before reading, in a transaction that will append later.

    On SQLite a transaction that has read cannot become a writer once another writer has committed
    (it fails with ConflictError: retry); taking the lock first makes the read-then-audit flow safe.
    On PostgreSQL it only serialises earlier. Harmless to call more than once.
    """
    uow.audit.lock_head()


def record(
    uow: UnitOfWork,
    *,
    actor: Actor | None,
    action: str,
    subject: str | None = None,
    fields: Sequence[str] = (),
    purpose: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the audit log inside the caller's transaction (commit is the caller's).

    Takes the appenders' lock first, so concurrent writers form one chain. InputError when the
    entry is not acceptable (a personal-data action without a purpose, a personal field in details).
    """
    head = uow.audit.lock_head()
    moment = now or datetime.now(UTC)
    draft = AuditDraft(
        seq=head.seq + 1,
        at=utc_timestamp(moment),
        actor_staff_id=actor.staff_id if actor is not None else None,
        actor_role=str(actor.role) if actor is not None else None,
        point_of_sale_id=actor.point_of_sale_id if actor is not None else None,
        action=str(action),
        subject=subject,
        fields=tuple(str(f) for f in fields),
        purpose=str(purpose) if purpose is not None else None,
        request_id=request_id or _context_request_id(),
        details=dict(details or {}),
    )
    try:
        entry = seal(draft, head.hash, uow.audit.chain_key)
    except ValueError as exc:
        raise _input_error(exc) from None
    uow.audit.insert(entry)
    return entry


# --- verification ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeadFile:
    """The head checkpoint kept outside the database (`var/audit.head`): `seq hash key-fingerprint`."""

    path: Path

    def read(self) -> tuple[Checkpoint, str] | None:
        """The stored checkpoint and key fingerprint, or None when there is none (or it is unreadable)."""
        try:
            parts = self.path.read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            return None
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        return Checkpoint(int(parts[0]), parts[1]), parts[2]

    def write(self, checkpoint: Checkpoint, fingerprint: str) -> None:
        """Replace the file atomically (temp file, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="ascii") as fh:
            fh.write(f"{checkpoint.seq} {checkpoint.hash} {fingerprint}\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of `verify`: `reason` is edited | deleted_or_inserted | reordered | bad_genesis |
    truncated | wrong_key, `first_bad_seq` the first entry where the log departs from a valid chain."""

    ok: bool
    checked: int
    head_seq: int
    first_bad_seq: int | None = None
    reason: str | None = None
    checkpoint_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return dataclasses.asdict(self)


def _moved(uow: UnitOfWork, entry: AuditEntry, key: bytes) -> bool:
    """Whether `entry` is intact apart from its seq: it was moved (renumbered), not edited."""
    predecessor = uow.audit.find_by_hash(entry.prev_hash)
    candidates = {entry.seq - 1, entry.seq + 1}
    if predecessor is not None:
        candidates.add(predecessor.seq + 1)
    candidates.discard(entry.seq)
    for seq in sorted(c for c in candidates if c > 0):
        try:
            if chain_hash(entry.prev_hash, dataclasses.replace(entry, seq=seq), key) == entry.hash:
                return True
        except (TypeError, ValueError):
            return False
    return False


def verify(uow: UnitOfWork, *, head_file: HeadFile | None = None, batch_size: int = 1000) -> VerifyReport:
    """Verify the whole chain in seq order, in batches (constant memory), against the head checkpoint.

    When it is intact, the head checkpoint advances to the newest entry. A checkpoint made with
    another key (fingerprint mismatch) is reported as `wrong_key` rather than trusted.
    """
    key = uow.audit.chain_key
    fingerprint = key_fingerprint(key)
    stored = head_file.read() if head_file is not None else None
    head: Checkpoint | None = None
    if stored is not None:
        if stored[1] != fingerprint:
            return VerifyReport(False, 0, uow.audit.head().seq, None, "wrong_key", stored[0].seq)
        head = stored[0]
    result: VerifyResult = verify_chain(uow.audit.iter_entries(batch_size=batch_size), key, head=head)
    newest = uow.audit.head()
    if result.ok:
        if head_file is not None and result.last is not None:
            head_file.write(result.last, fingerprint)
        return VerifyReport(True, result.checked, newest.seq, checkpoint_seq=head.seq if head else None)
    reason: str | None = result.reason
    bad = result.first_bad_seq
    if head is not None and bad is not None and bad > newest.seq:
        reason = "truncated"  # the log ends before an entry known to have existed
    elif reason == "deleted_or_inserted" and bad is not None:
        entry = uow.audit.get(bad)
        if entry is not None and _moved(uow, entry, key):
            reason = "reordered"
    return VerifyReport(False, result.checked, newest.seq, bad, reason, head.seq if head else None)


def checkpoint(uow: UnitOfWork, head_file: HeadFile) -> Checkpoint:
    """Record the current head in `head_file` without verifying (after a verified backup, say)."""
    newest = uow.audit.head()
    head_file.write(newest, key_fingerprint(uow.audit.chain_key))
    return newest


# --- queries ------------------------------------------------------------------------------------------


def query(
    uow: UnitOfWork, *, actor: Actor | None, criteria: AuditFilter, purpose_of_read: str | None = None
) -> list[AuditEntry]:
    """Entries matching `criteria`, newest first; the read itself is recorded (`audit:read`)."""
    hold_appender_lock(uow)
    found = uow.audit.search(criteria)
    filters = {
        k: v
        for k, v in {
            "staff_id": criteria.staff_id,
            "by_subject": criteria.subject is not None or None,
            "since": criteria.since,
            "until": criteria.until,
            "purpose": criteria.purpose,
            "action": criteria.action,
        }.items()
        if v is not None
    }
    # The subject searched for goes into `subject`, where the same keyed value already lives; the
    # details only say that a subject filter was used.
    record(
        uow,
        actor=actor,
        action=AuditAction.AUDIT_READ,
        subject=criteria.subject,
        purpose=purpose_of_read,
        details={"filters": filters, "returned": len(found)},
    )
    return found


def entry_as_dict(entry: AuditEntry) -> dict[str, Any]:
    """An entry as JSON (it holds no personal data by construction)."""
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor_staff_id": entry.actor_staff_id,
        "actor_role": entry.actor_role,
        "point_of_sale_id": entry.point_of_sale_id,
        "action": entry.action,
        "subject": entry.subject,
        "fields": list(entry.fields),
        "purpose": entry.purpose,
        "request_id": entry.request_id,
        "details": dict(entry.details),
        "hash": entry.hash,
    }


# --- anomaly signals ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnomalyReport:
    """Signals over a period, each naming a staff account, the observed value and the threshold."""

    since: str | None
    until: str | None
    signals: list[Signal]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "since": self.since,
            "until": self.until,
            "signals": [
                {"kind": str(s.kind), "staff_id": s.staff_id, "value": s.value, "threshold": s.threshold}
                for s in self.signals
            ],
        }


def _local(at: str, zone: ZoneInfo) -> datetime:
    return datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).astimezone(zone)


def day_bounds(day: date | None) -> str | None:
    """The canonical timestamp of midnight UTC starting `day` (None passes through)."""
    if day is None:
        return None
    return utc_timestamp(datetime.combine(day, time(0), tzinfo=UTC))


def anomalies(
    uow: UnitOfWork,
    *,
    since: datetime | None,
    until: datetime | None = None,
    opening: time = time(8, 0),
    closing: time = time(21, 0),
    timezone: str = "Asia/Ho_Chi_Minh",
    actor: Actor | None = None,
    via: str | None = None,
) -> AnomalyReport:
    """The three signals over [since, until): read volume among peers of the same role, reads outside
    opening hours (local time), and ID lookups not followed by transactions.

    The database aggregates (one GROUP BY); only per-read timestamps for the after-hours rule stream
    through, and the pure rules in `domain.anomalies` decide. The read is recorded
    (`audit:anomalies_read`) in the caller's unit of work; the caller commits.
    """
    hold_appender_lock(uow)
    lo = utc_timestamp(since) if since else None
    hi = utc_timestamp(until) if until else None
    counts = uow.audit.activity(
        since=lo, until=hi, read_actions=READ_ACTIONS, lookup_actions=LOOKUP_ACTIONS,
        transaction_actions=TRANSACTION_ACTIONS,
    )  # fmt: skip
    signals: list[Signal] = []
    by_role: dict[str, dict[int, int]] = {}
    for staff, n in counts.reads.items():
        by_role.setdefault(counts.roles.get(staff, ""), {})[staff] = n
    for group in by_role.values():
        signals += read_volume_outliers(group)
    zone = ZoneInfo(timezone)
    reads = uow.audit.read_times(since=lo, until=hi, read_actions=READ_ACTIONS)
    events: Iterator[tuple[int, datetime]] = ((staff, _local(at, zone)) for staff, _pos, at in reads)
    signals += after_hours_reads(events, opening, closing)
    signals += id_lookups_without_transaction(counts.id_lookups, counts.transactions)
    details: dict[str, Any] = {"signals": len(signals)}
    if via:
        details["via"] = via
    record(uow, actor=actor, action="audit:anomalies_read", details=details)
    return AnomalyReport(lo, hi, signals)


def period_since(days: int, now: datetime | None = None) -> datetime:
    """`days` back from now (the default anomaly window)."""
    return (now or datetime.now(UTC)) - timedelta(days=days)


def parse_opening_hours(text: str) -> tuple[time, time]:
    """`"07:30-21:30"` as (opening, closing); InputError (`opening_hours`) otherwise."""
    try:
        start, end = text.split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise InputError([FieldError("opening_hours", "invalid_format")]) from None
