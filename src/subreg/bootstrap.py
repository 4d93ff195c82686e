"""Wire settings to adapters: the only module that names concrete adapters. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from subreg.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from subreg.adapters.db.uow import SqlUnitOfWork
    from subreg.domain.compliance.rules.base import RuleSet
    from subreg.services.ports import BlobStore, Vault

__all__ = ["Container", "bootstrap", "init_storage"]


@dataclass
class Container:
    """Everything an entrypoint needs, built once from settings (close it when done)."""

    settings: Settings
    engine: Engine
    vault: Vault
    blobs: BlobStore
    rule_set: RuleSet
    # HMAC key of the audit chain (derived in the vault, never stored; kept out of repr).
    audit_key: bytes | None = field(default=None, repr=False)

    def uow(self) -> SqlUnitOfWork:
        """A new unit of work (`with container.uow() as uow: ...; uow.commit()`)."""
        from subreg.adapters.db.uow import SqlUnitOfWork

        return SqlUnitOfWork(self.engine, audit_key=self.audit_key)

    def ping(self) -> bool:
        """Whether the database answers a trivial query (for health checks; never raises)."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def _master_key(settings: Settings) -> bytes:
    from subreg.adapters.vault import load_master_key

    secret = settings.master_key.get_secret_value() if settings.master_key else None
    return load_master_key(master_key=secret, master_key_file=settings.master_key_file)


def init_storage(settings: Settings) -> None:
    """Create the var directories, the master key (dev/test only), the schema and the encryption keys."""
    from subreg.adapters.db.engine import create_engine_for, migrate
    from subreg.adapters.vault import ensure_keys, ensure_master_key

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if settings.blob_dir is not None:
        settings.blob_dir.mkdir(parents=True, exist_ok=True)
    secret = settings.master_key.get_secret_value() if settings.master_key else None
    ensure_master_key(env=settings.env, master_key=secret, master_key_file=settings.master_key_file)
    master_key = _master_key(settings)
    engine = create_engine_for(settings.database_url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            ensure_keys(connection, master_key)
    finally:
        engine.dispose()


def bootstrap(settings: Settings) -> Container:
    """Build the container: engine, vault (keys unwrapped once), blob store and rule set."""
    from subreg.adapters.blob.local import LocalBlobStore
    from subreg.adapters.db.engine import create_engine_for
    from subreg.adapters.vault import AesGcmVault
    from subreg.domain.compliance.rules import get_rule_set

    engine = create_engine_for(settings.database_url)
    try:
        vault = AesGcmVault.load(engine, _master_key(settings))
    except BaseException:
        engine.dispose()
        raise
    if settings.blob_backend != "local" or settings.blob_dir is None:
        raise ValueError("unsupported blob backend")
    return Container(
        settings=settings,
        engine=engine,
        vault=vault,
        blobs=LocalBlobStore(settings.blob_dir),
        rule_set=get_rule_set(settings.rule_set),
        audit_key=vault.audit_key,
    )
