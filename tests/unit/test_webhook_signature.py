"""The webhook's signature and replay cache: what a receiver relies on to trust an order."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import assume, given
from hypothesis import strategies as st

from subreg.adapters.hlr.webhook import REPLAY_WINDOW, ReplayCache, sign, verify_signature

SECRET = b"unit-test-secret-0123456789abcdef"
NOW = 1_760_000_000

secrets_ = st.binary(min_size=16, max_size=64)
bodies = st.binary(max_size=2048)
# Any timestamp inside the window around NOW.
stamps = st.integers(NOW - REPLAY_WINDOW, NOW + REPLAY_WINDOW)


class TestSign:
    def test_it_is_hex_hmac_sha256_over_timestamp_dot_body(self):
        expected = hmac.new(SECRET, b"1760000000.{}", hashlib.sha256).hexdigest()
        assert sign(SECRET, 1760000000, b"{}") == "sha256=" + expected
        assert sign(SECRET, "1760000000", b"{}") == "sha256=" + expected


class TestVerifySignature:
    @given(secret=secrets_, body=bodies, stamp=stamps)
    def test_a_genuine_signature_within_the_window_verifies(self, secret, body, stamp):
        assert verify_signature(secret, str(stamp), body, sign(secret, stamp, body), now=NOW)

    @given(secret=secrets_, body=bodies, other=bodies, stamp=stamps)
    def test_any_tampering_with_the_body_fails(self, secret, body, other, stamp):
        assume(other != body)
        assert not verify_signature(secret, str(stamp), other, sign(secret, stamp, body), now=NOW)

    @given(body=bodies, index=st.integers(min_value=0), bit=st.integers(0, 7), stamp=stamps)
    def test_flipping_any_one_bit_of_the_body_fails(self, body, index, bit, stamp):
        assume(body)
        tampered = bytearray(body)
        tampered[index % len(body)] ^= 1 << bit
        assert not verify_signature(SECRET, str(stamp), bytes(tampered), sign(SECRET, stamp, body), now=NOW)

    @given(secret=secrets_, other=secrets_, body=bodies, stamp=stamps)
    def test_another_secret_fails(self, secret, other, body, stamp):
        assume(other != secret)
        assert not verify_signature(other, str(stamp), body, sign(secret, stamp, body), now=NOW)

    @given(body=bodies, stamp=stamps, moved=stamps)
    def test_a_signature_moved_to_another_timestamp_fails(self, body, stamp, moved):
        assume(moved != stamp)
        assert not verify_signature(SECRET, str(moved), body, sign(SECRET, stamp, body), now=NOW)

    @given(body=bodies, skew=st.integers(REPLAY_WINDOW + 1, 10**9), sign_of_skew=st.sampled_from([-1, 1]))
    def test_a_timestamp_outside_the_window_fails_even_when_genuinely_signed(self, body, skew, sign_of_skew):
        stamp = NOW + sign_of_skew * skew
        assume(stamp >= 0)
        assert not verify_signature(SECRET, str(stamp), body, sign(SECRET, stamp, body), now=NOW)

    def test_the_window_edges_are_inside(self):
        for stamp in (NOW - REPLAY_WINDOW, NOW + REPLAY_WINDOW):
            assert verify_signature(SECRET, str(stamp), b"x", sign(SECRET, stamp, b"x"), now=NOW)
        assert verify_signature(SECRET, str(NOW - 10), b"x", sign(SECRET, NOW - 10, b"x"), now=NOW, window=10)
        assert not verify_signature(SECRET, str(NOW - 11), b"x", sign(SECRET, NOW - 11, b"x"), now=NOW, window=10)

    @given(stamp=st.text(max_size=20))
    def test_a_timestamp_that_is_not_plain_digits_fails_without_raising(self, stamp):
        assume(not (stamp.isascii() and stamp.isdigit()))
        # Signed with the right secret over exactly that text: still refused, it is no Unix time.
        genuine = "sha256=" + hmac.new(SECRET, stamp.encode() + b".x", hashlib.sha256).hexdigest()
        assert not verify_signature(SECRET, stamp, b"x", genuine, now=NOW)

    @given(signature=st.text(max_size=80))
    def test_any_other_signature_text_fails_without_raising(self, signature):
        assume(signature != sign(SECRET, NOW, b"x"))
        assert not verify_signature(SECRET, str(NOW), b"x", signature, now=NOW)

    def test_the_bare_hex_digest_without_its_prefix_fails(self):
        bare = sign(SECRET, NOW, b"x").removeprefix("sha256=")
        assert not verify_signature(SECRET, str(NOW), b"x", bare, now=NOW)


class TestReplayCache:
    def test_a_signature_is_accepted_once_within_the_window(self):
        cache = ReplayCache()
        assert cache.first_use("sha256=aa", NOW, now=NOW)
        assert not cache.first_use("sha256=aa", NOW, now=NOW + 1)
        assert not cache.first_use("sha256=aa", NOW, now=NOW + REPLAY_WINDOW)
        assert cache.first_use("sha256=bb", NOW, now=NOW + 1)

    def test_a_signature_is_forgotten_once_its_timestamp_has_left_the_window(self):
        cache = ReplayCache(window=10)
        cache.first_use("sha256=aa", NOW, now=NOW)
        cache.first_use("sha256=bb", NOW + 5, now=NOW + 5)

        assert cache.first_use("sha256=cc", NOW + 11, now=NOW + 11)
        assert len(cache) == 2  # aa expired (its timestamp + 10 < now); bb and cc remain
        # By then verify_signature refuses aa's timestamp: forgetting it opens no replay.
        assert not verify_signature(SECRET, str(NOW), b"x", sign(SECRET, NOW, b"x"), now=NOW + 11, window=10)

    @given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 40)), max_size=40))
    def test_it_accepts_a_signature_again_only_after_its_window(self, uses):
        cache = ReplayCache(window=10)
        accepted: dict[str, int] = {}
        clock = NOW
        for signature, step in uses:
            clock += step
            expected = signature not in accepted or accepted[signature] + 10 < clock
            assert cache.first_use(signature, clock, now=clock) is expected
            if expected:
                accepted[signature] = clock
