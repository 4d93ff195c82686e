"""Shared fixtures: a database URL for each supported backend, and a fully wired container.

`database_url` runs every test that uses it on SQLite (a temporary file) and on PostgreSQL. The
PostgreSQL case needs SUBREG_TEST_DATABASE_URL (CI: postgresql+psycopg://postgres@127.0.0.1:5432/test)
and is skipped, visibly, without it. Each PostgreSQL test gets its OWN schema, reached through the
connection's search_path and dropped afterwards, so parallel and earlier runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url

from subreg.adapters.db.engine import create_engine_for, migrate
from subreg.bootstrap import Container, bootstrap, init_storage
from subreg.config import Settings

PG_URL_ENV = "SUBREG_TEST_DATABASE_URL"


def _postgres_schema_url(base: str, schema: str) -> str:
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of `kind` (`sqlite` or `postgresql`); a PostgreSQL schema is dropped after.

    Skips the test when `kind` is PostgreSQL and SUBREG_TEST_DATABASE_URL is not set.
    """
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'subreg.db'}"
        return
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"{PG_URL_ENV} not set")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine_for(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield _postgres_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema dropped after the test."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on `database_url`."""
    eng = create_engine_for(database_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings: everything under tmp_path, the database from `database_url`."""
    return Settings(env="test", var_dir=tmp_path / "var", database_url=database_url)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """An initialised container (schema, master key, KEKs) on the parametrized database."""
    init_storage(settings)
    built = bootstrap(settings)
    yield built
    built.close()
