"""Perceptual-hash bands of portraits: look-alikes found by shared bands, confirmed by Hamming distance.

A portrait's perceptual hash (`bits` bits, e.g. a 256-bit DCT hash) is split into `bands` equal slices. Two
hashes within Hamming distance d < `bands` of each other agree on at least one whole band (pigeonhole: d
differing bits touch at most d bands), so candidates are the portraits that share a band, an equality
look-up, and the full hashes confirm (distance <= a threshold). Stored, each band is a keyed hash (HMAC under
a key from the vault) of (band number, band value): a perceptual hash is personal data (it describes a face)
and a clear one could be matched against a photo found elsewhere; a keyed digest can only be compared with
digests made with the same key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import combinations

__all__ = ["all_pairs", "band_bytes", "close_pairs", "groups", "hamming", "split_bands"]


def split_bands(value: int, *, bits: int, bands: int) -> list[int]:
    """`value` (a `bits`-bit hash) cut into `bands` slices of bits/bands bits, most significant first."""
    if bits <= 0 or bands <= 0 or bits % bands:
        raise ValueError("bands: must_divide_bits")
    if value < 0 or value >> bits:
        raise ValueError("value: out_of_range")
    width = bits // bands
    mask = (1 << width) - 1
    return [(value >> (bits - width * (i + 1))) & mask for i in range(bands)]


def band_bytes(band: int, value: int, *, bits: int, bands: int) -> bytes:
    """The message a band's keyed digest is computed over: its number and its value (big-endian)."""
    width = (bits // bands + 7) // 8
    return b"portrait-band:" + band.to_bytes(2, "big") + value.to_bytes(width, "big")


def hamming(a: int, b: int) -> int:
    """How many bits differ."""
    return (a ^ b).bit_count()


def groups(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected groups of ids from look-alike pairs (each group sorted, groups by their first id)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    out: dict[int, list[int]] = {}
    for x in parent:
        out.setdefault(root(x), []).append(x)
    return sorted((sorted(g) for g in out.values()), key=lambda g: g[0])


def close_pairs(hashes: Mapping[int, int], candidates: Iterable[tuple[int, int]], *, max_distance: int) -> list[
    tuple[int, int, int]
]:  # fmt: skip
    """(a, b, distance) of the candidate pairs whose full hashes are within `max_distance` (a < b)."""
    out = set()
    for a, b in candidates:
        if a == b or a not in hashes or b not in hashes:
            continue
        d = hamming(hashes[a], hashes[b])
        if d <= max_distance:
            out.add((min(a, b), max(a, b), d))
    return sorted(out)


def all_pairs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Every pair of distinct ids (for a small bucket)."""
    return [(a, b) for a, b in combinations(sorted(set(ids)), 2)]
