"""The supervisor review's pure rules: flags, decisions and reasons, who may review whom, the lock kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.backoffice.review import (
    REASONS,
    Decision,
    Flag,
    SaveFacts,
    card_mismatches,
    flags_for,
    is_narrow,
    join_flags,
    lock_for,
    may_review,
    parse_decision,
    split_flags,
)
from subreg.domain.common.errors import FieldError, InputError
from subreg.domain.compliance.rules import get_rule_set
from subreg.domain.counter import gate
from subreg.domain.counter.image_rules import ImageLimits, Measurements, narrow_passes

TYPED = {"full_name": "Nguyễn Thị Ánh", "date_of_birth": "1990-05-17", "gender": "female", "id_number": "079190123456"}


class TestCardMismatches:
    def test_equal_values_in_another_case_spacing_or_unicode_form_agree(self):
        read = {"full_name": "NGUYỄN  THỊ ÁNH", "date_of_birth": "1990-05-17", "gender": "female"}
        assert card_mismatches(TYPED, read) == ()
        decomposed = {"full_name": "Nguye\u0302\u0303n Thi\u0323 A\u0301nh"}
        assert card_mismatches(TYPED, decomposed) == ()

    def test_a_differing_name_or_birth_date_is_named(self):
        read = {"full_name": "Nguyễn Thị Anh", "date_of_birth": "1990-05-18", "gender": "female"}
        assert card_mismatches(TYPED, read) == ("full_name", "date_of_birth")

    def test_a_field_only_one_side_gives_is_not_a_mismatch(self):
        assert card_mismatches({"full_name": "A"}, {"address": "x", "date_of_birth": "1990-01-01"}) == ()
        assert card_mismatches(None, {"full_name": "A"}) == ()

    def test_the_address_is_not_compared(self):
        assert card_mismatches({"address": "1 Tràng Tiền"}, {"address": "Số 1 phố Tràng Tiền"}) == ()


class TestFlags:
    def test_nothing_doubtful_raises_nothing(self):
        assert flags_for(SaveFacts(person_lines=3, points_today=1)) == ()

    @pytest.mark.parametrize(
        ("facts", "flag"),
        [
            (SaveFacts(card_mismatches=("full_name",)), Flag.CARD_MISMATCH),
            (SaveFacts(person_lines=4), Flag.FOURTH_SIM),
            (SaveFacts(points_today=2), Flag.FRAUD_SIGNAL),
            (SaveFacts(signal_escalated=True), Flag.FRAUD_SIGNAL),
            (SaveFacts(narrow_images=("documents.portrait:sharpness",)), Flag.NARROW_IMAGE),
            (SaveFacts(outside_hours=True), Flag.AGENT_ANOMALY),
            (SaveFacts(resubmission=True), Flag.RESUBMITTED),
        ],
    )
    def test_each_rule_raises_its_flag(self, facts, flag):
        assert flags_for(facts) == (flag,)

    def test_the_fourth_line_follows_the_rule_sets_ordinal(self):
        assert flags_for(SaveFacts(person_lines=4, contract_from=5)) == ()
        assert flags_for(SaveFacts(person_lines=5, contract_from=5)) == (Flag.FOURTH_SIM,)

    @given(st.lists(st.sampled_from([f.value for f in Flag] + ["later_flag"])))
    def test_stored_flags_round_trip_in_a_stable_order_and_drop_unknown_codes(self, flags):
        stored = join_flags(flags)
        assert split_flags(stored) == tuple(f.value for f in Flag if f.value in flags)
        assert join_flags(split_flags(stored)) == stored


class TestNarrowImages:
    def test_a_sharpness_just_above_the_threshold_passes_narrowly(self):
        limits = ImageLimits()  # 40, margin 15 %
        m = Measurements("JPEG", 1000, 480, 640, sharpness=45.0, faces=1)
        assert narrow_passes("portrait", m, limits) == ["sharpness"]
        assert narrow_passes("portrait", Measurements("JPEG", 1000, 480, 640, 47.0, 1), limits) == []

    def test_a_failed_check_or_a_zero_margin_is_never_narrow(self):
        blurry = Measurements("JPEG", 1000, 480, 640, sharpness=30.0, faces=1)
        assert narrow_passes("portrait", blurry, ImageLimits()) == []
        ok = Measurements("JPEG", 1000, 480, 640, sharpness=41.0, faces=1)
        assert narrow_passes("portrait", ok, ImageLimits(review_margin=0)) == []

    def test_is_narrow(self):
        assert is_narrow(41, 40, 0.1)
        assert not is_narrow(45, 40, 0.1)
        assert not is_narrow(39, 40, 0.1)
        assert not is_narrow(None, 40, 0.1)


class TestDecisions:
    def test_a_known_decision_and_reason_with_a_note(self):
        parsed = parse_decision("rejected", "person_mismatch", "  ảnh chân dung khác người  ")
        assert (parsed.decision, parsed.reason, parsed.note) == (Decision.REJECTED, "person_mismatch",
                                                                 "ảnh chân dung khác người")  # fmt: skip

    def test_every_decision_has_reasons_ending_in_other(self):
        assert set(REASONS) == set(Decision)
        assert all(r[-1] == "other" for r in REASONS.values())

    @pytest.mark.parametrize(
        ("decision", "reason", "note", "errors"),
        [
            ("maybe", "other", "x", [FieldError("decision", "invalid_choice")]),
            (None, "person_mismatch", None, [FieldError("decision", "required")]),
            ("approved", None, None, [FieldError("reason", "required")]),
            ("approved", "person_mismatch", None, [FieldError("reason", "invalid_choice")]),
            ("sent_back", "other", " ", [FieldError("note", "required")]),
            ("approved", "documents_consistent", "x" * 501, [FieldError("note", "too_long")]),
            ("nope", "nope", None, [FieldError("decision", "invalid_choice"), FieldError("reason", "invalid_choice")]),
        ],
    )
    def test_bad_input_names_each_field_and_code(self, decision, reason, note, errors):
        with pytest.raises(InputError) as caught:
            parse_decision(decision, reason, note)
        assert caught.value.errors == errors


class TestWhoMayReview:
    def review(self, **given):
        args = {"reviewer_id": 1, "reviewer_pos": 10, "item_pos": 10, "submitted_by": 2, "cross_store_only": True,
                "other_store_active": False} | given  # fmt: skip
        return may_review(**args)

    def test_never_ones_own_submission(self):
        assert not self.review(submitted_by=1, item_pos=20)
        assert not self.review(submitted_by=1, cross_store_only=False)

    def test_own_store_only_while_no_supervisor_of_another_store_is_active(self):
        assert self.review(other_store_active=False)
        assert not self.review(other_store_active=True)

    def test_the_setting_off_allows_own_store_work(self):
        assert self.review(other_store_active=True, cross_store_only=False)

    def test_another_stores_work_always(self):
        assert self.review(item_pos=20, other_store_active=True)
        assert self.review(item_pos=None, other_store_active=True)


class TestRejectedLine:
    def test_the_rule_set_keeps_1414_and_emergency_calls(self):
        rules = get_rule_set("nd49-2017")
        assert rules.rejected_registration_services == frozenset({"sms_1414", "emergency_calls"})
        assert lock_for(rules.rejected_registration_services, rules.timeline) == "lock_two_way"

    def test_incoming_calls_kept_means_a_one_way_lock_and_more_means_none(self):
        assert lock_for({"sms_1414", "emergency_calls", "incoming_calls"}) == "lock_one_way"
        assert lock_for({"sms_1414", "outgoing_calls"}) is None

    def test_the_gate_refuses_every_counter_transaction_but_a_bill_payment(self):
        for kind in gate.TRANSACTION_KINDS:
            d = gate.decide(kind, status="active", complete=True, review_rejected=True,
                            rejected_allowed=frozenset({"sms_1414", "emergency_calls"}))  # fmt: skip
            assert d.allowed == (kind == "bill_payment"), kind
            if not d.allowed:
                assert d.code == "review_rejected"
                assert d.error().errors == [FieldError("review", "review_rejected")]

    def test_the_setting_can_keep_a_counter_transaction(self):
        allowed = gate.allowed_kinds(status="active", complete=True, review_rejected=True,
                                     rejected_allowed=("termination",))  # fmt: skip
        assert allowed == ("bill_payment", "termination")
