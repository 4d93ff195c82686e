"""ICAO 9303 part 10 LDS structures: BER-TLV, EF.SOD's LDS security object, DG1's MRZ, DG2's face image.

EF.SOD is `77 len ContentInfo(SignedData)` whose encapsulated content (type 2.23.136.1.1.1) is the
`LDSSecurityObject`: a version, the hash algorithm and one `(data-group number, hash)` per data group.
DG1 is `61 len { 5F1F len MRZ }`. DG2 is `75 len { 7F61 { 02 count, 7F60 { A1 header, 5F2E|7F2E block } } }`
where the block is an ISO/IEC 19794-5 facial record ("FAC\\0") ending in a JPEG or JPEG 2000 image.
"""

from __future__ import annotations

from asn1crypto import algos, core

__all__ = [
    "LDS_SECURITY_OBJECT_OID",
    "DataGroupHash",
    "LDSSecurityObject",
    "LdsError",
    "dg1_mrz",
    "dg2_image",
    "read_tlv",
    "unwrap_sod",
]

LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"


class LdsError(ValueError):
    """A data group or the SOD does not have the ICAO shape (fixed messages, never content)."""


class DataGroupHash(core.Sequence):
    """`DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER, dataGroupHashValue OCTET STRING }`."""

    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]  # noqa: RUF012


class DataGroupHashes(core.SequenceOf):
    """The hashes of the data groups."""

    _child_spec = DataGroupHash


class LdsVersionInfo(core.Sequence):
    """LDS 1.8 version information."""

    _fields = [("lds_version", core.PrintableString), ("unicode_version", core.PrintableString)]  # noqa: RUF012


class LDSSecurityObject(core.Sequence):
    """ICAO 9303 part 10 `LDSSecurityObject`."""

    _fields = [  # noqa: RUF012 - asn1crypto reads structures from class lists
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashes),
        ("lds_version_info", LdsVersionInfo, {"optional": True}),
    ]


def read_tlv(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """One BER-TLV at `offset`: (tag as an integer, value, offset after it)."""
    try:
        tag = data[offset]
        offset += 1
        if tag & 0x1F == 0x1F:  # multi-byte tag
            while True:
                tag = (tag << 8) | data[offset]
                offset += 1
                if not data[offset - 1] & 0x80:
                    break
        length = data[offset]
        offset += 1
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4:
                raise LdsError("unsupported BER length")
            length = int.from_bytes(data[offset : offset + count], "big")
            offset += count
    except IndexError:
        raise LdsError("truncated TLV") from None
    end = offset + length
    if end > len(data):
        raise LdsError("truncated TLV")
    return tag, data[offset:end], end


def _children(value: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    offset = 0
    while offset < len(value):
        tag, inner, offset = read_tlv(value, offset)
        found.setdefault(tag, inner)
    return found


def unwrap_sod(sod: bytes) -> bytes:
    """The DER ContentInfo inside EF.SOD (tag 0x77); a bare ContentInfo is accepted as is."""
    if sod[:1] == b"\x30":
        return sod
    tag, value, _ = read_tlv(sod)
    if tag != 0x77:
        raise LdsError("EF.SOD does not start with tag 77")
    return value


def dg1_mrz(dg1: bytes) -> str:
    """The MRZ text of DG1 (90 characters for the TD1 card)."""
    tag, value, _ = read_tlv(dg1)
    if tag != 0x61:
        raise LdsError("DG1 does not start with tag 61")
    mrz = _children(value).get(0x5F1F)
    if mrz is None:
        raise LdsError("DG1 has no MRZ (5F1F)")
    try:
        return mrz.decode("ascii")
    except UnicodeDecodeError:
        raise LdsError("DG1's MRZ is not ASCII") from None


_JPEG = b"\xff\xd8\xff"
_JP2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K = b"\xff\x4f\xff\x51"


def _image_format(image: bytes) -> str | None:
    if image.startswith(_JPEG):
        return "jpeg"
    if image.startswith((_JP2, _J2K)):
        return "jp2"
    return None


def dg2_image(dg2: bytes) -> tuple[bytes, str]:
    """The first face image of DG2 and its format (jpeg | jp2)."""
    tag, value, _ = read_tlv(dg2)
    if tag != 0x75:
        raise LdsError("DG2 does not start with tag 75")
    group = _children(value).get(0x7F61)
    if group is None:
        raise LdsError("DG2 has no biometric information group (7F61)")
    template = _children(group).get(0x7F60)
    if template is None:
        raise LdsError("DG2 has no biometric information template (7F60)")
    parts = _children(template)
    block = parts.get(0x5F2E, parts.get(0x7F2E))
    if block is None:
        raise LdsError("DG2 has no biometric data block (5F2E)")
    image = _facial_record_image(block)
    kind = _image_format(image)
    if kind is None:
        raise LdsError("DG2's image is neither JPEG nor JPEG 2000")
    return image, kind


def _facial_record_image(block: bytes) -> bytes:
    """The image data of the first facial record of an ISO/IEC 19794-5:2005 block."""
    if not block.startswith(b"FAC\x00") or len(block) < 14 + 20 + 12:
        raise LdsError("DG2's biometric data block is not an ISO 19794-5 facial record")
    record = 14  # "FAC\0", version (4), record length (4), number of facial images (2)
    record_length = int.from_bytes(block[record : record + 4], "big")
    feature_points = int.from_bytes(block[record + 4 : record + 6], "big")
    image = record + 20 + 8 * feature_points + 12  # facial information, feature points, image information
    end = record + record_length
    if end > len(block) or image >= end:
        raise LdsError("DG2's facial record is truncated")
    return block[image:end]
