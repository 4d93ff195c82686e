"""What the back office reads from a stored ID scan: each value with its source and confidence.

A scan gives up to three kinds of text (the adapter reads them: zxing-cpp for the QR code, Tesseract for the
MRZ and for the printed text, in Vietnamese): the chip CCCD's QR payload, its TD1 machine-readable zone, and
the printed lines of either side (CCCD or the older CMND, which has neither QR nor MRZ). This module turns
them into `Reading`s, one per holder field, and keeps the most trustworthy reading of each field.

Confidence, 0..1, says how far staff may trust a value without looking:

* **qr** 0.99: the payload is error-corrected by the code itself and `parse_cccd_qr` validated every field.
* **mrz** 0.97: every ICAO 9303 check digit verified (`parse_td1_mrz`); the MRZ name has no diacritics, so
  it is offered only when nothing better names the holder, at 0.40.
* **ocr** Tesseract's own word confidence for the line, times 0.9 (printed text has no check digit); a value
  that fails its field's format (a date, an ID number's length and province) is dropped, not offered.

Nothing here logs or raises with a value in it: readings are personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from subreg.domain.common.errors import InputError
from subreg.domain.common.text import fold, nfc
from subreg.domain.id_documents.card_codes import parse_cccd_qr, parse_td1_mrz
from subreg.domain.id_documents.numbers import check_id_number

__all__ = [
    "FORM_FIELDS",
    "READABLE_ITEMS",
    "OcrLine",
    "Reading",
    "ScanText",
    "Source",
    "as_mapping",
    "best_readings",
    "disagreements",
    "readings_of_mrz",
    "readings_of_ocr",
    "readings_of_qr",
    "readings_of_scan",
]

# The rule set's missing items a scan of the ID card can fill (`subreg backoffice queue-fill` queues a line
# only when every missing item is one of these): the holder's identity fields, printed on the card.
READABLE_ITEMS: tuple[str, ...] = (
    "holder.full_name",
    "holder.date_of_birth",
    "holder.id_number",
    "holder.id_issue_date",
    "holder.id_issue_place",
    "holder.nationality",
    "holder.id_expiry_date",
)
# What the item's form shows, in this order (the holder's card fields).
FORM_FIELDS: tuple[str, ...] = (
    "id_number",
    "full_name",
    "date_of_birth",
    "gender",
    "nationality",
    "id_issue_date",
    "id_issue_place",
    "id_expiry_date",
    "address",
)

QR_CONFIDENCE = 0.99
MRZ_CONFIDENCE = 0.97
MRZ_NAME_CONFIDENCE = 0.40  # ASCII capitals only: a Vietnamese name loses its marks
OCR_FACTOR = 0.9  # printed text carries no check digit


class Source(StrEnum):
    """Where a value came from (`field_provenance.method`)."""

    QR = "qr"
    MRZ = "mrz"
    OCR = "ocr"
    TYPED = "typed"


_RANK = {Source.QR: 0, Source.MRZ: 1, Source.OCR: 2, Source.TYPED: 3}


@dataclass(frozen=True, slots=True)
class Reading:
    """One holder field read from one scan."""

    field: str
    value: str
    source: Source
    confidence: float
    document_id: int | None = None


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One printed line as Tesseract read it, with its mean word confidence (0..1)."""

    text: str
    confidence: float


@dataclass(frozen=True, slots=True)
class ScanText:
    """Everything read off one stored scan; `error` is a code when the scan could not be read at all."""

    document_id: int
    kind: str
    qr: str | None = None
    mrz: str | None = None
    ocr: tuple[OcrLine, ...] = ()
    error: str | None = None

    @property
    def unreadable(self) -> bool:
        """Nothing at all came off the scan (no code, no printed line)."""
        return self.error is not None or (self.qr is None and self.mrz is None and not self.ocr)


def readings_of_qr(text: str, *, document_id: int | None = None) -> list[Reading]:
    """The CCCD QR payload's fields (empty when the payload is not a valid CCCD code)."""
    try:
        holder = parse_cccd_qr(text)
    except InputError:
        return []
    return [
        Reading(k, v, Source.QR, QR_CONFIDENCE, document_id)
        for k, v in holder.items()
        if k in FORM_FIELDS or k == "id_type"
    ]


def readings_of_mrz(text: str, *, as_of: date | None = None, document_id: int | None = None) -> list[Reading]:
    """The TD1 MRZ's fields, every check digit verified (empty when it does not verify)."""
    try:
        holder = parse_td1_mrz(text, as_of=as_of)
    except InputError:
        return []
    out = []
    for k, v in holder.items():
        if k == "full_name":
            out.append(Reading(k, v.title(), Source.MRZ, MRZ_NAME_CONFIDENCE, document_id))
        elif k in FORM_FIELDS or k == "id_type":
            out.append(Reading(k, v, Source.MRZ, MRZ_CONFIDENCE, document_id))
    return out


