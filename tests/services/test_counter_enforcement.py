"""The counter and enforcement: the card's state and dates, restoration asked at completion, reissue quarantine."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from subreg.domain.common.errors import DuplicateMsisdnError
from subreg.services import counter
from subreg.services.counter.commands import LookUpNumber, RegisterSubscription, UpdateSubscription
from tests.fakes import TODAY
from tests.services.test_counter import NUMBER, incomplete, new, registration_images, run, three_images


def _in_enforcement(fakes, line_id: int, state: int, steps: list[tuple[str, date]], notices: int = 5) -> None:
    with fakes.uow() as uow:
        tx = uow.counter._tx()
        tx.update("subscriptions", line_id, {
            "enf_regime": "nd49-2017", "enf_state": state, "enf_step_on": steps[-1][1], "enf_notices": notices,
            "enf_last_notice_on": steps[0][1],
        })  # fmt: skip
        for action, on in steps:
            tx.insert("enforcement_steps", {
                "subscription_id": line_id, "action": action, "on_date": on, "regime": "nd49-2017",
                "province_code": "079", "channel": "sweep",
            })  # fmt: skip
        uow.commit()


def test_the_card_shows_the_state_each_past_step_and_the_next_one(fakes):
    line = fakes.seed(incomplete(), status="one_way_locked")
    first = TODAY - timedelta(days=20)
    steps = [("notify", first)] + [("renotify", first + timedelta(days=i)) for i in range(1, 5)]
    _in_enforcement(fakes, line.id, 2, [*steps, ("lock_one_way", first + timedelta(days=15))])
    card = run(
        fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="update"), fakes.actor("store_staff", "STORE-1")
    )
    enf = card["enforcement"]
    assert enf["state"] == "one_way_locked"
    assert [s["action"] for s in enf["steps"]] == ["notify"] + ["renotify"] * 4 + ["lock_one_way"]
    assert enf["steps"][-1]["on"] == (first + timedelta(days=15)).isoformat()
    # Two-way 15 days after the one-way lock (nd49-2017).
    assert enf["next"] == {"action": "lock_two_way", "on": (first + timedelta(days=30)).isoformat()}


def test_a_line_never_in_enforcement_shows_nothing_to_come(fakes):
    fakes.seed(incomplete())
    card = run(
        fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="update"), fakes.actor("store_staff", "STORE-1")
    )
    assert card["enforcement"] == {"state": None, "notices": 0, "steps": [], "next": None}


def test_completing_a_line_at_the_counter_asks_enforcement_to_restore_it(fakes):
    line = fakes.seed(incomplete(), status="two_way_locked")
    run(
        fakes,
        counter.update_subscription,
        UpdateSubscription(NUMBER, {}, three_images()),
        fakes.actor("store_staff", "STORE-1"),
    )
    (recheck,) = fakes.rows("enforcement_recheck")
    assert (recheck["subscription_id"], recheck["channel"]) == (line.id, "counter")


def test_an_update_that_leaves_the_line_incomplete_asks_nothing(fakes):
    fakes.seed(incomplete())
    run(fakes, counter.update_subscription, UpdateSubscription(NUMBER, {}, {"portrait": three_images()["portrait"]}),
        fakes.actor("store_staff", "STORE-1"))  # fmt: skip
    assert fakes.rows("enforcement_recheck") == []


@pytest.mark.parametrize(("days_ago", "refused"), [(10, True), (179, True), (180, False)])
def test_a_number_terminated_by_enforcement_waits_its_quarantine_before_reissue(fakes, days_ago, refused):
    line = fakes.seed(incomplete(), status="terminated")
    _in_enforcement(fakes, line.id, 4, [("notify", TODAY - timedelta(days=days_ago + 60)),
                                        ("terminate", TODAY - timedelta(days=days_ago))])  # fmt: skip
    cmd = RegisterSubscription(new(NUMBER), registration_images())
    store = fakes.actor("store_staff", "STORE-1")
    if refused:
        with pytest.raises(DuplicateMsisdnError) as err:
            run(fakes, counter.register_subscription, cmd, store)
        assert [(e.field, e.code) for e in err.value.errors] == [("msisdn", "number_in_quarantine")]
    else:
        done = run(fakes, counter.register_subscription, cmd, store)
        assert done["msisdn"] == "+84901234567"
        new_line = fakes.line(NUMBER)
        assert new_line.id != line.id  # a new line with its own history
        assert new_line.generation == line.generation + 1
        card = run(fakes, counter.lookup_by_msisdn, LookUpNumber(NUMBER, purpose="update"), store)
        assert card["enforcement"]["steps"] == []  # the former holder's steps never show on the new line


def test_a_change_of_owner_with_complete_papers_asks_for_restoration_of_the_same_line(fakes):
    from subreg.services.counter.commands import ChangeOwner
    from tests.records import complete_record
    from tests.services.test_counter import BINH

    old = fakes.seed(complete_record(point_of_sale="STORE-1", holder=BINH), status="one_way_locked")
    owner = {"holder": complete_record()["holder"]}
    run(
        fakes,
        counter.change_owner,
        ChangeOwner(NUMBER, owner, registration_images()),
        fakes.actor("store_staff", "STORE-1"),
    )
    (recheck,) = fakes.rows("enforcement_recheck")
    assert recheck["subscription_id"] == old.id  # not a reissue: the line keeps its identity
