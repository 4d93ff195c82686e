"""`MemoryBlobStore`: the `BlobStore` port on a dict (the contract of `adapters.blob.local.LocalBlobStore`).

Keys are checked as the local store checks them (random tokens only), `scan` yields them in key order with
the time they were written (by the store's clock), and there are never temporaries to clean up: a write
here cannot be interrupted half-way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from subreg.domain.common.errors import NotFoundError
from subreg.services.common.ports import Clock

__all__ = ["MemoryBlobStore"]

_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _checked(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError("invalid blob key")
    return key


class MemoryBlobStore:
    """Blobs in memory, with the time each was written."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self._blobs: dict[str, tuple[bytes, datetime]] = {}

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`."""
        self.put_many({key: data})

    def put_many(self, items: Mapping[str, bytes]) -> None:
        """Store every blob, or none when a key is invalid."""
        checked = {_checked(key): bytes(data) for key, data in items.items()}
        at = self._now()
        for key, data in checked.items():
            self._blobs[key] = (data, at)

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`; NotFoundError when absent."""
        found = self._blobs.get(_checked(key))
        if found is None:
            raise NotFoundError("blob not found")
        return found[0]

    def delete(self, key: str) -> None:
        """Remove `key` (no error when already absent)."""
        self._blobs.pop(_checked(key), None)

    def exists(self, key: str) -> bool:
        """Whether `key` is stored."""
        return _checked(key) in self._blobs

    def scan(self) -> Iterator[tuple[str, datetime]]:
        """Every stored key with when it was written, in key order."""
        for key in sorted(self._blobs):
            yield key, self._blobs[key][1]

    def remove_stale_temporaries(self, before: datetime) -> int:
        """Nothing to remove: writes here leave no temporaries behind."""
        return 0

    def keys(self) -> list[str]:
        """Every stored key, in key order (what a test would list in the local store's directory)."""
        return sorted(self._blobs)
