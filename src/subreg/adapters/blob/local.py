"""`LocalBlobStore`: blobs as files in a sharded directory tree, written atomically.

Callers pass bytes that are already encrypted (registry seals them with the holder's DEK); this store
adds no crypto of its own. Keys must be random tokens: they become file names, so deriving them from
personal data (an ID number, a phone number) would leak it into directory listings and backups.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from subreg.adapters.files.durable import fsync_dir
from subreg.domain.common.errors import NotFoundError

__all__ = ["LocalBlobStore", "new_blob_key"]

_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_blob_key() -> str:
    """A random key (128 bits, hex)."""
    return secrets.token_hex(16)


class LocalBlobStore:
    """The `BlobStore` port on a local directory: `<root>/<k[0:2]>/<k[2:4]>/<key>`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        # Only plain tokens: no separators, dots or traversal; the two-level fan-out keeps directories
        # small (65,536 leaves) at hundreds of millions of files.
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError("invalid blob key")
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically (temporary file, fsync, rename, fsync of the directory)."""
        self.put_many({key: data})

    def put_many(self, items: Mapping[str, bytes]) -> None:
        """Store each blob atomically; the directories are fsynced once each, after every rename.

        Keys that share their first four characters share a directory: one directory fsync for all of
        them (an update's three images), instead of one per image.
        """
        staged: list[tuple[Path, Path]] = []
        try:
            for key, data in items.items():
                path = self._path(key)
                self._make_dirs(path.parent)
                tmp = path.parent / f".tmp-{secrets.token_hex(8)}"
                staged.append((tmp, path))
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            for tmp, path in staged:
                os.replace(tmp, path)
        except BaseException:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        # A rename is durable only once the directory entry is on disk too.
        for directory in {path.parent for _, path in staged}:
            fsync_dir(directory)

    def _make_dirs(self, directory: Path) -> None:
        """Create `<root>/ab/cd` when missing; a new directory's own entry is fsynced in its parent."""
        if directory.is_dir():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        for level in (directory.parent, directory):
            try:
                level.mkdir()
            except FileExistsError:
                continue
            fsync_dir(level.parent)

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`; NotFoundError when absent."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("blob not found") from None

    def delete(self, key: str) -> None:
        """Remove `key` (no error when already absent)."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether `key` is stored."""
        return self._path(key).is_file()

    def scan(self) -> Iterator[tuple[str, datetime]]:
        """Every stored key with its modification time, in key order (directory by directory)."""
        for first in _sorted_dirs(self.root):
            for second in _sorted_dirs(first):
                for entry in sorted(os.scandir(second), key=lambda e: e.name):
                    if entry.is_file() and _KEY.fullmatch(entry.name):
                        yield entry.name, datetime.fromtimestamp(entry.stat().st_mtime, UTC)

    def remove_stale_temporaries(self, before: datetime) -> int:
        """Remove the temporary files of interrupted writes modified before `before`; how many."""
        removed = 0
        for first in _sorted_dirs(self.root):
            for second in _sorted_dirs(first):
                for entry in os.scandir(second):
                    stale = datetime.fromtimestamp(entry.stat().st_mtime, UTC) < before
                    if entry.name.startswith(".tmp-") and entry.is_file() and stale:
                        Path(entry.path).unlink(missing_ok=True)
                        removed += 1
        return removed


def _sorted_dirs(parent: Path | str) -> list[Path]:
    """The two-character shard directories below `parent`, sorted (nothing when it does not exist)."""
    try:
        entries = os.scandir(parent)
    except FileNotFoundError:
        return []
    with entries:
        return sorted(Path(e.path) for e in entries if e.is_dir() and len(e.name) == 2)
