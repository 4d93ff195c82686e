"""The exception tree of subreg, drawn in one place.

SubregError
├── InputError                 bad input; carries field-level errors (field, code)
│   ├── FieldValueError        one value failed one rule (raised by value parsers)
│   └── UnreadableInputError   the input as a whole is not records (binary, not UTF-8, unknown format)
├── NotFoundError
├── ConflictError
│   └── DuplicateMsisdnError
├── RuleViolationError          a Decree 49 rule refuses the operation
├── AuthenticationError        not signed in / sign-in refused (HTTP 401)
│   ├── InvalidCredentialsError  unknown user, wrong password or disabled: one answer for all
│   ├── AccountLockedError
│   └── TotpRequiredError
├── PermissionDeniedError
│   └── CsrfError               a cookie-authenticated change without its CSRF token
├── CryptoError                 a key is missing, wrong or shredded
│   └── ErasedError             the holder was crypto-shredded (lawful erasure): nothing to read
└── ExternalServiceError        a peer failed (retryable or not)

Messages never contain personal data: only field paths and codes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AccountLockedError",
    "AuthenticationError",
    "BusyError",
    "ConflictError",
    "CryptoError",
    "CsrfError",
    "DuplicateMsisdnError",
    "ErasedError",
    "ExternalServiceError",
    "FieldError",
    "FieldValueError",
    "InputError",
    "InvalidCredentialsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RuleViolationError",
    "SubregError",
    "TotpRequiredError",
    "UnreadableInputError",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: a dotted path and a stable code (its messages are in `messages.CODES`)."""

    field: str
    code: str


class SubregError(Exception):
    """Root of every error subreg raises on purpose; `errors` says which fields and why (may be empty)."""

    code = "error"

    def __init__(self, message: str = "", *, errors: list[FieldError] | tuple[FieldError, ...] = ()) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__(message)


class InputError(SubregError):
    """Input was rejected; `errors` says which fields and why."""

    code = "invalid_input"

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        super().__init__(", ".join(f"{e.field}: {e.code}" for e in errors), errors=errors)


class FieldValueError(InputError):
    """A single value failed a rule; the field path may be filled in by the caller."""

    def __init__(self, code: str, field: str = "") -> None:
        self.value_code = code
        super().__init__([FieldError(field, code)])

    def at(self, field: str) -> FieldValueError:
        """The same error, located at `field`."""
        return FieldValueError(self.value_code, field)


class UnreadableInputError(InputError):
    """The input as a whole cannot be read as records (binary, not UTF-8, unknown format): a client error."""

    code = "unreadable_input"

    def __init__(self, reason: str = "", field: str = "body") -> None:
        super().__init__([FieldError(field, "unreadable_input")])
        self.reason = reason  # a short technical reason for the CLI (never a value of the input)

    def __str__(self) -> str:
        return self.reason or "unreadable input"


class NotFoundError(SubregError):
    code = "not_found"


class ConflictError(SubregError):
    code = "conflict"


class BusyError(ConflictError):
    """The embedded database (SQLite) refused this transaction's first write: another writer committed
    after the transaction had read. Nothing was written; running the whole use case again succeeds."""

    code = "busy"


class DuplicateMsisdnError(ConflictError):
    code = "duplicate_msisdn"


class RuleViolationError(SubregError):
    """A Decree 49 rule refuses the operation; `errors` lists the reasons."""

    code = "rule_violation"

    def __init__(self, errors: list[FieldError], missing: list[str] | None = None) -> None:
        super().__init__(", ".join(e.code for e in errors) or "rule violation", errors=errors)
        self.missing = missing or []


class ProcessingRestrictedError(ConflictError):
    """The holder asked for restriction of processing (PDPL): their data is kept, not used or changed."""

    code = "processing_restricted"


class PermissionDeniedError(SubregError):
    code = "permission_denied"


class CsrfError(PermissionDeniedError):
    """A cookie-authenticated unsafe request did not carry the session's CSRF token."""

    code = "csrf_failed"


class AuthenticationError(SubregError):
    """The caller is not signed in (or the session expired, was revoked, or the account disabled)."""

    code = "unauthenticated"


class InvalidCredentialsError(AuthenticationError):
    """Sign-in refused. Deliberately the same for an unknown user, a wrong password or a disabled account."""

    code = "invalid_credentials"


class AccountLockedError(AuthenticationError):
    """Too many failed sign-ins in a row: the account is locked for a while."""

    code = "account_locked"


class TooManyAttemptsError(AuthenticationError):
    """Too many failed sign-ins from one place (whatever the accounts tried): wait, then try again."""

    code = "too_many_attempts"


class TotpRequiredError(AuthenticationError):
    """The password was right; the account also needs a one-time code from its authenticator app."""

    code = "totp_required"


class CryptoError(SubregError):
    code = "crypto_error"


class ErasedError(CryptoError):
    """The holder's data key was erased (crypto-shredding): their personal data and images are gone."""

    code = "erased"


class ExternalServiceError(SubregError):
    code = "external_service_error"

    def __init__(self, message: str, *, retryable: bool) -> None:
        self.retryable = retryable
        super().__init__(message)
