"""The TOTP second factor: enrolment, confirmation, and the sealed secret.

TOTP secrets are sealed with a data key of their own (vault `new_data_key`), bound to the account by
the AAD `staff-totp:<id>`; the column holds the wrapped key and the ciphertext together
(`_pack_secret`), so rotating the master key (which re-wraps KEKs) keeps them readable.
"""

from __future__ import annotations

import json
import secrets
import struct
from datetime import datetime
from typing import Any

from subreg.domain.access import totp as totp_codes
from subreg.domain.common.errors import FieldValueError, NotFoundError
from subreg.services.access._common import actor_of, audit_event, utc_or_now
from subreg.services.access.ports import AccessUnitOfWork, StaffAuthRow
from subreg.services.common.ports import Vault

__all__ = ["confirm_totp", "enroll_totp", "open_secret", "store_secret"]

_PACK = struct.Struct(">IH")  # kek_id, length of the wrapped DEK


def _aad(staff_id: int) -> bytes:
    return f"staff-totp:{staff_id}".encode("ascii")


def _pack_secret(kek_id: int, wrapped: bytes, ciphertext: bytes) -> bytes:
    """`staff.totp_secret` = kek_id (4 bytes) | len(wrapped DEK) (2 bytes) | wrapped DEK | ciphertext."""
    return _PACK.pack(kek_id, len(wrapped)) + wrapped + ciphertext


def store_secret(uow: AccessUnitOfWork, staff_id: int, vault: Vault, state: dict[str, Any]) -> None:
    dek, kek_id, wrapped = vault.new_data_key()
    sealed = vault.seal(dek, json.dumps(state, separators=(",", ":")).encode("ascii"), _aad(staff_id))
    uow.auth.update_staff(staff_id, {"totp_secret": _pack_secret(kek_id, wrapped, sealed)})


def open_secret(row: StaffAuthRow, vault: Vault) -> dict[str, Any]:
    """The TOTP state of an account: `s` active secret (hex) when `confirmed`, `p` pending one, `last` step."""
    blob = row.totp_secret or b""
    kek_id, size = _PACK.unpack_from(blob)
    start = _PACK.size
    dek = vault.unwrap(kek_id, blob[start : start + size])
    state: dict[str, Any] = json.loads(vault.open(dek, blob[start + size :], _aad(row.id)))
    return state


def enroll_totp(uow: AccessUnitOfWork, staff_id: int, *, vault: Vault, issuer: str = "subreg") -> str:
    """Start TOTP enrolment; the otpauth:// URI to show as a QR code. Commits.

    The new secret stays pending until `confirm_totp` sees a valid code from it. An already confirmed
    secret keeps guarding sign-in meanwhile, so a stolen session cannot quietly swap the factor out.
    """
    row = uow.auth.staff_by_id(staff_id)
    if row is None or not row.active:
        raise NotFoundError("unknown_staff")
    state = open_secret(row, vault) if row.totp_secret is not None else {"s": None, "confirmed": False, "last": None}
    secret = secrets.token_bytes(20)  # 160 bits, the RFC 4226 recommendation for HMAC-SHA1
    store_secret(uow, row.id, vault, {**state, "p": secret.hex()})
    uow.commit()
    return totp_codes.provisioning_uri(secret, account=row.username, issuer=issuer)


def confirm_totp(
    uow: AccessUnitOfWork,
    staff_id: int,
    code: str,
    *,
    vault: Vault,
    session_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Confirm enrolment with a code from the app; from now on sign-in needs one. Commits.

    The confirming session counts as second-factor verified.
    """
    row = uow.auth.staff_by_id(staff_id)
    if row is None or not row.active:
        raise NotFoundError("unknown_staff")
    state = open_secret(row, vault) if row.totp_secret is not None else {}
    if not state.get("p"):
        raise FieldValueError("totp_not_enrolled", "totp")
    step = totp_codes.verify(bytes.fromhex(state["p"]), code, utc_or_now(now))
    if step is None:
        raise FieldValueError("invalid_totp", "totp")
    store_secret(uow, row.id, vault, {"s": state["p"], "confirmed": True, "last": step, "p": None})
    if session_id is not None:
        uow.auth.update_session(session_id, {"second_factor": True})
    audit_event(
        uow,
        actor=actor_of(row),
        action="staff:updated",
        subject=f"staff:{row.id}",
        now=utc_or_now(now),
        change="totp_enrolled",
    )
    uow.commit()
