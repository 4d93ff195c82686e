"""Splitting a message into SMS parts with a concatenation header (3GPP TS 23.040 §9.2.3.24.1), and back.

One SMS holds 160 septets (GSM 7-bit) or 70 UTF-16 code units (UCS-2). A longer message goes out as up to
255 parts, each starting with the 6-byte user data header `05 00 03 <ref> <total> <seq>` (information
element 0x00: 8-bit reference), which leaves 153 septets or 67 code units of text per part. A part never
ends between an extension character's escape and its code, nor between the two halves of a surrogate pair:
the phone would show garbage at the seam.

The domain cannot import the services' `Part`; `Segment` has the same two fields and the service converts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from subreg.domain.sms.gsm import Encoding, septet_cost

__all__ = [
    "MAX_PARTS",
    "Segment",
    "concatenation_header",
    "join",
    "join_messages",
    "read_header",
    "split",
]

MAX_PARTS = 255
# encoding -> (capacity of a single message, capacity of one part of a concatenated one)
_CAPACITY: dict[str, tuple[int, int]] = {"gsm7": (160, 153), "ucs2": (70, 67)}


@dataclass(frozen=True, slots=True)
class Segment:
    """One SMS of a message: its user data header (b"" for a single part) and its text."""

    udh: bytes
    text: str


def _utf16_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _cost(encoding: Encoding) -> Callable[[str], int]:
    if encoding == "gsm7":
        return septet_cost
    if encoding == "ucs2":
        return _utf16_units
    raise ValueError(f"unknown encoding {encoding!r}")


def concatenation_header(reference: int, total: int, seq: int) -> bytes:
    """The 8-bit-reference concatenation UDH of part `seq` (1-based) of `total`; the reference is taken mod 256."""
    return bytes((0x05, 0x00, 0x03, reference & 0xFF, total, seq))


def split(text: str, encoding: Encoding, reference: int) -> tuple[Segment, ...]:
    """The parts `text` goes out as: one without a header if it fits, else 153-septet / 67-unit parts.

    Raises ValueError if `text` has a character GSM 7-bit cannot carry (convert it with `gsm.unaccent`
    first) or needs more than 255 parts. `reference` (e.g. the outbox id) only needs to differ between
    messages in flight to the same phone; its low 8 bits are used.
    """
    cost = _cost(encoding)
    costs = [cost(c) for c in text]
    single, per_part = _CAPACITY[encoding]
    if sum(costs) <= single:
        return (Segment(b"", text),)
    chunks = _chunks(text, costs, per_part)
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"message needs {len(chunks)} parts, more than the {MAX_PARTS} a UDH can number")
    total = len(chunks)
    return tuple(Segment(concatenation_header(reference, total, i), s) for i, s in enumerate(chunks, 1))


def _chunks(text: str, costs: list[int], limit: int) -> list[str]:
    """`text` cut greedily into runs of at most `limit`; a character is never cut, so neither is its encoding."""
    chunks: list[str] = []
    start, used = 0, 0
    for i, c in enumerate(costs):
        if used + c > limit:
            chunks.append(text[start:i])
            start, used = i, 0
        used += c
    chunks.append(text[start:])
    return chunks


def read_header(udh: bytes) -> tuple[int, int, int] | None:
    """(reference, total, seq) of a concatenation UDH (8-bit IE 0x00 or 16-bit IE 0x08), None if it has none."""
    if len(udh) < 1 or len(udh) != udh[0] + 1:
        return None
    i = 1
    while i + 1 < len(udh):
        iei, size = udh[i], udh[i + 1]
        data = udh[i + 2 : i + 2 + size]
        if len(data) < size:
            return None
        if iei == 0x00 and size == 3:
            return data[0], data[1], data[2]
        if iei == 0x08 and size == 4:
            return data[0] << 8 | data[1], data[2], data[3]
        i += 2 + size
    return None


def join(parts: Iterable[Segment]) -> str:
    """The text of one message from its parts in any order; ValueError if they are not one complete message."""
    parts = list(parts)
    if len(parts) == 1 and read_header(parts[0].udh) is None:
        return parts[0].text
    numbered: list[tuple[tuple[int, int, int], str]] = []
    for part in parts:
        header = read_header(part.udh)
        if header is None:
            raise ValueError("a part without a concatenation header among several")
        numbered.append((header, part.text))
    numbered.sort()
    total = len(numbered)
    if not numbered or [h for h, _ in numbered] != [(numbered[0][0][0], total, i) for i in range(1, total + 1)]:
        raise ValueError("parts of more than one message, or a part missing or repeated")
    return "".join(text for _, text in numbered)


def join_messages(parts: Iterable[Segment]) -> tuple[str, ...]:
    """The messages a stream of parts makes up (what a phone shows), grouped by reference, in order of arrival.

    A part without a concatenation header is a message of its own. ValueError if a message is incomplete.
    """
    groups: dict[int, list[Segment]] = {}
    order: list[int | Segment] = []
    for part in parts:
        header = read_header(part.udh)
        if header is None:
            order.append(part)
        elif header[0] not in groups:
            groups[header[0]] = [part]
            order.append(header[0])
        else:
            groups[header[0]].append(part)
    return tuple(item.text if isinstance(item, Segment) else join(groups[item]) for item in order)
