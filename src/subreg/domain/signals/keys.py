"""Signal keys: stable, free of personal data, and carrying a fingerprint of the facts that raised the signal.

A decision is stored against a key; when the facts change (one more line under the document, more
registrations that day) the key changes, so the signal is open again although an earlier one was closed.
Person keys are keyed blind indexes (HMAC) of an ID document, never the number; only their first 32 hex digits
are used (128 bits: no collision in any operator's base).
"""

from __future__ import annotations

from datetime import date

__all__ = ["multi_pos_key", "over_limit_key", "portrait_key", "pos_volume_key", "staff_reads_key"]


def _person(person_key: bytes) -> str:
    return person_key.hex()[:32]


def over_limit_key(person_key: bytes, lines: int, without_contract: int) -> str:
    """`<person>:<lines>:<without contract>`."""
    return f"{_person(person_key)}:{int(lines)}:{int(without_contract)}"


def pos_volume_key(point: str, day: date, count: int) -> str:
    """`<point of sale code>:<day>:<registrations>`."""
    return f"{point}:{day.isoformat()}:{int(count)}"


def portrait_key(document_a: int, document_b: int) -> str:
    """`<document>:<document>` (the smaller id first): the two stored portraits."""
    a, b = sorted((int(document_a), int(document_b)))
    return f"{a}:{b}"


def multi_pos_key(person_key: bytes, day: date, points: int, registrations: int) -> str:
    """`<person>:<day>:<points of sale>:<registrations>`."""
    return f"{_person(person_key)}:{day.isoformat()}:{int(points)}:{int(registrations)}"


def staff_reads_key(staff_id: int, since: date, reads: int) -> str:
    """`<staff id>:<first day of the period>:<reads>`."""
    return f"{int(staff_id)}:{since.isoformat()}:{int(reads)}"
