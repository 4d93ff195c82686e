"""Ports of chip-data and face verification: the passive authenticator, the face model, their storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from subreg.domain.verification.chip import PassiveAuthOutcome
from subreg.domain.verification.face import FaceReason
from subreg.services.common.ports import UnitOfWork

__all__ = [
    "BiometricRepository",
    "BiometricUnitOfWork",
    "FaceModel",
    "FaceRefusedError",
    "FaceTemplate",
    "PassiveAuthenticator",
]


class PassiveAuthenticator(Protocol):
    """ICAO 9303 passive authentication against the configured CSCA list."""

    def authenticate(self, *, sod: bytes, groups: Mapping[int, bytes], at: datetime) -> PassiveAuthOutcome:
        """Check EF.SOD's signature, its DS certificate up to a CSCA and every data group's hash."""
        ...


@dataclass(frozen=True, slots=True)
class FaceTemplate:
    """A face's encoding by one model (a biometric template: sensitive personal data, never logged)."""

    model: str
    vector: tuple[float, ...]


class FaceRefusedError(Exception):
    """The image cannot be used for a face match (no face, several faces, a photo of a photo...)."""

    def __init__(self, reason: FaceReason) -> None:
        super().__init__(str(reason))
        self.reason = reason


class FaceModel(Protocol):
    """An offline face model: one face's template from an image, and the distance of two templates."""

    @property
    def model(self) -> str:
        """Name and version of the model (`verifications.model`)."""
        ...

    def template(self, image: bytes, *, live_capture: bool) -> FaceTemplate:
        """The template of the single face in `image`; FaceRefusedError when there is none, several, or
        (`live_capture`: the counter's camera) the picture looks recaptured from a screen or a print."""
        ...

    def distance(self, a: FaceTemplate, b: FaceTemplate) -> float:
        """Distance of two templates (lower is more alike)."""
        ...


class BiometricRepository(Protocol):
    """The verification trail and sealed biometric templates."""

    def add_verification(self, row: Mapping[str, Any]) -> int:
        """Append one row to `verifications`; its id."""
        ...

    def holder_key(self, holder_id: int) -> tuple[int, bytes | None] | None:
        """The holder's KEK id and wrapped DEK (None: no such holder; a None DEK: shredded)."""
        ...

    def add_template(self, row: Mapping[str, Any]) -> int:
        """Store one sealed template; its id."""
        ...

    def templates_of(self, holder_id: int, *, kind: str, today: date) -> Sequence[Mapping[str, Any]]:
        """The holder's unexpired templates of a kind, newest first."""
        ...

    def delete_expired_templates(self, today: date) -> int:
        """Delete every template whose `expires_on` is before `today` (set-based); how many."""
        ...


class BiometricUnitOfWork(UnitOfWork, Protocol):
    """A unit of work with the biometric repository."""

    biometrics: BiometricRepository
