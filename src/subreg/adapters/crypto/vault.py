"""Encryption at rest: envelope encryption with AES-256-GCM and a keyed blind index.

Key hierarchy (why three levels):

    master key (32 bytes, env SUBREG_MASTER_KEY or a 0600 file, never in the database)
      └─ wraps KEKs (rows of `key_encryption_keys`, purpose `data` or `blind_index`)
           ├─ a `data` KEK wraps each holder's random DEK (`holders.wrapped_dek`)
           │     └─ the DEK encrypts the holder's payload, history values and document images
           └─ the `blind_index` key is the HMAC-SHA256 key of `blind(id_number)`

Rotating the master key re-wraps a handful of KEK rows, not 60 M holders; erasing one holder's
wrapped DEK crypto-shreds that holder (payload, images) without touching backups' ciphertext.

Ciphertext format: 1 version byte (0x01) | 12-byte random nonce | AES-GCM ciphertext and 16-byte tag.
Associated data binds every ciphertext to its place: `kek:<purpose>` for KEKs, `dek:<kek id>` for
wrapped DEKs, and whatever the caller passes to `seal`/`open` (e.g. `holder:<aad_ref>`).

Speed (bulk loads of 60 M rows): the KEK AESGCM objects and the blind-index key are unwrapped once
when the vault is built; `seal`/`open` cost one AESGCM construction and one encryption; `blind` is a
single C-level HMAC. There is no per-call key derivation.

Failures raise `CryptoError` with a fixed message: never the key, the plaintext or the cause.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Engine, func, insert, select, update

from subreg.adapters.db.tables import key_encryption_keys
from subreg.adapters.files.durable import fsync_dir
from subreg.domain.common.errors import CryptoError, ErasedError

__all__ = [
    "BLIND_INDEX_BYTES",
    "AesGcmVault",
    "FileKeyRing",
    "encode_master_key",
    "ensure_keys",
    "ensure_master_key",
    "generate_master_key",
    "kek_rows",
    "load_master_key",
    "master_key_id",
    "rewrap_keks",
    "write_key_file",
]

KEY_BYTES = 32
NONCE_BYTES = 12
BLIND_INDEX_BYTES = 16
_VERSION = b"\x01"
_HEADER = 1 + NONCE_BYTES
PURPOSE_DATA = "data"
PURPOSE_BLIND = "blind_index"


def master_key_id(master_key: bytes) -> str:
    """A fingerprint naming the master key (safe to store: a hash, not the key)."""
    return hashlib.sha256(b"subreg/master-key-id/v1\x00" + master_key).hexdigest()[:32]


def _encrypt(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return _VERSION + nonce + aead.encrypt(nonce, plaintext, aad)


def _decrypt(aead: AESGCM, ciphertext: bytes, aad: bytes) -> bytes:
    if len(ciphertext) < _HEADER + 16 or ciphertext[:1] != _VERSION:
        raise CryptoError("ciphertext is malformed")
    try:
        return aead.decrypt(ciphertext[1:_HEADER], ciphertext[_HEADER:], aad)
    except InvalidTag:
        raise CryptoError("decryption failed (wrong key or tampered data)") from None


def _decode_master_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("master key is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise CryptoError("master key must be 32 bytes")
    return key


def load_master_key(*, master_key: str | None, master_key_file: Path | None) -> bytes:
    """The 32-byte master key from its base64 text (preferred) or from the key file."""
    if master_key:
        return _decode_master_key(master_key)
    if master_key_file is None or not master_key_file.is_file():
        raise CryptoError("master key not configured (set SUBREG_MASTER_KEY or create the key file)")
    return _decode_master_key(master_key_file.read_text(encoding="ascii"))


def ensure_master_key(*, env: str, master_key: str | None, master_key_file: Path | None) -> None:
    """Create the master key file (mode 0600) in dev/test when no key is configured; never in prod."""
    if master_key or (master_key_file is not None and master_key_file.exists()):
        return
    if env not in ("dev", "test") or master_key_file is None:
        # Production keys are provisioned by operators (HSM/KMS/secret store); silently generating one
        # would encrypt live data under a key nobody has backed up.
        raise CryptoError("master key missing; refusing to create one outside dev/test")
    master_key_file.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL + mode at creation: the key is never readable by others, not even for an instant.
    fd = os.open(master_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii") + "\n")


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(key)


def _kek_aad(purpose: str) -> bytes:
    return b"kek:" + purpose.encode("ascii")


def ensure_keys(connection: Connection, master_key: bytes) -> None:
    """Create the active data KEK and blind-index key if absent (run inside the caller's transaction)."""
    fingerprint = master_key_id(master_key)
    master = AESGCM(master_key)
    for purpose in (PURPOSE_DATA, PURPOSE_BLIND):
        exists = connection.execute(
            select(key_encryption_keys.c.id).where(
                key_encryption_keys.c.purpose == purpose, key_encryption_keys.c.active.is_(True)
            )
        ).first()
        if exists is None:
            connection.execute(
                insert(key_encryption_keys).values(
                    wrapped_key=_encrypt(master, os.urandom(KEY_BYTES), _kek_aad(purpose)),
                    master_key_id=fingerprint,
                    purpose=purpose,
                    active=True,
                )
            )


@dataclass(frozen=True, slots=True)
class _Kek:
    id: int
    aead: AESGCM


class AesGcmVault:
    """The `Vault` port: envelope encryption under KEKs from the database and a keyed blind index."""

    def __init__(self, data_keks: Mapping[int, bytes], active_kek_id: int, blind_key: bytes) -> None:
        if active_kek_id not in data_keks:
            raise CryptoError("active key-encryption key not available")
        self._keks = {kid: _Kek(kid, AESGCM(key)) for kid, key in data_keks.items()}
        self._active = self._keks[active_kek_id]
        self._dek_aad = {kid: b"dek:%d" % kid for kid in self._keks}
        self._blind_key = blind_key
        # Derived from the blind-index key, not from the master key itself: the blind-index key never
        # changes (every stored index depends on it) while the master key rotates, and the audit
        # chain must verify across rotations. Like the blind-index key, it exists only in memory,
        # unwrapped by the master key: write access to the database does not yield it.
        self._audit_key = _hkdf(blind_key, b"subreg audit chain v1")
        # The key of the portraits' band digests (signals): derived the same way, for the same reasons, and
        # distinct from the blind index so that a band digest never equals an ID number's index.
        self._portrait_key = _hkdf(blind_key, b"subreg portrait bands v1")

    @classmethod
    def load(cls, source: Engine | Connection, master_key: bytes) -> AesGcmVault:
        """Unwrap every KEK with the master key; CryptoError when the master key is not the one used."""
        if isinstance(source, Engine):
            with source.connect() as connection:
                return cls.load(connection, master_key)
        rows = source.execute(
            select(
                key_encryption_keys.c.id,
                key_encryption_keys.c.wrapped_key,
                key_encryption_keys.c.master_key_id,
                key_encryption_keys.c.purpose,
                key_encryption_keys.c.active,
            ).order_by(key_encryption_keys.c.id)
        ).all()
        fingerprint = master_key_id(master_key)
        master = AESGCM(master_key)
        data: dict[int, bytes] = {}
        active_data: int | None = None
        blind: bytes | None = None
        for row in rows:
            if row.master_key_id != fingerprint:
                raise CryptoError("master key does not match the stored keys")
            key = _decrypt(master, bytes(row.wrapped_key), _kek_aad(row.purpose))
            if row.purpose == PURPOSE_DATA:
                data[row.id] = key
                if row.active:
                    active_data = row.id  # the newest active one wins (rows are ordered by id)
            elif row.purpose == PURPOSE_BLIND and row.active:
                blind = key
        if active_data is None or blind is None:
            raise CryptoError("encryption keys not initialised (run `subreg init`)")
        return cls(data, active_data, blind)

    @property
    def active_kek_id(self) -> int:
        """Id of the KEK that wraps new data keys."""
        return self._active.id

    def new_data_key(self) -> tuple[bytes, int, bytes]:
        """A fresh random DEK, the id of the KEK wrapping it, and the wrapped DEK to store."""
        dek = os.urandom(KEY_BYTES)
        kek = self._active
        return dek, kek.id, _encrypt(kek.aead, dek, self._dek_aad[kek.id])

    def unwrap(self, kek_id: int, wrapped_dek: bytes | None) -> bytes:
        """The DEK inside `wrapped_dek`; ErasedError when shredded (None), CryptoError for an unknown
        KEK or tampering."""
        if not wrapped_dek:
            raise ErasedError("data key erased")
        kek = self._keks.get(kek_id)
        if kek is None:
            raise CryptoError("data key unavailable")
        return _decrypt(kek.aead, bytes(wrapped_dek), self._dek_aad[kek_id])

    def seal(self, dek: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt `plaintext` under `dek`, bound to `aad`."""
        return _encrypt(AESGCM(dek), plaintext, aad)

    def open(self, dek: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Decrypt what `seal` produced with the same `dek` and `aad`; CryptoError otherwise."""
        return _decrypt(AESGCM(dek), bytes(ciphertext), aad)

    @property
    def audit_key(self) -> bytes:
        """HMAC key of the audit log's hash chain (HKDF of the blind-index key, stable across rotation)."""
        return self._audit_key

    @property
    def portrait_key(self) -> bytes:
        """HMAC key of the portraits' band digests (HKDF of the blind-index key, stable across rotation)."""
        return self._portrait_key

    def blind(self, id_number: str) -> bytes:
        """Keyed blind index (HMAC-SHA256, first 16 bytes) of an already normalized ID number."""
        return hmac.digest(self._blind_key, id_number.encode("utf-8"), "sha256")[:BLIND_INDEX_BYTES]


# --- master key rotation ---------------------------------------------------------------------------


def generate_master_key() -> bytes:
    """32 fresh random bytes."""
    return os.urandom(KEY_BYTES)


def encode_master_key(key: bytes) -> str:
    """The key file's text form (base64 and a newline)."""
    return base64.b64encode(key).decode("ascii") + "\n"


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key file atomically: a 0600 temp file beside it, fsync, rename over, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(encode_master_key(key))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def rewrap_keks(connection: Connection, old_master: bytes, new_master: bytes) -> int:
    """Re-wrap every KEK row from `old_master` to `new_master` in the caller's transaction; how many.

    Holder rows are not touched: their DEKs are wrapped by the KEKs, whose values do not change.
    CryptoError (nothing written) when a row is not wrapped by `old_master`.
    """
    old_fp, new_fp = master_key_id(old_master), master_key_id(new_master)
    if old_fp == new_fp:
        raise CryptoError("the new master key is the current one")
    old, new = AESGCM(old_master), AESGCM(new_master)
    rows = connection.execute(
        select(key_encryption_keys.c.id, key_encryption_keys.c.wrapped_key,
               key_encryption_keys.c.master_key_id, key_encryption_keys.c.purpose)
        .order_by(key_encryption_keys.c.id)
        .with_for_update()
    ).all()  # fmt: skip
    for row in rows:
        if row.master_key_id != old_fp:
            raise CryptoError("master key does not match the stored keys")
        aad = _kek_aad(row.purpose)
        key = _decrypt(old, bytes(row.wrapped_key), aad)
        connection.execute(
            update(key_encryption_keys)
            .where(key_encryption_keys.c.id == row.id)
            .values(wrapped_key=_encrypt(new, key, aad), master_key_id=new_fp)
        )
    return len(rows)


def kek_rows(connection: Connection) -> list[dict[str, object]]:
    """The KEK rows without key material: id, purpose, active, master key fingerprint, creation time,
    and how many holders' DEKs each wraps (`holders`) of which erased (`shredded`)."""
    rows = connection.execute(
        select(key_encryption_keys.c.id, key_encryption_keys.c.purpose, key_encryption_keys.c.active,
               key_encryption_keys.c.master_key_id, key_encryption_keys.c.created_at)
        .order_by(key_encryption_keys.c.id)
    ).all()  # fmt: skip
    from subreg.adapters.db.tables import holders

    wrapped = func.count(holders.c.wrapped_dek)
    counts = {
        r.kek_id: (int(r.total), int(r.readable))
        for r in connection.execute(
            select(holders.c.kek_id, func.count().label("total"), wrapped.label("readable")).group_by(holders.c.kek_id)
        )
    }
    out = []
    for r in rows:
        total, readable = counts.get(r.id, (0, 0))
        out.append({**r._mapping, "holders": total, "shredded": total - readable})
    return out


class FileKeyRing:
    """The master key as the deployment holds it: a file (or SUBREG_MASTER_KEY), and its rotation.

    Rotation order, so that no crash leaves data without a key that opens it:
    1. the new key is written to `<key file>.new` (fsynced) BEFORE the database changes;
    2. the KEK rows are re-wrapped and committed in one transaction (the caller's);
    3. `install`: the old file moves to `master.key.old-<timestamp>`, `.new` is renamed over the
       key file; the old copy is deleted unless kept. A crash between 2 and 3 leaves `.new`: it
       is the key the database needs (`subreg keys status` says so).
    """

    def __init__(self, master_key: bytes, key_file: Path | None, *, from_env: bool) -> None:
        self._current = master_key
        self._file = key_file
        self._from_env = from_env

    @property
    def current(self) -> bytes:
        """The key in use."""
        return self._current

    @property
    def from_env(self) -> bool:
        """Whether the key comes from the environment (rotation cannot rewrite it)."""
        return self._from_env

    @property
    def staged_path(self) -> Path | None:
        """Where a new key waits while the database is re-wrapped."""
        return None if self._file is None else self._file.with_name(self._file.name + ".new")

    def fingerprint(self, key: bytes | None = None) -> str:
        """The public fingerprint of a key (the current one by default)."""
        return master_key_id(self._current if key is None else key)

    def read_key_file(self, path: Path) -> bytes:
        """A key from a base64 key file (CryptoError when malformed)."""
        return load_master_key(master_key=None, master_key_file=path)

    def stage(self, new_key: bytes) -> None:
        """Write the new key beside the current file before the database changes."""
        if self._from_env or self.staged_path is None:
            return
        write_key_file(self.staged_path, new_key)

    def rewrap(self, uow: Any, new_key: bytes) -> int:
        """Re-wrap the KEK rows under `new_key` in the unit of work's transaction (`SqlUnitOfWork`)."""
        return rewrap_keks(uow.connection, self._current, new_key)

    def kek_rows(self, uow: Any) -> list[dict[str, object]]:
        """The KEK rows with the holders each wraps (in the unit of work's transaction, `SqlUnitOfWork`)."""
        return kek_rows(uow.connection)

    def leftover_files(self) -> list[str]:
        """Key files beside the configured one (`.new` of an interrupted rotation, `.old-*` copies)."""
        if self._file is None:
            return []
        return sorted(str(p) for p in self._file.parent.glob(self._file.name + ".*"))

    def install(self, new_key: bytes, *, keep_old: bool, stamp: str) -> Path | None:
        """Make the staged key the key file; the kept old file's path, if any."""
        if self._from_env or self._file is None or self.staged_path is None:
            self._current = new_key
            return None
        old_copy = self._file.with_name(f"{self._file.name}.old-{stamp}")
        if self._file.exists():
            os.replace(self._file, old_copy)
        os.replace(self.staged_path, self._file)
        fsync_dir(self._file.parent)
        self._current = new_key
        if keep_old:
            return old_copy
        # Overwrite before unlinking: a plain unlink leaves the bytes on many file systems.
        with old_copy.open("r+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(0)
            fh.write(os.urandom(size))
            fh.flush()
            os.fsync(fh.fileno())
        old_copy.unlink()
        return None

    def discard_staged(self) -> None:
        """Remove a staged key after a failed re-wrap (the database still uses the current key)."""
        if self.staged_path is not None and not self._from_env:
            self.staged_path.unlink(missing_ok=True)
