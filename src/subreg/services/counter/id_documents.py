"""Reading holder fields from an ID card at the counter: its QR payload, its MRZ, or a photo of it."""

from __future__ import annotations

from datetime import date
from typing import Any

from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.id_documents.card_codes import parse_cccd_qr, parse_td1_mrz
from subreg.services.counter.commands import ParseIdDocument
from subreg.services.counter.ports import CardReader

__all__ = ["KINDS", "parse_id_document"]

KINDS = ("auto", "qr", "mrz")


def parse_id_document(cmd: ParseIdDocument, *, reader: CardReader, today: date) -> dict[str, Any]:
    """`{"source": "qr"|"mrz", "holder": {...}}` from the command's QR text, MRZ text or image; nothing stored."""
    if cmd.image is not None:
        if cmd.kind not in KINDS:
            raise InputError([FieldError("kind", "invalid_choice")])
        if cmd.kind == "qr":
            return {"source": "qr", "holder": parse_cccd_qr(reader.decode_qr(cmd.image))}
        if cmd.kind == "mrz":
            return {"source": "mrz", "holder": parse_td1_mrz(reader.read_mrz(cmd.image), as_of=today)}
        fields = dict(reader.read_id_image(cmd.image, as_of=today))
        source = fields.pop("source")
        return {"source": source, "holder": fields}
    if isinstance(cmd.qr, str) and cmd.qr.strip():
        return {"source": "qr", "holder": parse_cccd_qr(cmd.qr)}
    if isinstance(cmd.mrz, str) and cmd.mrz.strip():
        return {"source": "mrz", "holder": parse_td1_mrz(cmd.mrz, as_of=today)}
    raise InputError([FieldError("qr", "required")])
