"""Perceptual hashes of portraits (DCT "pHash", numpy on Pillow) and the keyed digests of their bands.

The hash (Zauner 2010, as the `imagehash` library computes it): the image in grey, resized to 4N x 4N, its 2-D
DCT-II, the N x N lowest frequencies, each bit 1 when the coefficient is above their median. N = 16 gives 256
bits; re-encoding, resizing and mild recompression change a few of them, another face about half. The
computation is a 64 x 64 matrix product, done here rather than through `imagehash` (and its SciPy) to add no
dependency.

A perceptual hash is personal data (it describes a face): it is never stored. Each band (`domain.signals.
portraits.split_bands`) is stored as HMAC-SHA256 under a key derived in the vault from the blind-index key
(`AesGcmVault.portrait_key`), first 16 bytes: equal bands give equal digests, and nobody without the key can
compute a digest from a photo to search with.
"""

from __future__ import annotations

import hmac
from functools import cache

import numpy as np
from PIL import Image

from subreg.adapters.images.card_reader import DEFAULT_MAX_PIXELS, load_image
from subreg.domain.common.errors import InputError
from subreg.domain.signals.portraits import band_bytes, split_bands

__all__ = ["DIGEST_BYTES", "KeyedPortraitHasher", "perceptual_hash"]

DIGEST_BYTES = 16  # portrait_bands.digest


@cache
def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n).reshape(-1, 1)
    i = np.arange(n).reshape(1, -1)
    return np.cos(np.pi * (2 * i + 1) * k / (2 * n))


def perceptual_hash(data: bytes, *, size: int = 16, max_pixels: int = DEFAULT_MAX_PIXELS) -> int | None:
    """The `size` x `size`-bit DCT hash of an image (most significant bit first); None when not an image."""
    try:
        image = load_image(data, max_pixels=max_pixels)
    except InputError:
        return None
    side = size * 4
    try:
        grey = image.convert("L").resize((side, side), Image.Resampling.LANCZOS)
    except (OSError, ValueError):
        return None
    pixels = np.asarray(grey, dtype=np.float64)
    matrix = _dct_matrix(side)
    low = (matrix @ pixels @ matrix.T)[:size, :size]
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


class KeyedPortraitHasher:
    """`PortraitHasher` (signals) and `PortraitIndexer` (registry): the hash, and its bands' keyed digests."""

    def __init__(self, key: bytes, *, size: int = 16, bands: int = 8, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        if len(key) < 16:
            raise ValueError("portrait key too short")
        self._key = key
        self._size = size
        self._bands = bands
        self._max_pixels = max_pixels
        split_bands(0, bits=self.bits, bands=bands)  # a bad setting fails at start

    @property
    def bits(self) -> int:
        return self._size * self._size

    @property
    def bands(self) -> int:
        return self._bands

    def perceptual_hash(self, image: bytes) -> int | None:
        """The image's perceptual hash; None when it cannot be decoded."""
        return perceptual_hash(image, size=self._size, max_pixels=self._max_pixels)

    def band_digests(self, image: bytes) -> list[bytes] | None:
        """HMAC-SHA256 (first 16 bytes) of each band of the image's hash; None when it cannot be decoded."""
        value = self.perceptual_hash(image)
        if value is None:
            return None
        return self.digests_of(value)

    def digests_of(self, value: int) -> list[bytes]:
        """The keyed digests of a hash's bands."""
        bits, bands = self.bits, self._bands
        return [
            hmac.digest(self._key, band_bytes(i, v, bits=bits, bands=bands), "sha256")[:DIGEST_BYTES]
            for i, v in enumerate(split_bands(value, bits=bits, bands=bands))
        ]
