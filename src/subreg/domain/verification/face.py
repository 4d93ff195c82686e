"""Face biometrics as pure rules: thresholds per regime, the decision, reason codes, template retention.

A face model turns a face into an encoding; two encodings are compared by a distance (lower = more alike).
The decision is a threshold on that distance, set per regime (the operator's setting), so that a stricter
regime can ask for a closer match. The adapter (adapters/face/) computes encodings and distances and reports
refusals (no face, several faces, a photo of a screen or a print) with these codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FaceDecision",
    "FaceReason",
    "decide",
    "parse_thresholds",
    "template_expiry",
    "threshold_for",
]

# dlib's ResNet model (face_recognition) is documented at 0.6 for "same person"; 0.5 is stricter (fewer false
# matches, more false non-matches). Circular 08/2026 makes the face the deciding factor: stricter by default.
DEFAULT_THRESHOLDS: Mapping[str, float] = {
    "nd49-2017": 0.6,
    "population-db-2023": 0.6,
    "nd163-2024": 0.55,
    "circular-08-2026": 0.5,
}


class FaceReason(StrEnum):
    """Why a face verification did not pass (`verifications.reason`)."""

    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    RECAPTURED = "photo_of_photo"  # a screen or a print held up to the camera
    IMAGE_UNREADABLE = "image_unreadable"
    NO_REFERENCE = "no_reference_face"
    MISMATCH = "face_mismatch"


@dataclass(frozen=True, slots=True)
class FaceDecision:
    """The outcome of matching two faces."""

    passed: bool
    reason: FaceReason | None
    distance: float | None
    threshold: float
    model: str

    @property
    def decision(self) -> str:
        """`verifications.decision`: passed | failed (a mismatch) | refused (unusable input)."""
        if self.passed:
            return "passed"
        return "failed" if self.reason is FaceReason.MISMATCH else "refused"


def parse_thresholds(text: str) -> dict[str, float]:
    """`regime=0.5,regime=0.55` -> a mapping (over the defaults); ValueError on a malformed entry."""
    found = dict(DEFAULT_THRESHOLDS)
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        regime, sep, value = entry.partition("=")
        number = float(value) if sep else -1.0
        if not regime.strip() or not 0.0 < number < 2.0:
            raise ValueError(f"face threshold entry {entry!r}: expected regime=distance with 0 < distance < 2")
        found[regime.strip()] = number
    return found


def threshold_for(regime: str, thresholds: Mapping[str, float]) -> float:
    """The distance threshold of `regime` (the strictest known one for an unknown regime)."""
    return thresholds.get(regime, min(thresholds.values(), default=0.5))


def decide(distance: float, *, threshold: float, model: str) -> FaceDecision:
    """Same person when the distance is at most the threshold."""
    same = distance <= threshold
    return FaceDecision(same, None if same else FaceReason.MISMATCH, distance, threshold, model)


def template_expiry(today: date, *, keep_days: int | None) -> date | None:
    """When a stored template must go: `keep_days` after today, or None = while the holder's subscription is
    active (Circular 08/2026: verification data kept for the whole active period; shredded with the holder)."""
    return None if keep_days is None else today + timedelta(days=keep_days)
