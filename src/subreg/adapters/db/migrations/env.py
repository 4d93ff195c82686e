"""Alembic environment: the URL comes from a passed connection, `-x url=`, or subreg's Settings.

Nothing connects at import: an engine is made only when Alembic runs a command, and disposed after.
"""

from __future__ import annotations

from alembic import context

from subreg.adapters.db.tables import metadata

config = context.config
target_metadata = metadata


def _url() -> str:
    x_url = context.get_x_argument(as_dictionary=True).get("url")
    if x_url:
        return x_url
    configured = config.get_main_option("sqlalchemy.url")
    if configured:
        return configured
    from subreg.config import Settings

    return Settings().database_url


def _run_with(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode recreates tables when needed.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade head --sql`)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database: the caller's connection if given, else a short-lived engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    from subreg.adapters.db.engine import create_engine_for

    engine = create_engine_for(_url())
    try:
        with engine.begin() as conn:
            _run_with(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
