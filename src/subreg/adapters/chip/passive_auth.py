"""Passive authentication (ICAO 9303 part 11 §5.1) with asn1crypto (structures) and cryptography (signatures).

Steps, each refusing with its own reason code (domain/verification/chip.py):
1. EF.SOD parses as CMS SignedData carrying an LDS security object (`sod_malformed`);
2. the document signer (DS) certificate inside the SOD verifies the signer info's signature over the signed
   attributes, whose message digest is the hash of the LDS security object (`sod_signature_invalid`);
3. the DS certificate was issued by a configured CSCA (`csca_unknown`; a CSCA of that name whose key does not
   verify it: `ds_certificate_signature_invalid`) and both are valid on the day (`csca_expired`,
   `ds_certificate_expired`);
4. every data group handed over hashes to its value in the LDS security object (`data_group_hash_mismatch`),
   DG1 and DG2 are present (`data_group_missing`) and none is unlisted (`data_group_not_listed`).
Then DG1's MRZ and DG2's face image are extracted. Revocation (CRLs of the CSCA) is not checked: the master
list and CRLs of the issuing state are distributed out of band; see docs/verification-chip-face.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from subreg.adapters.chip.lds import (
    LDS_SECURITY_OBJECT_OID,
    LdsError,
    LDSSecurityObject,
    dg1_mrz,
    dg2_image,
    unwrap_sod,
)
from subreg.domain.verification.chip import ChipReason, PassiveAuthOutcome, certificate_problem, hash_problems

__all__ = ["IcaoPassiveAuthenticator", "load_csca_certificates"]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def load_csca_certificates(path: Path) -> list[x509.Certificate]:
    """CSCA certificates from a PEM file (one or several) or a folder of .pem/.crt/.cer/.der files."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    found: list[x509.Certificate] = []
    for file in files:
        data = file.read_bytes()
        if b"-----BEGIN CERTIFICATE-----" in data:
            found.extend(x509.load_pem_x509_certificates(data))
        elif file.suffix.lower() in {".der", ".cer", ".crt"}:
            found.append(x509.load_der_x509_certificate(data))
    return found


