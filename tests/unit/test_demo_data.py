"""The synthetic operator's records: deterministic, realistic, and the intended compliance mix."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from subreg.domain.common.msisdn import parse_msisdn
from subreg.domain.compliance.rules import get_rule_set
from subreg.domain.id_documents.numbers import cccd_consistency, check_id_number
from subreg.services.registry.demo_data import DEMO_STAFF, generate_records

AS_OF = date(2018, 3, 15)
N = 6000


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return list(generate_records(N, 11, as_of=AS_OF))


@pytest.fixture(scope="module")
def results(records) -> list:
    rule_set = get_rule_set("nd49-2017")
    seen: Counter = Counter()
    out = []
    for record in records:
        key = rule_set.document_key(record)
        seen[key] += 1
        out.append(rule_set.check(record, as_of=AS_OF, ordinal=seen[key] if key else 1))
    return out


class TestDeterminism:
    def test_the_same_seed_gives_the_same_records(self):
        assert list(generate_records(300, 5, as_of=AS_OF)) == list(generate_records(300, 5, as_of=AS_OF))

    def test_another_seed_gives_other_records(self):
        assert list(generate_records(50, 5, as_of=AS_OF)) != list(generate_records(50, 6, as_of=AS_OF))

    def test_exactly_count_records(self):
        assert sum(1 for _ in generate_records(1234, 1, as_of=AS_OF)) == 1234


class TestMix:
    def test_about_35_complete_55_incomplete_10_invalid(self, results):
        complete = sum(r.complete for r in results) / N
        invalid = sum(not r.valid for r in results) / N
        assert 0.31 <= complete <= 0.39
        assert 0.07 <= invalid <= 0.13
        assert 0.50 <= 1 - complete - invalid <= 0.60

    def test_missing_items_and_error_codes_vary(self, results):
        missing = Counter(m for r in results for m in r.missing)
        codes = Counter(e.code for r in results for e in r.errors)
        assert missing.most_common(1)[0][0] == "documents.portrait"
        assert {"holder.id_issue_place", "documents.id_front", "documents.confirmation_form"} <= set(missing)
        assert len(codes) >= 8
        assert {"id_gender_mismatch", "id_birth_year_mismatch", "underage_without_guardian"} <= set(codes)

    def test_some_id_documents_hold_four_or_more_subscriptions(self, records):
        rule_set = get_rule_set("nd49-2017")
        per_document = Counter(rule_set.document_key(r) for r in records)
        del per_document[None]
        assert sum(1 for n in per_document.values() if n >= 4) >= 3


class TestRealism:
    def test_every_number_is_a_vietnamese_mobile_and_unique(self, records):
        numbers = [parse_msisdn(r["msisdn"]) for r in records]
        assert None not in numbers
        assert len(set(numbers)) == N
        assert any(len(r["msisdn"]) == 11 and r["msisdn"].startswith("01") for r in records)

    def test_valid_cccd_numbers_agree_with_gender_and_birth_year(self, records, results):
        checked = 0
        for record, result in zip(records, results, strict=True):
            holder = record["holder"]
            has_both = {"date_of_birth", "id_number"} <= set(holder)
            if result.valid and holder.get("id_type") == "cccd" and has_both:
                number = holder["id_number"]
                assert check_id_number("cccd", number) is None
                year = int(holder["date_of_birth"][:4])
                assert cccd_consistency(number, gender=holder["gender"], birth_year=year) == []
                checked += 1
        assert checked > N // 3

    def test_names_carry_vietnamese_diacritics(self, records):
        names = [r["holder"]["full_name"] for r in records if r["holder"].get("id_type") != "passport"]
        assert sum(not n.isascii() for n in names) / len(names) > 0.8
        assert Counter(n.split()[0] for n in names).most_common(1)[0][0] == "Nguyễn"

    def test_the_mix_has_every_kind_of_subscriber(self, records):
        id_types = Counter(r["holder"].get("id_type") for r in records)
        assert id_types["cccd"]
        assert id_types["cmnd"]
        assert id_types["passport"]
        assert any("guardian" in r for r in records)
        orgs = [r for r in records if r["subscriber_type"] == "organization"]
        assert orgs
        assert all(r["organization"]["users"] for r in orgs)
        assert {r["payment_type"] for r in records} == {"prepaid", "postpaid"}
        activated = [r["activated_on"] for r in records]
        assert min(activated) >= "2005-01-01"
        assert max(activated) <= AS_OF.isoformat()

    def test_document_references_are_strings(self, records):
        refs = [v for r in records for v in r["documents"].values()]
        assert all(isinstance(v, str) and v.startswith("demo:") for v in refs)


class TestStaff:
    def test_every_role_used_later_has_a_demo_account(self):
        roles = {role for role, *_ in DEMO_STAFF}
        assert roles == {
            "store_staff",
            "agent",
            "authorized_point",
            "compliance_officer",
            "auditor",
            "dpo",
            "supervisor",
            "admin",
            "regional_manager",
            "backoffice",
        }
