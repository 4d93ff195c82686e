"""Streaming readers and writers of record files (JSON lines, CSV), on real byte streams and files."""

from __future__ import annotations

import io

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subreg.adapters.files import records_io
from subreg.adapters.files.records_io import (
    detect_format,
    read_records,
    write_csv,
    write_jsonl,
)
from subreg.domain.common.errors import FieldError, UnreadableInputError
from subreg.domain.compliance.records import flatten, unflatten
from tests.records import complete_record


def read(data: bytes, fmt: str = "auto") -> list:
    return list(read_records(io.BytesIO(data), fmt))


def jsonl(*records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def organization() -> dict:
    record = complete_record(subscriber_type="organization", contract_number="HD-1")
    record["organization"] = {
        "name": 'Công ty TNHH Sao Mai, chi nhánh "Bến Thành"',
        "registration_number": "0312345678",
        "registration_date": "2015-04-01",
        "address": "5 Nguyễn Huệ\nQuận 1",
        "signer_is_representative": False,
        "users": [{"full_name": "Lê Văn Nam", "id_type": "cccd", "id_number": "001092000042"}],
    }
    return record


class TestJsonLines:
    def test_reads_records_with_line_numbers(self):
        data = jsonl(complete_record(), complete_record(msisdn="0912345678"))
        assert [(n, r["msisdn"]) for n, r in read(data)] == [(1, "0901234567"), (2, "0912345678")]

    def test_a_byte_order_mark_is_accepted(self):
        assert read(b"\xef\xbb\xbf" + jsonl(complete_record()))[0][1] == complete_record()

    def test_malformed_lines_are_reported_and_reading_goes_on(self):
        data = jsonl(complete_record()) + b"{not json\n" + b"[1, 2]\n" + b'"text"\n' + jsonl(complete_record())
        items = read(data)
        assert [(n, getattr(x, "code", "record")) for n, x in items] == [
            (1, "record"),
            (2, "invalid_json"),
            (3, "invalid_format"),
            (4, "invalid_format"),
            (5, "record"),
        ]

    def test_a_line_in_another_encoding_is_invalid_encoding(self):
        latin1 = '{"holder": {"full_name": "Nguyễn"}}'.encode().replace("ễ".encode(), b"\xe9")
        items = read(jsonl(complete_record()) + latin1 + b"\n" + jsonl(complete_record()))
        assert items[1] == (2, FieldError("", "invalid_encoding"))
        assert isinstance(items[2][1], dict)

    def test_blank_lines_are_skipped_but_counted(self):
        items = read(b"\n" + jsonl(complete_record()) + b"   \r\n" + jsonl(complete_record()))
        assert [n for n, _ in items] == [2, 4]

    def test_windows_line_ends(self):
        assert len(read(jsonl(complete_record()).replace(b"\n", b"\r\n") * 3)) == 3

    def test_a_last_line_without_newline_is_read(self):
        assert len(read(orjson.dumps(complete_record()))) == 1

    def test_a_huge_line_is_too_long_and_does_not_stop_reading(self, monkeypatch):
        monkeypatch.setattr(records_io, "MAX_LINE_BYTES", 1000)
        monkeypatch.setattr(records_io, "_CHUNK", 256)
        huge = orjson.dumps({"holder": {"full_name": "x" * 5000}})
        items = read(jsonl(complete_record()) + huge + b"\n" + jsonl(complete_record()))
        assert [getattr(x, "code", "ok") for _, x in items] == ["ok", "too_long", "ok"]
        assert [n for n, _ in items] == [1, 2, 3]

    def test_a_huge_field_within_the_line_limit_is_read(self):
        (item,) = read(jsonl({"holder": {"full_name": "x" * 200_000}}))
        assert len(item[1]["holder"]["full_name"]) == 200_000

    def test_reads_lazily(self):
        stream = io.BytesIO(jsonl(complete_record()) * 10)
        first = next(read_records(stream))
        assert first[0] == 1

    def test_empty_input_has_no_records(self):
        assert read(b"") == []
        assert read(b"\n\n") == []


class TestUnreadable:
    @pytest.mark.parametrize(
        "data",
        [
            bytes(range(256)) * 40,
            b"\x00\x01\x02binary",
            "msisdn,holder.full_name\n".encode("utf-16"),
            b"hello world\nthis is not a record file\n",
            b'[{"msisdn": "0901234567"}]',
            ("Nguyễn Văn A;" * 3 + "\n").encode("utf-8").replace("ễ".encode(), b"\xe9") * 10,
        ],
        ids=["binary", "nul", "utf16", "prose", "json-array", "latin1"],
    )
    def test_whole_input_unreadable(self, data):
        with pytest.raises(UnreadableInputError):
            read(data)

    def test_an_unknown_format_name_is_unreadable(self):
        with pytest.raises(UnreadableInputError):
            read(jsonl(complete_record()), "xml")

    def test_a_csv_without_known_columns_is_unreadable(self):
        with pytest.raises(UnreadableInputError):
            read(b"a,b,c\n1,2,3\n", "csv")

    def test_unreadable_is_a_subreg_error_without_content(self):
        with pytest.raises(UnreadableInputError) as exc:
            read(b"Nguyen Van A, 079190123456\n")
        assert "079190123456" not in str(exc.value)


class TestCsv:
    def test_detects_csv_and_nests_dotted_columns(self):
        data = "msisdn,holder.full_name,documents.portrait\n0901234567,Nguyễn Thị Ánh,blob:p\n".encode()
        assert detect_format(data) == "csv"
        assert read(data) == [
            (
                2,
                {
                    "msisdn": "0901234567",
                    "holder": {"full_name": "Nguyễn Thị Ánh"},
                    "documents": {"portrait": "blob:p"},
                },
            )
        ]

    def test_semicolon_separated_with_bom(self):
        data = "\ufeffmsisdn;holder.full_name\r\n0901234567;Ánh\r\n".encode()
        assert read(data)[0][1] == {"msisdn": "0901234567", "holder": {"full_name": "Ánh"}}

    def test_empty_cells_are_absent(self):
        assert read(b"msisdn,holder.full_name\n0901234567,\n")[0][1] == {"msisdn": "0901234567"}

    def test_unknown_columns_are_kept_for_the_rule_set_to_ignore(self):
        assert read(b"msisdn,note\n0901234567,vip\n")[0][1] == {"msisdn": "0901234567", "note": "vip"}

    def test_a_bad_line_is_reported_with_its_physical_line(self):
        data = b"msisdn,holder.full_name\n0901234567,A\n0901234568,\xe9\n0901234569,C\n"
        items = read(data)
        assert [(n, getattr(x, "code", "ok")) for n, x in items] == [
            (2, "ok"),
            (3, "invalid_encoding"),
            (4, "ok"),
        ]

    def test_a_quoted_cell_spanning_lines_keeps_line_numbers(self):
        data = b'msisdn,holder.address\n0901234567,"1 Le Loi\nQuan 1"\n0901234568,x\n'
        items = read(data)
        assert [n for n, _ in items] == [2, 4]
        assert items[0][1]["holder"]["address"] == "1 Le Loi\nQuan 1"

    def test_a_cell_over_the_csv_field_limit_is_too_long(self):
        data = b"msisdn,holder.full_name\n0901234567," + b"x" * 200_000 + b"\n0901234568,B\n"
        items = read(data, "csv")
        assert [getattr(x, "code", "ok") for _, x in items] == ["too_long", "ok"]

    def test_round_trip_through_write_csv(self):
        records = [complete_record(), organization(), {"msisdn": "0901234567"}]
        out = io.BytesIO()
        assert write_csv(records, out) == 3
        back = [r for _, r in read(out.getvalue())]
        assert back == records

    def test_write_csv_leaves_the_stream_open(self):
        out = io.BytesIO()
        write_csv([complete_record()], out)
        assert not out.closed


class TestJsonlWriter:
    def test_round_trip(self, tmp_path):
        records = [complete_record(), organization()] * 1500
        path = tmp_path / "out.jsonl"
        with path.open("wb") as f:
            assert write_jsonl(iter(records), f) == 3000
        with path.open("rb") as f:
            assert [r for _, r in read_records(f)] == records


# NUL marks a file as binary (unreadable as a whole), so generated text leaves it out.
_cell_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20)


