"""What an image must be before the point of sale accepts it: thresholds and the verdict on measurements.

The adapter `adapters.images.quality` measures (format, size, sharpness, faces, whether the card's QR
or MRZ could be read); this module decides, so the rules are testable without a single pixel.

Codes (field `documents.<kind>`):

- `image_not_supported`: not a JPEG, PNG or WebP (what a browser or phone camera produces);
- `image_too_large`: over the byte limit, or a header claiming more pixels than allowed (a
  decompression bomb is refused before a single pixel is decoded);
- `image_too_small`: below the minimum resolution for its kind (a card must stay legible);
- `image_blurry`: the variance of the Laplacian, measured on the image scaled to a fixed width so the
  figure does not depend on resolution, is under the threshold;
- `no_face` / `several_faces`: a portrait must show exactly one face, framed as an ID photo is: the
  face (brows to chin) spans at least `min_face_share` of the picture's short side. A face smaller
  than that, a customer standing back from the camera, counts as no face: move closer;
- `id_unreadable`: for a chip CCCD, neither the front nor the back photo yields the QR code or the MRZ.
  Old CMND cards carry neither, so the check applies to `cccd` only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALLOWED_FORMATS",
    "CARD_KINDS",
    "IMAGE_KINDS",
    "ImageLimits",
    "Measurements",
    "judge",
    "narrow_passes",
    "needs_readable_card",
]

ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")
# The three images of the counter's update; any other document kind (confirmation form, contract page,
# organization papers) is a scanned paper, judged by the card's minimum size and the same sharpness.
IMAGE_KINDS: tuple[str, ...] = ("portrait", "id_front", "id_back")
CARD_KINDS: tuple[str, ...] = ("id_front", "id_back")
# ID types whose card carries a machine-readable zone (QR on the front, MRZ on the back).
_READABLE_ID_TYPES = frozenset({"cccd"})


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Thresholds; the defaults suit images compressed in the browser (about 1280 px on the long side)."""

    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 40_000_000
    # (short side, long side) minimums. A portrait of 240x320 still shows a face well enough to
    # recognise it; a card under 480 px wide loses the QR modules and the MRZ characters.
    min_portrait: tuple[int, int] = (240, 320)
    min_card: tuple[int, int] = (300, 480)
    # Variance of the Laplacian of the grey image scaled to `sharpness_width` pixels wide.
    min_sharpness: float = 40.0
    sharpness_width: int = 480
    # Smallest face, as a share of the short side: head and shoulders, as in an ID photo (ICAO 9303 asks
    # for a head of 50-75 % of the width; the detected face box is about 60 % of the head). It also
    # bounds the search: the detector's cost grows with the square of short side / smallest face.
    min_face_share: float = 0.3
    # A measurement that passes within this share above its threshold (sharpness under 40 x 1.15 = 46) passed
    # only narrowly: the save goes ahead and a supervisor looks at it (`narrow_image`, setting
    # `review_image_margin`; 0: never).
    review_margin: float = 0.15


@dataclass(frozen=True, slots=True)
class Measurements:
    """What the adapter found in one image (None: not measured, because an earlier check failed)."""

    format: str | None
    size_bytes: int
    width: int = 0
    height: int = 0
    sharpness: float | None = None
    faces: int | None = None
    readable: bool | None = None


def _min_size(kind: str, limits: ImageLimits) -> tuple[int, int]:
    return limits.min_portrait if kind == "portrait" else limits.min_card


def judge(kind: str, m: Measurements, limits: ImageLimits) -> list[str]:
    """The error codes for one image of `kind` (empty: accepted). Stops at the first blocking problem."""
    if m.size_bytes > limits.max_bytes:
        return ["image_too_large"]
    if m.format not in ALLOWED_FORMATS:
        return ["image_not_supported"]
    if m.width * m.height > limits.max_pixels:
        return ["image_too_large"]
    short_min, long_min = _min_size(kind, limits)
    if min(m.width, m.height) < short_min or max(m.width, m.height) < long_min:
        return ["image_too_small"]
    codes: list[str] = []
    if m.sharpness is not None and m.sharpness < limits.min_sharpness:
        codes.append("image_blurry")
    if kind == "portrait" and m.faces is not None:
        if m.faces == 0:
            codes.append("no_face")
        elif m.faces > 1:
            codes.append("several_faces")
    return codes


def narrow_passes(kind: str, m: Measurements, limits: ImageLimits) -> list[str]:
    """The measures of an accepted image that passed within `review_margin` of their threshold."""
    if limits.review_margin <= 0 or judge(kind, m, limits):
        return []
    out = []
    if m.sharpness is not None and m.sharpness < limits.min_sharpness * (1 + limits.review_margin):
        out.append("sharpness")
    return out


def needs_readable_card(id_type: str | None) -> bool:
    """Whether the card photos must yield a QR code or an MRZ (chip CCCD only)."""
    return id_type in _READABLE_ID_TYPES
