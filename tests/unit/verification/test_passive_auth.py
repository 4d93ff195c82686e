"""Passive authentication on chip data made in the test (a CSCA, a document signer, DG1/DG2/DG13, EF.SOD),
and tampered copies: each refused with its own reason code."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from PIL import Image
from skimage import data

from subreg.adapters.chip import IcaoPassiveAuthenticator, load_csca_certificates
from subreg.domain.verification.chip import ChipReason
from subreg.services.verification.chip_face import ChipData, check_chip
from tests.fixtures.icao import HOLDER, NOW, issue_csca, issue_ds, make_chip, make_sod


def _portrait(fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()[0:300, 100:350]).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def chip():
    return make_chip(_portrait())


def _check(chip, *, groups=None, sod=None, cscas=None, typed=None, at=NOW):
    groups = dict(chip.groups if groups is None else groups)
    authenticator = IcaoPassiveAuthenticator([chip.csca.cert] if cscas is None else cscas)
    data_ = ChipData(groups[1], groups[2], chip.sod if sod is None else sod, groups.get(13))
    return check_chip(data_, typed=typed, authenticator=authenticator, now=at)


def _flip(data_: bytes, at: int) -> bytes:
    return data_[:at] + bytes([data_[at] ^ 0x01]) + data_[at + 1 :]


def test_genuine_chip_passes_and_yields_the_portrait(chip):
    result = _check(chip, typed=HOLDER)
    assert result.passed, result.reason
    assert result.portrait == _portrait()
    assert result.portrait_format == "jpeg"
    assert result.mrz_fields["id_number"] == HOLDER["id_number"]


@pytest.mark.parametrize(("kind", "pss"), [("rsa", False), ("rsa", True)])
def test_rsa_document_signers_pass(kind, pss):
    assert _check(make_chip(_portrait(), kind=kind, pss=pss)).passed


def test_jpeg2000_portrait_is_extracted():
    result = _check(make_chip(_portrait("JPEG2000"), jpeg2000=True))
    assert result.passed
    assert result.portrait_format == "jp2"
    assert Image.open(io.BytesIO(result.portrait)).size == (250, 300)


def test_forged_sod_signature_is_refused(chip):
    # The signature is the SOD's last field: flipping its last byte forges it without breaking the DER.
    result = _check(chip, sod=_flip(chip.sod, len(chip.sod) - 1))
    assert result.reason is ChipReason.SOD_SIGNATURE_INVALID


def test_sod_whose_hashes_were_rewritten_is_refused(chip):
    # The forger alters DG1 and writes its new hash into the LDS security object: the signature no longer holds.
    altered = _flip(chip.groups[1], len(chip.groups[1]) - 2)
    forged = chip.sod.replace(hashlib.sha256(chip.groups[1]).digest(), hashlib.sha256(altered).digest())
    assert forged != chip.sod
    result = _check(chip, groups={**chip.groups, 1: altered}, sod=forged)
    assert result.reason is ChipReason.SOD_SIGNATURE_INVALID


def test_sod_signed_by_an_uncertified_key_is_refused(chip):
    rogue = issue_ds(issue_csca(name="CSCA Viet Nam (test)"))  # a look-alike CSCA the operator does not trust
    assert _check(chip, sod=make_sod(chip.groups, rogue)).reason is ChipReason.DS_SIGNATURE_INVALID


@pytest.mark.parametrize("group", [1, 2, 13])
def test_a_data_group_altered_by_one_byte_is_refused(chip, group):
    groups = dict(chip.groups)
    groups[group] = _flip(groups[group], len(groups[group]) // 2)
    result = _check(chip, groups=groups)
    assert result.reason is ChipReason.DATA_GROUP_HASH_MISMATCH
    assert result.details == (f"DG{group}",)


def test_an_unlisted_data_group_is_refused(chip):
    authenticator = IcaoPassiveAuthenticator([chip.csca.cert])
    result = authenticator.authenticate(sod=chip.sod, groups={**chip.groups, 14: b"\x6e\x00"}, at=NOW)
    assert result.reason is ChipReason.DATA_GROUP_NOT_LISTED


def test_unknown_csca_is_refused(chip):
    assert _check(chip, cscas=[issue_csca(name="Another State CSCA").cert]).reason is ChipReason.CSCA_UNKNOWN
    assert _check(chip, cscas=[]).reason is ChipReason.CSCA_UNKNOWN


def test_a_csca_of_the_same_name_but_another_key_is_refused(chip):
    twin = issue_csca()  # same subject name, different key
    assert _check(chip, cscas=[twin.cert]).reason is ChipReason.DS_SIGNATURE_INVALID


def test_expired_csca_is_refused():
    old = issue_csca(not_before=NOW - timedelta(days=4000), days=3650)
    chip = make_chip(_portrait(), csca=old)
    assert _check(chip).reason is ChipReason.CSCA_EXPIRED


def test_expired_document_signer_is_refused(chip):
    assert _check(chip, at=NOW + timedelta(days=3700)).reason is ChipReason.CSCA_EXPIRED
    short = make_chip(_portrait())
    short_ds = issue_ds(short.csca, not_before=NOW - timedelta(days=100), days=10)
    sod = make_sod(short.groups, short_ds)
    assert _check(short, sod=sod).reason is ChipReason.DS_CERTIFICATE_EXPIRED


def test_dg1_mismatch_names_the_fields_only(chip):
    typed = {**HOLDER, "id_number": "001095099999", "full_name": "Trần Thị Bình"}
    result = _check(chip, typed=typed)
    assert result.reason is ChipReason.DG1_MISMATCH
    assert set(result.details) == {"id_number", "full_name"}


def test_typed_name_with_diacritics_matches_the_mrz(chip):
    assert _check(chip, typed={"full_name": "NGUYỄN VĂN ANH", "date_of_birth": "1995-03-14"}).passed


@pytest.mark.parametrize("sod", [b"", b"\x77\x03abc", b"\x30\x00", b"garbage" * 10])
def test_malformed_sod_is_refused(chip, sod):
    assert _check(chip, sod=sod).reason is ChipReason.SOD_MALFORMED


def test_missing_dg2_is_refused(chip):
    authenticator = IcaoPassiveAuthenticator([chip.csca.cert])
    outcome = authenticator.authenticate(sod=chip.sod, groups={1: chip.groups[1]}, at=NOW)
    assert outcome.reason is ChipReason.DATA_GROUP_MISSING


def test_csca_list_loads_from_a_pem_file_and_a_folder(chip, tmp_path):
    other = issue_csca(name="Other")
    bundle = tmp_path / "cscas.pem"
    bundle.write_bytes(chip.csca.pem + other.pem)
    assert len(load_csca_certificates(bundle)) == 2
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "vn.pem").write_bytes(chip.csca.pem)
    assert _check(chip, cscas=load_csca_certificates(folder)).passed
