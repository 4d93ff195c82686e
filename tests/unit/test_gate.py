"""The counter gate and the image verdicts: pure rules, no database, no pixels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.compliance.records import STATUSES
from subreg.domain.counter import gate
from subreg.domain.counter.gate import GATED_KINDS, TRANSACTION_KINDS, decide
from subreg.domain.counter.image_rules import ImageLimits, Measurements, judge, needs_readable_card

MISSING = ("documents.portrait", "holder.id_issue_place")


class TestTheGate:
    @pytest.mark.parametrize("kind", GATED_KINDS)
    def test_every_gated_kind_is_refused_while_incomplete_with_what_is_missing(self, kind):
        decision = decide(kind, status="active", complete=False, missing=MISSING)
        assert not decision.allowed
        assert decision.code == "update_required"
        assert decision.missing == MISSING

    @given(st.sampled_from(STATUSES), st.booleans())
    def test_a_bill_payment_is_always_allowed(self, status, complete):
        assert decide("bill_payment", status=status, complete=complete).allowed

    @pytest.mark.parametrize("kind", [k for k in TRANSACTION_KINDS if k != "bill_payment"])
    def test_a_terminated_subscription_allows_nothing_but_payment(self, kind):
        decision = decide(kind, status="terminated", complete=True, new_owner_complete=True)
        assert (decision.allowed, decision.code) == (False, "subscription_terminated")

    @pytest.mark.parametrize("status", ["active", "one_way_locked", "two_way_locked"])
    def test_a_complete_subscription_passes_also_while_its_unlock_is_pending(self, status):
        assert all(decide(k, status=status, complete=True, new_owner_complete=True).allowed for k in TRANSACTION_KINDS)

    def test_invalid_values_count_as_items_to_update(self):
        decision = decide("sim_replacement", status="active", complete=False, error_fields=["holder.id_number"])
        assert decision.missing == ("holder.id_number",)

    def test_incomplete_without_a_named_item_still_refuses(self):
        assert decide("sim_replacement", status="active", complete=False).missing == ("subscription",)

    def test_an_unknown_kind_is_refused(self):
        assert decide("teleport", status="active", complete=True).code == "unknown_transaction"

    def test_the_refusal_becomes_a_409_error_with_field_level_items(self):
        error = decide("sim_replacement", status="active", complete=False, missing=MISSING).error()
        assert isinstance(error, gate.UpdateRequiredError)
        assert [(e.field, e.code) for e in error.errors] == [(m, "required") for m in MISSING]
        assert error.missing == list(MISSING)

    def test_the_card_lists_the_allowed_kinds_and_the_offer(self):
        assert gate.allowed_kinds(status="active", complete=False) == ("bill_payment", "change_owner", "termination")
        assert gate.offer_update(status="one_way_locked", complete=False)
        assert not gate.offer_update(status="terminated", complete=False)
        assert not gate.offer_update(status="active", complete=True)


class TestWhatTheLawLetsThrough:
    """Issue #12: giving a line up and handing it to a new owner are never refused for the old papers;
    a line that needs the 4th-subscription contract is as incomplete as one missing a photo."""

    @given(
        status=st.sampled_from([s for s in STATUSES if s != "terminated"]),
        complete=st.booleans(),
        contract_needed=st.booleans(),
        missing=st.lists(st.sampled_from(MISSING), unique=True),
    )
    def test_a_termination_is_never_refused(self, status, complete, contract_needed, missing):
        decision = decide(
            "termination", status=status, complete=complete, missing=missing, contract_needed=contract_needed
        )
        assert decision.allowed

    @given(
        status=st.sampled_from([s for s in STATUSES if s != "terminated"]),
        complete=st.booleans(),
        contract_needed=st.booleans(),
        new_owner=st.none() | st.booleans(),
    )
    def test_a_change_of_owner_depends_on_the_new_owners_papers_only(
        self, status, complete, contract_needed, new_owner
    ):
        decision = decide(
            "change_owner", status=status, complete=complete, contract_needed=contract_needed,
            missing=MISSING, new_owner_complete=new_owner,
        )  # fmt: skip
        assert decision.allowed == (new_owner is True)
        if not decision.allowed:
            assert (decision.code, decision.missing) == ("new_owner_papers_required", ("new_owner",))
            assert isinstance(decision.error(), gate.NewOwnerPapersRequiredError)

    @given(
        kind=st.sampled_from(GATED_KINDS),
        status=st.sampled_from([s for s in STATUSES if s != "terminated"]),
        complete=st.booleans(),
    )
    def test_a_line_needing_its_contract_is_refused_everything_gated(self, kind, status, complete):
        decision = decide(kind, status=status, complete=complete, missing=() if complete else MISSING,
                          contract_needed=True)  # fmt: skip
        assert (decision.allowed, decision.code) == (False, "update_required")
        assert decision.missing[-2:] == gate.CONTRACT_ITEMS
        error = decision.error()
        assert ("contract_number", "contract_required") in {(e.field, e.code) for e in error.errors}

    def test_a_line_needing_its_contract_is_offered_the_update(self):
        assert gate.offer_update(status="active", complete=True, contract_needed=True)
        assert gate.allowed_kinds(status="active", complete=True, contract_needed=True) == (
            "bill_payment",
            "change_owner",
            "termination",
        )

    def test_the_kinds_split_into_gated_and_not(self):
        assert set(GATED_KINDS) | set(gate.UNGATED_KINDS) == set(TRANSACTION_KINDS)
        assert not set(GATED_KINDS) & set(gate.UNGATED_KINDS)


LIMITS = ImageLimits()


def m(**changes) -> Measurements:
    base = {"format": "JPEG", "size_bytes": 50_000, "width": 640, "height": 480, "sharpness": 300.0}
    return Measurements(**{**base, **changes})


class TestImageVerdicts:
    def test_a_good_portrait_is_accepted(self):
        assert judge("portrait", m(faces=1), LIMITS) == []

    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"format": "GIF"}, "image_not_supported"),
            ({"format": None}, "image_not_supported"),
            ({"size_bytes": LIMITS.max_bytes + 1}, "image_too_large"),
            ({"width": 10_000, "height": 10_000}, "image_too_large"),
            ({"width": 200, "height": 150}, "image_too_small"),
            ({"sharpness": 5.0}, "image_blurry"),
            ({"faces": 0}, "no_face"),
            ({"faces": 2}, "several_faces"),
        ],
    )
    def test_each_problem_has_its_code(self, changes, code):
        assert code in judge("portrait", m(**{"faces": 1, **changes}), LIMITS)

    def test_a_card_needs_more_pixels_than_a_portrait(self):
        assert judge("portrait", m(width=320, height=240, faces=1), LIMITS) == []
        assert judge("id_front", m(width=320, height=240), LIMITS) == ["image_too_small"]

    def test_faces_are_not_counted_on_cards(self):
        assert judge("id_front", m(faces=3), LIMITS) == []

    def test_only_a_chip_cccd_must_be_machine_readable(self):
        assert needs_readable_card("cccd")
        assert not needs_readable_card("cmnd")
        assert not needs_readable_card("passport")
        assert not needs_readable_card(None)
