"""Engines for the subscriber database and programmatic migrations (Alembic upgrade head)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["MIGRATIONS_DIR", "create_engine_for", "migrate", "ping"]

# The Alembic scripts ship inside the package, beside this module (alembic.ini at the root points here too).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# How long a SQLite writer waits for another one before "database is locked" (ms).
_SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`: SQLite tuned for WAL, or PostgreSQL through psycopg 3."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling delays BEGIN until the first write, so reads before it run
        # outside the transaction; let SQLAlchemy emit BEGIN itself (the SQLAlchemy-documented recipe).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            # WAL: readers never block the writer; NORMAL is durable across application crashes in WAL
            # mode and much faster than FULL (a power loss may drop the last transactions, not corrupt).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def _alembic_config(url: str | None = None) -> Any:
    from alembic.config import Config

    if not MIGRATIONS_DIR.is_dir():
        raise RuntimeError("migrations directory not found next to the source tree")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Upgrade the database to the latest schema (Alembic `upgrade head`), or to `revision`."""
    from alembic import command

    if isinstance(engine_or_url, str):
        engine = create_engine_for(engine_or_url)
        try:
            migrate(engine, revision)
        finally:
            engine.dispose()
        return
    config = _alembic_config()
    with engine_or_url.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ping(engine: Engine) -> bool:
    """Whether the database answers a trivial query (for health checks; never raises)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
