"""Reading a chip CCCD from a photo: the QR code with zxing-cpp, the TD1 MRZ with Tesseract.

Images are personal data: nothing here logs or stores them, and errors carry only codes. Tesseract
is an external program (Debian package `tesseract-ocr`); when it is missing, MRZ reading raises a
non-retryable `ExternalServiceError` and QR reading still works.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date

import zxingcpp
from PIL import Image, ImageFilter, ImageOps

from subreg.domain.common.errors import ExternalServiceError, FieldValueError, InputError
from subreg.domain.id_documents.card_codes import parse_cccd_qr, parse_td1_mrz

__all__ = ["CardImageReader", "decode_qr", "load_image", "read_id_image", "read_mrz"]

DEFAULT_MAX_PIXELS = 40_000_000

# Only raster formats a phone or scanner produces; this also keeps Pillow away from plugins that
# shell out (EPS runs Ghostscript) or parse complex containers.
_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")

_MRZ_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
_TESSERACT_TIMEOUT_S = 30

# Common OCR confusions of the OCR-B letters, applied only at positions whose class is fixed. In
# the check-digit-covered fields a repaired candidate is kept only when every check digit then
# verifies, so a wrong guess cannot slip through. The name line has no check digit: there only
# digits are turned back into letters, since an MRZ name never holds a digit.
_TO_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6",
                           "T": "7", "B": "8"})  # fmt: skip
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "7": "T", "8": "B", "4": "A"})


def load_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode image bytes into an upright PIL image, refusing non-images and decompression bombs."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise FieldValueError("not_an_image", "image")
    try:
        # open() reads only the header, so the size is known before any pixel is decoded.
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (its global limit) fired first; the warning arrives as an exception
        # only when warnings are errors, otherwise our check below refuses the image.
        raise FieldValueError("image_too_large", "image") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise FieldValueError("not_an_image", "image") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise FieldValueError("not_an_image", "image")
    if width * height > max_pixels:
        raise FieldValueError("image_too_large", "image")
    try:
        image.load()
        upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FieldValueError("image_too_large", "image") from None
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, KeyError):
        raise FieldValueError("not_an_image", "image") from None
    return upright if upright is not None else image


def decode_qr(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """The text of the QR code in a photo (raises `no_code_found` when there is none)."""
    text = _decode_qr_image(load_image(data, max_pixels=max_pixels))
    if text is None:
        raise FieldValueError("no_code_found", "image")
    return text


def read_mrz(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """The 3 TD1 MRZ lines of a card photo, read by Tesseract (raises `no_code_found` when none)."""
    text = _read_mrz_image(load_image(data, max_pixels=max_pixels))
    if text is None:
        raise FieldValueError("no_code_found", "image")
    return text


def read_id_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, as_of: date | None = None) -> dict[str, str]:
    """Holder fields from a card photo: the QR code first, then the MRZ; adds `source` (`qr`|`mrz`)."""
    image = load_image(data, max_pixels=max_pixels)
    qr_error: InputError | None = None
    text = _decode_qr_image(image)
    if text is not None:
        try:
            return {**parse_cccd_qr(text), "source": "qr"}
        except InputError as exc:
            # A QR code that is not a CCCD payload (a sticker, a URL): the MRZ may still be there.
            qr_error = exc
    mrz_text = _read_mrz_image(image)
    if mrz_text is None:
        if qr_error is not None:
            raise qr_error
        raise FieldValueError("no_code_found", "image")
    return {**parse_td1_mrz(mrz_text, as_of=as_of), "source": "mrz"}


# --- QR -------------------------------------------------------------------------------------------


def _decode_qr_image(image: Image.Image) -> str | None:
    gray = _grayscale(image)
    for attempt, binarizer in _qr_passes(gray):
        found = zxingcpp.read_barcodes(attempt, formats=zxingcpp.BarcodeFormat.QRCode, binarizer=binarizer)
        texts = [_barcode_text(code) for code in found]
        if texts:
            # A card back may show several codes; the CCCD payload is the pipe-separated one.
            return next((t for t in texts if "|" in t), texts[0])
    return None


def _qr_passes(gray: Image.Image) -> Iterator[tuple[Image.Image, zxingcpp.Binarizer]]:
    yield gray, zxingcpp.Binarizer.LocalAverage
    longest = max(gray.size)
    if longest < 1600:
        # Small or distant codes: modules only a pixel or two wide defeat the finder patterns.
        factor = max(2, 1600 // longest)
        larger = gray.resize((gray.width * factor, gray.height * factor), Image.Resampling.BICUBIC)
        yield larger, zxingcpp.Binarizer.LocalAverage
    # Blur and uneven light: stretch the contrast, sharpen, and threshold globally.
    enhanced = ImageOps.autocontrast(gray, cutoff=1).filter(ImageFilter.SHARPEN)
    yield enhanced, zxingcpp.Binarizer.GlobalHistogram


def _barcode_text(code: zxingcpp.Barcode) -> str:
    # The CCCD payload is UTF-8 without an ECI marker; prefer the raw bytes so a reader guessing
    # another character set cannot garble the diacritics.
    try:
        return bytes(code.bytes).decode("utf-8")
    except (UnicodeDecodeError, AttributeError, TypeError):
        return str(code.text)


def _grayscale(image: Image.Image) -> Image.Image:
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        # Transparent pixels become white paper, not black ink.
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("L")


# --- MRZ ------------------------------------------------------------------------------------------


def _read_mrz_image(image: Image.Image) -> str | None:
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise ExternalServiceError("tesseract not installed", retryable=False)
    fallback: str | None = None
    for attempt in _mrz_passes(_grayscale(image)):
        lines = _clean_lines(_ocr(tesseract, attempt))
        verified, best = _pick_mrz(lines)
        if verified is not None:
            return verified
        fallback = fallback or best
    # No candidate verified: return the most MRZ-like text so the parser names the failing field.
    return fallback


def _mrz_passes(gray: Image.Image) -> Iterator[Image.Image]:
    width, height = gray.size
    if width > 2400:
        gray = gray.resize((2400, max(1, height * 2400 // width)), Image.Resampling.LANCZOS)
        width, height = gray.size
    yield gray
    # Small or soft text: enlarge and stretch the contrast, then try a hard threshold.
    scale = max(1, 1800 // width)
    enhanced = ImageOps.autocontrast(
        gray.resize((width * scale, height * scale), Image.Resampling.LANCZOS) if scale > 1 else gray,
        cutoff=1,
    )
    yield enhanced
    yield enhanced.point(lambda v: 255 if v > 128 else 0)
    # On a whole card back the MRZ is the bottom third; alone, it is not mixed with the other text.
    yield enhanced.crop((0, enhanced.height * 55 // 100, enhanced.width, enhanced.height))


def _ocr(tesseract: str, image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    # One OCR thread per call: requests are already served in parallel by the worker pool.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    command = [
        tesseract,
        "stdin",
        "stdout",
        "--psm",
        "6",
        "-c",
        f"tessedit_char_whitelist={_MRZ_ALPHABET}",
        "-c",
        "load_system_dawg=0",
        "-c",
        "load_freq_dawg=0",
    ]
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument list, no shell, binary found on PATH
            command,
            input=buffer.getvalue(),
            capture_output=True,
            timeout=_TESSERACT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExternalServiceError("tesseract timed out", retryable=True) from None
    except OSError:
        raise ExternalServiceError("tesseract could not be started", retryable=False) from None
    if done.returncode != 0:
        # stderr is not included: it may echo image metadata.
        raise ExternalServiceError("tesseract failed", retryable=False)
    return done.stdout.decode("utf-8", errors="replace")


def _clean_lines(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = "".join(c for c in raw.upper() if c in _MRZ_ALPHABET)
        if line:
            lines.append(line)
    return lines


def _pick_mrz(lines: list[str]) -> tuple[str | None, str | None]:
    """(a verified MRZ, else the most MRZ-like 3 lines) from OCR lines."""
    best: str | None = None
    for i in range(len(lines) - 1):
        # The name line may come out short (trailing fillers dropped) or not at all.
        window = [lines[i], lines[i + 1], lines[i + 2] if i + 2 < len(lines) else ""]
        if not (26 <= len(window[0]) <= 34 and 26 <= len(window[1]) <= 34):
            continue
        raw = "\n".join(window)
        repaired = _repair(window)
        for candidate in (repaired, raw):
            if candidate is not None and _verifies(candidate):
                return candidate, candidate
        if best is None or window[0].startswith("ID"):
            best = repaired or raw
    return None, best


def _repair(window: list[str]) -> str | None:
    """Put a TD1 window back into shape where the layout leaves no choice (check digits decide later)."""
    line1, line2, line3 = window
    if len(line1) != 30:
        # Only the "<<" before the last check digit can have been misread in count.
        line1 = line1[:27] + "<<" + line1[-1]
    if len(line2) != 30:
        # A Vietnamese line 2 ends with 11 fillers and the composite check digit.
        line2 = line2[:18] + "<" * 11 + line2[-1]
    if len(line1) != 30 or len(line2) != 30:
        return None
    line1 = (
        line1[0:5].translate(_TO_LETTER)
        + line1[5:27].translate(_TO_DIGIT)
        + line1[27:29]
        + line1[29].translate(_TO_DIGIT)
    )
    line2 = (
        line2[0:7].translate(_TO_DIGIT)
        + line2[7]
        + line2[8:15].translate(_TO_DIGIT)
        + line2[15:18].translate(_TO_LETTER)
        + line2[18:29]
        + line2[29].translate(_TO_DIGIT)
    )
    # The name line holds only letters and fillers: a digit there is always a misread letter.
    line3 = line3.translate(_TO_LETTER)[:30].ljust(30, "<")
    return "\n".join((line1, line2, line3))


def _verifies(text: str) -> bool:
    try:
        parse_td1_mrz(text)
    except InputError:
        return False
    return True


class CardImageReader:
    """`services.counter.ports.CardReader` on zxing-cpp (QR) and Tesseract (MRZ), with a pixel limit."""

    def __init__(self, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.max_pixels = max_pixels

    def decode_qr(self, data: bytes) -> str:
        """The QR payload of a card photo (`no_code_found` when none)."""
        return decode_qr(data, max_pixels=self.max_pixels)

    def read_mrz(self, data: bytes) -> str:
        """The 3 TD1 MRZ lines of a card photo (`no_code_found` when none)."""
        return read_mrz(data, max_pixels=self.max_pixels)

    def read_id_image(self, data: bytes, *, as_of: date | None = None) -> dict[str, str]:
        """Holder fields from the QR code, else the MRZ, with `source` (`qr` | `mrz`)."""
        return read_id_image(data, max_pixels=self.max_pixels, as_of=as_of)
