"""Remove blob files no document references: the orphans of refused or interrupted writes.

Images are written before the transaction that references them (`registry.seal_images`): a refused
update, a crash or a concurrent change leaves ciphertext under a random key that no row names. Nothing
can read it without its holder's key, but it takes disk. The sweep walks the store directory by
directory (keys sharing their first four characters), asks the database which of them documents
reference (one indexed range query per directory), and removes the others once they are older than
`older_than` - younger ones may belong to a request still in flight. Temporary files of interrupted
writes go too. Idempotent; safe to run while the counters work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from subreg.services.common.ports import BlobStore
from subreg.services.registry.ports import RegistryUnitOfWork

__all__ = ["SweepReport", "sweep_orphan_blobs"]

_PREFIX = 4  # the store's two directory levels


@dataclass(slots=True)
class SweepReport:
    """What the sweep saw and did (counts only: keys are random, nothing personal)."""

    checked: int = 0
    referenced: int = 0
    young: int = 0
    orphans: int = 0
    removed: int = 0
    temporaries: int = 0
    dry_run: bool = False


def sweep_orphan_blobs(
    uow: RegistryUnitOfWork, blobs: BlobStore, *, older_than: timedelta, now: datetime, dry_run: bool = False
) -> SweepReport:
    """Remove (or with `dry_run` only count) the unreferenced blobs written before `now - older_than`."""
    cutoff = now - older_than
    report = SweepReport(dry_run=dry_run)
    with uow:
        for prefix, group in groupby(blobs.scan(), key=lambda item: item[0][:_PREFIX]):
            referenced = uow.documents.blob_keys_with_prefix(prefix)
            uow.rollback()  # no snapshot held across the walk
            for key, written in group:
                report.checked += 1
                if key in referenced:
                    report.referenced += 1
                elif written >= cutoff:
                    report.young += 1
                else:
                    report.orphans += 1
                    if not dry_run:
                        blobs.delete(key)
                        report.removed += 1
    if not dry_run:
        report.temporaries = blobs.remove_stale_temporaries(cutoff)
    return report
