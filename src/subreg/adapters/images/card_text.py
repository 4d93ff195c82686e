"""Reading a stored ID scan for the back office: the QR code, the MRZ and the printed text (Tesseract `vie`).

`services.backoffice.work_ports.ScanReader` on zxing-cpp and Tesseract. The QR code and the MRZ reuse the
counter's reader (`card_reader`); the printed lines are read by Tesseract with the Vietnamese model
(Debian package `tesseract-ocr-vie`; English when it is missing, which loses the diacritics) as TSV, so each
line comes with its words' mean confidence. Images are personal data: nothing is logged or kept, and an
image that cannot be decoded gives a `ScanText` with an error code, never an exception with its content.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import lru_cache

from PIL import Image, ImageOps

from subreg.adapters.images.card_reader import (
    DEFAULT_MAX_PIXELS,
    _decode_qr_image,
    _grayscale,
    _read_mrz_image,
    load_image,
)
from subreg.domain.backoffice.reading import OcrLine, ScanText
from subreg.domain.common.errors import ExternalServiceError, InputError

__all__ = ["TesseractScanReader", "ocr_languages"]

_TIMEOUT_S = 30
_MIN_WORD_CONFIDENCE = 0  # Tesseract gives -1 for non-word boxes


@lru_cache(maxsize=1)
def ocr_languages() -> frozenset[str]:
    """The languages the installed Tesseract knows (empty when Tesseract is missing)."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return frozenset()
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [tesseract, "--list-langs"], capture_output=True, timeout=_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())


def _tsv_lines(tsv: str) -> list[OcrLine]:
    """Tesseract's TSV (level 5 words) grouped into lines with their mean word confidence."""
    lines: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        word = cols[11].strip()
        if not word or conf < _MIN_WORD_CONFIDENCE:
            continue
        lines.setdefault((cols[2], cols[3], cols[4]), []).append((word, conf))
    out = []
    for words in lines.values():
        text = " ".join(w for w, _ in words)
        out.append(OcrLine(text, round(sum(c for _, c in words) / len(words) / 100, 3)))
    return out


class TesseractScanReader:
    """Reads stored scans: QR (zxing-cpp), MRZ and printed text (Tesseract, Vietnamese model)."""

    def __init__(self, *, max_pixels: int = DEFAULT_MAX_PIXELS, language: str = "vie") -> None:
        self.max_pixels = max_pixels
        self.language = language

    @property
    def ocr_language(self) -> str | None:
        """The Tesseract model in use: `vie` when installed, else `eng`, else None (no OCR at all)."""
        langs = ocr_languages()
        if self.language in langs:
            return self.language
        return "eng" if "eng" in langs else None

    def read_scan(self, data: bytes, *, document_id: int, kind: str) -> ScanText:
        """Everything readable on one scan; `error` is set (`not_an_image`, ...) when nothing could be read."""
        try:
            image = load_image(data, max_pixels=self.max_pixels)
        except InputError as exc:
            return ScanText(document_id, kind, error=exc.errors[0].code if exc.errors else "not_an_image")
        qr = _decode_qr_image(image)
        mrz = None
        lines: tuple[OcrLine, ...] = ()
        if shutil.which("tesseract") is not None:
            try:
                mrz = _read_mrz_image(image) if kind != "id_front" or qr is None else None
                lines = tuple(self._printed_lines(image))
            except ExternalServiceError:
                return ScanText(document_id, kind, qr=qr, error="ocr_failed")
        if mrz is not None and not mrz.startswith("I"):
            mrz = None
        return ScanText(document_id, kind, qr=qr, mrz=mrz, ocr=lines)

    def _printed_lines(self, image: Image.Image) -> list[OcrLine]:
        language = self.ocr_language
        tesseract = shutil.which("tesseract")
        if language is None or tesseract is None:
            return []
        gray = ImageOps.autocontrast(_grayscale(image), cutoff=1)
        if gray.width < 1600:
            factor = 1600 / gray.width
            gray = gray.resize((1600, int(gray.height * factor)), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        gray.save(buffer, format="PNG")
        command = [tesseract, "stdin", "stdout", "-l", language, "--psm", "4", "tsv"]
        try:
            done = subprocess.run(  # noqa: S603 - fixed argument list, no shell, binary found on PATH
                command, input=buffer.getvalue(), capture_output=True, timeout=_TIMEOUT_S,
                env={**os.environ, "OMP_THREAD_LIMIT": "1"}, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ExternalServiceError("tesseract timed out", retryable=True) from None
        except OSError:
            raise ExternalServiceError("tesseract could not be started", retryable=False) from None
        if done.returncode != 0:
            raise ExternalServiceError("tesseract failed", retryable=False)
        return _tsv_lines(done.stdout.decode("utf-8", errors="replace"))
