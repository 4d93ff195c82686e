"""The audit trail every capability writes: one entry per access to personal data or change, appended in
the CALLER's unit of work, so the entry commits or rolls back with the work it describes (the log never
claims a change that did not happen, nor misses one that did).

Subjects are keys, never personal data: `subject_for_line` names a subscription line by its row id,
`subject_for_holder` a holder by its row id, `subject_for_msisdn` (entries written before lines had
ids) a keyed HMAC of the number. The chain itself (HMAC-SHA256 under a key derived in the vault) is
`domain.privacy.audit_chain`; verifying and querying it is `services.privacy.audit_log`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.privacy.audit_chain import AuditDraft, AuditEntry, seal, utc_timestamp
from subreg.services.common.ports import UnitOfWork

__all__ = ["hold_appender_lock", "record", "subject_for_holder", "subject_for_line", "subject_for_msisdn"]

_VALUE_ERROR = re.compile(r"(?P<field>[\w.]+): (?P<code>[a-z_]+)")


class Blinder(Protocol):
    """What `subject_for_msisdn` needs from the vault: its keyed blind index."""

    def blind(self, id_number: str) -> bytes: ...


def subject_for_msisdn(vault: Blinder, e164: str) -> str:
    """`sub:` + 32 hex digits of a keyed HMAC of the E.164 number: stable, and no number in clear.

    The `msisdn:` prefix keeps these values apart from the ID-number blind index under the same key.
    """
    return "sub:" + vault.blind("msisdn:" + e164).hex()[:32]


def subject_for_line(subscription_id: int) -> str:
    """`line:<id>`: a subscription line (a row id, not personal data; a reissued number is another line)."""
    return f"line:{int(subscription_id)}"


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
