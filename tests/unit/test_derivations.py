"""Derivations: values filled from the papers, never overriding what was given."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.compliance.derivations import SOURCES, derive, derive_person, derive_record
from subreg.domain.id_documents.numbers import make_cccd


def person(**values):
    base = {
        "id_type": None,
        "id_number": None,
        "gender": None,
        "nationality": None,
        "has_date_of_birth": True,
    }
    base.update(values)
    return derive_person(**base)


class TestDerivePerson:
    def test_vietnamese_ids_imply_vietnamese_nationality(self):
        assert person(id_type="cccd") == {"nationality": "VNM"}
        assert person(id_type="cmnd") == {"nationality": "VNM"}

    def test_a_passport_implies_no_nationality(self):
        assert person(id_type="passport", id_number="B1234567") == {}

    def test_a_given_nationality_is_never_overridden(self):
        assert person(id_type="cccd", nationality="KOR") == {}

    def test_gender_comes_from_the_cccd_when_absent(self):
        assert person(id_type="cccd", id_number=make_cccd("079", "female", 1990, 1), nationality="VNM") == {
            "gender": "female"
        }
        assert person(id_type="cccd", id_number=make_cccd("079", "male", 2003, 1), nationality="VNM") == {
            "gender": "male"
        }

    def test_a_given_gender_is_never_overridden_even_when_it_conflicts(self):
        number = make_cccd("079", "female", 1990, 1)
        assert "gender" not in person(id_type="cccd", id_number=number, gender="male")

    def test_birth_year_only_without_date_of_birth(self):
        number = make_cccd("001", "male", 2004, 5)
        assert person(id_type="cccd", id_number=number, gender="male", has_date_of_birth=False) == {
            "nationality": "VNM",
            "birth_year": 2004,
        }
        assert "birth_year" not in person(id_type="cccd", id_number=number, has_date_of_birth=True)

    def test_a_given_birth_year_is_never_overridden(self):
        number = make_cccd("001", "male", 2004, 5)
        assert "birth_year" not in person(id_type="cccd", id_number=number, has_date_of_birth=False, birth_year=2003)

    def test_a_malformed_cccd_derives_nothing_from_its_digits(self):
        assert person(id_type="cccd", id_number="07919012345", nationality="VNM") == {}
        assert person(id_type="cccd", id_number="003190123456", nationality="VNM") == {}  # unknown province

    def test_a_cmnd_number_says_nothing_about_gender(self):
        assert person(id_type="cmnd", id_number="123456789", nationality="VNM") == {}

    @given(
        gender=st.sampled_from(["male", "female"]),
        year=st.integers(1900, 2099),
        serial=st.integers(0, 999_999),
        province=st.sampled_from(["001", "079", "096"]),
    )
    def test_derived_values_round_trip_make_cccd(self, gender, year, serial, province):
        number = make_cccd(province, gender, year, serial)
        found = person(id_type="cccd", id_number=number, has_date_of_birth=False)
        assert found == {"nationality": "VNM", "gender": gender, "birth_year": year}


class TestDeriveRecord:
    def test_individuals_use_the_line_personally(self):
        assert derive_record("individual", False, None) == {"purpose": "personal_use"}

    def test_a_given_purpose_is_kept(self):
        assert derive_record("individual", False, "organization_use") == {}

    def test_organizations_get_no_purpose(self):
        assert derive_record("organization", True, None) == {}

    def test_subscriber_type_from_the_shape(self):
        assert derive_record(None, True, None) == {"subscriber_type": "organization"}
        assert derive_record(None, False, None) == {
            "subscriber_type": "individual",
            "purpose": "personal_use",
        }


class TestDerive:
    def test_paths_cover_holder_guardian_and_users(self):
        record = {
            "subscriber_type": "organization",
            "holder": {"id_type": "cccd", "id_number": make_cccd("001", "male", 1980, 1)},
            "guardian": {"id_type": "CMND"},
            "organization": {"users": [{"id_type": "cccd", "id_number": make_cccd("079", "female", 1999, 2)}, "x"]},
        }
        assert derive(record) == {
            "holder.nationality": "VNM",
            "holder.gender": "male",
            "holder.birth_year": 1980,
            "guardian.nationality": "VNM",
            "organization.users[0].nationality": "VNM",
            "organization.users[0].gender": "female",
            "organization.users[0].birth_year": 1999,
        }

    def test_blank_values_count_as_absent(self):
        assert (
            derive({"subscriber_type": "individual", "holder": {"id_type": "cccd", "nationality": "  "}})[
                "holder.nationality"
            ]
            == "VNM"
        )

    def test_every_derivation_has_a_documented_source(self):
        assert set(SOURCES) == {"nationality", "gender", "birth_year", "purpose", "subscriber_type"}


class TestImpossibleNumbersAndOtherTypes:
    def test_a_cccd_naming_a_birth_year_to_come_derives_nothing(self):
        record = {"subscriber_type": "individual", "holder": {"id_type": "cccd", "id_number": "001400123456"}}
        assert derive(record)["holder.birth_year"] == 2100  # without a date, the number is all there is
        found = derive(record, as_of=date(2025, 6, 1))
        assert "holder.birth_year" not in found
        assert "holder.gender" not in found
        assert found["holder.nationality"] == "VNM"

    def test_a_rule_set_passes_its_own_types(self):
        number = make_cccd("079", "female", 2015, 3)
        found = person(
            id_type="can_cuoc",
            id_number=number,
            has_date_of_birth=False,
            nationality_by_type={"can_cuoc": "VNM"},
            personal_number_types=frozenset({"can_cuoc"}),
        )
        assert found == {"nationality": "VNM", "gender": "female", "birth_year": 2015}
        assert person(id_type="can_cuoc", id_number=number, has_date_of_birth=False) == {}
