"""The SMS channel on real storage (SQLite and PostgreSQL) through a `Container`: 1414 look-ups stored,
answered, audited and queued; the outbox carried out by the built-in centre and settled by its receipts;
the rate limit across batches; group commit under concurrency, where one bad message fails alone."""

from __future__ import annotations

import dataclasses
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from subreg.adapters.db.tables import audit_log, metadata, sms_inbound, sms_outbox, sms_senders
from subreg.bootstrap import Container, bootstrap, init_storage
from subreg.config import Settings
from subreg.domain.common.msisdn import msisdn_key, parse_msisdn
from subreg.domain.common.text import fold
from subreg.services.sms.batching import MoBatcher
from subreg.services.sms.inbound import receive
from subreg.services.sms.outbox import dispatch, record_receipts
from subreg.services.sms.ports import InboundMessage
from subreg.services.sms.sealing import open_text
from tests.integration.test_shredding import store
from tests.records import complete_record, with_holder

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
OWNER, OWNER_2ND, OTHER, UNKNOWN = "0901234567", "0901234568", "0912000111", "0987654321"
ID_NUMBER, OTHER_ID = "079190123456", "001085004321"
NAME, OTHER_NAME = "Nguyễn Thị Ánh", "Trần Văn Bình"
SMS_TABLES = ("sms_inbound", "sms_outbox", "sms_submits", "sms_senders", "sms_centre")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(env="test", var_dir=tmp_path / "var", database_url=database_url, sms_rate_limit=3)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    init_storage(settings)
    built = bootstrap(settings)
    yield built
    built.close()


def key(number: str) -> int:
    e164 = parse_msisdn(number)
    assert e164 is not None
    return msisdn_key(e164)


def seed(container: Container) -> None:
    store(container, complete_record(msisdn=OWNER))
    store(container, complete_record(msisdn=OWNER_2ND))
    store(container, with_holder(complete_record(msisdn=OTHER), full_name=OTHER_NAME, id_number=OTHER_ID,
                                 date_of_birth="1985-01-04"))  # fmt: skip


def mo(sender: str, text: str | None, gateway_id: str | None, at: datetime = T0, **changes: Any) -> InboundMessage:
    return InboundMessage(sender=sender, recipient="1414", text=text, transport="smpp:main", received_at=at,
                          gateway_id=gateway_id, **changes)  # fmt: skip


def rows(container: Container, table: str) -> list[dict[str, Any]]:
    t = metadata.tables[table]
    key_column = t.c.id if "id" in t.c else t.primary_key.columns.values()[0]
    with container.engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(t).order_by(key_column))]


def lookups(container: Container) -> list[Mapping[str, Any]]:
    with container.engine.connect() as c:
        found = c.execute(select(audit_log).where(audit_log.c.action == "sms:lookup").order_by(audit_log.c.seq))
        return [dict(r._mapping) for r in found]


def reply_text(container: Container, row: Mapping[str, Any]) -> str:
    return str(open_text(container.vault, row["kek_id"], row["wrapped_dek"], bytes(row["payload"]), table="outbox"))


def needles() -> list[bytes]:
    out: list[bytes] = []
    for text in (NAME, OTHER_NAME, "Nguyen Thi", "Tran Van", ID_NUMBER, OTHER_ID):
        for form in {text, fold(text), unicodedata.normalize("NFD", text), text.upper(), fold(text).upper()}:
            out += [form.encode(), form.encode("utf-16-le")]
    return out


def receive_now(container: Container, messages: list[InboundMessage], now: datetime = T0) -> list[Any]:
    return receive(messages, uow=container.uow(), ctx=container.sms_context(), now=now)


