"""Column mappings: operator columns, date formats and value translations -> data dictionary."""

from __future__ import annotations

import pytest

from subreg.domain.common.errors import InputError
from subreg.domain.compliance.records import unflatten
from subreg.domain.registry.column_mapping import apply_mapping, parse_mapping

MAPPING = """
[columns]
SO_TB = "msisdn"
HO_TEN = "holder.full_name"
NGAY_SINH = "holder.date_of_birth"
LOAI_GT = "holder.id_type"
NGAY_KH = "activated_on"

[dates]
format = "%d/%m/%Y"
activated_on = "%Y%m%d"

[values."holder.id_type"]
CMND = "cmnd"
CCCD = "cccd"
"""


def test_columns_dates_and_values_are_mapped() -> None:
    m = parse_mapping(MAPPING)
    row = {
        "SO_TB": "0912345678",
        "HO_TEN": "Nguyễn Văn An",
        "NGAY_SINH": "05/03/1990",
        "LOAI_GT": " CCCD ",
        "NGAY_KH": "20150102",
        "GHI_CHU": "ignored",
        "EMPTY": "",
    }
    flat = apply_mapping(m, row)
    assert flat == {
        "msisdn": "0912345678",
        "holder.full_name": "Nguyễn Văn An",
        "holder.date_of_birth": "1990-03-05",
        "holder.id_type": "cccd",
        "activated_on": "2015-01-02",
    }
    assert unflatten(flat)["holder"]["date_of_birth"] == "1990-03-05"


def test_unparsable_date_is_kept_for_the_rule_set_to_report() -> None:
    m = parse_mapping(MAPPING)
    assert apply_mapping(m, {"NGAY_SINH": "31/02/1990"})["holder.date_of_birth"] == "31/02/1990"


def test_identity_mapping_keeps_data_dictionary_columns() -> None:
    m = parse_mapping("")
    assert m.identity
    assert apply_mapping(m, {"msisdn": "0912345678", "x": ""}) == {"msisdn": "0912345678"}


def test_keep_unmapped_passes_known_columns_through() -> None:
    m = parse_mapping('[columns]\nSO_TB = "msisdn"\n[options]\nkeep_unmapped = true\n')
    assert apply_mapping(m, {"SO_TB": "0912", "payment_type": "prepaid", "junk": "1"}) == {
        "msisdn": "0912",
        "payment_type": "prepaid",
    }


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[columns]\nA = "holder.nickname"\n', "columns.A"),
        ('[dates]\nformat = "dd/mm/yyyy"\n', "dates.format"),
        ('[dates]\n"holder.full_name" = "%d"\n', "dates.holder.full_name"),
        ('[values."nope"]\nA = "b"\n', "values.nope"),
        ("[columns\n", "mapping"),
    ],
)
def test_bad_mappings_name_the_offending_key(text: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_mapping(text)
    assert info.value.errors[0].field == field
