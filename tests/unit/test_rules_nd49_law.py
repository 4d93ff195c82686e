"""Issue #12: the rule set tried against the law. Each class tests a whole class of inputs, not an example."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subreg.domain.compliance.records import CHANNELS, CSV_COLUMNS, GUARDIAN_FIELDS, HOLDER_FIELDS, flatten, unflatten
from subreg.domain.compliance.rules import Nd49RuleSet, get_rule_set
from subreg.domain.compliance.rules.base import CheckResult, missing_item
from subreg.domain.id_documents.card_codes import build_cccd_qr, parse_cccd_qr
from subreg.domain.id_documents.numbers import ID_TYPES, make_cccd
from subreg.domain.id_documents.types import CCCD, IdTypeSpec
from subreg.domain.id_documents.validity import anniversary, card_expiry, effective_expiry
from tests.records import complete_record, with_holder
from tests.unit.test_rules_nd49 import _junk, codes, minor_record, organization_record, passport_record, person

RULES = get_rule_set()
AS_OF = date(2024, 1, 15)


def check(record: dict[str, Any], as_of: date = AS_OF, ordinal: int = 1) -> CheckResult:
    return RULES.check(record, as_of=as_of, ordinal=ordinal)


def adult_cmnd(issued: str, **extra: Any) -> dict[str, Any]:
    fields = {"id_type": "cmnd", "id_number": "123456789", "date_of_birth": "1970-01-01", "id_issue_date": issued,
              "id_expiry_date": None, "gender": None, **extra}  # fmt: skip
    return with_holder(complete_record(activated_on="2010-01-01"), **fields)


def verdict(result: CheckResult) -> tuple[bool, bool, frozenset[Any], frozenset[str]]:
    return result.valid, result.complete, frozenset(result.errors), frozenset(result.missing)


# -- 1. dates that cannot be -------------------------------------------------------------------------


class TestImpossibleDates:
    def test_a_cccd_whose_digits_give_a_future_birth_year_is_impossible_not_a_child(self):
        record = with_holder(complete_record(), id_number="001400123456", date_of_birth=None, gender=None)
        result = check(record, as_of=date(2025, 6, 1))
        assert ("holder.id_number", "id_birth_year_in_future") in codes(result)
        assert ("guardian", "underage_without_guardian") not in codes(result)
        assert "holder.birth_year" not in result.derived
        assert "holder.gender" not in result.derived  # nothing is read from an impossible number

    @settings(max_examples=200, deadline=None)
    @given(g=st.integers(0, 9), yy=st.integers(0, 99), as_of=st.dates(date(2016, 1, 1), date(2099, 12, 31)))
    def test_the_birth_year_digits_are_in_the_future_exactly_when_they_name_a_later_year(self, g, yy, as_of):
        year = (g // 2 + 19) * 100 + yy
        number = f"079{g}{yy:02d}123456"
        minor = minor_record()
        minor["holder"] = {"full_name": "Bé Na", "id_type": "cccd", "id_number": number}
        result = check(minor, as_of=as_of)
        assert (("holder.id_number", "id_birth_year_in_future") in codes(result)) == (year > as_of.year)
        assert ("holder.birth_year" in result.derived) == (year <= as_of.year)

    @given(issued=st.dates(date(2005, 1, 1), date(2023, 12, 31)))
    def test_no_cccd_was_issued_before_2016(self, issued):
        record = with_holder(complete_record(), id_issue_date=issued.isoformat())
        found = ("holder.id_issue_date", "id_issued_before_introduced") in codes(check(record))
        assert found == (issued < date(2016, 1, 1))

    @settings(max_examples=200, deadline=None)
    @given(born=st.dates(date(2000, 1, 1), date(2016, 12, 31)), days=st.integers(0, 20 * 366))
    def test_a_cccd_needs_14_years_before_1_july_2024_and_no_age_after(self, born, days):
        issued = born + timedelta(days=days)
        if issued < date(2016, 1, 1) or issued > date(2025, 12, 31):
            return
        gender = "female"
        holder = {"full_name": "Lê Thu", "date_of_birth": born.isoformat(), "gender": gender, "id_type": "cccd",
                  "id_number": make_cccd("001", gender, born.year, 1), "id_issue_date": issued.isoformat(),
                  "id_issue_place": "Cục Cảnh sát QLHC về TTXH"}  # fmt: skip
        record = minor_record()
        record["holder"] = holder
        result = check(record, as_of=date(2026, 1, 1))
        expected = issued < date(2024, 7, 1) and issued < anniversary(born, 14)
        assert (("holder.id_issue_date", "id_issued_underage") in codes(result)) == expected

    def test_a_cmnd_issued_at_13_is_impossible(self):
        record = adult_cmnd("2003-05-16", date_of_birth="1990-05-17")
        assert ("holder.id_issue_date", "id_issued_underage") in codes(check(record, as_of=date(2015, 1, 1)))
        record = adult_cmnd("2004-05-17", date_of_birth="1990-05-17")
        assert check(record, as_of=date(2015, 1, 1)).complete

    def test_a_card_issued_before_the_year_its_number_says_is_issued_before_birth(self):
        minor = minor_record()
        minor["holder"] = {"full_name": "Bé Na", "id_type": "cccd", "id_number": make_cccd("001", "female", 2015, 9),
                           "id_issue_date": "2014-06-01"}  # fmt: skip
        assert ("holder.id_issue_date", "id_issued_before_birth") in codes(check(minor))

    @pytest.mark.parametrize("who", ["holder", "guardian", "user"])
    def test_a_passport_without_its_expiry_date_is_incomplete(self, who):
        # Decided: a missing item (the value is absent), not an error; the path is the expiry's.
        passport = {"id_type": "passport", "id_number": "B7654321", "nationality": "FRA"}
        if who == "holder":
            record, path = passport_record(), "holder.id_expiry_date"
            del record["holder"]["id_expiry_date"]
        elif who == "guardian":
            record, path = minor_record(), "guardian.id_expiry_date"
            record["guardian"].update(passport)
        else:
            record, path = organization_record(), "organization.users[0].id_expiry_date"
            record["organization"]["users"][0].update(passport)
        result = check(record)
        assert result.valid
        assert path in result.missing

    @settings(max_examples=100, deadline=None)
    @given(days=st.integers(-400, 400))
    def test_a_guardian_must_be_18(self, days):
        born = date(2006, 3, 1)
        record = minor_record()
        record["guardian"] = person("Trần Thị Lan", born.isoformat(), "female", 7, relationship="sister")
        record["guardian"]["id_issue_date"] = "2022-06-01"
        as_of = date(2024, 3, 1) + timedelta(days=days)
        assert (("guardian", "guardian_not_adult") in codes(check(record, as_of=as_of))) == (days < 0)

    @pytest.mark.parametrize("born", ["9990-01-01", "9999-12-31"])
    def test_a_date_of_birth_at_the_end_of_the_calendar_is_an_error_not_a_crash(self, born):
        # It raised ValueError (year 10004) from the under-14 rule.
        result = check({"holder": {"full_name": "A", "date_of_birth": born}, "guardian": {"full_name": "B"}})
        assert ("holder.date_of_birth", "date_in_future") in codes(result)
        assert RULES.valid_until({"holder": {"full_name": "A", "date_of_birth": born}}, as_of=AS_OF) is not None


class TestYearOnlyBirthDates:
    def test_an_older_cmnd_showing_only_a_year_of_birth_is_complete(self):
        record = adult_cmnd("2010-03-01", date_of_birth="1950")
        result = check(record, as_of=date(2018, 4, 24))
        assert result.complete
        assert RULES.normalize(record, as_of=date(2018, 4, 24))[0]["holder"]["date_of_birth"] == "1950"

    @pytest.mark.parametrize("id_type", ["cccd", "passport", None])
    def test_other_papers_show_a_full_date(self, id_type):
        record = with_holder(complete_record(), date_of_birth="1990", id_type=id_type)
        assert ("holder.date_of_birth", "invalid_format") in codes(check(record))

    def test_the_year_takes_part_in_the_other_rules(self):
        assert ("holder.id_issue_date", "id_issued_underage") in codes(
            check(adult_cmnd("1960-01-01", date_of_birth="1950"))
        )
        assert ("holder.birth_year", "birth_year_mismatch") in codes(
            check(adult_cmnd("2010-03-01", date_of_birth="1950", birth_year=1951))
        )
        assert ("holder.date_of_birth", "date_in_future") in codes(
            check(adult_cmnd("2010-03-01", date_of_birth="2031"))
        )


# -- 2. documents that expired -----------------------------------------------------------------------


class TestExpiry:
    def test_a_cmnd_issued_in_2000_is_expired_in_2018(self):
        record = adult_cmnd("2000-06-01")
        assert check(record, as_of=date(2014, 1, 1)).complete
        assert codes(check(record, as_of=date(2018, 4, 24))) == {("holder.id_expiry_date", "id_expired")}

    @settings(max_examples=300, deadline=None)
    @given(issued=st.dates(date(1995, 1, 1), date(2015, 12, 31)), as_of=st.dates(date(2016, 1, 1), date(2027, 12, 31)))
    def test_a_cmnd_lasts_15_years_and_ends_with_2024(self, issued, as_of):
        result = codes(check(adult_cmnd(issued.isoformat()), as_of=as_of))
        expiry = min(anniversary(issued, 15), date(2024, 12, 31))
        if date(2024, 1, 15) <= expiry < date(2024, 6, 30):
            expiry = date(2024, 6, 30)  # Law 26/2023 Art. 46(2)
        assert (("holder.id_type", "id_type_no_longer_valid") in result) == (as_of > date(2024, 12, 31))
        assert (("holder.id_expiry_date", "id_expired") in result) == (expiry < as_of <= date(2024, 12, 31))

    def test_no_cmnd_is_valid_after_2024(self):
        record = adult_cmnd("2015-06-01")
        assert check(record, as_of=date(2024, 12, 31)).complete
        assert codes(check(record, as_of=date(2025, 1, 1))) == {("holder.id_type", "id_type_no_longer_valid")}

    @settings(max_examples=200, deadline=None)
    @given(born=st.dates(date(1950, 1, 1), date(2004, 12, 31)), age_days=st.integers(14 * 366, 70 * 366),
           later=st.integers(0, 40 * 366))  # fmt: skip
    def test_a_cccd_without_its_expiry_runs_to_the_renewal_birthday(self, born, age_days, later):
        issued = born + timedelta(days=age_days)
        as_of = issued + timedelta(days=later)
        if issued < date(2016, 1, 1) or as_of > date(2099, 12, 31):
            return
        record = with_holder(complete_record(), date_of_birth=born.isoformat(), id_issue_date=issued.isoformat(),
                             id_number=make_cccd("079", "female", born.year, 1), id_expiry_date=None)  # fmt: skip
        expiry = effective_expiry(CCCD, issued=issued, born=born, given=None)
        assert expiry == card_expiry(born, issued) or date(2024, 1, 15) <= card_expiry(born, issued) < date(2024, 6, 30)
        expired = ("holder.id_expiry_date", "id_expired") in codes(check(record, as_of=as_of))
        assert expired == (expiry is not None and expiry < as_of)

    def test_the_2024_transition_keeps_a_card_until_30_june(self):
        record = with_holder(complete_record(), id_expiry_date="2024-02-01")
        assert check(record, as_of=date(2024, 6, 30)).complete
        assert ("holder.id_expiry_date", "id_expired") in codes(check(record, as_of=date(2024, 7, 1)))

    def test_expiry_is_judged_at_the_evaluation_date_not_the_activation(self):
        record = complete_record(activated_on="2016-03-01")  # the CCCD runs to 2030-05-17
        assert check(record, as_of=date(2030, 5, 17)).complete
        assert not check(record, as_of=date(2030, 5, 18)).valid

    def test_document_expiry_is_the_earliest_effective_expiry_of_the_record(self):
        assert RULES.document_expiry(adult_cmnd("2005-06-01")) == date(2020, 6, 1)
        assert RULES.document_expiry(with_holder(complete_record(), id_expiry_date=None)) == date(2030, 5, 17)
        assert RULES.document_expiry(minor_record()) == date(2025, 2, 1)  # the guardian's card, born 1985
        assert RULES.document_expiry(passport_record()) == date(2029, 1, 1)
        assert RULES.document_expiry({}) is None


# -- 3. until when an answer holds -------------------------------------------------------------------


class TestValidUntil:
    def test_a_cmnd_answer_holds_until_the_day_after_its_expiry(self):
        assert RULES.valid_until(adult_cmnd("2005-06-01"), as_of=date(2018, 1, 1)) == date(2020, 6, 2)
        assert RULES.valid_until(adult_cmnd("2012-06-01"), as_of=date(2018, 1, 1)) == date(2025, 1, 1)

    def test_a_child_needs_a_guardian_until_the_14th_birthday(self):
        record = minor_record("2012-03-10")
        record["guardian"]["id_expiry_date"] = "2045-02-01"
        assert RULES.valid_until(record, as_of=AS_OF) == date(2026, 3, 10)

    def test_a_young_guardian_becomes_an_adult(self):
        record = minor_record()
        record["guardian"] = person("Trần Thị Lan", "2007-03-01", "female", 7, relationship="sister")
        record["guardian"]["id_issue_date"] = "2022-06-01"
        assert RULES.valid_until(record, as_of=AS_OF) == date(2025, 3, 1)

    def test_nothing_that_depends_on_the_date_gives_none(self):
        number = make_cccd("079", "female", 1950, 1)
        record = with_holder(complete_record(), date_of_birth="1950-01-01", id_number=number,
                             id_issue_date="2016-06-01", id_expiry_date=None)  # fmt: skip
        assert RULES.valid_until(record, as_of=AS_OF) is None

    def test_a_date_in_the_future_is_reached(self):
        assert RULES.valid_until(complete_record(activated_on="2024-03-01"), as_of=AS_OF) == date(2024, 3, 1)

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        born=st.dates(date(1940, 1, 1), date(2023, 12, 31)),
        id_type=st.sampled_from(["cmnd", "cccd", "passport"]),
        issued=st.dates(date(1995, 1, 1), date(2026, 12, 31)),
        expiry=st.none() | st.dates(date(2015, 1, 1), date(2040, 12, 31)),
        guardian_born=st.none() | st.dates(date(1990, 1, 1), date(2012, 12, 31)),
        year_only=st.booleans(),
        as_of=st.dates(date(2016, 1, 1), date(2032, 12, 31)),
        probes=st.lists(st.integers(0, 20_000), min_size=1, max_size=8),
    )
    def test_the_answer_does_not_change_before_valid_until(
        self, born, id_type, issued, expiry, guardian_born, year_only, as_of, probes
    ):
        numbers = {"cmnd": "123456789", "cccd": make_cccd("079", "female", born.year, 1), "passport": "B1234567"}
        holder = {"full_name": "Lê Thu", "date_of_birth": str(born.year) if year_only else born.isoformat(),
                  "id_type": id_type, "id_number": numbers[id_type], "id_issue_date": issued.isoformat(),
                  "id_issue_place": "Công an TP Hà Nội",
                  "nationality": "FRA" if id_type == "passport" else "VNM"}  # fmt: skip
        if expiry is not None:
            holder["id_expiry_date"] = expiry.isoformat()
        record = complete_record(holder=holder, activated_on="2017-01-01")
        if guardian_born is not None:
            record["guardian"] = person("Trần Thị Lan", guardian_born.isoformat(), "female", 7, relationship="mother")
        until = RULES.valid_until(record, as_of=as_of)
        before = verdict(check(record, as_of=as_of))
        horizon = until if until is not None else date(2099, 12, 31)
        for probe in [*probes, (horizon - as_of).days - 1]:
            day = as_of + timedelta(days=probe)
            if as_of <= day < horizon:
                assert verdict(check(record, as_of=day)) == before, (day, until)


# -- 4. document keys ------------------------------------------------------------------------------


class TestDocumentKeys:
    @given(number=st.from_regex(r"[0-9]{9}", fullmatch=True))
    def test_equal_numbers_of_a_cmnd_and_a_passport_never_meet(self, number):
        cmnd = RULES.document_key({"holder": {"id_type": "cmnd", "id_number": number}})
        passport = RULES.document_key({"holder": {"id_type": "passport", "id_number": number}})
        assert cmnd == number
        assert passport == f"passport:{number}"

    def test_a_12_digit_cmnd_and_the_cccd_that_replaced_it_are_one_person(self):
        # The 12-digit CMND number is the personal identification number the CCCD keeps.
        number = "079190123456"
        assert RULES.document_key({"holder": {"id_type": "cmnd", "id_number": number}}) == RULES.document_key(
            {"holder": {"id_type": "cccd", "id_number": number}}
        )

    def test_the_type_is_read_however_it_is_written_and_guessed_without_it(self):
        assert (
            RULES.document_key({"holder": {"id_type": " PASSPORT", "id_number": "b 123-4567"}}) == "passport:b1234567"
        )
        assert RULES.document_key({"holder": {"id_number": "B1234567"}}) == "passport:b1234567"
        assert RULES.document_key({"holder": {"id_number": "123 456 789"}}) == "123456789"

    def test_a_cccd_keeps_the_key_of_the_cmnd_it_replaced(self):
        qr = build_cccd_qr(
            {"id_number": "079190123456", "full_name": "Nguyễn Thị Ánh", "date_of_birth": "1990-05-17",
             "gender": "female", "address": "12 Lê Lợi", "id_issue_date": "2021-06-01"},
            old_id="123456789",
        )  # fmt: skip
        record = complete_record()
        record["holder"].update(parse_cccd_qr(qr))
        normalized, result = RULES.normalize(record, as_of=AS_OF)
        assert result.complete
        assert normalized["holder"]["previous_id_number"] == "123456789"
        assert RULES.document_keys(normalized) == ("079190123456", "123456789")
        old_line = adult_cmnd("2010-03-01")
        assert RULES.document_key(old_line) in RULES.document_keys(normalized)

    def test_document_keys_edge_cases(self):
        same = with_holder(complete_record(), previous_id_number="079190123456")
        assert RULES.document_keys(same) == ("079190123456",)
        assert RULES.document_keys(complete_record(status="terminated")) == ()
        assert RULES.document_keys(organization_record()) == ("org:0312345678",)
        assert RULES.document_keys(with_holder(complete_record(), previous_id_number="12")) == ("079190123456",)
        guarded = minor_record()
        guarded["guardian"]["previous_id_number"] = "987654321"
        assert RULES.document_keys(guarded) == (RULES.document_key(guarded), "987654321")

    @pytest.mark.parametrize(
        ("value", "code"),
        [("12345", "invalid_id_number"), ("12345678X", "invalid_id_number"), (123456789, "invalid_format")],
    )
    def test_a_previous_number_is_a_9_or_12_digit_cmnd_number(self, value, code):
        result = check(with_holder(complete_record(), previous_id_number=value))
        assert codes(result) == {("holder.previous_id_number", code)}

    def test_the_contract_ordinal_is_the_rule_sets(self):
        assert RULES.contract_from_ordinal == 4


# -- 6. channels -----------------------------------------------------------------------------------


class TestChannels:
    @settings(max_examples=150, deadline=None)
    @given(channel=st.sampled_from(CHANNELS), activated=st.none() | st.dates(date(2010, 1, 1), date(2024, 1, 15)))
    def test_after_the_decree_a_line_is_registered_at_a_point_of_service(self, channel, activated):
        record = complete_record(channel=channel)
        if activated is None:
            del record["activated_on"]
        else:
            record["activated_on"] = activated.isoformat()
        refused = ("channel", "channel_not_allowed") in codes(check(record))
        assert refused == (channel == "self_service" and (activated is None or activated >= date(2017, 4, 24)))

    def test_the_mobile_point_of_service_is_a_channel(self):
        assert check(complete_record(channel="mobile_point", activated_on="2018-01-01")).complete


# -- 8. an organization's line and its user ---------------------------------------------------------


class TestLineUser:
    def test_a_line_without_its_user_is_incomplete(self):
        record = organization_record()
        del record["organization"]["line_user"]
        assert check(record).missing == ("organization.line_user",)

    def test_the_user_must_be_on_the_certified_list(self):
        result = check(organization_record(line_user="001092000099"))
        assert codes(result) == {("organization.line_user", "line_user_not_listed")}

    def test_the_user_is_named_by_id_number_whatever_its_separators(self):
        record = organization_record(line_user="001 195.000-043")
        assert check(record).complete
        assert RULES.normalize(record, as_of=AS_OF)[0]["organization"]["line_user"] == "001195000043"

    def test_the_line_user_survives_the_csv_shape(self):
        record = organization_record()
        assert "organization.line_user" in CSV_COLUMNS
        assert check(unflatten(flatten(record))).complete


# -- 9. the rule set owns its vocabulary ------------------------------------------------------------


class CanCuoc2024(Nd49RuleSet):
    """Test-only: the 2024 chip card and a piece of verification evidence, declared in one class."""

    name: ClassVar[str] = "test-can-cuoc"
    ID_TYPE_SPECS = (
        *Nd49RuleSet.ID_TYPE_SPECS,
        IdTypeSpec(
            name="can_cuoc",
            number_format="cccd",
            nationality="VNM",
            personal_number=True,
            validity="milestones",
            first_issue=date(2024, 7, 1),
        ),
    )
    HOLDER_FIELDS = (*Nd49RuleSet.HOLDER_FIELDS, "verification_evidence")
    GUARDIAN_FIELDS = (*HOLDER_FIELDS, "relationship")
    EXTRA_MISSING_ITEMS = ("holder.verification_evidence",)

    def extra_checks(self, record, persons, *, as_of, errors, missing, derived):
        for p in persons:
            if p.path == "holder" and p.id_type == "can_cuoc" and not p.present("verification_evidence"):
                missing.append("holder.verification_evidence")


def can_cuoc_record(**holder: Any) -> dict[str, Any]:
    fields = {"id_type": "can_cuoc", "id_issue_date": "2024-08-01", "id_expiry_date": None, "nationality": None,
              "gender": None, **holder}  # fmt: skip
    return with_holder(complete_record(), **fields)


class TestVocabulary:
    def test_decree_49_declares_the_data_dictionarys_vocabulary(self):
        assert RULES.id_types == ID_TYPES
        assert RULES.holder_fields == HOLDER_FIELDS
        assert RULES.guardian_fields == GUARDIAN_FIELDS
        assert RULES.csv_columns == CSV_COLUMNS
        assert "birth_year" not in RULES.typed_holder_fields
        assert set(RULES.typed_holder_fields) == set(HOLDER_FIELDS) - {"birth_year"}

    def test_missing_items_are_stable_and_fit_a_64_bit_mask(self):
        assert len(RULES.missing_items) == len(set(RULES.missing_items)) <= 63
        assert missing_item("organization.users[12].id_number") == "organization.users[].id_number"
        assert missing_item("holder.full_name") == "holder.full_name"

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        base=st.sampled_from([complete_record(), minor_record(), passport_record(), organization_record(), {}]),
        changes=st.lists(st.tuples(st.sampled_from(CSV_COLUMNS), _junk | st.none()), max_size=6),
        ordinal=st.integers(1, 5),
    )
    def test_every_missing_path_reported_is_a_declared_missing_item(self, base, changes, ordinal):
        record = copy.deepcopy(base)
        for path, value in changes:
            head, _, tail = path.partition(".")
            if tail:
                if not isinstance(record.get(head), dict):
                    record[head] = {}
                record[head][tail] = value
            else:
                record[head] = value
        declared = set(RULES.missing_items)
        for path in check(record, ordinal=ordinal).missing:
            assert missing_item(path) in declared, path

    @given(extra=st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=5), max_size=4))
    def test_normalization_keeps_exactly_the_declared_fields(self, extra):
        record = complete_record(**{f"x{k}": v for k, v in extra.items()})
        record["holder"].update(extra)
        normalized, _ = RULES.normalize(record, as_of=AS_OF)
        assert set(normalized["holder"]) <= set(RULES.holder_fields)
        assert set(normalized) <= {"msisdn", *(c.split(".")[0] for c in RULES.csv_columns)}

    def test_a_later_regime_is_one_class_checked_end_to_end(self):
        rules = CanCuoc2024()
        assert "can_cuoc" in rules.id_types
        assert "holder.verification_evidence" in rules.csv_columns
        assert "verification_evidence" in rules.typed_holder_fields
        assert "holder.verification_evidence" in rules.missing_items
        record = can_cuoc_record(id_type="CAN_CUOC")
        result = rules.check(record, as_of=AS_OF.replace(year=2025))
        assert result.valid
        assert result.missing == ("holder.verification_evidence",)
        assert result.derived["holder.nationality"] == "VNM"  # the declared nationality
        assert result.derived["holder.gender"] == "female"  # read from its personal number
        record["holder"]["verification_evidence"] = " blob:chip-read "
        normalized, result = rules.normalize(record, as_of=date(2025, 1, 1))
        assert result.complete
        assert normalized["holder"]["id_type"] == "can_cuoc"
        assert normalized["holder"]["verification_evidence"] == " blob:chip-read "  # no normalizer: kept as given
        assert rules.check(normalized, as_of=date(2025, 1, 1)).complete
        assert rules.document_key(normalized) == RULES.document_key(complete_record())  # the same personal number
        # Decree 49 knows neither: the type is refused and the field dropped.
        assert ("holder.id_type", "invalid_choice") in codes(RULES.check(normalized, as_of=date(2025, 1, 1)))
        assert "verification_evidence" not in RULES.normalize(normalized, as_of=AS_OF)[0]["holder"]

    def test_a_later_regimes_type_keeps_its_own_dates(self):
        rules = CanCuoc2024()
        result = rules.check(
            can_cuoc_record(id_issue_date="2024-06-30", verification_evidence="x"), as_of=date(2025, 1, 1)
        )
        assert ("holder.id_issue_date", "id_issued_before_introduced") in codes(result)
