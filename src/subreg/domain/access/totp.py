"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), as pure functions.

The second factor of back-office accounts. Twenty lines of `hmac` instead of a dependency: the
algorithm is small, fixed by the RFCs and checked against their published test vectors. Time and
randomness are passed in (`at`, `secret`), so nothing here reads a clock or an entropy source.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote, urlencode

__all__ = ["DIGITS", "STEP_SECONDS", "b32_secret", "hotp", "provisioning_uri", "step_of", "totp", "verify"]

STEP_SECONDS = 30
DIGITS = 6
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def hotp(secret: bytes, counter: int, *, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    """The HOTP value of `counter` (RFC 4226 section 5.3: dynamic truncation)."""
    mac = hmac.new(secret, counter.to_bytes(8, "big"), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_of(at: datetime | float) -> int:
    """The RFC 6238 time step (T) holding `at` (an aware datetime or Unix seconds)."""
    seconds = at.timestamp() if isinstance(at, datetime) else at
    return int(seconds // STEP_SECONDS)


def totp(secret: bytes, at: datetime | float, *, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    """The code an authenticator app shows at `at`."""
    return hotp(secret, step_of(at), digits=digits, algorithm=algorithm)


def verify(
    secret: bytes, code: str, at: datetime | float, *, window: int = 1, last_step: int | None = None
) -> int | None:
    """The time step `code` matches within +-`window` steps of `at`, or None.

    A step at or before `last_step` (the last one accepted) is refused, so an observed code cannot be
    replayed within its validity window.
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_of(at)
    for step in range(now - window, now + window + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(hotp(secret, step), code):
            return step
    return None


def b32_secret(secret: bytes) -> str:
    """The secret as authenticator apps want it: base32 without padding."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def provisioning_uri(secret: bytes, *, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI (Key Uri Format) an authenticator app imports, usually as a QR code."""
    label = quote(f"{issuer}:{account}", safe="")
    query = urlencode(
        {"secret": b32_secret(secret), "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
         "period": STEP_SECONDS}
    )  # fmt: skip
    return f"otpauth://totp/{label}?{query}"
