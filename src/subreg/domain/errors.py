"""The exception tree of subreg, drawn in one place.

SubregError
├── InputError                 bad input; carries field-level errors (field, code)
│   └── FieldValueError        one value failed one rule (raised by value parsers)
├── NotFoundError
├── ConflictError
│   └── DuplicateMsisdnError
├── RuleViolationError          a Decree 49 rule refuses the operation
├── PermissionDeniedError
├── CryptoError                 a key is missing, wrong or shredded
└── ExternalServiceError        a peer failed (retryable or not)

Messages never contain personal data: only field paths and codes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConflictError",
    "CryptoError",
    "DuplicateMsisdnError",
    "ExternalServiceError",
    "FieldError",
    "FieldValueError",
    "InputError",
    "NotFoundError",
    "PermissionDeniedError",
    "RuleViolationError",
    "SubregError",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: a dotted path and a stable code from the data dictionary."""

    field: str
    code: str


class SubregError(Exception):
    """Root of every error subreg raises on purpose."""

    code = "error"


class InputError(SubregError):
    """Input was rejected; `errors` says which fields and why."""

    code = "invalid_input"

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.errors = list(errors)
        super().__init__(", ".join(f"{e.field}: {e.code}" for e in self.errors))


class FieldValueError(InputError):
    """A single value failed a rule; the field path may be filled in by the caller."""

    def __init__(self, code: str, field: str = "") -> None:
        self.value_code = code
        super().__init__([FieldError(field, code)])

    def at(self, field: str) -> FieldValueError:
        """The same error, located at `field`."""
        return FieldValueError(self.value_code, field)


class NotFoundError(SubregError):
    code = "not_found"


class ConflictError(SubregError):
    code = "conflict"


class DuplicateMsisdnError(ConflictError):
    code = "duplicate_msisdn"


class RuleViolationError(SubregError):
    """A Decree 49 rule refuses the operation; `errors` lists the reasons."""

    code = "rule_violation"

    def __init__(self, errors: list[FieldError], missing: list[str] | None = None) -> None:
        self.errors = errors
        self.missing = missing or []
        super().__init__(", ".join(e.code for e in errors) or "rule violation")


class PermissionDeniedError(SubregError):
    code = "permission_denied"


class CryptoError(SubregError):
    code = "crypto_error"


class ExternalServiceError(SubregError):
    code = "external_service_error"

    def __init__(self, message: str, *, retryable: bool) -> None:
        self.retryable = retryable
        super().__init__(message)
