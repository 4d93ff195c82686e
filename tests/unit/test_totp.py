"""TOTP (RFC 6238) and HOTP (RFC 4226) against the RFCs' published test vectors."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest

from subreg.domain.access import totp

RFC4226_SECRET = b"12345678901234567890"
RFC4226_CODES = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

# RFC 6238 Appendix B (8 digits): (time, sha1, sha256, sha512)
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}


class TestVectors:
    @pytest.mark.parametrize(("counter", "code"), list(enumerate(RFC4226_CODES)))
    def test_hotp_matches_rfc4226_appendix_d(self, counter, code):
        assert totp.hotp(RFC4226_SECRET, counter) == code

    @pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), RFC6238)
    def test_totp_matches_rfc6238_appendix_b(self, at, sha1, sha256, sha512):
        for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
            assert totp.totp(SEEDS[algorithm], at, digits=8, algorithm=algorithm) == expected

    def test_aware_datetimes_and_unix_seconds_agree(self):
        at = datetime.fromtimestamp(1111111109, tz=UTC)
        assert totp.totp(RFC4226_SECRET, at) == totp.totp(RFC4226_SECRET, 1111111109)


class TestVerify:
    def test_accepts_the_current_and_adjacent_steps_only(self):
        now = 1_700_000_000
        for offset, ok in ((-60, False), (-30, True), (0, True), (30, True), (60, False)):
            code = totp.totp(RFC4226_SECRET, now + offset)
            assert (totp.verify(RFC4226_SECRET, code, now) is not None) is ok, offset

    def test_returns_the_matched_step_and_refuses_a_replay(self):
        now = 1_700_000_000
        code = totp.totp(RFC4226_SECRET, now)
        step = totp.verify(RFC4226_SECRET, code, now)
        assert step == totp.step_of(now)
        assert totp.verify(RFC4226_SECRET, code, now, last_step=step) is None

    @pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
    def test_refuses_malformed_codes(self, code):
        assert totp.verify(RFC4226_SECRET, code, 59) is None

    def test_tolerates_spaces_inside_a_code(self):
        code = totp.totp(RFC4226_SECRET, 59)
        assert totp.verify(RFC4226_SECRET, f"{code[:3]} {code[3:]}", 59) is not None


def test_provisioning_uri_carries_the_base32_secret_and_issuer():
    uri = totp.provisioning_uri(RFC4226_SECRET, account="admin", issuer="subreg")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth"
    assert parsed.netloc == "totp"
    query = parse_qs(parsed.query)
    assert query["secret"] == ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"]
    assert query["issuer"] == ["subreg"]
    assert query["digits"] == ["6"]
    assert query["period"] == ["30"]
