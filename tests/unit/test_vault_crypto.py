"""AesGcmVault's cryptography without a database: envelope, AAD binding, tampering, blind index."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.adapters.crypto.vault import BLIND_INDEX_BYTES, AesGcmVault, master_key_id
from subreg.domain.common.errors import CryptoError


def _vault(blind_key: bytes = b"k" * 32, kek: bytes = b"e" * 32) -> AesGcmVault:
    return AesGcmVault({1: kek}, 1, blind_key)


class TestEnvelope:
    def test_a_new_data_key_unwraps_to_itself(self):
        vault = _vault()
        dek, kek_id, wrapped = vault.new_data_key()
        assert len(dek) == 32
        assert kek_id == 1
        assert dek not in wrapped
        assert vault.unwrap(kek_id, wrapped) == dek

    def test_data_keys_are_random(self):
        vault = _vault()
        assert vault.new_data_key()[0] != vault.new_data_key()[0]

    def test_a_wrapped_key_does_not_open_under_another_kek(self):
        _dek, _kid, wrapped = _vault(kek=b"e" * 32).new_data_key()
        with pytest.raises(CryptoError):
            _vault(kek=b"f" * 32).unwrap(1, wrapped)

    def test_a_shredded_or_unknown_key_is_a_crypto_error(self):
        vault = _vault()
        _dek, _kid, wrapped = vault.new_data_key()
        with pytest.raises(CryptoError):
            vault.unwrap(1, None)
        with pytest.raises(CryptoError):
            vault.unwrap(99, wrapped)

    def test_the_active_kek_must_be_known(self):
        with pytest.raises(CryptoError):
            AesGcmVault({1: b"e" * 32}, 2, b"k" * 32)


class TestSealAndOpen:
    def test_round_trip_with_fresh_nonces(self):
        vault = _vault()
        dek = os.urandom(32)
        a = vault.seal(dek, b"Nguyen Van A", b"holder:1")
        b = vault.seal(dek, b"Nguyen Van A", b"holder:1")
        assert a != b
        assert b"Nguyen" not in a
        assert vault.open(dek, a, b"holder:1") == vault.open(dek, b, b"holder:1") == b"Nguyen Van A"

    def test_another_aad_does_not_open(self):
        vault = _vault()
        dek = os.urandom(32)
        sealed = vault.seal(dek, b"payload", b"holder:1")
        with pytest.raises(CryptoError):
            vault.open(dek, sealed, b"holder:2")

    def test_another_key_does_not_open(self):
        vault = _vault()
        sealed = vault.seal(os.urandom(32), b"payload", b"a")
        with pytest.raises(CryptoError):
            vault.open(os.urandom(32), sealed, b"a")

    @settings(max_examples=60, deadline=None)
    @given(data=st.binary(min_size=0, max_size=64), position=st.integers(min_value=0), bit=st.integers(0, 7))
    def test_any_flipped_bit_is_detected(self, data, position, bit):
        vault = _vault()
        dek = b"d" * 32
        sealed = bytearray(vault.seal(dek, data, b"aad"))
        sealed[position % len(sealed)] ^= 1 << bit
        with pytest.raises(CryptoError):
            vault.open(dek, bytes(sealed), b"aad")

    def test_truncated_ciphertext_is_a_crypto_error(self):
        with pytest.raises(CryptoError):
            _vault().open(b"d" * 32, b"\x01short", b"")

    def test_errors_carry_no_plaintext_or_key(self):
        vault = _vault()
        dek = b"d" * 32
        sealed = vault.seal(dek, b"079190123456", b"x")
        with pytest.raises(CryptoError) as info:
            vault.open(b"e" * 32, sealed, b"x")
        message = str(info.value)
        assert "079190123456" not in message
        assert "eeee" not in message


class TestBlindIndex:
    def test_is_stable_and_16_bytes(self):
        assert _vault().blind("079190123456") == _vault().blind("079190123456")
        assert len(_vault().blind("079190123456")) == BLIND_INDEX_BYTES

    def test_depends_on_the_key_and_the_number(self):
        assert _vault(b"a" * 32).blind("079190123456") != _vault(b"b" * 32).blind("079190123456")
        assert _vault().blind("079190123456") != _vault().blind("079190123457")

    def test_does_not_contain_the_number(self):
        assert b"079190123456" not in _vault().blind("079190123456")


class TestMasterKeyId:
    def test_names_the_key_without_revealing_it(self):
        key = b"m" * 32
        assert master_key_id(key) == master_key_id(key)
        assert master_key_id(key) != master_key_id(b"n" * 32)
        assert key.hex() not in master_key_id(key)
