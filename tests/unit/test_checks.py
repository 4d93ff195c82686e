"""The check service: one result per input item, ordinals counted across the stream, summary."""

from __future__ import annotations

import copy
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.common.errors import FieldError
from subreg.domain.common.msisdn import MOBILE_PREFIXES
from subreg.domain.common.operator_numbers import operator_numbers
from subreg.domain.compliance.rules import get_rule_set
from subreg.services.registry.checks import NUMBERS_BATCH, CheckSummary, check_records, line_error_result
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


class FakePortedList:
    """The MNP list as a dict (key -> direction), recording each look-up's keys."""

    def __init__(self, entries: dict[str, str] | None = None) -> None:
        self.entries = {int("84" + n[1:]): d for n, d in (entries or {}).items()}
        self.asked: list[list[int]] = []

    def directions_of(self, keys):
        self.asked.append(list(keys))
        return {k: self.entries[k] for k in keys if k in self.entries}


MOBIFONE = operator_numbers(["070", "076", "077", "078", "079", "089", "090", "093"])
# Any valid national mobile number.
mobile_numbers = st.tuples(st.sampled_from(sorted(MOBILE_PREFIXES)), st.integers(0, 10**9)).map(
    lambda t: (t[0] + f"{t[1]:09d}")[:10]
)


def codes(result) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in result["errors"]]


class TestOperatorNumbers:
    def test_without_ranges_nothing_is_looked_up(self):
        ported = FakePortedList({"0981234567": "out"})
        results = run([(1, complete_record(msisdn="0981234567"))], numbers=operator_numbers([]), ported=ported)
        assert results[0]["complete"] is True
        assert ported.asked == []

    def test_a_number_outside_the_ranges_is_invalid_with_the_error_first(self):
        ported = FakePortedList()
        (result,) = run([(1, complete_record(msisdn="0981234567"))], numbers=MOBIFONE, ported=ported, lang="en")
        assert (result["valid"], result["complete"]) == (False, False)
        assert codes(result) == [("msisdn", "not_operator_number")]
        assert result["errors"][0]["message"] == "The number does not belong to this operator: msisdn"
        assert ported.asked == [[84981234567]]

    def test_ported_in_and_out_decide_over_the_prefix(self):
        ported = FakePortedList({"0981234567": "in", "0901234568": "out"})
        records = [(1, complete_record(msisdn="0981234567")), (2, complete_record(msisdn="0901234568")),
                   (3, complete_record(msisdn="0901234569"))]  # fmt: skip
        results = run(records, numbers=MOBIFONE, ported=ported)
        assert [r["complete"] for r in results] == [True, False, True]
        assert codes(results[1]) == [("msisdn", "not_operator_number")]

    def test_an_invalid_number_and_a_bad_line_are_not_looked_up(self):
        ported = FakePortedList()
        results = run([(1, complete_record(msisdn="0241234567")), (2, FieldError("", "invalid_json"))],
                      numbers=MOBIFONE, ported=ported)  # fmt: skip
        assert codes(results[0]) == [("msisdn", "invalid_msisdn")]
        assert codes(results[1]) == [("", "invalid_json")]
        assert ported.asked == []

    def test_the_summary_counts_the_refused_numbers_as_invalid(self):
        summary = CheckSummary()
        items = [(1, complete_record(msisdn="0981234567")), (2, complete_record())]
        list(check_records(items, rule_set=RULES, as_of=AS_OF, summary=summary, numbers=MOBIFONE,
                           ported=FakePortedList()))  # fmt: skip
        assert summary.to_dict() == {"total": 2, "complete": 1, "incomplete": 0, "invalid": 1}

    def test_the_list_is_asked_once_per_batch_with_that_batchs_numbers(self):
        ported = FakePortedList()
        n = NUMBERS_BATCH + 5
        records = [(i, complete_record(msisdn=f"098{i:07d}", status="terminated")) for i in range(n)]
        results = run(records, numbers=MOBIFONE, ported=ported)
        assert [len(keys) for keys in ported.asked] == [NUMBERS_BATCH, 5]
        assert all(codes(r)[0] == ("msisdn", "not_operator_number") for r in results)
        assert [r["line"] for r in results] == list(range(n))

    @given(
        batch=st.lists(st.tuples(mobile_numbers, st.sampled_from([None, "in", "out"])), min_size=1, max_size=3),
        ranges=st.sampled_from([["090"], ["070", "093"], ["0981000000-0989999999"]]),
    )
    def test_the_verdict_is_the_domains_on_the_whole_list(self, batch, ranges):
        listed = {n: d for n, d in batch if d is not None}
        whole = operator_numbers(ranges, ported_in=[n for n, d in listed.items() if d == "in"],
                                 ported_out=[n for n, d in listed.items() if d == "out"])  # fmt: skip
        records = [(i, complete_record(msisdn=n)) for i, (n, _d) in enumerate(batch, start=1)]
        results = run(records, numbers=operator_numbers(ranges), ported=FakePortedList(listed))
        for (number, _d), result in zip(batch, results, strict=True):
            refused = ("msisdn", "not_operator_number") in codes(result)
            assert refused == (not whole.owns("+84" + number[1:]))
