"""An API client over a freshly initialised embedded database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from subreg.api.app import create_app
from subreg.bootstrap import init_storage
from subreg.config import Settings


@pytest.fixture
def api_settings(tmp_path) -> Settings:
    settings = Settings(env="test", var_dir=tmp_path / "var", log_json=True, max_upload_bytes=200_000)
    init_storage(settings)
    return settings


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as c:
        yield c
