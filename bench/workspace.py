"""A benchmark's database: a fresh SQLite file under `var`, or a fresh PostgreSQL schema dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from subreg.adapters.db.engine import create_engine_for

__all__ = ["PG_DEFAULT", "BenchDatabase", "bench_database"]

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class BenchDatabase:
    url: str  # for subreg (SUBREG_DATABASE_URL)
    dsn: str  # for a bare psycopg connection ("" on SQLite)
    schema: str  # the PostgreSQL schema ("" on SQLite)
    path: Path | None  # the SQLite file (None on PostgreSQL)


@contextmanager
def bench_database(backend: str, var: Path) -> Iterator[BenchDatabase]:
    """SQLite: `var/subreg.db`, emptied first. PostgreSQL (`SUBREG_BENCH_PG_URL` or the local server): a new
    schema, dropped when the block ends."""
    var.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        db = var / "subreg.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        yield BenchDatabase(f"sqlite:///{db}", "", "", db)
        return
    base = os.environ.get("SUBREG_BENCH_PG_URL", PG_DEFAULT)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(base)
    with admin.begin() as c:
        c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    dsn = make_url(base).set(drivername="postgresql").render_as_string(False)
    try:
        yield BenchDatabase(url, dsn, schema, None)
    finally:
        with admin.begin() as c:
            c.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
