"""The tamper-evident audit log, read back: verify the chain, keep its head, query it, anomaly signals.

Entries are written by every capability through `services.common.audit_trail.record`, in the unit of
work of the change they describe. The chain is HMAC-SHA256 under a key derived inside the vault and
never stored: someone with write access to the database can edit rows, but cannot recompute the
hashes after them, so `verify` names the first entry touched. Cutting off the newest entries leaves a
valid shorter chain: a head checkpoint kept outside the database (`AuditHead`, the file
`var/audit.head`, written by `verify` and `checkpoint`) catches that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from subreg.domain.access.permissions import Actor, Reason, Role
from subreg.domain.common.errors import FieldError, InputError, PermissionDeniedError
from subreg.domain.common.msisdn import msisdn_key
from subreg.domain.privacy.anomalies import (
    Signal,
    after_hours_reads,
    id_lookups_without_transaction,
    read_volume_outliers,
)
from subreg.domain.privacy.audit_chain import (
    AuditAction,
    AuditEntry,
    Checkpoint,
    VerifyResult,
    chain_hash,
    key_fingerprint,
    utc_timestamp,
    verify_chain,
)
from subreg.services.common import audit_trail
from subreg.services.common.audit_trail import Blinder, hold_appender_lock, record
from subreg.services.common.ports import AuditFilter, UnitOfWork
from subreg.services.privacy.ports import AuditHead
from subreg.services.registry.ports import RegistryUnitOfWork

__all__ = [
    "READ_ACTIONS",
    "TRANSACTION_ACTIONS",
    "AnomalyReport",
    "VerifyReport",
    "anomalies",
    "checkpoint",
    "entry_as_dict",
    "query",
    "subjects_of_number",
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


# --- verification ------------------------------------------------------------------------------------


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


def verify(uow: UnitOfWork, *, head_file: AuditHead | None = None, batch_size: int = 1000) -> VerifyReport:
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


def checkpoint(uow: UnitOfWork, head_file: AuditHead) -> Checkpoint:
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
            "by_subject": bool(criteria.subjects) or None,
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
        subject=criteria.subjects[0] if len(criteria.subjects) == 1 else None,
        purpose=purpose_of_read,
        details={"filters": filters, "returned": len(found)},
    )
    return found


def subjects_of_number(uow: RegistryUnitOfWork, vault: Blinder, e164: str) -> tuple[str, ...]:
    """The audit subjects of a phone number: each line it has had, and the keyed number itself (the subject
    of entries written before lines had ids)."""
    lines = uow.subscriptions.lines_of(msisdn_key(e164))
    return (*(audit_trail.subject_for_line(line.id) for line in lines), audit_trail.subject_for_msisdn(vault, e164))


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
    through, and the pure rules in `domain.privacy.anomalies` decide. The read is recorded
    (`audit:anomalies_read`) in the caller's unit of work; the caller commits.
    """
    if actor is not None and str(actor.role) == Role.REGIONAL_MANAGER:
        # `reports:read` gives a regional manager its provinces' figures; these signals name staff accounts
        # network-wide, outside any province's scope.
        raise PermissionDeniedError(Reason.OUT_OF_SCOPE)
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
