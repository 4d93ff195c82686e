"""Reading the Vietnamese chip CCCD: the QR payload and the ICAO TD1 machine-readable zone (MRZ).

One deliberate exception to "domain imports only the stdlib": this module uses the `mrz` package
(0.6.2), a pure computation library without I/O, to verify the ICAO 9303 check digits.

Formats:

* QR payload, pipe-separated: ``<12-digit no>|<old 9-digit CMND or empty>|<full name>|<DOB ddMMyyyy>|
  <Nam/Nữ>|<permanent address>|<issue date ddMMyyyy>``; a 6-field variant lacks the old-number field.
* TD1 MRZ, 3 lines of 30: ``IDVNM`` + last 9 digits + check digit + full 12-digit number + ``<<`` +
  its check digit / DOB YYMMDD+cd, sex, expiry YYMMDD+cd, nationality, filler, composite cd /
  ``SURNAME<<GIVEN<NAMES``.

Parsers return holder fields under the data-dictionary names with ISO dates. Errors carry field
paths (``qr.*``, ``mrz.*``) and codes only: a payload is personal data and never enters a message.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from mrz.base.functions import hash_string
from mrz.checker.td1 import TD1CodeChecker

from subreg.domain.common.errors import FieldError, FieldValueError, InputError
from subreg.domain.common.text import nfc, to_mrz_name
from subreg.domain.id_documents.numbers import check_id_number

__all__ = ["build_cccd_qr", "build_td1_mrz", "mrz_name", "parse_cccd_qr", "parse_td1_mrz"]

# A real QR payload is ~150 characters; anything far longer is not a CCCD code and is refused early.
_MAX_QR_CHARS = 2000
_MAX_MRZ_CHARS = 400

# Explicit [0-9]: `\d` would also accept other scripts' digits, which int() happily converts.
_DIGITS12 = re.compile(r"[0-9]{12}")
_OLD_ID = re.compile(r"[0-9]{9}|[0-9]{12}")
_DDMMYYYY = re.compile(r"[0-9]{8}")
_YYMMDD = re.compile(r"[0-9]{6}")
_MRZ_CHARS = re.compile(r"[A-Z0-9<]*")
_GENDERS_QR = {"nam": "male", "nữ": "female"}


def parse_cccd_qr(text: str) -> dict[str, str]:
    """Holder fields from a chip-CCCD QR payload (7-field layout, or the 6-field one without the old ID)."""
    if not isinstance(text, str) or len(text) > _MAX_QR_CHARS:
        raise FieldValueError("invalid_qr", "qr")
    parts = text.split("|")
    # Some readers append a separator after the last field.
    if len(parts) in (7, 8) and parts[-1].strip() == "":
        parts = parts[:-1]
    parts = [nfc(p) for p in parts]
    if len(parts) == 7:
        id_number, old_id, full_name, dob, gender, address, issued = parts
    elif len(parts) == 6:
        id_number, full_name, dob, gender, address, issued = parts
        old_id = ""
    else:
        raise FieldValueError("invalid_qr", "qr")

    errors: list[FieldError] = []
    id_code = check_id_number("cccd", id_number)
    if id_code:
        errors.append(FieldError("qr.id_number", id_code))
    if old_id and not _OLD_ID.fullmatch(old_id):
        errors.append(FieldError("qr.previous_id_number", "invalid_id_number"))
    if not full_name:
        errors.append(FieldError("qr.full_name", "required"))
    elif not _printable(full_name):
        errors.append(FieldError("qr.full_name", "invalid_format"))
    birth = _ddmmyyyy(dob)
    if birth is None:
        errors.append(FieldError("qr.date_of_birth", "invalid_format"))
    sex = _GENDERS_QR.get(gender.casefold())
    if sex is None:
        errors.append(FieldError("qr.gender", "invalid_format"))
    if not address:
        errors.append(FieldError("qr.address", "required"))
    elif not _printable(address):
        errors.append(FieldError("qr.address", "invalid_format"))
    issue = _ddmmyyyy(issued)
    if issue is None:
        errors.append(FieldError("qr.id_issue_date", "invalid_format"))
    if errors or birth is None or issue is None or sex is None:
        raise InputError(errors)

    holder = {"id_type": "cccd", "id_number": id_number}
    if old_id:
        holder["previous_id_number"] = old_id
    holder.update(
        full_name=full_name,
        date_of_birth=birth.isoformat(),
        gender=sex,
        nationality="VNM",
        address=address,
        id_issue_date=issue.isoformat(),
    )
    return holder


def build_cccd_qr(holder: dict[str, object], *, old_id: str | None = None) -> str:
    """The QR payload (7-field layout) of a holder: the inverse of `parse_cccd_qr`."""
    gender = {"male": "Nam", "female": "Nữ"}[str(holder["gender"])]
    return "|".join(
        [
            str(holder["id_number"]),
            old_id or "",
            nfc(str(holder["full_name"])),
            _as_date(holder["date_of_birth"]).strftime("%d%m%Y"),
            gender,
            nfc(str(holder["address"])),
            _as_date(holder["id_issue_date"]).strftime("%d%m%Y"),
        ]
    )


def parse_td1_mrz(text: str, *, as_of: date | None = None) -> dict[str, str]:
    """Holder fields from the TD1 MRZ of a chip CCCD, with every check digit verified.

    Birth-year century: taken from the CCCD's century digit (4th digit, Circular 07/2016) whenever
    its digits 5-6 agree with the MRZ's two-digit year, so no clock is needed. If they disagree
    (an inconsistent card) and `as_of` is given, the year is the latest one whose date is not after
    `as_of`; without `as_of` the century digit is used anyway (validation then reports the
    mismatch as `id_birth_year_mismatch`). The expiry year is the first year after the birth year
    with the MRZ's two digits (CCCDs expire at 25, 40 or 60). An expiry of ``<<<<<<`` means none.
    """
    line1, line2, line3 = _mrz_lines(text)
    if line1[0] != "I" or line1[2:5] != "VNM":
        raise FieldValueError("invalid_mrz", "mrz")

    opt = line1[15:30]
    id_number = opt[:12]
    if not _DIGITS12.fullmatch(id_number) or opt[12:14] != "<<" or opt[14] not in "0123456789":
        raise FieldValueError("invalid_mrz", "mrz.id_number")

    # Check digits before cross-field consistency: a misread digit is then reported where it is.
    no_expiry = line2[8:14] == "<<<<<<"
    errors = _check_digit_errors("\n".join((line1, line2, line3)), no_expiry=no_expiry)
    if hash_string(id_number) != opt[14]:
        errors.append(FieldError("mrz.id_number", "mrz_check_digit"))
    if errors:
        raise InputError(errors)
    if line1[5:14] != id_number[3:]:
        raise FieldValueError("invalid_mrz", "mrz.document_number")

    id_code = check_id_number("cccd", id_number)
    if id_code:
        errors.append(FieldError("mrz.id_number", id_code))
    birth = _mrz_birth_date(line2[0:6], id_number, as_of)
    if birth is None:
        errors.append(FieldError("mrz.date_of_birth", "invalid_format"))
    expiry = None
    if not no_expiry and birth is not None:
        expiry = _mrz_expiry_date(line2[8:14], birth)
        if expiry is None:
            errors.append(FieldError("mrz.expiry_date", "invalid_format"))
    sex = {"M": "male", "F": "female"}.get(line2[7])
    if sex is None:
        errors.append(FieldError("mrz.gender", "invalid_format"))
    nationality = line2[15:18]
    if not nationality.isalpha():
        errors.append(FieldError("mrz.nationality", "invalid_format"))
    full_name = _mrz_full_name(line3)
    if not full_name:
        errors.append(FieldError("mrz.full_name", "invalid_format"))
    if errors or birth is None or sex is None:
        raise InputError(errors)

    holder = {
        "id_type": "cccd",
        "id_number": id_number,
        "full_name": full_name,
        "date_of_birth": birth.isoformat(),
        "gender": sex,
        "nationality": nationality,
    }
    if expiry is not None:
        holder["id_expiry_date"] = expiry.isoformat()
    return holder


def build_td1_mrz(holder: dict[str, object], *, expiry: date | None) -> str:
    """A valid Vietnamese TD1 MRZ (3 lines joined by newlines) for a holder; `expiry=None` = no expiry."""
    id_number = str(holder["id_number"])
    if not _DIGITS12.fullmatch(id_number):
        raise FieldValueError("invalid_id_number", "id_number")
    doc = id_number[3:]
    line1 = f"IDVNM{doc}{hash_string(doc)}{id_number}<<{hash_string(id_number)}"
    dob = _as_date(holder["date_of_birth"]).strftime("%y%m%d")
    exp = expiry.strftime("%y%m%d") if expiry is not None else "<<<<<<"
    exp_cd = hash_string(exp) if expiry is not None else "<"
    sex = {"male": "M", "female": "F"}[str(holder["gender"])]
    nationality = str(holder.get("nationality") or "VNM")
    head = f"{dob}{hash_string(dob)}{sex}{exp}{exp_cd}{nationality}{'<' * 11}"
    composite = hash_string(line1[5:30] + head[0:7] + head[8:15] + head[18:29])
    line2 = head + composite
    line3 = mrz_name(str(holder["full_name"]))[:30].ljust(30, "<")
    return "\n".join((line1, line2, line3))


def mrz_name(full_name: str) -> str:
    """The MRZ name field for a Vietnamese full name: ``SURNAME<<GIVEN<NAMES`` in ASCII capitals."""
    words = to_mrz_name(full_name).split()
    if not words:
        return ""
    return words[0] + "<<" + "<".join(words[1:]) if len(words) > 1 else words[0]


def _mrz_lines(text: str) -> tuple[str, str, str]:
    if not isinstance(text, str) or len(text) > _MAX_MRZ_CHARS:
        raise FieldValueError("invalid_mrz", "mrz")
    lines = ["".join(line.split()).upper() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) == 1 and len(lines[0]) == 90:
        lines = [lines[0][i : i + 30] for i in (0, 30, 60)]
    if len(lines) != 3 or any(len(line) != 30 or not _MRZ_CHARS.fullmatch(line) for line in lines):
        raise FieldValueError("invalid_mrz", "mrz")
    return lines[0], lines[1], lines[2]


_HASH_FIELDS = {
    "document number hash": "mrz.document_number",
    "birth date hash": "mrz.date_of_birth",
    "expiry date hash": "mrz.expiry_date",
    "final hash": "mrz.composite",
}


def _check_digit_errors(mrz_text: str, *, no_expiry: bool) -> list[FieldError]:
    try:
        checker = TD1CodeChecker(mrz_text, precheck=False)
    except Exception:  # the library raises its own exception types on odd input
        raise FieldValueError("invalid_mrz", "mrz") from None
    errors = []
    for description, ok in checker.report.fields:
        field = _HASH_FIELDS.get(description)
        if field is None or ok:
            continue
        if field == "mrz.expiry_date" and no_expiry and mrz_text.split("\n")[1][14] in "<0":
            continue
        errors.append(FieldError(field, "mrz_check_digit"))
    # Report in reading order: document number, birth date, expiry date, composite.
    order = list(_HASH_FIELDS.values())
    return sorted(errors, key=lambda e: order.index(e.field))


def _mrz_birth_date(yymmdd: str, id_number: str, as_of: date | None) -> date | None:
    if not _YYMMDD.fullmatch(yymmdd):
        return None
    yy, mm, dd = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    century = 1900 + int(id_number[3]) // 2 * 100
    if id_number[4:6] == yymmdd[0:2] or as_of is None:
        return _date_or_none(century + yy, mm, dd)
    year = as_of.year - (as_of.year - yy) % 100
    found = _date_or_none(year, mm, dd)
    if found is not None and found > as_of:
        found = _date_or_none(year - 100, mm, dd)
    return found


def _mrz_expiry_date(yymmdd: str, birth: date) -> date | None:
    if not _YYMMDD.fullmatch(yymmdd):
        return None
    year = birth.year - birth.year % 100 + int(yymmdd[0:2])
    if year <= birth.year:
        year += 100
    return _date_or_none(year, int(yymmdd[2:4]), int(yymmdd[4:6]))


def _mrz_full_name(line3: str) -> str:
    if not re.fullmatch(r"[A-Z<]+", line3):
        return ""
    surname, _, given = line3.partition("<<")
    return " ".join((surname.replace("<", " ") + " " + given.replace("<", " ")).split())


def _ddmmyyyy(value: str) -> date | None:
    if not _DDMMYYYY.fullmatch(value):
        return None
    return _date_or_none(int(value[4:8]), int(value[2:4]), int(value[0:2]))


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _printable(text: str) -> bool:
    return all(unicodedata.category(c)[0] != "C" for c in text)
