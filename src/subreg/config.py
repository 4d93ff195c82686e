"""Settings, read once from the environment (prefix SUBREG_) and an optional .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Every knob of subreg. See docs/configuration.md for the full table."""

    model_config = SettingsConfigDict(env_prefix="SUBREG_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = Field("dev", description="dev creates keys on demand; prod never does")
    var_dir: Path = Field(Path("var"), description="Where the embedded database, blobs and keys live")
    database_url: str = Field("", description="SQLAlchemy URL; default sqlite:///<var_dir>/subreg.db")
    blob_backend: Literal["local"] = "local"
    blob_dir: Path | None = Field(None, description="Local blob store; default <var_dir>/blobs")
    master_key: SecretStr | None = Field(None, description="Base64 of 32 random bytes; overrides the key file")
    master_key_file: Path | None = Field(None, description="Key file; default <var_dir>/master.key")
    rule_set: str = Field("nd49-2017", description="Completeness rule set applied by default")
    lang: Literal["vi", "en"] = Field("vi", description="Default language of messages and pages")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = Field(True, description="Structured JSON logs (set false for console output)")
    max_upload_bytes: int = Field(10 * 1024 * 1024, description="Largest accepted upload")
    max_image_pixels: int = Field(40_000_000, description="Decompression-bomb guard for images")
    max_body_records: int = Field(10_000, description="Most records in one POST /checks body")

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'subreg.db'}"
        if self.blob_dir is None:
            self.blob_dir = self.var_dir / "blobs"
        if self.master_key_file is None:
            self.master_key_file = self.var_dir / "master.key"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