# Printed labels (folded: no marks, lower case) and the field each introduces. A CCCD prints both languages
# ("Số / No."), a CMND only Vietnamese ("Số", "Sinh ngày", "Nơi ĐKHK thường trú").
_LABELS: tuple[tuple[str, str], ...] = (
    ("ho va ten", "full_name"),
    ("full name", "full_name"),
    ("ho ten", "full_name"),
    ("ngay sinh", "date_of_birth"),
    ("sinh ngay", "date_of_birth"),
    ("date of birth", "date_of_birth"),
    ("gioi tinh", "gender"),
    ("quoc tich", "nationality"),
    ("nationality", "nationality"),
    ("noi thuong tru", "address"),
    ("thuong tru", "address"),
    ("place of residence", "address"),
    ("co gia tri den", "id_expiry_date"),
    ("date of expiry", "id_expiry_date"),
    ("ngay cap", "id_issue_date"),
    ("date of issue", "id_issue_date"),
    ("noi cap", "id_issue_place"),
    ("place of issue", "id_issue_place"),
    ("so", "id_number"),
)
_DATE = re.compile(r"([0-9]{1,2})\s*[/.-]\s*([0-9]{1,2})\s*[/.-]\s*([0-9]{4})")
_DIGITS = re.compile(r"[0-9OoIl]{9,12}")
_TO_DIGIT = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1"})
_GENDERS = {"nam": "male", "male": "male", "nu": "female", "female": "female"}
_NATIONALITIES = {"viet nam": "VNM", "vietnam": "VNM", "vnm": "VNM"}


def _field_of(line: str) -> tuple[str, str] | None:
    """(field, the value text) of a printed `label: value` line, or None."""
    head, sep, value = line.partition(":")
    if not sep:
        return None
    key = fold(head)
    for label, field in _LABELS:
        if label == "so":
            # "Số / No." and "Số:" but not a word merely starting with "so".
            if re.match(r"^so\b", key):
                return field, value
            continue
        if label in key:
            return field, value
    return None


def _ocr_value(field: str, raw: str, id_type: str | None) -> str | None:
    """The field's value from its printed text, normalized, or None when it is not a valid one."""
    text = nfc(raw).strip(" .,;|")
    if not text:
        return None
    if field in ("date_of_birth", "id_issue_date", "id_expiry_date"):
        found = _DATE.search(text)
        if found is None:
            return None
        try:
            return date(int(found[3]), int(found[2]), int(found[1])).isoformat()
        except ValueError:
            return None
    if field == "id_number":
        found = _DIGITS.search(text.replace(" ", ""))
        if found is None:
            return None
        number = found[0].translate(_TO_DIGIT)
        kind = id_type or ("cccd" if len(number) == 12 else "cmnd")
        return None if check_id_number(kind, number) else number
    if field == "gender":
        return _GENDERS.get(fold(text).split(" ")[0])
    if field == "nationality":
        return _NATIONALITIES.get(fold(text))
    if field == "full_name":
        # Cards print names in capitals; the register keeps them as written (Nguyễn Thị Ánh).
        letters = "".join(c for c in text if c.isalpha() or c == " ")
        return " ".join(letters.split()).title() or None
    return text


def readings_of_ocr(
    lines: Iterable[OcrLine], *, id_type: str | None = None, document_id: int | None = None
) -> list[Reading]:
    """The fields of printed `label: value` lines; each value's confidence is its line's, times 0.9."""
    out: list[Reading] = []
    seen: set[str] = set()
    for line in lines:
        found = _field_of(line.text)
        if found is None:
            continue
        field, raw = found
        if field in seen:
            continue
        value = _ocr_value(field, raw, id_type)
        if value is None:
            continue
        seen.add(field)
        confidence = round(max(0.0, min(1.0, line.confidence)) * OCR_FACTOR, 3)
        out.append(Reading(field, value, Source.OCR, confidence, document_id))
    return out


def readings_of_scan(scan: ScanText, *, id_type: str | None = None, as_of: date | None = None) -> list[Reading]:
    """Every reading of one scan: its QR payload, its MRZ and its printed lines."""
    out: list[Reading] = []
    if scan.qr:
        out += readings_of_qr(scan.qr, document_id=scan.document_id)
    if scan.mrz:
        out += readings_of_mrz(scan.mrz, as_of=as_of, document_id=scan.document_id)
    if scan.ocr:
        out += readings_of_ocr(scan.ocr, id_type=id_type, document_id=scan.document_id)
    return out


def best_readings(readings: Sequence[Reading]) -> dict[str, Reading]:
    """The most confident reading of each field (on a tie: QR, then MRZ, then OCR)."""
    best: dict[str, Reading] = {}
    for r in readings:
        held = best.get(r.field)
        if held is None or (r.confidence, -_RANK[r.source]) > (held.confidence, -_RANK[held.source]):
            best[r.field] = r
    return best


def disagreements(readings: Sequence[Reading]) -> set[str]:
    """The fields two sources read differently (the page marks them: look at the scan)."""
    values: dict[str, set[str]] = {}
    for r in readings:
        if r.source is Source.MRZ and r.field == "full_name":
            continue  # no diacritics: it differs from the printed name by design
        values.setdefault(r.field, set()).add(fold(r.value))
    return {k for k, v in values.items() if len(v) > 1}


def as_mapping(best: Mapping[str, Reading]) -> dict[str, str]:
    """field -> value of the chosen readings."""
    return {k: r.value for k, r in best.items()}
