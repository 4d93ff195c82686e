"""The blob sweeper removes old unreferenced files only (SQLite and PostgreSQL, a real blob store)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from typer.testing import CliRunner

from subreg.cli.main import app
from subreg.services import counter
from subreg.services.counter.commands import UpdateSubscription
from subreg.services.registry.blob_sweep import sweep_orphan_blobs
from tests.fixtures.images import three_images
from tests.integration.test_pos_service import actor, blob_files, ctx, incomplete, seed, stored_images

HOUR = 3600


def _age(path: Any, seconds: int) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _orphan(container: Any, key: str, *, age: int) -> None:
    container.blobs.put(key, b"ciphertext nobody references")
    _age(container.blobs.root / key[:2] / key[2:4] / key, age)


def _stage(container: Any) -> dict[str, bytes]:
    """A subscription with three referenced images (old), two old orphans, a young one, a stale temp file."""
    seed(container, incomplete())
    images = three_images()
    counter.update_subscription(
        UpdateSubscription("0901234567", {}, images),
        uow=container.uow(),
        ctx=ctx(container),
        actor=actor(container, "store_staff", "STORE-1", "store"),
    )
    for path in blob_files(container):
        _age(path, 3 * HOUR)  # referenced files are old too: age alone must not remove them
    _orphan(container, "aa" * 16, age=2 * HOUR)
    _orphan(container, "ab" * 16, age=2 * HOUR)
    _orphan(container, "ac" * 16, age=60)  # written a minute ago: maybe a request in flight
    temp = container.blobs.root / "aa" / "aa" / ".tmp-0123456789abcdef"
    temp.write_bytes(b"half written")
    _age(temp, 2 * HOUR)
    return images


def _sweep(container: Any, **kwargs: Any) -> Any:
    return sweep_orphan_blobs(
        container.uow(), container.blobs, older_than=timedelta(hours=1), now=datetime.now(UTC), **kwargs
    )


def test_a_dry_run_counts_and_removes_nothing(container):
    _stage(container)
    before = blob_files(container)
    report = _sweep(container, dry_run=True)
    assert (report.checked, report.referenced, report.young, report.orphans, report.removed) == (6, 3, 1, 2, 0)
    assert blob_files(container) == before


def test_old_orphans_and_stale_temporaries_go_referenced_and_young_files_stay(container):
    images = _stage(container)
    report = _sweep(container)
    assert (report.orphans, report.removed, report.temporaries) == (2, 2, 1)
    names = {p.name for p in blob_files(container)}
    assert "aa" * 16 not in names
    assert "ab" * 16 not in names
    assert "ac" * 16 in names
    assert not any(n.startswith(".tmp-") for n in names)
    assert stored_images(container, 84901234567) == images  # every referenced image still reads back
    assert _sweep(container).removed == 0  # idempotent


def test_the_cli_prints_the_counts(container, settings, monkeypatch):
    _stage(container)
    monkeypatch.setenv("SUBREG_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SUBREG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SUBREG_ENV", "test")
    result = CliRunner().invoke(app, ["blobs", "sweep", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["orphans"] == 2
    assert "--older-than-minutes" in CliRunner().invoke(app, ["blobs", "sweep", "--help"]).stdout