class IcaoPassiveAuthenticator:
    """Passive authentication against a fixed list of trusted CSCA certificates."""

    def __init__(self, cscas: Sequence[x509.Certificate]) -> None:
        self._cscas = list(cscas)

    @classmethod
    def from_path(cls, path: Path | None) -> IcaoPassiveAuthenticator:
        """Trust the CSCAs in `path` (none when no path is set: every SOD is then `csca_unknown`)."""
        return cls(load_csca_certificates(path) if path is not None else [])

    def authenticate(self, *, sod: bytes, groups: Mapping[int, bytes], at: datetime) -> PassiveAuthOutcome:
        """Passive authentication of the data groups `groups` (number -> bytes) with EF.SOD `sod`."""
        try:
            signed, lso, lso_bytes = _parse_sod(sod)
        except (LdsError, ValueError, TypeError, KeyError):
            return PassiveAuthOutcome.refused(ChipReason.SOD_MALFORMED)
        refused = _verify_signature(signed, lso_bytes)
        if isinstance(refused, PassiveAuthOutcome):
            return refused
        ds = refused
        refused_chain = self._verify_chain(ds, at)
        if refused_chain is not None:
            return refused_chain
        algorithm = lso["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES or algorithm == "sha1":
            return PassiveAuthOutcome.refused(ChipReason.HASH_ALGORITHM_UNSUPPORTED, str(algorithm))
        listed = {
            int(item["data_group_number"].native): bytes(item["data_group_hash_value"].native)
            for item in lso["data_group_hash_values"]
        }
        computed = {number: hashlib.new(algorithm, data).digest() for number, data in groups.items()}
        problem = hash_problems(listed, computed)
        if problem is not None:
            return problem
        try:
            mrz = dg1_mrz(groups[1])
        except LdsError:
            return PassiveAuthOutcome.refused(ChipReason.DG1_MALFORMED)
        try:
            portrait, kind = dg2_image(groups[2])
        except LdsError:
            return PassiveAuthOutcome.refused(ChipReason.DG2_NO_IMAGE)
        return PassiveAuthOutcome(True, None, (), mrz, portrait, kind)

    def _verify_chain(self, ds: x509.Certificate, at: datetime) -> PassiveAuthOutcome | None:
        named = [c for c in self._cscas if c.subject == ds.issuer]
        if not named:
            return PassiveAuthOutcome.refused(ChipReason.CSCA_UNKNOWN)
        issuer = None
        for csca in named:
            try:
                ds.verify_directly_issued_by(csca)
            except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
                continue
            issuer = csca
            break
        if issuer is None:
            return PassiveAuthOutcome.refused(ChipReason.DS_SIGNATURE_INVALID)
        moment = at.astimezone(UTC)
        return certificate_problem(
            role="csca", not_before=issuer.not_valid_before_utc, not_after=issuer.not_valid_after_utc, at=moment
        ) or certificate_problem(
            role="ds", not_before=ds.not_valid_before_utc, not_after=ds.not_valid_after_utc, at=moment
        )


def _parse_sod(sod: bytes) -> tuple[cms.SignedData, LDSSecurityObject, bytes]:
    info = cms.ContentInfo.load(unwrap_sod(sod))
    if info["content_type"].native != "signed_data":
        raise LdsError("not SignedData")
    signed = info["content"]
    encap = signed["encap_content_info"]
    if encap["content_type"].dotted != LDS_SECURITY_OBJECT_OID:
        raise LdsError("not an LDS security object")
    lso_bytes = bytes(encap["content"].contents)
    lso = LDSSecurityObject.load(lso_bytes)
    lso.native  # noqa: B018 - parse it all now: a malformed object fails here, not halfway through
    if len(signed["signer_infos"]) != 1:
        raise LdsError("expected one signer")
    return signed, lso, lso_bytes


def _verify_signature(signed: cms.SignedData, lso_bytes: bytes) -> x509.Certificate | PassiveAuthOutcome:
    """The DS certificate when the signer info's signature is good; a refusal otherwise."""
    signer = signed["signer_infos"][0]
    ds = _signer_certificate(signer, signed)
    if ds is None:
        return PassiveAuthOutcome.refused(ChipReason.DS_CERTIFICATE_MISSING)
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        return PassiveAuthOutcome.refused(ChipReason.HASH_ALGORITHM_UNSUPPORTED, str(digest_name))
    attrs = signer["signed_attrs"]
    if not attrs:
        return PassiveAuthOutcome.refused(ChipReason.SOD_MALFORMED, "no signed attributes")
    digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
    content_types = [a["values"][0].dotted for a in attrs if a["type"].native == "content_type"]
    if digests != [hashlib.new(digest_name, lso_bytes).digest()] or content_types != [LDS_SECURITY_OBJECT_OID]:
        return PassiveAuthOutcome.refused(ChipReason.SOD_SIGNATURE_INVALID, "message digest")
    # The signature covers the DER of the signed attributes as a SET (tag 31), not as the [0] of the field.
    to_verify = b"\x31" + attrs.dump()[1:]
    try:
        _verify(ds, signer, to_verify, _HASHES[digest_name]())
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return PassiveAuthOutcome.refused(ChipReason.SOD_SIGNATURE_INVALID)
    return ds


def _signer_certificate(signer: cms.SignerInfo, signed: cms.SignedData) -> x509.Certificate | None:
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            same = cert.serial_number == wanted["serial_number"].native and cert.issuer == wanted["issuer"]
        else:
            same = cert.key_identifier == sid.chosen.native
        if same:
            return x509.load_der_x509_certificate(cert.dump())
    return None


def _verify(ds: x509.Certificate, signer: cms.SignerInfo, data: bytes, digest: hashes.HashAlgorithm) -> None:
    key = ds.public_key()
    algorithm = signer["signature_algorithm"]
    signature = signer["signature"].native
    kind = algorithm.signature_algo
    if isinstance(key, rsa.RSAPublicKey) and kind == "rsassa_pss":
        params = algorithm["parameters"]
        pss_hash = _HASHES[params["hash_algorithm"]["algorithm"].native]()
        pad = padding.PSS(mgf=padding.MGF1(pss_hash), salt_length=int(params["salt_length"].native))
        key.verify(signature, data, pad, pss_hash)
    elif isinstance(key, rsa.RSAPublicKey) and kind == "rsassa_pkcs1v15":
        key.verify(signature, data, padding.PKCS1v15(), digest)
    elif isinstance(key, ec.EllipticCurvePublicKey) and kind == "ecdsa":
        key.verify(signature, data, ec.ECDSA(digest))
    else:
        raise UnsupportedAlgorithm("signature algorithm")
