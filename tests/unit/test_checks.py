"""The check service: one result per input item, ordinals counted across the stream, summary."""

from __future__ import annotations

import copy
from datetime import date

from subreg.domain.common.errors import FieldError
from subreg.domain.compliance.rules import get_rule_set
from subreg.services.registry.checks import CheckSummary, check_records, line_error_result
from tests.records import complete_record, with_holder

AS_OF = date(2024, 1, 15)
RULES = get_rule_set()


def run(items, **kwargs):
    return list(check_records(items, rule_set=RULES, as_of=AS_OF, **kwargs))


def numbered(records):
    return list(enumerate(records, start=1))


class TestCheckRecords:
    def test_one_result_per_item_with_its_line(self):
        results = run([(3, complete_record()), (9, complete_record(msisdn="123"))])
        assert [r["line"] for r in results] == [3, 9]
        assert [r["complete"] for r in results] == [True, False]

    def test_a_line_error_becomes_an_invalid_result(self):
        (result,) = run([(5, FieldError("", "invalid_json"))], lang="en")
        assert result == {
            "line": 5,
            "msisdn": None,
            "valid": False,
            "complete": False,
            "errors": [{"field": "", "code": "invalid_json", "message": "Line is not valid JSON"}],
            "missing": [],
            "derived": {},
        }
        assert line_error_result(5, FieldError("", "invalid_json"), "en") == result

    def test_the_fourth_subscription_under_one_document_needs_a_contract(self):
        records = [complete_record(msisdn=f"090123456{i}") for i in range(5)]
        results = run(numbered(records))
        assert [r["valid"] for r in results] == [True, True, True, False, False]
        assert results[3]["errors"][0]["code"] == "contract_required"

    def test_ordinals_are_counted_per_document_after_normalization(self):
        a = [with_holder(complete_record(), id_number=n) for n in ("079190123456", "079 190 123 456", "0791-9012-3456")]
        other = with_holder(
            complete_record(), id_type="cmnd", id_number="123456789", gender=None, date_of_birth="1990-01-01"
        )
        results = run(numbered([*a, other, copy.deepcopy(a[0])]))
        assert [r["valid"] for r in results] == [True, True, True, True, False]

    def test_terminated_subscriptions_do_not_count(self):
        records = [complete_record(status="terminated") for _ in range(3)] + [complete_record()]
        assert all(r["complete"] for r in run(numbered(records)))

    def test_results_stream_lazily(self):
        def items():
            yield 1, complete_record()
            raise AssertionError("read too far")

        assert next(iter(check_records(items(), rule_set=RULES, as_of=AS_OF)))["complete"]

    def test_messages_follow_the_language(self):
        bad = complete_record(msisdn="123")
        assert run([(1, bad)], lang="en")[0]["errors"][0]["message"].startswith("Not a Vietnamese")
        assert run([(1, bad)])[0]["errors"][0]["message"].startswith("Không phải")


class TestSummary:
    def test_counts_complete_incomplete_and_invalid(self):
        incomplete = complete_record()
        del incomplete["documents"]["portrait"]
        summary = CheckSummary()
        items = [
            (1, complete_record()),
            (2, incomplete),
            (3, complete_record(msisdn="1")),
            (4, FieldError("", "x")),
        ]
        list(check_records(items, rule_set=RULES, as_of=AS_OF, summary=summary))
        assert summary.to_dict() == {"total": 4, "complete": 1, "incomplete": 1, "invalid": 2}

    def test_an_invalid_record_with_missing_items_counts_once_as_invalid(self):
        summary = CheckSummary()
        summary.add({"valid": False, "complete": False})
        assert (summary.total, summary.invalid, summary.incomplete) == (1, 1, 0)
