"""Decree 49/2017 rule set: every error code, every subscriber kind, boundaries and invariants."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from subreg.domain.common.errors import FieldError, FieldValueError
from subreg.domain.compliance.derivations import derive
from subreg.domain.compliance.records import CSV_COLUMNS
from subreg.domain.compliance.rules import DEFAULT_RULE_SET, RULE_SETS, CheckResult, Nd49RuleSet, Person, get_rule_set
from subreg.domain.id_documents.numbers import make_cccd
from tests.records import complete_record, with_holder

AS_OF = date(2024, 1, 15)
RULES = get_rule_set()


def check(record: dict[str, Any], *, as_of: date = AS_OF, ordinal: int = 1) -> CheckResult:
    return RULES.check(record, as_of=as_of, ordinal=ordinal)


def codes(result: CheckResult) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in result.errors}


def with_docs(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(record)
    for key, value in changes.items():
        if value is None:
            out["documents"].pop(key, None)
        else:
            out["documents"][key] = value
    return out


def person(name: str, born: str, gender: str, serial: int, **extra: Any) -> dict[str, Any]:
    year = int(born[:4])
    return {
        "full_name": name,
        "date_of_birth": born,
        "gender": gender,
        "id_type": "cccd",
        "id_number": make_cccd("001", gender, year, serial),
        "id_issue_date": "2021-06-01",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
        **extra,
    }


def minor_record(born: str = "2012-03-10") -> dict[str, Any]:
    record = complete_record()
    record["holder"] = {"full_name": "Trần Minh Khôi", "date_of_birth": born}
    record["guardian"] = person("Trần Thị Lan", "1985-02-01", "female", 7, relationship="mother")
    return record


def passport_record() -> dict[str, Any]:
    record = complete_record()
    record["holder"] = {
        "full_name": "Kim Min-jun",
        "date_of_birth": "1988-08-08",
        "nationality": "KOR",
        "id_type": "passport",
        "id_number": "M12345678",
        "id_issue_date": "2019-01-01",
        "id_issue_place": "Ministry of Foreign Affairs, Seoul",
        "id_expiry_date": "2029-01-01",
    }
    record["documents"] = {"portrait": "blob:p", "passport_page": "blob:pp", "confirmation_form": "blob:c"}
    return record


def organization_record(**org_changes: Any) -> dict[str, Any]:
    record = complete_record(subscriber_type="organization", contract_number="HD-2024-0001")
    record["organization"] = {
        "name": "Công ty TNHH Sao Mai",
        "registration_number": "0312345678",
        "registration_date": "2015-04-01",
        "address": "5 Nguyễn Huệ, Quận 1, TP Hồ Chí Minh",
        "users": [
            person("Lê Văn Nam", "1992-11-20", "male", 42),
            person("Phạm Thị Hà", "1995-01-05", "female", 43),
        ],
        "line_user": make_cccd("001", "female", 1995, 43),  # this line is Phạm Thị Hà's
        **org_changes,
    }
    record["documents"] = {
        "portrait": "blob:p",
        "id_front": "blob:f",
        "id_back": "blob:b",
        "contract": "blob:k",
        "organization_certificate": "blob:oc",
        "user_list": "blob:ul",
    }
    return record


class TestRegistry:
    def test_the_default_rule_set_is_decree_49(self):
        assert DEFAULT_RULE_SET == "nd49-2017"
        assert DEFAULT_RULE_SET in RULE_SETS
        assert get_rule_set().name == "nd49-2017"

    def test_an_unknown_rule_set_is_a_field_value_error(self):
        with pytest.raises(FieldValueError) as exc:
            get_rule_set("nd-1999")
        assert exc.value.errors == [FieldError("rule_set", "unknown_rule_set")]

    def test_a_later_regime_extends_decree_49_through_the_hook(self):
        class Later(Nd49RuleSet):
            name = "later"

            def extra_checks(self, record, persons, *, as_of, errors, missing, derived):
                if not record.get("population_db_matched"):
                    missing.append("population_db_matched")
                derived["persons"] = [p.path for p in persons]

        result = Later().check(complete_record(msisdn="12"), as_of=AS_OF)
        assert ("msisdn", "invalid_msisdn") in codes(result)  # Decree 49 still applies
        assert "population_db_matched" in result.missing
        assert result.derived["persons"] == ["holder"]


class TestCompleteRecords:
    @pytest.mark.parametrize(
        "record",
        [complete_record(), minor_record(), passport_record(), organization_record()],
        ids=["vietnamese", "minor", "foreigner", "organization"],
    )
    def test_each_subscriber_kind_can_be_complete(self, record):
        result = check(record)
        assert result.errors == ()
        assert result.missing == ()
        assert result.valid
        assert result.complete

    def test_msisdn_is_reported_in_e164(self):
        assert check(complete_record(msisdn="84 90 123 4567")).msisdn == "+84901234567"

    def test_an_old_eleven_digit_number_is_converted(self):
        assert check(complete_record(msisdn="01201234567")).msisdn == "+84701234567"

    def test_an_integer_msisdn_from_a_spreadsheet_is_accepted(self):
        assert check(complete_record(msisdn=901234567)).msisdn == "+84901234567"

    def test_extra_keys_are_ignored(self):
        record = complete_record(loyalty_tier="gold")
        record["holder"]["nickname"] = "Ánh"
        assert check(record).complete

    def test_enum_values_are_case_insensitive(self):
        record = with_holder(complete_record(channel=" Store "), id_type="CCCD", gender="Female")
        assert check(record).complete


class TestIndividualCompleteness:
    @pytest.mark.parametrize(
        "field", ["full_name", "date_of_birth", "id_type", "id_number", "id_issue_date", "id_issue_place"]
    )
    def test_each_id_field_is_required(self, field):
        result = check(with_holder(complete_record(), **{field: None}))
        assert f"holder.{field}" in result.missing
        assert result.valid
        assert not result.complete

    @pytest.mark.parametrize("value", ["", "   ", None])
    def test_blank_values_count_as_missing(self, value):
        record = complete_record()
        record["holder"]["full_name"] = value
        assert check(record).missing == ("holder.full_name",)

    @pytest.mark.parametrize("doc", ["portrait", "id_front", "id_back", "confirmation_form"])
    def test_each_document_is_required(self, doc):
        result = check(with_docs(complete_record(), **{doc: None}))
        assert result.missing == (f"documents.{doc}",)

    def test_a_blank_document_reference_is_missing(self):
        assert check(with_docs(complete_record(), portrait="  ")).missing == ("documents.portrait",)

    def test_gender_nationality_and_address_are_not_required(self):
        result = check(with_holder(complete_record(), gender=None, nationality=None, address=None))
        assert result.complete

    def test_msisdn_is_required(self):
        record = complete_record()
        del record["msisdn"]
        result = check(record)
        assert result.missing == ("msisdn",)
        assert result.msisdn is None

    def test_a_record_without_holder_lists_every_holder_field(self):
        record = complete_record()
        del record["holder"]
        missing = check(record).missing
        assert "holder.full_name" in missing
        assert "holder.id_issue_place" in missing

    def test_a_signed_contract_replaces_the_confirmation_form(self):
        record = with_docs(complete_record(), confirmation_form=None, contract="blob:k")
        assert check(record).complete

    def test_an_empty_record_is_valid_but_incomplete(self):
        result = check({})
        assert result.valid
        assert not result.complete
        assert result.missing[0] == "msisdn"


class TestForeigner:
    def test_a_passport_holder_needs_the_passport_page_not_the_card_images(self):
        result = check(with_docs(passport_record(), passport_page=None))
        assert result.missing == ("documents.passport_page",)

    def test_a_passport_holder_needs_a_nationality(self):
        result = check(with_holder(passport_record(), nationality=None))
        assert result.missing == ("holder.nationality",)
        assert result.valid

    def test_a_vietnamese_passport_holder_is_accepted(self):
        assert check(with_holder(passport_record(), nationality="VNM")).complete

    def test_a_foreigner_without_id_type_is_told_to_bring_a_passport(self):
        result = check(with_holder(passport_record(), id_type=None))
        assert ("holder.id_type", "passport_required") in codes(result)
        assert "holder.id_type" in result.missing
        assert "documents.passport_page" not in result.missing  # the foreigner's papers are a passport

    def test_a_cccd_with_a_foreign_nationality_is_a_mismatch(self):
        result = check(with_holder(complete_record(), nationality="KOR"))
        assert codes(result) == {("holder.nationality", "nationality_mismatch")}

    def test_a_cmnd_with_a_foreign_nationality_is_a_mismatch(self):
        record = with_holder(complete_record(), id_type="cmnd", id_number="123456789", nationality="USA")
        assert codes(check(record)) == {("holder.nationality", "nationality_mismatch")}


class TestMinor:
    def test_a_minor_with_a_guardian_needs_no_own_id(self):
        result = check(minor_record())
        assert result.complete
        assert result.derived["guardian.nationality"] == "VNM"

    def test_a_minor_without_guardian_is_refused(self):
        record = minor_record()
        del record["guardian"]
        result = check(record)
        assert codes(result) == {("guardian", "underage_without_guardian")}
        assert "guardian" in result.missing

    def test_an_empty_guardian_is_no_guardian(self):
        record = minor_record()
        record["guardian"] = {}
        assert ("guardian", "underage_without_guardian") in codes(check(record))

    @pytest.mark.parametrize(
        "field",
        [
            "full_name",
            "date_of_birth",
            "id_type",
            "id_number",
            "id_issue_date",
            "id_issue_place",
            "relationship",
        ],
    )
    def test_the_guardian_needs_full_id_fields_and_relationship(self, field):
        record = minor_record()
        del record["guardian"][field]
        assert f"guardian.{field}" in check(record).missing

    def test_the_guardians_papers_decide_the_document_images(self):
        record = minor_record()
        record["guardian"].update(id_type="passport", id_number="B7654321", nationality="FRA")
        result = check(record)
        assert "documents.passport_page" in result.missing
        assert "documents.id_front" not in result.missing

    def test_the_day_before_the_14th_birthday_is_still_under_14(self):
        record = minor_record("2010-01-15")
        del record["guardian"]
        assert ("guardian", "underage_without_guardian") in codes(check(record, as_of=date(2024, 1, 14)))

    def test_the_14th_birthday_ends_the_guardian_rule(self):
        record = with_holder(
            complete_record(), date_of_birth="2010-01-15", id_number=make_cccd("079", "female", 2010, 1)
        )
        record["holder"]["id_issue_date"] = "2024-01-15"
        assert check(record, as_of=date(2024, 1, 15)).complete
        assert check(record, as_of=date(2024, 1, 16)).complete

    def test_a_29_february_birthday_turns_14_on_1_march(self):
        record = minor_record("2008-02-29")
        del record["guardian"]
        assert not check(record, as_of=date(2022, 2, 28)).valid
        assert ("guardian", "underage_without_guardian") not in codes(check(record, as_of=date(2022, 3, 1)))

    def test_an_adult_with_a_guardian_still_needs_own_id(self):
        record = complete_record()
        record["guardian"] = minor_record()["guardian"]
        assert check(record).complete
        del record["holder"]["id_number"]
        assert "holder.id_number" in check(record).missing


class TestContractRule:
    def test_the_third_subscription_needs_only_the_confirmation_form(self):
        assert check(complete_record(), ordinal=3).complete

    def test_the_fourth_subscription_needs_a_contract_number_and_contract(self):
        result = check(complete_record(), ordinal=4)
        assert codes(result) == {("contract_number", "contract_required")}
        assert set(result.missing) == {"contract_number", "documents.contract"}

    def test_the_fourth_subscription_with_a_contract_is_complete(self):
        record = with_docs(complete_record(contract_number="HD-1"), contract="blob:k", confirmation_form=None)
        assert check(record, ordinal=4).complete


class TestOrganization:
    @pytest.mark.parametrize("field", ["name", "registration_number", "registration_date", "address"])
    def test_each_organization_field_is_required(self, field):
        record = organization_record()
        del record["organization"][field]
        assert check(record).missing == (f"organization.{field}",)

    @pytest.mark.parametrize("doc", ["organization_certificate", "user_list", "contract", "portrait", "id_front"])
    def test_each_organization_document_is_required(self, doc):
        assert check(with_docs(organization_record(), **{doc: None})).missing == (f"documents.{doc}",)

    def test_the_contract_number_is_always_required(self):
        record = organization_record()
        del record["contract_number"]
        result = check(record)
        assert result.missing == ("contract_number",)
        assert result.valid

    def test_the_users_list_must_not_be_empty(self):
        assert check(organization_record(users=[])).missing == ("organization.users",)

    def test_each_user_needs_id_fields(self):
        record = organization_record()
        del record["organization"]["users"][1]["id_number"]
        assert check(record).missing == ("organization.users[1].id_number",)

    def test_a_user_that_is_not_an_object_is_an_error(self):
        result = check(organization_record(users=["Lê Văn Nam"]))
        assert codes(result) == {("organization.users[0]", "invalid_format")}

    def test_user_errors_carry_their_index(self):
        record = organization_record()
        record["organization"]["users"][0]["gender"] = "female"
        assert codes(check(record)) == {("organization.users[0].id_number", "id_gender_mismatch")}

    def test_the_representative_needs_id_fields(self):
        record = organization_record()
        del record["holder"]["id_issue_date"]
        assert check(record).missing == ("holder.id_issue_date",)

    def test_a_signer_who_is_not_the_representative_needs_an_authorization_letter(self):
        record = organization_record(signer_is_representative=False)
        assert check(record).missing == ("documents.authorization_letter",)
        record["documents"]["authorization_letter"] = "blob:a"
        assert check(record).complete

    def test_signer_is_representative_must_be_a_boolean(self):
        codes_ = codes(check(organization_record(signer_is_representative="maybe")))
        assert codes_ == {("organization.signer_is_representative", "invalid_format")}

    def test_the_fourth_subscription_rule_does_not_apply(self):
        assert check(organization_record(), ordinal=9).complete

    def test_a_missing_organization_object_lists_its_fields(self):
        record = organization_record()
        del record["organization"]
        assert "organization.users" in check(record).missing

    def test_the_subscriber_type_is_derived_from_the_organization_object(self):
        record = organization_record()
        del record["subscriber_type"]
        result = check(record)
        assert result.complete
        assert result.derived["subscriber_type"] == "organization"


class TestValidationCodes:
    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({"msisdn": "0241234567"}, ("msisdn", "invalid_msisdn")),
            ({"msisdn": ["0901234567"]}, ("msisdn", "invalid_format")),
            ({"subscriber_type": "company"}, ("subscriber_type", "invalid_choice")),
            ({"payment_type": "credit"}, ("payment_type", "invalid_choice")),
            ({"channel": "kiosk"}, ("channel", "invalid_choice")),
            ({"status": "sleeping"}, ("status", "invalid_choice")),
            ({"status": 3}, ("status", "invalid_format")),
            ({"activated_on": "01/03/2016"}, ("activated_on", "invalid_format")),
            ({"activated_on": "20160301"}, ("activated_on", "invalid_format")),
            ({"activated_on": "2016-02-30"}, ("activated_on", "invalid_format")),
            ({"activated_on": "2024-01-16"}, ("activated_on", "date_in_future")),
            ({"point_of_sale": "P" * 65}, ("point_of_sale", "too_long")),
            ({"contract_number": 12}, ("contract_number", "invalid_format")),
            ({"holder": "Nguyễn Thị Ánh"}, ("holder", "invalid_format")),
            ({"documents": ["blob:p"]}, ("documents", "invalid_format")),
        ],
    )
    def test_top_level_values(self, changes, expected):
        assert expected in codes(check(complete_record(**changes)))

    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({"full_name": "A" * 201}, ("holder.full_name", "too_long")),
            ({"full_name": 42}, ("holder.full_name", "invalid_format")),
            ({"address": "x" * 501}, ("holder.address", "too_long")),
            ({"id_issue_place": {"city": "HCM"}}, ("holder.id_issue_place", "invalid_format")),
            ({"gender": "nữ"}, ("holder.gender", "invalid_choice")),
            ({"id_type": "driving_licence"}, ("holder.id_type", "invalid_choice")),
            ({"nationality": "VN"}, ("holder.nationality", "invalid_format")),
            ({"date_of_birth": "1990-5-17"}, ("holder.date_of_birth", "invalid_format")),
            ({"date_of_birth": "1800-05-17"}, ("holder.date_of_birth", "invalid_format")),
            ({"id_number": "07919012345"}, ("holder.id_number", "invalid_id_number")),
            ({"id_number": "07919012345X"}, ("holder.id_number", "invalid_id_number")),
            ({"id_number": 79190123456}, ("holder.id_number", "invalid_format")),
            ({"id_number": "9" * 65}, ("holder.id_number", "too_long")),
            ({"id_number": "003190123456"}, ("holder.id_number", "unknown_province_code")),
            ({"gender": "male"}, ("holder.id_number", "id_gender_mismatch")),
            ({"date_of_birth": "1991-05-17"}, ("holder.id_number", "id_birth_year_mismatch")),
            ({"id_expiry_date": "2024-01-14"}, ("holder.id_expiry_date", "id_expired")),
            ({"id_issue_date": "1989-01-01"}, ("holder.id_issue_date", "id_issued_before_birth")),
            ({"id_issue_date": "2024-02-01"}, ("holder.id_issue_date", "date_in_future")),
            ({"date_of_birth": "2025-01-01"}, ("holder.date_of_birth", "date_in_future")),
            ({"birth_year": 1991}, ("holder.birth_year", "birth_year_mismatch")),
            ({"birth_year": "nineteen"}, ("holder.birth_year", "invalid_format")),
        ],
    )
    def test_holder_values(self, changes, expected):
        result = check(with_holder(complete_record(), **changes))
        assert expected in codes(result)
        assert not result.valid
        assert not result.complete

    def test_a_cmnd_has_9_or_12_digits(self):
        for number, ok in (("123456789", True), ("123456789012", True), ("1234567890", False)):
            record = with_holder(complete_record(), id_type="cmnd", id_number=number)
            assert check(record).valid is ok

    def test_id_numbers_with_separators_are_normalized_before_checking(self):
        assert check(with_holder(complete_record(), id_number="079 190.123-456")).complete

    def test_unknown_province_does_not_hide_a_gender_mismatch(self):
        record = with_holder(complete_record(), id_number="003190123456", gender="male")
        assert {c for _, c in codes(check(record))} == {"unknown_province_code", "id_gender_mismatch"}

    def test_a_document_expiring_on_the_as_of_date_is_still_valid(self):
        # 2024-01-15 was the example until the law was read: Law 26/2023 Art. 46(2) keeps a CCCD
        # expiring from 15/1/2024 to before 30/6/2024 valid until 30/6/2024 (TestTransition2024).
        record = with_holder(complete_record(), id_expiry_date="2023-12-01")
        assert check(record, as_of=date(2023, 12, 1)).complete
        assert ("holder.id_expiry_date", "id_expired") in codes(check(record, as_of=date(2023, 12, 2)))

    def test_a_document_reference_that_is_not_a_string_is_an_error_not_missing(self):
        result = check(with_docs(complete_record(), portrait=123))
        assert codes(result) == {("documents.portrait", "invalid_format")}
        assert "documents.portrait" not in result.missing

    def test_an_overlong_document_reference_is_too_long(self):
        assert ("documents.id_back", "too_long") in codes(check(with_docs(complete_record(), id_back="b" * 257)))

    def test_a_missing_field_is_never_repeated_as_an_error(self):
        result = check(with_holder(complete_record(), id_number=None))
        assert result.errors == ()
        assert "holder.id_number" in result.missing

    def test_invalid_values_are_not_also_missing(self):
        result = check(with_holder(complete_record(), date_of_birth="17/05/1990"))
        assert "holder.date_of_birth" not in result.missing


class TestDerivedInResults:
    def test_nationality_is_derived_from_a_vietnamese_id(self):
        result = check(with_holder(complete_record(), nationality=None))
        assert result.complete
        assert result.derived["holder.nationality"] == "VNM"

    def test_gender_is_derived_from_the_cccd_only_when_absent(self):
        assert check(with_holder(complete_record(), gender=None)).derived["holder.gender"] == "female"
        assert "holder.gender" not in check(complete_record()).derived

    def test_birth_year_is_derived_only_without_a_date_of_birth(self):
        result = check(with_holder(complete_record(), date_of_birth=None))
        assert result.derived["holder.birth_year"] == 1990
        assert "holder.date_of_birth" in result.missing  # a year is not a date
        assert "holder.birth_year" not in check(complete_record()).derived

    def test_a_conflict_is_an_error_not_a_derivation(self):
        result = check(with_holder(complete_record(), gender="male"))
        assert "holder.gender" not in result.derived
        assert ("holder.id_number", "id_gender_mismatch") in codes(result)

    def test_an_invalid_value_is_never_replaced_by_a_derivation(self):
        result = check(with_holder(complete_record(), gender="f", nationality="V1"))
        assert "holder.gender" not in result.derived
        assert "holder.nationality" not in result.derived

    def test_a_birth_year_only_minor_is_detected(self):
        record = minor_record()
        del record["guardian"]
        record["holder"] = {
            "full_name": "Bé Na",
            "id_type": "cccd",
            "id_number": make_cccd("001", "female", 2015, 9),
        }
        result = check(record)
        assert result.derived["holder.birth_year"] == 2015
        assert ("guardian", "underage_without_guardian") in codes(result)

    def test_purpose_is_derived_for_individuals(self):
        assert check(complete_record()).derived["purpose"] == "personal_use"
        assert "purpose" not in check(organization_record()).derived


class TestResultShape:
    def test_to_dict_matches_the_data_dictionary(self):
        data = check(with_holder(complete_record(msisdn="123"), nationality=None)).to_dict("en", line=7)
        assert list(data) == ["line", "msisdn", "valid", "complete", "errors", "missing", "derived"]
        assert data["errors"] == [
            {"field": "msisdn", "code": "invalid_msisdn", "message": "Not a Vietnamese mobile number: msisdn"}
        ]
        assert data["derived"]["holder.nationality"] == "VNM"

    def test_messages_default_to_vietnamese_and_name_no_values(self):
        data = check(with_holder(complete_record(), id_number="079190123457", gender="male")).to_dict()
        message = data["errors"][0]["message"]
        assert "giấy tờ" in message
        assert "079190123457" not in message

    def test_line_is_omitted_unless_given(self):
        assert "line" not in check(complete_record()).to_dict()

    def test_check_dict_equals_check_to_dict(self):
        for record in (complete_record(), minor_record(), {}, complete_record(msisdn="1")):
            for ordinal in (1, 4):
                expected = RULES.check(record, as_of=AS_OF, ordinal=ordinal).to_dict("en", line=3)
                assert RULES.check_dict(record, as_of=AS_OF, ordinal=ordinal, lang="en", line=3) == expected

    def test_the_result_is_frozen(self):
        result = check(complete_record())
        with pytest.raises(AttributeError):
            result.valid = False  # type: ignore[misc]


class TestNormalize:
    def test_normalize_gives_storage_form(self):
        record = complete_record(msisdn="+84 90 123 4567", loyalty="gold")
        record["holder"].update(
            full_name="  Nguyễn  Thị Ánh ", id_number="0791-9012 3456", nationality=None, gender=None
        )
        normalized, result = RULES.normalize(record, as_of=AS_OF)
        assert normalized["msisdn"] == "+84901234567"
        assert normalized["holder"]["full_name"] == "Nguyễn Thị Ánh"
        assert normalized["holder"]["id_number"] == "079190123456"
        assert normalized["holder"]["nationality"] == "VNM"
        assert normalized["holder"]["gender"] == "female"
        assert normalized["purpose"] == "personal_use"
        assert "loyalty" not in normalized
        assert result.complete

    def test_names_are_stored_in_nfc(self):
        decomposed = "Nguye\u0302\u0303n"  # "Nguyễn" with combining marks
        normalized, _ = RULES.normalize(with_holder(complete_record(), full_name=decomposed), as_of=AS_OF)
        assert normalized["holder"]["full_name"] == "Nguyễn"

    def test_date_objects_become_iso_strings(self):
        normalized, result = RULES.normalize(
            with_holder(complete_record(), date_of_birth=date(1990, 5, 17)), as_of=AS_OF
        )
        assert normalized["holder"]["date_of_birth"] == "1990-05-17"
        assert result.complete

    def test_derived_values_for_organization_users_are_applied_by_index(self):
        record = organization_record()
        del record["organization"]["users"][1]["gender"]
        normalized, _ = RULES.normalize(record, as_of=AS_OF)
        assert normalized["organization"]["users"][1]["gender"] == "female"

    def test_the_normalized_record_needs_no_more_derivation(self):
        normalized, _ = RULES.normalize(with_holder(complete_record(), nationality=None, gender=None), as_of=AS_OF)
        assert check(normalized).derived == {}


class TestDocumentKey:
    def test_the_key_is_the_normalized_id_number(self):
        assert RULES.document_key(with_holder(complete_record(), id_number="079 190 123 456")) == "079190123456"

    def test_passport_numbers_are_case_folded_and_typed(self):
        assert RULES.document_key(with_holder(passport_record(), id_number="m12345678")) == "passport:m12345678"

    def test_a_minor_without_id_is_keyed_by_the_guardian(self):
        assert RULES.document_key(minor_record()) == make_cccd("001", "female", 1985, 7)

    def test_organizations_are_keyed_by_registration_number(self):
        assert RULES.document_key(organization_record()) == "org:0312345678"

    def test_terminated_subscriptions_have_no_key(self):
        assert RULES.document_key(complete_record(status="terminated")) is None

    def test_no_id_no_key(self):
        assert RULES.document_key({}) is None


# -- properties ------------------------------------------------------------------------------------

_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
_paths = st.sampled_from(CSV_COLUMNS)


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    head, _, tail = path.partition(".")
    if tail:
        if not isinstance(record.get(head), dict):
            record[head] = {}
        record[head][tail] = value
    else:
        record[head] = value


_RECORDS = [complete_record(), minor_record(), passport_record(), organization_record()]


class TestProperties:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        base=st.sampled_from(_RECORDS),
        changes=st.lists(st.tuples(_paths, _junk), max_size=6),
        ordinal=st.integers(1, 6),
    )
    def test_junk_in_any_field_never_raises_and_results_are_consistent(self, base, changes, ordinal):
        record = copy.deepcopy(base)
        for path, value in changes:
            _set(record, path, value)
        result = RULES.check(record, as_of=AS_OF, ordinal=ordinal)
        assert result.valid == (not result.errors)
        assert result.complete == (result.valid and not result.missing)
        assert all(isinstance(e.field, str) and e.code for e in result.errors)
        normalized, again = RULES.normalize(record, as_of=AS_OF, ordinal=ordinal)
        rechecked = RULES.check(normalized, as_of=AS_OF, ordinal=ordinal)
        assert set(rechecked.errors) == set(again.errors)
        assert set(rechecked.missing) == set(again.missing)

    @settings(max_examples=100, deadline=None)
    @given(junk=_junk)
    def test_a_record_of_any_shape_never_raises(self, junk):
        record = junk if isinstance(junk, dict) else {"holder": junk, "documents": junk, "organization": junk}
        RULES.check(record, as_of=AS_OF)
        RULES.check({**record, "subscriber_type": "organization"}, as_of=AS_OF)

    @settings(max_examples=150, deadline=None)
    @given(
        base=st.sampled_from(_RECORDS),
        drop=st.sets(st.sampled_from(["gender", "nationality"])),
        spaces=st.booleans(),
    )
    def test_a_complete_record_stays_complete_after_normalize(self, base, drop, spaces):
        record = copy.deepcopy(base)
        for field in drop:
            record["holder"].pop(field, None)
        if spaces:
            record["holder"]["full_name"] = "  " + record["holder"]["full_name"].replace(" ", "   ") + " "
        assume(check(record).complete)  # a passport holder without nationality is not complete
        normalized, _ = RULES.normalize(record, as_of=AS_OF)
        assert check(normalized).complete

    @settings(max_examples=150, deadline=None)
    @given(days=st.integers(-400, 400))
    def test_under_14_is_decided_by_the_14th_birthday(self, days):
        born = date(2010, 6, 15)
        as_of = date(2024, 6, 15) + timedelta(days=days)
        record = minor_record(born.isoformat())
        del record["guardian"]
        under = ("guardian", "underage_without_guardian") in codes(check(record, as_of=as_of))
        assert under == (days < 0)

    @settings(max_examples=100, deadline=None)
    @given(base=st.sampled_from([complete_record(), passport_record()]), gender=st.sampled_from([None, "male"]))
    def test_the_rule_set_derives_what_derive_derives(self, base, gender):
        record = with_holder(base, nationality=None, gender=gender)
        result = check(record)
        derived = dict(result.derived.items())
        assert derived == derive(record)


class TestPersonHelper:
    def test_present_counts_derived_values(self):
        seen: list[Person] = []

        class Spy(Nd49RuleSet):
            name = "spy"

            def extra_checks(self, record, persons, **_):
                seen.extend(persons)

        Spy().check(with_holder(complete_record(), nationality=None), as_of=AS_OF)
        holder = seen[0]
        assert holder.present("nationality")
        assert holder.present("full_name")
        assert not holder.present("birth_year")
