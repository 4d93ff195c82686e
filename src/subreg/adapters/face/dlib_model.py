"""Face templates with dlib's ResNet face model (128-d, through `face_recognition`), entirely offline.

The models ship in the `face-recognition-models` package (no download at run time). Detection: dlib's HOG
detector on the image scaled down to at most `max_side` pixels (speed; faces on a counter photo are large),
once more at twice that size when no confident face is found. Exactly one face is required.

Recapture ("a photo of a photo") check, on live captures only: a screen photographed by a camera shows moiré,
a strong periodic pattern; a print shows a halftone grid. Both put isolated peaks in the high frequencies of
the face region's spectrum, where a live face has a smoothly falling spectrum. `recapture_score` is the
ratio of the strongest high-frequency peak to the median of that band; above `recapture_limit` the capture
is refused. This is a heuristic, not presentation-attack detection certified to ISO/IEC 30107-3: it catches
coarse moiré and halftone, not a high-resolution print or a good screen at a distance. Liveness (blink, head
turn) is the real defence and belongs to the self-service flow.
"""

from __future__ import annotations

import io
from importlib.metadata import PackageNotFoundError, version

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from subreg.domain.verification.face import FaceReason
from subreg.services.verification.biometric_ports import FaceRefusedError, FaceTemplate

__all__ = ["DlibFaceModel", "recapture_score"]


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def recapture_score(gray: np.ndarray) -> float:
    """Strongest isolated high-frequency peak over the band's median, on a grey face crop at its own size.

    The crop is never scaled up (interpolation would empty the high band and inflate the ratio); larger
    crops are cut to a centred square of at most 256 pixels. The band is 25-90 % of the Nyquist frequency.
    """
    side = min(gray.shape[0], gray.shape[1], 256)
    if side < 48:
        return 0.0  # too few pixels to tell; the detector's own minimum face is about 80 pixels
    top, left = (gray.shape[0] - side) // 2, (gray.shape[1] - side) // 2
    image = gray[top : top + side, left : left + side].astype(float)
    image -= image.mean()
    window = np.outer(np.hanning(side), np.hanning(side))
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(image * window)))
    half = side // 2
    yy, xx = np.mgrid[-half : side - half, -half : side - half]
    radius = np.hypot(yy, xx) / half
    # JPEG's 8x8 blocks put peaks at multiples of side/8 on both axes (strong when the image is smooth):
    # those frequencies are left out, so a blurred or heavily compressed genuine capture does not look recaptured.
    step = side / 8
    near_x = np.abs(((xx + half) % step + step / 2) % step - step / 2) <= 1.0
    near_y = np.abs(((yy + half) % step + step / 2) % step - step / 2) <= 1.0
    band = spectrum[(radius > 0.25) & (radius < 0.9) & ~(near_x & near_y)]
    median = float(np.median(band)) or 1e-9
    return float(band.max() / median)


def _css(rect: object, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    top, right = max(rect.top(), 0), min(rect.right(), shape[1])  # type: ignore[attr-defined]
    bottom, left = min(rect.bottom(), shape[0]), max(rect.left(), 0)  # type: ignore[attr-defined]
    return top, right, bottom, left


class DlibFaceModel:
    """`FaceModel` on dlib's ResNet (face_recognition): Euclidean distance of 128-d encodings."""

    def __init__(
        self, *, max_side: int = 480, recapture_limit: float = 60.0, jitters: int = 1, face_score: float = 0.5
    ) -> None:
        from PIL import ImageFile

        truncated = ImageFile.LOAD_TRUNCATED_IMAGES
        import face_recognition  # heavy (loads ~100 MB of models): imported when a model is built

        # Importing face_recognition sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, which would make every
        # upload check in the process accept truncated images: put it back.
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
        self._fr = face_recognition
        self._detector = face_recognition.api.face_detector  # dlib's HOG frontal face detector
        self._face_score = face_score
        self._max_side = max_side
        self._recapture_limit = recapture_limit
        self._jitters = jitters
        self._model = f"dlib-resnet-v1/frm-{_package_version('face-recognition-models')}"

    @property
    def model(self) -> str:
        """Name and version of the model (`verifications.model`)."""
        return self._model

    def template(self, image: bytes, *, live_capture: bool) -> FaceTemplate:
        """The template of the one face in `image` (JPEG, PNG or JPEG 2000)."""
        try:
            with Image.open(io.BytesIO(image)) as opened:
                picture = ImageOps.exif_transpose(opened).convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError):
            raise FaceRefusedError(FaceReason.IMAGE_UNREADABLE) from None
        original = picture
        scale = min(1.0, self._max_side / max(picture.size))
        if scale < 1.0:
            size = (round(picture.width * scale), round(picture.height * scale))
            picture = picture.resize(size, Image.Resampling.BILINEAR)
        pixels = np.asarray(picture)
        boxes = self._faces(pixels)
        if live_capture:  # on the image as captured: scaling would move or smear the patterns looked for
            top, right, bottom, left = (round(v / scale) for v in boxes[0])
            gray = np.asarray(original.convert("L"))[top:bottom, left:right]
            if gray.size and recapture_score(gray) > self._recapture_limit:
                raise FaceRefusedError(FaceReason.RECAPTURED)
        encodings = self._fr.face_encodings(pixels, boxes, num_jitters=self._jitters, model="small")
        return FaceTemplate(self._model, tuple(float(v) for v in encodings[0]))

    def _faces(self, pixels: np.ndarray) -> list[tuple[int, int, int, int]]:
        """The one face's box (top, right, bottom, left); refusals for none or several.

        The HOG detector also fires weakly on textures (the astronaut's suit scores ~0.1): a detection counts
        as a face from a score of `face_score`; a second one counts from the same score.
        """
        found: list[tuple[float, tuple[int, int, int, int]]] = []
        for upsample in (0, 1):
            rects, scores, _ = self._detector.run(pixels, upsample, 0.0)
            found = sorted(
                ((float(score), _css(rect, pixels.shape)) for rect, score in zip(rects, scores, strict=True)),
                reverse=True,
            )
            if found and found[0][0] >= self._face_score:
                break
        faces = [box for score, box in found if score >= self._face_score]
        if not faces:
            raise FaceRefusedError(FaceReason.NO_FACE)
        if len(faces) > 1:
            raise FaceRefusedError(FaceReason.SEVERAL_FACES)
        return faces

    def distance(self, a: FaceTemplate, b: FaceTemplate) -> float:
        """Euclidean distance of two encodings of the same model (0.6 is dlib's usual "same person")."""
        if a.model != b.model:
            raise ValueError("templates of different models cannot be compared")
        return float(np.linalg.norm(np.asarray(a.vector) - np.asarray(b.vector)))
