"""Printed ID card scans for the demo operator: the holder's fields in print, the QR code and the MRZ.

Synthetic holders only. The layout follows the chip CCCD (front: number, name, birth date, sex, nationality,
residence, expiry and the QR code; back: issue date, issuing authority, the TD1 MRZ) and the older CMND
(front and back in print, no code). Text is drawn with a font that has Vietnamese glyphs (DejaVu or
Liberation from the system's fonts); the QR code is written by zxing-cpp. Without such a font the printed
lines are left out (the QR code and the MRZ still are there).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from subreg.domain.common.errors import InputError
from subreg.domain.id_documents.card_codes import build_cccd_qr, build_td1_mrz

__all__ = ["card_scans", "text_font"]

_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)
_MONO = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
)
_SIZE = (1300, 820)  # ~ID-1 at 15 px/mm
_INK = (20, 20, 40)


@lru_cache(maxsize=8)
def text_font(size: int, *, mono: bool = False) -> ImageFont.FreeTypeFont | None:
    """A TrueType font with Vietnamese glyphs found on this machine, or None."""
    for path in _MONO if mono else _FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return None


def _dmy(value: object) -> str:
    return date.fromisoformat(str(value)).strftime("%d/%m/%Y")


def _qr(payload: str, size: int) -> Image.Image:
    barcode = zxingcpp.create_barcode(payload.encode("utf-8"), zxingcpp.BarcodeFormat.QRCode)
    image = Image.fromarray(barcode.to_image(scale=4, add_quiet_zones=True))
    return image.convert("L").resize((size, size), Image.Resampling.NEAREST)


def _page(title: str, lines: list[str], *, qr: str | None = None, mrz: str | None = None) -> bytes:
    image = Image.new("RGB", _SIZE, (236, 240, 232))
    draw = ImageDraw.Draw(image)
    heading, body = text_font(40), text_font(34)
    y = 40
    if heading is not None and body is not None:
        draw.text((50, y), title, font=heading, fill=(150, 20, 20))
        y += 90
        for line in lines:
            draw.text((50, y), line, font=body, fill=_INK)
            y += 56
    if qr is not None:
        image.paste(_qr(qr, 300), (_SIZE[0] - 340, 30))
    if mrz is not None:
        mono = text_font(44, mono=True)
        if mono is not None:
            band = 600
            draw.rectangle((0, band - 20, _SIZE[0], _SIZE[1]), fill=(255, 255, 255))
            for i, row in enumerate(mrz.splitlines()):
                draw.text((60, band + i * 62), row, font=mono, fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def card_scans(holder: Mapping[str, Any]) -> dict[str, bytes]:
    """PNG scans `id_front` and `id_back` of a CCCD or CMND holder (empty for any other document)."""
    id_type = holder.get("id_type")
    if id_type not in ("cccd", "cmnd"):
        return {}
    gender = "Nam" if holder.get("gender") == "male" else "Nữ"
    front = [f"Số / No.: {holder.get('id_number', '')}", f"Họ và tên / Full name: {str(holder['full_name']).upper()}"]
    if holder.get("date_of_birth"):
        front.append(f"Ngày sinh / Date of birth: {_dmy(holder['date_of_birth'])}")
    front.append(f"Giới tính / Sex: {gender}")
    if holder.get("nationality") or id_type == "cccd":
        front.append("Quốc tịch / Nationality: Việt Nam")
    address = str(holder.get("address") or "")
    front.append(f"Nơi thường trú / Place of residence: {address[:38]}")
    if len(address) > 38:
        front.append(f"    {address[38:80]}")
    if holder.get("id_expiry_date"):
        front.append(f"Có giá trị đến / Date of expiry: {_dmy(holder['id_expiry_date'])}")
    back = []
    if holder.get("id_issue_date"):
        back.append(f"Ngày cấp / Date of issue: {_dmy(holder['id_issue_date'])}")
    if holder.get("id_issue_place"):
        back.append(f"Nơi cấp / Place of issue: {holder['id_issue_place']}")
    qr = mrz = None
    if id_type == "cccd":
        title = "CĂN CƯỚC CÔNG DÂN / CITIZEN IDENTITY CARD"
        complete = all(holder.get(k) for k in ("id_number", "full_name", "date_of_birth", "gender", "address",
                                                "id_issue_date"))  # fmt: skip
        try:
            qr = build_cccd_qr(dict(holder)) if complete else None
        except (KeyError, ValueError):
            qr = None
        try:
            expiry = date.fromisoformat(str(holder["id_expiry_date"])) if holder.get("id_expiry_date") else None
            mrz = build_td1_mrz(dict(holder), expiry=expiry) if holder.get("date_of_birth") else None
        except (InputError, KeyError, ValueError):
            mrz = None
    else:
        title = "CHỨNG MINH NHÂN DÂN"
    return {"id_front": _page(title, front, qr=qr), "id_back": _page(title, back, mrz=mrz)}
