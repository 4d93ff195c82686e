"""A benchmark's database: a fresh SQLite file under `var`, or a fresh PostgreSQL schema dropped afterwards."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from subreg.adapters.db.engine import create_engine_for

__all__ = ["PG_DEFAULT", "BenchDatabase", "bench_database", "load_pairs_sqlite"]

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


def load_pairs_sqlite(
    db: Path, pairs: Iterable[tuple[tuple[object, ...], tuple[object, ...]]], holder_cols: tuple[str, ...],
    line_cols: tuple[str, ...], *, wal: bool = True,
) -> float:  # fmt: skip
    """(holder row, subscription row) pairs into a SQLite base, 50,000 a transaction, then ANALYZE; seconds taken."""
    conn = sqlite3.connect(db, isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    hs = f"INSERT INTO holders ({', '.join(holder_cols)}) VALUES ({', '.join('?' * len(holder_cols))})"  # noqa: S608
    ss = f"INSERT INTO subscriptions ({', '.join(line_cols)}) VALUES ({', '.join('?' * len(line_cols))})"  # noqa: S608
    started = time.perf_counter()
    holders: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany(hs, holders)
        conn.executemany(ss, lines)
        conn.execute("COMMIT")
        holders.clear()
        lines.clear()

    for h, s in pairs:
        holders.append(h)
        lines.append(s)
        if len(holders) >= 50_000:
            flush()
    flush()
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started
