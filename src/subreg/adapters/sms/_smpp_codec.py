"""Pure pieces of the SMPP adapter: texts in and out of short_message, UDH, receipts, MO joining.

No sockets and no clock here (time is passed in), so every rule is unit-tested without a peer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "ConcatRef",
    "MoJoiner",
    "ParsedReceipt",
    "decode_text",
    "encode_gsm7",
    "mo_fingerprint",
    "parse_receipt",
    "source_ton_npi",
    "split_udh",
]

# GSM 03.38 default alphabet and its extension table, one septet per octet (SMPP data_coding 0: unpacked).
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>"
    "?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
_GSM_ENCODE = {ch: bytes([i]) for i, ch in enumerate(_GSM_BASIC) if i != 0x1B}
_GSM_ENCODE.update({ch: bytes([0x1B, code]) for code, ch in _GSM_EXT.items()})


def encode_gsm7(text: str) -> bytes:
    """GSM 03.38, one septet per octet; UnicodeEncodeError for a character outside the alphabet."""
    try:
        return b"".join(_GSM_ENCODE[ch] for ch in text)
    except KeyError as exc:
        raise UnicodeEncodeError("gsm7", text, 0, len(text), "character outside GSM 03.38") from exc


def _decode_gsm7(data: bytes) -> str:
    out: list[str] = []
    escape = False
    for octet in data:
        octet &= 0x7F
        if escape:
            out.append(_GSM_EXT.get(octet, _GSM_BASIC[octet]))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            out.append(_GSM_BASIC[octet])
    return "".join(out)


def decode_text(data: bytes, data_coding: int) -> tuple[str | None, str]:
    """(text, coding name) of a short_message body by its data_coding; text None for binary."""
    dc = data_coding or 0
    if dc & 0xF0 == 0xF0:  # message class coding group: bit 2 set means 8-bit data, else the GSM alphabet
        return (None, "binary") if dc & 0x04 else (_decode_gsm7(data), "gsm7")
    if dc & 0xC0 == 0x00 and dc & 0x20 == 0 and dc > 0x0F:  # general data coding group, uncompressed
        alphabet = (dc >> 2) & 0x03
        dc = {0: 0, 1: 4, 2: 8}.get(alphabet, 4)
    if dc == 0:
        return _decode_gsm7(data), "gsm7"
    if dc == 1:  # IA5 (ASCII)
        return data.decode("ascii", errors="replace"), "gsm7"
    if dc == 3:
        return data.decode("latin-1"), "latin1"
    if dc == 8:
        return data.decode("utf-16-be", errors="replace"), "ucs2"
    return None, "binary"


@dataclass(frozen=True, slots=True)
class ConcatRef:
    """A part's place in a concatenated message (from UDH IE 0x00 or 0x08)."""

    ref: int
    total: int
    seq: int


def split_udh(short_message: bytes, esm_class: int) -> tuple[bytes, bytes, ConcatRef | None]:
    """(udh, payload, concatenation reference) of a short_message; the UDH only when esm_class has UDHI."""
    if not esm_class & 0x40 or not short_message:
        return b"", short_message, None
    udhl = short_message[0]
    udh, payload = short_message[: udhl + 1], short_message[udhl + 1 :]
    concat = None
    pos = 1
    while pos + 1 < len(udh):
        iei, length = udh[pos], udh[pos + 1]
        value = udh[pos + 2 : pos + 2 + length]
        if iei == 0x00 and length == 3:
            concat = ConcatRef(value[0], value[1], value[2])
        elif iei == 0x08 and length == 4:
            concat = ConcatRef((value[0] << 8) | value[1], value[2], value[3])
        pos += 2 + length
    return udh, payload, concat


def source_ton_npi(sender: str) -> tuple[int, int]:
    """TON/NPI of a source address: short code (national network-specific 3/0), E.164 number (1/1),
    alphanumeric (5/0)."""
    if sender.isdigit():
        return (3, 0) if len(sender) <= 8 else (1, 1)
    return 5, 0


