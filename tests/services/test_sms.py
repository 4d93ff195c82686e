"""The 1414 service on the fakes: answers, no enumeration, rate limits, redeliveries, audit; the outbox's order,
retries, leases and receipts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from subreg.domain.common.errors import InputError
from subreg.services.sms.inbound import Answer, receive
from subreg.services.sms.outbox import dispatch, queue, record_receipts
from subreg.services.sms.ports import InboundMessage, OutboundMessage, Receipt, SubmitOutcome
from subreg.services.sms.send import send_text
from tests.fakes import NOW, Fakes, key_of
from tests.records import complete_record, with_holder

HOLDER_ID = "079190123456"


def mo(text: str | None, sender: str = "0901234567", *, gateway_id: str | None = None, transport: str = "builtin"):
    return InboundMessage(sender, "1414", text, transport, NOW, gateway_id=gateway_id)


def answer(fakes: Fakes, *messages: InboundMessage, **options: Any) -> list[Answer]:
    return receive(list(messages), uow=fakes.uow(), ctx=fakes.sms_context(**options), now=NOW)


def text_of(a: Answer) -> str:
    (reply,) = a.replies
    return reply.text


@pytest.fixture
def seeded(fakes: Fakes) -> Fakes:
    fakes.seed(complete_record())  # 0901234567, complete
    fakes.seed(complete_record(msisdn="0901234568"))  # same holder, second line
    incomplete = with_holder(complete_record(msisdn="0912345678"), id_number="079085000111", id_issue_place=None)
    fakes.seed({**incomplete, "documents": {"id_front": "blob:f2", "id_back": "blob:b2"}})
    return fakes


class TestStatus:
    def test_a_complete_line_is_described_masked_as_the_defaults_say(self, seeded):
        (a,) = answer(seeded, mo("TTTB"))
        text = text_of(a)
        assert a.outcome == "answered"
        assert "Nguyen Thi Anh" in text
        assert "1990" in text
        assert "17/05" not in text
        assert "********3456" in text
        assert HOLDER_ID not in text
        assert "Cuc Canh sat QLHC ve TTXH" in text
        assert "day du" in text
        assert "thieu" not in text
        assert a.replies[0].encoding == "gsm7"
        assert text.isascii()

    def test_an_incomplete_line_says_exactly_what_is_missing(self, seeded):
        (a,) = answer(seeded, mo("tttb.", "0912345678"))
        text = text_of(a)
        assert "chua day du" in text
        assert "noi cap" in text
        assert "anh chan dung" in text
        assert "cua hang" in text

    def test_masking_follows_the_options(self, seeded):
        from subreg.domain.sms.replies import Masking

        masking = Masking(name="initials", birth="full", id_keep_last=2, show_issue_place=False)
        text = text_of(answer(seeded, mo("TTTB"), masking=masking)[0])
        assert "N.T.A." in text
        assert "17/05/1990" in text
        assert "**********56" in text
        assert "Cuc Canh sat" not in text

    def test_accents_are_kept_in_ucs2_when_allowed(self, seeded):
        (a,) = answer(seeded, mo("TTTB"), allow_ucs2=True)
        assert a.replies[0].encoding == "ucs2"
        assert "Nguyễn Thị Ánh" in a.replies[0].text

    def test_an_unregistered_number_is_told_so_and_the_look_up_audited(self, seeded):
        (a,) = answer(seeded, mo("TTTB", "0987654321"))
        assert a.outcome == "not_registered"
        assert "chua co thong tin" in text_of(a)
        entry = seeded.rows("audit_log")[-1]
        assert (entry["action"], entry["purpose"], entry["subject"]) == ("sms:lookup", "subscriber_self_service", None)

    def test_a_holder_who_objected_still_gets_the_answer(self, seeded):
        with seeded.uow():
            holder_id = seeded.line("0901234567").holder_id
            seeded.db.committed("holders")[holder_id]["objected"] = True
        (a,) = answer(seeded, mo("TTTB"))
        assert a.outcome == "answered"
        assert "Nguyen Thi Anh" in text_of(a)


class TestIdQuery:
    def test_a_holder_sees_every_live_line_under_the_document(self, seeded):
        (a,) = answer(seeded, mo(f"TTTB CCCD {HOLDER_ID}"))
        text = text_of(a)
        assert a.outcome == "answered"
        assert "2 thue bao" in text
        assert "0*****4567" in text
        assert "0*****4568" in text

    def test_someone_elses_id_gets_the_very_reply_of_an_unknown_id(self, seeded):
        other, unknown = answer(seeded, mo(f"TTTB {HOLDER_ID}", "0912345678"), mo("TTTB 079190999999", "0912345678"))
        assert other.outcome == "not_holder"
        assert text_of(other).replace("3456", "9999") == text_of(unknown)
        assert "4567" not in text_of(other)
        assert "Nguyen" not in text_of(other)

    def test_an_impossible_id_number_gets_the_help_text(self, seeded):
        (a,) = answer(seeded, mo("TTTB 12345"))
        assert a.outcome == "help"
        assert "TTTB" in text_of(a)


class TestBadInput:
    @pytest.mark.parametrize("text", ["HD", "", None, "x" * 1000, "xin chào", "TTTB ✓"])
    def test_anything_else_gets_the_help_text(self, seeded, text):
        (a,) = answer(seeded, mo(text))
        assert a.outcome in ("help", "answered")
        assert len(a.replies) == 1
        assert a.replies[0].segments <= 2

    def test_an_invalid_sender_is_stored_and_not_answered(self, seeded):
        (a,) = answer(seeded, mo("TTTB", "12345"))
        assert (a.outcome, a.replies) == ("invalid_sender", ())
        (row,) = seeded.rows("sms_inbound")
        assert (row["state"], row["sender"]) == ("invalid_sender", None)
        assert seeded.rows("sms_outbox") == []

    def test_a_redelivered_mo_is_answered_once(self, seeded):
        first, again = answer(seeded, mo("TTTB", gateway_id="k-1"), mo("TTTB", gateway_id="k-1"))
        assert (first.outcome, again.outcome) == ("answered", "duplicate")
        assert len(seeded.rows("sms_inbound")) == 1
        assert len(seeded.rows("sms_outbox")) == 1

    def test_texts_are_sealed_at_rest(self, seeded):
        answer(seeded, mo(f"TTTB {HOLDER_ID}"))
        stored = str(seeded.rows("sms_inbound") + seeded.rows("sms_outbox") + seeded.rows("audit_log"))
        assert HOLDER_ID not in stored
        assert "TTTB" not in stored
        assert "Nguyen" not in stored


class TestRateLimit:
    def test_over_the_limit_one_polite_refusal_then_silence_until_the_window_ends(self, seeded):
        ctx = seeded.sms_context(rate_limit=3)
        outcomes = [receive([mo("TTTB")], uow=seeded.uow(), ctx=ctx, now=NOW)[0] for _ in range(5)]
        assert [a.outcome for a in outcomes] == ["answered"] * 3 + ["rate_limited", "dropped"]
        assert "qua nhieu" in text_of(outcomes[3])
        assert outcomes[4].replies == ()
        later = receive([mo("TTTB")], uow=seeded.uow(), ctx=ctx, now=NOW + timedelta(hours=1))[0]
        assert later.outcome == "answered"

    def test_the_limit_is_per_sender(self, seeded):
        ctx = seeded.sms_context(rate_limit=1)
        a, b = (receive([mo("TTTB", n)], uow=seeded.uow(), ctx=ctx, now=NOW)[0] for n in ("0901234567", "0912345678"))
        assert (a.outcome, b.outcome) == ("answered", "answered")


class FakeTransport:
    """Answers submits from a script of outcomes; records what was submitted."""

    name = "fake"

    def __init__(self, *outcomes: SubmitOutcome) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[OutboundMessage] = []

    def submit(self, message: OutboundMessage) -> SubmitOutcome:
        self.sent.append(message)
        if self.outcomes:
            return self.outcomes.pop(0)
        return SubmitOutcome("accepted", tuple(f"m{message.id}.{n}" for n in range(1, len(message.parts) + 1)))

    def close(self) -> None:
        pass


def run_dispatch(fakes: Fakes, transport: FakeTransport, *, at=NOW, **options: Any):
    ctx = fakes.sms_context(**options)
    return dispatch(uow_factory=fakes.uow, transport=transport, vault=fakes.vault, options=ctx.options,
                    now=lambda: at)  # fmt: skip


def queue_text(fakes: Fakes, text: str, kind: str, to: str = "0901234567") -> int:
    ctx = fakes.sms_context()
    with fakes.uow() as uow:
        queued = queue(key_of(to), text, kind=kind, uow=uow, vault=fakes.vault, options=ctx.options, now=NOW)
        uow.commit()
    return queued.outbox_id


class TestOutbox:
    def test_replies_go_ahead_of_campaign_traffic(self, seeded):
        campaign = queue_text(seeded, "Moi cap nhat thong tin", "campaign")
        answer(seeded, mo("TTTB"))
        transport = FakeTransport()
        counts = run_dispatch(seeded, transport)
        assert counts.accepted == 2
        assert [m.id for m in transport.sent][-1] == campaign

    def test_a_long_text_goes_as_parts_with_their_udh(self, seeded):
        outbox_id = queue_text(seeded, "x" * 400, "manual")
        transport = FakeTransport()
        run_dispatch(seeded, transport)
        (message,) = transport.sent
        assert len(message.parts) == 3
        assert [p.udh for p in message.parts] == [bytes([5, 0, 3, outbox_id & 0xFF, 3, n]) for n in (1, 2, 3)]
        assert "".join(p.text for p in message.parts) == "x" * 400

    def test_a_throttled_submit_is_retried_later_and_given_up_after_the_attempts(self, seeded):
        outbox_id = queue_text(seeded, "hello", "manual")
        retry = SubmitOutcome("retry", error="ESME_RTHROTTLED")
        transport = FakeTransport(retry, retry)
        assert run_dispatch(seeded, transport, max_attempts=2).retried == 1
        row = next(r for r in seeded.rows("sms_outbox") if r["id"] == outbox_id)
        assert (row["state"], row["attempts"], row["last_error"]) == ("pending", 1, "ESME_RTHROTTLED")
        assert row["next_attempt_at"] == NOW + timedelta(seconds=5)
        assert run_dispatch(seeded, transport, max_attempts=2).claimed == 0  # not due yet
        assert run_dispatch(seeded, transport, at=NOW + timedelta(seconds=6), max_attempts=2).rejected == 1
        row = next(r for r in seeded.rows("sms_outbox") if r["id"] == outbox_id)
        assert (row["state"], row["attempts"]) == ("rejected", 2)

    def test_a_row_claimed_by_a_dispatcher_that_died_is_taken_again_after_the_lease(self, seeded):
        queue_text(seeded, "hello", "manual")
        ctx = seeded.sms_context()
        with seeded.uow() as uow:
            assert len(uow.outbox.claim(now=NOW, lease_until=NOW + timedelta(seconds=60), limit=10)) == 1
            uow.commit()
        assert run_dispatch(seeded, FakeTransport()).claimed == 0
        assert run_dispatch(seeded, FakeTransport(), at=NOW + timedelta(seconds=61)).accepted == 1
        assert ctx.options.lease == timedelta(seconds=60)

    def test_receipts_settle_a_message_when_every_part_has_one(self, seeded):
        outbox_id = queue_text(seeded, "y" * 200, "manual")
        run_dispatch(seeded, FakeTransport())
        first = Receipt("fake", f"m{outbox_id}.1", "delivered", NOW)
        assert record_receipts([first], uow=seeded.uow()) == []
        assert next(r for r in seeded.rows("sms_outbox") if r["id"] == outbox_id)["state"] == "accepted"
        unknown = Receipt("fake", "nobody", "delivered", NOW)
        second = Receipt("fake", f"m{outbox_id}.2", "delivered", NOW)
        assert record_receipts([second, unknown], uow=seeded.uow()) == [unknown]
        assert next(r for r in seeded.rows("sms_outbox") if r["id"] == outbox_id)["state"] == "delivered"

    def test_a_failed_part_fails_the_message(self, seeded):
        outbox_id = queue_text(seeded, "z" * 200, "manual")
        run_dispatch(seeded, FakeTransport())
        receipts = [
            Receipt("fake", f"m{outbox_id}.1", "delivered", NOW),
            Receipt("fake", f"m{outbox_id}.2", "expired", NOW),
        ]
        record_receipts(receipts, uow=seeded.uow())
        assert next(r for r in seeded.rows("sms_outbox") if r["id"] == outbox_id)["state"] == "failed"

    def test_simulated_replies_are_never_sent(self, seeded):
        receive([mo("TTTB")], uow=seeded.uow(), ctx=seeded.sms_context(), now=NOW, simulated=True)
        assert run_dispatch(seeded, FakeTransport()).claimed == 0
        assert seeded.rows("sms_outbox")[0]["state"] == "simulated"


class TestSend:
    def test_a_text_is_queued_and_audited(self, seeded):
        queued = send_text(
            "0901 234 567", "Xin chào bạn", uow=seeded.uow(), ctx=seeded.sms_context(), now=NOW, actor=None
        )
        assert (queued.text, queued.encoding, queued.segments) == ("Xin chao ban", "gsm7", 1)
        assert seeded.audit_actions()[-1] == "sms:sent"

    @pytest.mark.parametrize(("to", "text", "field"), [("123", "hi", "to"), ("0901234567", "  ", "text"),
                                                        ("0901234567", "a" * 2000, "text")])  # fmt: skip
    def test_bad_input_names_the_field_and_queues_nothing(self, seeded, to, text, field):
        with pytest.raises(InputError) as caught:
            send_text(to, text, uow=seeded.uow(), ctx=seeded.sms_context(), now=NOW, actor=None)
        assert caught.value.errors[0].field == field
        assert seeded.rows("sms_outbox") == []


class Exploding(FakeTransport):
    """Raises on the submit of one outbox row (a transport bug), accepts the others."""

    def __init__(self, bad: int) -> None:
        super().__init__()
        self.bad = bad

    def submit(self, message: OutboundMessage) -> SubmitOutcome:
        if message.id == self.bad:
            raise RuntimeError("transport bug")
        return super().submit(message)


class TestDispatchFaults:
    def test_a_row_whose_submit_raises_is_retried_and_the_others_go_on(self, seeded):
        bad, good = queue_text(seeded, "one", "manual"), queue_text(seeded, "two", "manual")
        counts = run_dispatch(seeded, Exploding(bad))
        assert (counts.accepted, counts.retried) == (1, 1)
        states = {r["id"]: (r["state"], r["last_error"]) for r in seeded.rows("sms_outbox")}
        assert states == {bad: ("pending", "submit_failed"), good: ("accepted", None)}

    def test_a_row_whose_key_was_shredded_is_given_up(self, seeded):
        outbox_id = queue_text(seeded, "one", "manual")
        seeded.db.committed("sms_outbox")[outbox_id]["wrapped_dek"] = None
        assert run_dispatch(seeded, FakeTransport()).rejected == 1
        assert seeded.rows("sms_outbox")[0]["last_error"] == "unreadable"

    def test_a_resubmission_with_new_ids_replaces_the_earlier_ones(self, seeded):
        outbox_id = queue_text(seeded, "y" * 200, "manual")
        run_dispatch(seeded, FakeTransport(SubmitOutcome("accepted", ("a1", "a2"))))
        with seeded.uow() as uow:
            uow.outbox.settle(outbox_id, {"state": "pending", "next_attempt_at": NOW})
            uow.commit()
        run_dispatch(seeded, FakeTransport(SubmitOutcome("accepted", ("b1", "b2"))))
        receipts = [Receipt("fake", "b1", "delivered", NOW), Receipt("fake", "b2", "delivered", NOW)]
        assert record_receipts(receipts, uow=seeded.uow()) == []
        assert seeded.rows("sms_outbox")[0]["state"] == "delivered"
        assert sorted(r["message_id"] for r in seeded.rows("sms_submits")) == ["fake:b1", "fake:b2"]

    def test_an_overlong_gateway_id_is_cut_not_refused(self, seeded):
        (a,) = answer(seeded, mo("TTTB", gateway_id="g" * 300, transport="kannel:" + "x" * 100))
        assert a.outcome == "answered"
        assert len(seeded.rows("sms_inbound")[0]["gateway_id"]) == 96
