"""The SMPP adapter's pure pieces: receipts, MO decoding, UDH, joining, addresses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from subreg.adapters.sms._smpp_codec import (
    ConcatRef,
    MoJoiner,
    decode_text,
    encode_gsm7,
    mo_fingerprint,
    parse_receipt,
    source_ton_npi,
    split_udh,
)

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class TestReceiptParser:
    def test_the_appendix_b_text_gives_id_and_state(self):
        text = b"id:7f3a sub:001 dlvrd:001 submit date:2612021200 done date:2612021201 stat:DELIVRD err:000 text:Hi"
        r = parse_receipt(text)
        assert (r.message_id, r.state, r.error) == ("7f3a", "delivered", None)

    @pytest.mark.parametrize(
        ("stat", "state"),
        [
            ("UNDELIV", "failed"),
            ("EXPIRED", "expired"),
            ("REJECTD", "rejected"),
            ("ACCEPTD", "buffered"),
            ("DELETED", "failed"),
            ("UNKNOWN", "unknown"),
            ("WHATEVER", "unknown"),
        ],
    )
    def test_each_stat_maps_to_a_state(self, stat, state):
        assert parse_receipt(f"id:1 stat:{stat} err:000").state == state

    def test_a_non_zero_err_is_kept_as_a_code(self):
        assert parse_receipt("id:1 stat:UNDELIV err:034").error == "err:034"

    def test_the_tlvs_win_over_the_text(self):
        r = parse_receipt("id:wrong stat:DELIVRD", receipted_message_id="right", message_state=5)
        assert (r.message_id, r.state) == ("right", "failed")

    def test_the_text_of_the_message_cannot_pose_as_the_id(self):
        r = parse_receipt("id:abc stat:DELIVRD err:000 text:id:evil stat:UNDELIV")
        assert (r.message_id, r.state) == ("abc", "delivered")

    def test_no_id_is_no_receipt(self):
        assert parse_receipt(b"stat:DELIVRD") is None
        assert parse_receipt(None) is None


class TestDecoding:
    def test_gsm_default_alphabet_with_escapes(self):
        text = "TTTB @£$ {€} [x]~|^\\"
        assert decode_text(encode_gsm7(text), 0) == (text, "gsm7")

    def test_a_character_outside_gsm_refuses_to_encode(self):
        with pytest.raises(UnicodeEncodeError):
            encode_gsm7("Nguyễn")

    def test_latin1_ucs2_and_binary(self):
        assert decode_text("café".encode("latin-1"), 3) == ("café", "latin1")
        assert decode_text("Nguyễn Văn A".encode("utf-16-be"), 8) == ("Nguyễn Văn A", "ucs2")
        assert decode_text(b"\x01\x02", 4) == (None, "binary")
        assert decode_text(b"\x01\x02", 2) == (None, "binary")

    def test_message_class_coding_group(self):
        assert decode_text(encode_gsm7("TTTB"), 0xF0) == ("TTTB", "gsm7")
        assert decode_text(b"\x00", 0xF4) == (None, "binary")


class TestUdh:
    def test_eight_bit_reference(self):
        udh, payload, ref = split_udh(bytes([5, 0, 3, 0x2A, 3, 2]) + b"abc", 0x40)
        assert (udh, payload, ref) == (bytes([5, 0, 3, 0x2A, 3, 2]), b"abc", ConcatRef(0x2A, 3, 2))

    def test_sixteen_bit_reference(self):
        _, payload, ref = split_udh(bytes([6, 8, 4, 0x12, 0x34, 2, 1]) + b"x", 0x40)
        assert (payload, ref) == (b"x", ConcatRef(0x1234, 2, 1))

    def test_without_udhi_the_body_is_text(self):
        body = bytes([5, 0, 3, 1, 2, 1]) + b"abc"
        assert split_udh(body, 0) == (b"", body, None)

    def test_other_information_elements_are_skipped(self):
        udh = bytes([8, 0x24, 1, 1, 0, 3, 9, 2, 1])  # national language shift, then concatenation
        assert split_udh(udh + b"z", 0x40)[2] == ConcatRef(9, 2, 1)


class TestJoiner:
    def test_parts_in_any_order_join_once_complete(self):
        joiner = MoJoiner()
        assert joiner.add("84900000001", "1414", ConcatRef(7, 3, 3), b"c", 0, T0) is None
        assert joiner.add("84900000001", "1414", ConcatRef(7, 3, 1), b"a", 0, T0) is None
        assert joiner.add("84900000001", "1414", ConcatRef(7, 3, 2), b"b", 0, T0) == (b"abc", 0)

    def test_a_redelivered_part_does_not_count_twice(self):
        joiner = MoJoiner()
        joiner.add("s", "1414", ConcatRef(7, 2, 1), b"a", 0, T0)
        assert joiner.add("s", "1414", ConcatRef(7, 2, 1), b"a", 0, T0) is None

    def test_same_reference_from_two_senders_stays_apart(self):
        joiner = MoJoiner()
        joiner.add("s1", "1414", ConcatRef(7, 2, 1), b"a", 0, T0)
        assert joiner.add("s2", "1414", ConcatRef(7, 2, 2), b"b", 0, T0) is None

    def test_ucs2_split_inside_a_character_joins_before_decoding(self):
        body = "Nguyễn".encode("utf-16-be")
        joiner = MoJoiner()
        joiner.add("s", "1414", ConcatRef(1, 2, 1), body[:5], 8, T0)
        joined, coding = joiner.add("s", "1414", ConcatRef(1, 2, 2), body[5:], 8, T0)
        assert decode_text(joined, coding)[0] == "Nguyễn"

    def test_incomplete_messages_expire(self):
        joiner = MoJoiner(max_age_s=60)
        joiner.add("s", "1414", ConcatRef(1, 2, 1), b"a", 0, T0)
        assert joiner.expire(T0 + timedelta(seconds=30)) == 0
        assert joiner.expire(T0 + timedelta(seconds=61)) == 1
        assert len(joiner) == 0


def test_addresses_short_code_number_and_alphanumeric():
    assert source_ton_npi("1414") == (3, 0)
    assert source_ton_npi("84900000001") == (1, 1)
    assert source_ton_npi("VNPT") == (5, 0)


def test_the_fingerprint_separates_fields():
    assert mo_fingerprint("1", "21", 0, b"x") != mo_fingerprint("12", "1", 0, b"x")