# --- delivery receipts -------------------------------------------------------------------------------------

_STAT = {
    "DELIVRD": "delivered",
    "EXPIRED": "expired",
    "DELETED": "failed",
    "UNDELIV": "failed",
    "ACCEPTD": "buffered",
    "ENROUTE": "buffered",
    "UNKNOWN": "unknown",
    "REJECTD": "rejected",
}
# message_state TLV (SMPP 3.4 5.2.28)
_MESSAGE_STATE = {
    1: "buffered",  # ENROUTE
    2: "delivered",
    3: "expired",
    4: "failed",  # DELETED
    5: "failed",  # UNDELIVERABLE
    6: "buffered",  # ACCEPTED
    7: "unknown",
    8: "rejected",
}
_FIELD = re.compile(r"(id|stat|err)\s*:\s*(\S+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedReceipt:
    message_id: str
    state: str
    error: str | None


def parse_receipt(
    text: bytes | str | None, *, receipted_message_id: str | None = None, message_state: int | None = None
) -> ParsedReceipt | None:
    """A receipt from the TLVs (preferred: they are typed) or the SMPP 3.4 appendix B text
    `id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...`."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    fields: dict[str, str] = {}
    for key, value in _FIELD.findall(text or ""):
        fields.setdefault(key.lower(), value)
    message_id = receipted_message_id or fields.get("id")
    if not message_id:
        return None
    if message_state is not None and message_state in _MESSAGE_STATE:
        state = _MESSAGE_STATE[message_state]
    else:
        state = _STAT.get(fields.get("stat", "").upper(), "unknown")
    err = fields.get("err")
    error = None if err is None or err.strip("0") == "" else f"err:{err}"
    return ParsedReceipt(message_id, state, error)


# --- MO ----------------------------------------------------------------------------------------------------


def mo_fingerprint(source: str, destination: str, data_coding: int, body: bytes) -> str:
    """A digest of what identifies an MO's content; with the first-seen time it makes a redelivery's id."""
    digest = hashlib.sha256()
    for piece in (source.encode(), destination.encode(), bytes([data_coding & 0xFF]), body):
        digest.update(len(piece).to_bytes(4, "big") + piece)
    return digest.hexdigest()[:20]


@dataclass
class _Pending:
    parts: dict[int, bytes]
    total: int
    data_coding: int
    first_at: datetime


@dataclass
class MoJoiner:
    """Joins the parts of concatenated MOs (keyed by sender, recipient, reference and total)."""

    max_age_s: float = 600.0
    _pending: dict[tuple[str, str, int, int], _Pending] = field(default_factory=dict)

    def add(
        self, source: str, destination: str, concat: ConcatRef, payload: bytes, data_coding: int, now: datetime
    ) -> tuple[bytes, int] | None:
        """Store one part; (the joined payload, data coding) when every part is here."""
        key = (source, destination, concat.ref, concat.total)
        pending = self._pending.setdefault(key, _Pending({}, concat.total, data_coding, now))
        pending.parts[concat.seq] = payload  # a redelivered part replaces itself
        if len(pending.parts) < pending.total or any(i not in pending.parts for i in range(1, pending.total + 1)):
            return None
        return b"".join(pending.parts[i] for i in range(1, pending.total + 1)), pending.data_coding

    def done(self, source: str, destination: str, concat: ConcatRef) -> None:
        """Forget a joined message (once its MO was handed over)."""
        self._pending.pop((source, destination, concat.ref, concat.total), None)

    def expire(self, now: datetime) -> int:
        """Drop incomplete messages older than max_age_s; how many were dropped."""
        old = [k for k, p in self._pending.items() if (now - p.first_at).total_seconds() > self.max_age_s]
        for key in old:
            del self._pending[key]
        return len(old)

    def __len__(self) -> int:
        return len(self._pending)
