"""A gateway callback refused (no secret, a wrong one, another address): audited, never answered by SMS."""

from __future__ import annotations

from datetime import datetime

from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.common import audit_trail
from subreg.services.common.ports import UnitOfWork

__all__ = ["record_refusal"]


def record_refusal(gateway: str, reason: str, address: str | None, *, uow: UnitOfWork, now: datetime) -> None:
    """Append `sms:gateway_refused` with the gateway's name, the reason code and the caller's address."""
    with uow:
        audit_trail.record(
            uow, actor=None, action=AuditAction.SMS_GATEWAY_REFUSED, now=now,
            details={"gateway": gateway[:48], "reason": reason, "client_ip": address},
        )  # fmt: skip
        uow.commit()