class TestFlatten:
    def test_flatten_uses_dotted_paths_and_json_for_users(self):
        row = flatten(organization())
        assert row["holder.full_name"] == "Nguyễn Thị Ánh"
        assert row["organization.signer_is_representative"] == "false"
        assert row["organization.users"].startswith('[{"full_name":"Lê Văn Nam"')

    def test_unflatten_converts_booleans_years_and_users(self):
        record = unflatten(
            {
                "organization.signer_is_representative": "Yes",
                "holder.birth_year": "1990",
                "organization.users": '[{"full_name": "A"}]',
                "guardian.birth_year": "199O",
            }
        )
        assert record["organization"] == {"signer_is_representative": True, "users": [{"full_name": "A"}]}
        assert record["holder"]["birth_year"] == 1990
        assert record["guardian"]["birth_year"] == "199O"  # left for the rule set to reject

    def test_unparseable_users_stay_a_string(self):
        assert unflatten({"organization.users": "[oops"})["organization"]["users"] == "[oops"

    @settings(max_examples=100, deadline=None)
    @given(
        holder=st.dictionaries(
            st.sampled_from(["full_name", "address", "id_number", "id_issue_place"]), _cell_text.filter(bool)
        ),
        msisdn=_cell_text.filter(bool),
    )
    def test_csv_round_trip_of_text_fields(self, holder, msisdn):
        record = {"msisdn": msisdn, "holder": holder} if holder else {"msisdn": msisdn}
        out = io.BytesIO()
        write_csv([record], out)
        (item,) = read(out.getvalue(), "csv")
        assert item[1] == record
