"""Message texts at rest: each row's text sealed under its own data key, bound to the table it is in."""

from __future__ import annotations

from typing import Any

import orjson

from subreg.services.common.ports import Vault

__all__ = ["open_text", "seal_text"]


def seal_text(vault: Vault, value: Any, *, table: str) -> dict[str, Any]:
    """`kek_id`, `wrapped_dek` and `payload` columns holding `value` (JSON) sealed for `table`."""
    dek, kek_id, wrapped = vault.new_data_key()
    payload = vault.seal(dek, orjson.dumps(value), f"sms:{table}".encode())
    return {"kek_id": kek_id, "wrapped_dek": wrapped, "payload": payload}


def open_text(vault: Vault, kek_id: int, wrapped_dek: bytes | None, payload: bytes, *, table: str) -> Any:
    """The value `seal_text` sealed (CryptoError when the key was shredded or the row tampered with)."""
    dek = vault.unwrap(kek_id, wrapped_dek)
    return orjson.loads(vault.open(dek, payload, f"sms:{table}".encode()))