class TestLookups:
    def test_a_batch_is_stored_answered_audited_and_queued_with_nothing_personal_in_clear(self, container):
        seed(container)
        answers = receive_now(container, [
            mo(OWNER, "TTTB", "g1"),
            mo("+84" + OWNER[1:], f"TTTB {ID_NUMBER}", "g2"),
            mo(OTHER, f"tttb {ID_NUMBER}", "g3"),
            mo(UNKNOWN, "TTTB", "g4"),
            mo(OWNER, "TTTB", "g1"),  # the gateway offers g1 again in the same batch
            mo(OTHER, None, "g5", coding="binary"),
            mo("not-a-number", "TTTB", "g6"),
        ])  # fmt: skip
        again = receive_now(container, [mo(OWNER, "TTTB", "g1")])  # and once more, in a later batch
        assert [a.outcome for a in answers] == [
            "answered", "answered", "not_holder", "not_registered", "duplicate", "help", "invalid_sender"
        ]  # fmt: skip
        assert [(a.outcome, a.inbound_id, a.replies) for a in again] == [("duplicate", None, ())]
        assert [len(a.replies) for a in answers] == [1, 1, 1, 1, 0, 1, 0]

        inbound = rows(container, "sms_inbound")
        assert [r["gateway_id"] for r in inbound] == ["g1", "g2", "g3", "g4", "g5", "g6"]
        assert [r["id"] for r in inbound] == [a.inbound_id for a in answers if a.inbound_id is not None]
        assert [r["sender"] for r in inbound] == [key(OWNER), key(OWNER), key(OTHER), key(UNKNOWN), key(OTHER), None]
        assert [r["state"] for r in inbound] == ["answered"] * 5 + ["invalid_sender"]
        assert inbound[4]["coding"] == "binary"
        first = open_text(container.vault, inbound[1]["kek_id"], inbound[1]["wrapped_dek"],
                          bytes(inbound[1]["payload"]), table="inbound")  # fmt: skip
        assert first == {"sender": "+84" + OWNER[1:], "text": f"TTTB {ID_NUMBER}"}

        outbox = rows(container, "sms_outbox")
        assert [(r["inbound_id"], r["priority"], r["kind"], r["state"], r["sender"]) for r in outbox] == [
            (inbound[i]["id"], 0, "reply", "pending", "1414") for i in range(5)
        ]
        assert [r["recipient"] for r in outbox] == [key(OWNER), key(OWNER), key(OTHER), key(UNKNOWN), key(OTHER)]
        texts = [reply_text(container, r) for r in outbox]
        assert texts == [a.replies[0].text for a in answers if a.replies]
        assert "3456" in texts[0]
        assert "Nguyen Thi Anh" in texts[0]
        assert "4567" in texts[1]
        assert "4568" in texts[1]
        assert "4568" not in texts[2]
        assert "3456" in texts[2]
        # The reply to another's ID is the reply to an ID nobody holds, but for the digits typed (no enumeration).
        assert texts[2] == receive_now(container, [mo(UNKNOWN, "TTTB 079190999999", "g7")])[0].replies[0].text.replace(
            "9999", "3456"
        )
        assert "chua co thong tin dang ky" in texts[3]

        audit = lookups(container)  # the four above, and g7 just now
        assert [orjson.loads(e["details"])["outcome"] for e in audit] == [
            "answered", "answered", "not_holder", "not_registered", "not_holder"
        ]  # fmt: skip
        assert {e["purpose"] for e in audit} == {"subscriber_self_service"}
        assert {orjson.loads(e["details"])["channel"] for e in audit} == {"smpp:main"}
        assert [orjson.loads(e["details"])["inbound_id"] for e in audit[:4]] == [r["id"] for r in inbound[:4]]
        assert audit[0]["subject"].startswith("line:")
        assert audit[1]["subject"].startswith("holder:")
        assert [e["actor_staff_id"] for e in audit] == [None] * 5

        for table in (*SMS_TABLES, "audit_log"):
            for row in rows(container, table):
                for value in row.values():
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                    assert not [n for n in needles() if n in raw], (table, row)

    def test_the_centre_delivers_once_and_its_receipts_settle_the_outbox(self, container):
        seed(container)
        receive_now(container, [mo(OWNER, "TTTB", "g1"), mo(UNKNOWN, "TTTB", "g2"), mo(OTHER, "TTTB", "g3")])
        centre, ctx = container.sms_centre(), container.sms_context()
        clock = [T0]

        def send() -> Any:
            return dispatch(uow_factory=container.uow, transport=centre, vault=ctx.vault, options=ctx.options,
                            now=lambda: clock[0])  # fmt: skip

        counts = send()
        assert (counts.claimed, counts.accepted, counts.retried, counts.rejected) == (3, 3, 0, 0)
        assert [r["state"] for r in rows(container, "sms_outbox")] == ["accepted"] * 3
        assert send().claimed == 0
        assert record_receipts(centre.take_receipts(), uow=container.uow()) == []
        outbox = rows(container, "sms_outbox")
        assert [(r["state"], r["attempts"], r["transport"]) for r in outbox] == [("delivered", 1, "builtin")] * 3
        assert all(r["final_at"] is not None for r in outbox)
        submits = rows(container, "sms_submits")
        assert sorted((r["outbox_id"], r["part"], r["state"]) for r in submits) == [
            (r["id"], part, "delivered") for r in outbox for part in range(1, r["part_count"] + 1)
        ]
        assert len(rows(container, "sms_centre")) == len(submits) == sum(r["part_count"] for r in outbox) > 3
        owner_inbox = centre.inbox(key(OWNER))
        assert [m.text for m in owner_inbox] == [reply_text(container, outbox[0])]
        assert owner_inbox[0].sender == "1414"

        # The answer to a submit was lost: the row is pending again and submitted a second time.
        with container.uow() as uow:
            uow.lock_for_write()
            uow.outbox.settle(outbox[0]["id"], {"state": "pending", "next_attempt_at": T0, "final_at": None})
            uow.commit()
        clock[0] = T0 + timedelta(seconds=1)
        assert send().accepted == 1
        assert record_receipts(centre.take_receipts(), uow=container.uow()) == []
        assert len(centre.inbox(key(OWNER))) == 1
        assert [r["reference"] for r in rows(container, "sms_centre")].count(f"{outbox[0]['id']}.1") == 1
        assert len(rows(container, "sms_centre")) == len(submits)
        resent = rows(container, "sms_outbox")[0]
        assert (resent["state"], resent["attempts"]) == ("delivered", 2)
        assert len(rows(container, "sms_submits")) == len(submits)

    def test_a_sender_gets_three_answers_then_one_refusal_then_nothing(self, container):
        seed(container)
        answers = [
            receive_now(container, [mo(OWNER, "TTTB", f"g{n}")], now=T0 + timedelta(minutes=n))[0] for n in range(6)
        ]
        assert [a.outcome for a in answers] == ["answered"] * 3 + ["rate_limited", "dropped", "dropped"]
        assert [len(a.replies) for a in answers] == [1, 1, 1, 1, 0, 0]
        assert [r["state"] for r in rows(container, "sms_inbound")] == ["answered"] * 3 + ["rate_limited"] + [
            "dropped"
        ] * 2
        assert len(rows(container, "sms_outbox")) == 4
        assert len(lookups(container)) == 3  # the refusal and the dropped read nothing
        (window,) = rows(container, "sms_senders")
        assert (window["sender"], window["count"], bool(window["refused"])) == (key(OWNER), 6, True)
        # A new window: answered again.
        later = receive_now(container, [mo(OWNER, "TTTB", "g9")], now=T0 + timedelta(hours=1, minutes=1))
        assert later[0].outcome == "answered"


