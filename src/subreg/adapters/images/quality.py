"""Image quality checks at the point of sale: Pillow decodes, OpenCV measures, `domain.counter.image_rules` decides.

- Format and size are checked on the header before any pixel is decoded: only JPEG, PNG and WebP are
  opened (Pillow's `formats=`), and an image whose header claims more than `max_pixels` pixels is
  refused (a decompression bomb costs nothing to send and gigabytes to decode).
- Sharpness is the variance of the Laplacian of the grey image scaled to a fixed width.
- Faces are counted with OpenCV's frontal-face Haar cascade shipped in `cv2.data` (opencv 4.x; the
  5.x wheels have no cascades). A classifier is not safe to share between threads: one per thread.
- A card is readable when zxing-cpp finds its QR code (fast path), else when `idcard_image` finds the
  QR after enhancement or reads the MRZ with Tesseract (slow path, only when the fast one failed).

Images are personal data: nothing here logs them or keeps them; errors carry only codes.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import zxingcpp
from PIL import Image, ImageOps

from subreg.adapters.images import card_reader as idcard_image
from subreg.domain.common.errors import ExternalServiceError, FieldError, InputError
from subreg.domain.counter.image_rules import (
    ALLOWED_FORMATS,
    CARD_KINDS,
    ImageLimits,
    Measurements,
    judge,
    narrow_passes,
    needs_readable_card,
)
from subreg.domain.id_documents.card_codes import parse_cccd_qr
from subreg.services.counter.ports import ImageCheck

__all__ = ["OpenCvImageInspector", "count_faces", "measure"]

_FACE_MIN_PX = 40  # the smallest face searched for, in pixels of the scaled image
_DEFAULT_LIMITS = ImageLimits()
_ORIENTATION = 0x0112  # EXIF tag
_local = threading.local()


def _cascade() -> cv2.CascadeClassifier:
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if cascade.empty():
            raise ExternalServiceError("face cascade missing", retryable=False)
        _local.cascade = cascade
    return cascade


def _scaled(gray: np.ndarray, width: int) -> np.ndarray:
    h, w = gray.shape[:2]
    if w == width:
        return gray
    # INTER_AREA averages properly when shrinking a lot; for a small change of size it only costs time.
    interpolation = cv2.INTER_AREA if w > 1.5 * width else cv2.INTER_LINEAR
    return cv2.resize(gray, (width, max(1, round(h * width / w))), interpolation=interpolation)


def sharpness(gray: np.ndarray, width: int) -> float:
    """Variance of the Laplacian of `gray` scaled to `width` pixels wide (higher is sharper)."""
    _, std = cv2.meanStdDev(cv2.Laplacian(_scaled(gray, width), cv2.CV_32F))
    return float(std[0][0]) ** 2


def count_faces(gray: np.ndarray, min_share: float = _DEFAULT_LIMITS.min_face_share) -> int:
    """How many frontal faces spanning at least `min_share` of the short side the Haar cascade finds.

    The image is scaled so that the smallest such face is `_FACE_MIN_PX` wide: enough detail for the
    cascade, and no time spent on windows smaller than a portrait's face (the cost is per window).
    """
    h, w = gray.shape[:2]
    scale = _FACE_MIN_PX / (min_share * min(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.equalizeHist(cv2.resize(gray, size, interpolation=interpolation))
    side = _FACE_MIN_PX
    found = _cascade().detectMultiScale(small, scaleFactor=1.2, minNeighbors=6, minSize=(side, side))
    return len(found)


def _open(data: bytes, limits: ImageLimits) -> tuple[Image.Image | None, Measurements]:
    """The decoded, upright image and the header measurements; None when a header check fails."""
    base = Measurements(format=None, size_bytes=len(data))
    if len(data) > limits.max_bytes:
        return None, base
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, Measurements("PNG", len(data), limits.max_pixels, 2)  # judged too large
    except (OSError, SyntaxError, ValueError, EOFError):
        return None, base
    width, height = image.size
    m = Measurements(image.format, len(data), width, height)
    if width * height > limits.max_pixels or width <= 0 or height <= 0:
        return None, m
    try:
        if image.format == "JPEG":
            image.draft("L", image.size)  # every check works on grey: decode the luma only (half the time)
        image.load()
        # Only a photo tagged as rotated is transposed (the copy costs as much as the decode).
        upright = ImageOps.exif_transpose(image) if image.getexif().get(_ORIENTATION, 1) != 1 else image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, Measurements(image.format, len(data), limits.max_pixels, 2)
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, KeyError):
        return None, Measurements(None, len(data))
    return upright, Measurements(image.format, len(data), upright.width, upright.height)


def _gray(image: Image.Image) -> np.ndarray:
    if image.mode in ("P", "PA", "RGBA", "LA", "La", "RGBa"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.asarray(image if image.mode == "L" else image.convert("L"))  # convert() of L copies


def _qr_text(gray: np.ndarray) -> str | None:
    found = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)
    texts = []
    for code in found:
        try:
            texts.append(bytes(code.bytes).decode("utf-8"))
        except (UnicodeDecodeError, AttributeError, TypeError):
            texts.append(str(code.text))
    return next((t for t in texts if "|" in t), None)


def measure(kind: str, data: bytes, limits: ImageLimits) -> tuple[Measurements, np.ndarray | None]:
    """Measurements of one image of `kind`, and its grey pixels when it could be decoded."""
    image, m = _open(data, limits)
    if image is None or judge(kind, m, limits):
        return m, None
    gray = _gray(image)
    faces = count_faces(gray, limits.min_face_share) if kind == "portrait" else None
    m = Measurements(m.format, m.size_bytes, m.width, m.height, sharpness(gray, limits.sharpness_width), faces)
    return m, gray


class OpenCvImageInspector:
    """`services.counter.ports.ImageInspector` with Pillow, OpenCV and zxing-cpp (Tesseract for the MRZ)."""

    def __init__(
        self, limits: ImageLimits | None = None, *, max_pixels: int | None = None, concurrency: int | None = None
    ) -> None:
        limits = limits or ImageLimits()
        if max_pixels is not None:
            limits = replace(limits, max_pixels=max_pixels)
        self.limits = limits
        # Requests are already checked in parallel by the server's threads; OpenCV's own thread pool on
        # top of them only adds contention (measured: slower under load). Process-wide, set here, not at import.
        cv2.setNumThreads(1)
        # At most `concurrency` image checks at a time (default: one per core; the server gives each of its
        # processes its share of the cores): dozens of threads decoding at once starve the database writer
        # of the GIL and spend the CPU on switching (measured: 35 instead of 28 ms of CPU per update).
        self._slots = threading.BoundedSemaphore(concurrency or os.cpu_count() or 1)

    def check(self, images: Mapping[str, bytes], *, id_type: str | None) -> ImageCheck:
        """Check each image; for a chip CCCD, read the card (front first) and return its fields.

        Other document kinds (a signed confirmation form, a contract page) are checked as papers:
        format, size, resolution and sharpness.
        """
        with self._slots:
            return self._check(images, id_type)

    def _check(self, images: Mapping[str, bytes], id_type: str | None) -> ImageCheck:
        result = ImageCheck()
        decoded: dict[str, np.ndarray] = {}
        for kind, data in images.items():
            m, gray = measure(kind, data, self.limits)
            codes = judge(kind, m, self.limits)
            result.errors.extend(FieldError(f"documents.{kind}", code) for code in codes)
            if gray is not None and not codes:
                decoded[kind] = gray
                result.narrow.extend(f"documents.{kind}:{name}" for name in narrow_passes(kind, m, self.limits))
        cards = [k for k in CARD_KINDS if k in decoded]
        if cards:
            fields, source = self._read_cards({k: images[k] for k in cards}, decoded)
            result.card_fields, result.card_source = fields, source
            if source is None and needs_readable_card(id_type):
                result.errors.extend(FieldError(f"documents.{k}", "id_unreadable") for k in cards)
        return result

    def read_card(self, data: bytes) -> tuple[dict[str, Any], str | None]:
        """Holder fields from one card photo, and `qr` / `mrz`; ({}, None) when nothing can be read."""
        _, gray = measure("id_front", data, self.limits)
        if gray is None:
            return {}, None
        return self._read_cards({"id_front": data}, {"id_front": gray})

    def _read_cards(
        self, raw: Mapping[str, bytes], decoded: Mapping[str, np.ndarray]
    ) -> tuple[dict[str, Any], str | None]:
        # Fast path: one zxing pass over each decoded card (milliseconds).
        for kind in CARD_KINDS:
            gray = decoded.get(kind)
            text = _qr_text(gray) if gray is not None else None
            if text is not None:
                try:
                    return parse_cccd_qr(text), "qr"
                except InputError:
                    continue
        # Slow path: enhanced QR passes, then the MRZ by OCR (the back first: that is where it is).
        for kind in ("id_back", "id_front"):
            if kind not in raw:
                continue
            try:
                fields = idcard_image.read_id_image(raw[kind], max_pixels=self.limits.max_pixels)
            except (InputError, ExternalServiceError):
                continue
            source = fields.pop("source", None)
            return dict(fields), source
        return {}, None
