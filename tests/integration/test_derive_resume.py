"""A `subreg complete --derive` subprocess killed mid-run (SIGKILL), then run again, ends like an uninterrupted
run: the values filled are those a dry run counted before, each recorded once (provenance and history), and a
last dry run finds nothing left. SQLite and PostgreSQL; the kill point is random (seed printed on failure).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from sqlalchemy import text

from tests.integration.test_derive import AS_OF, load_base, run, strip_derivable

ROWS = 900
BATCH = 15


def _command(*extra: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "subreg"), "complete", "--derive", "--quiet", "--workers", "2",
        "--batch", str(BATCH), "--as-of", AS_OF.isoformat(), *extra,
    ]  # fmt: skip


def _env(container) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBREG_")}
    env.update(SUBREG_DATABASE_URL=container.settings.database_url, SUBREG_VAR_DIR=str(container.settings.var_dir),
               SUBREG_ENV="test", SUBREG_LANG="en")  # fmt: skip
    return env


def _progress(container) -> int:
    with container.engine.connect() as c:
        return int(c.execute(text("SELECT coalesce(max(next_offset), 0) FROM import_runs")).scalar_one())


def test_a_killed_run_resumed_fills_each_value_once(container):
    load_base(container, ROWS, seed=12)
    strip_derivable(container)
    expected = run(container, dry_run=True)
    with container.engine.connect() as c:
        holders = int(c.execute(text("SELECT max(id) FROM holders")).scalar_one())
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    kills = 0
    for _attempt in range(3):
        target = rng.randrange(1, holders // 2)
        proc = subprocess.Popen(_command(), env=_env(container), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and _progress(container) < target and time.monotonic() < deadline:
            time.sleep(0.002)  # polling the committed progress, not timing the test
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        if kills:
            break
    final = subprocess.run(_command("--json"), env=_env(container), capture_output=True, timeout=300)
    context = f"seed={seed} kills={kills}"
    assert final.returncode == 0, final.stderr.decode()
    assert kills >= 1, context
    report = orjson.loads(final.stdout)
    assert report["resumed"], context
    # The resumed run's counts are cumulative: those of the whole run, as the dry run counted them.
    for key in ("lines_read", "lines_filled", "values_filled", "filled", "made_complete"):
        assert report[key] == getattr(expected, key), (key, context)
    with container.engine.connect() as c:
        total, distinct = c.execute(
            text("SELECT count(*), count(DISTINCT subscription_id || ':' || path) FROM field_provenance")
        ).one()
        history = c.execute(
            text("SELECT count(*), count(DISTINCT subscription_id) FROM subscription_history "
                 "WHERE channel = 'derivation'")
        ).one()  # fmt: skip
    assert total == distinct == expected.values_filled, context
    assert history[0] == history[1] == expected.lines_filled, context
    assert run(container, dry_run=True).values_filled == 0, context