class TestGroupCommit:
    def test_eight_threads_of_fifty_are_all_committed_and_answered(self, container):
        batcher = MoBatcher(container.uow, container.sms_context(), lambda: T0, max_batch=64)
        results: dict[int, list[Any]] = {}
        errors: list[BaseException] = []

        def caller(n: int) -> None:
            try:
                results[n] = [batcher.answer(mo(f"09{n:02d}{i:06d}", "TTTB", f"t{n}-{i}")) for i in range(50)]
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        batcher.close()
        assert errors == []
        answers = [a for n in range(8) for a in results[n]]
        assert len(answers) == 400
        assert {a.outcome for a in answers} == {"not_registered"}
        assert all(len(a.replies) == 1 for a in answers)
        assert len({a.inbound_id for a in answers}) == 400
        with container.engine.connect() as c:
            counted = [c.execute(select(func.count()).select_from(t)).scalar_one()
                       for t in (sms_inbound, sms_outbox, sms_senders)]  # fmt: skip
        assert counted == [400, 400, 400]
        assert len(lookups(container)) == 400
        by_id = {r["inbound_id"]: r for r in rows(container, "sms_outbox")}
        assert all(by_id[a.inbound_id]["id"] == a.replies[0].outbox_id for a in answers)
        # Batches append many entries under one read of the chain's head: the chain still verifies.
        from subreg.services.privacy.audit_log import verify

        with container.uow() as uow:
            report = verify(uow)
        assert (report.ok, report.checked) == (True, 400)

    def test_one_message_that_fails_fails_alone(self, container):
        seed(container)
        ctx = container.sms_context()

        class Exploding:
            def render(self, name: str, lang: str, context: Mapping[str, Any]) -> str:
                if name == "help":
                    raise RuntimeError("template broken")
                return ctx.templates.render(name, lang, context)

        units = []

        def uow() -> Any:
            units.append(container.uow())
            return units[-1]

        batcher = MoBatcher(uow, dataclasses.replace(ctx, templates=Exploding()), lambda: T0, max_batch=10,
                            max_wait=0.5)  # fmt: skip
        senders = [f"0977{n:06d}" for n in range(9)] + [OWNER]
        texts = ["TTTB"] * 4 + ["HELLO"] + ["TTTB"] * 5
        start = threading.Barrier(10)
        results: dict[int, Any] = {}

        def caller(n: int) -> None:
            start.wait()
            try:
                results[n] = batcher.answer(mo(senders[n], texts[n], f"b{n}"))
            except Exception as exc:
                results[n] = exc

        threads = [threading.Thread(target=caller, args=(n,)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        batcher.close()
        assert len(units) == 11  # the batch of ten failed, then each was answered alone
        assert isinstance(results[4], RuntimeError)
        assert [results[n].outcome for n in range(10) if n != 4] == ["not_registered"] * 8 + ["answered"]
        inbound = rows(container, "sms_inbound")
        assert sorted(r["gateway_id"] for r in inbound) == sorted(f"b{n}" for n in range(10) if n != 4)
        assert len(rows(container, "sms_outbox")) == 9
        assert len(lookups(container)) == 9
        assert key(senders[4]) not in {r["sender"] for r in rows(container, "sms_senders")}
