"""A subscription is a line: a number terminated and reclaimed is issued again as a NEW line, and the old line
keeps its history, documents and audit entries (SQLite and PostgreSQL). The 0006 migration turns a base keyed
by number into lines without rewriting the child rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from subreg.adapters.db.engine import create_engine_for, migrate
from subreg.adapters.db.tables import (
    audit_log,
    counter_transactions,
    documents,
    holders,
    subscription_history,
    subscriptions,
)
from subreg.domain.counter.gate import NewOwnerPapersRequiredError, UpdateRequiredError
from subreg.services import counter, registry
from subreg.services.common.ports import AuditFilter
from subreg.services.counter.commands import (
    ChangeOwner,
    LookUpNumber,
    PayBill,
    RegisterSubscription,
    Transact,
    UpdateSubscription,
)
from subreg.services.privacy import audit_log as audit
from tests.fixtures.images import registration_images
from tests.integration.test_pos_service import _holder as card_holder
from tests.integration.test_pos_service import actor, ctx
from tests.integration.test_shredding import jpeg
from tests.records import complete_record

NUMBER = 84901234567


def _store(container: Any, record: dict[str, Any]) -> None:
    with container.uow() as uow:
        registry.store_subscription(
            record, uow=uow, vault=container.vault, blobs=container.blobs, as_of=date(2026, 11, 28), actor=None,
            channel="legacy_import", rule_set=container.rule_set,
        )  # fmt: skip
        uow.commit()


def _new_holder() -> dict[str, Any]:
    return {
        "full_name": "Trần Văn Bình",
        "date_of_birth": "1985-02-03",
        "id_type": "cccd",
        "id_number": "001085123456",
        "id_issue_date": "2021-04-10",
        "id_issue_place": "Cục Cảnh sát QLHC về TTXH",
    }


def _rows(container: Any, query: Any) -> list[Any]:
    with container.engine.connect() as c:
        return list(c.execute(query))


class TestReissue:
    def test_a_reclaimed_number_is_registered_as_a_new_line_and_the_old_one_keeps_its_past(self, container):
        # The first holder had the number until it was terminated; the new one shows the card of the images.
        _store(container, complete_record(point_of_sale="STORE-1", holder=_new_holder()))
        _store(container, complete_record(point_of_sale="STORE-1", holder=_new_holder(), status="terminated"))
        store = actor(container, "store_staff", "STORE-1", "store")
        record = {"msisdn": "0901234567", "subscriber_type": "individual", "payment_type": "prepaid"}
        done = counter.register_subscription(
            RegisterSubscription({**record, "holder": card_holder()}, registration_images()),
            uow=container.uow(), ctx=ctx(container), actor=store,
        )  # fmt: skip
        assert done["complete"] is True
        lines = _rows(container, select(subscriptions).order_by(subscriptions.c.generation))
        assert [(r.msisdn, r.generation, r.status) for r in lines] == [
            (NUMBER, 1, "terminated"),
            (NUMBER, 2, "active"),
        ]
        old, new = lines
        assert old.id != new.id
        assert old.holder_id != new.holder_id
        history = _rows(container, select(subscription_history))
        assert {h.subscription_id for h in history if h.action == "created"} == {old.id, new.id}
        created, terminated = [h for h in history if h.subscription_id == old.id]
        assert created.action == "created"
        assert "status" in terminated.changes
        docs = _rows(container, select(documents))
        assert {d.subscription_id for d in docs if d.blob_key} == {new.id}  # the new holder's photos
        assert {d.subscription_id for d in docs if d.external_ref} == {old.id}  # the old line's papers stay
        # The counter now shows the new holder; the audit trail names the line, not the number.
        card = counter.lookup_by_msisdn(
            LookUpNumber("0901234567", "transaction"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert card["holder"]["full_name"].startswith("N")  # masked, but the new holder's initial
        subjects = {r.subject for r in _rows(container, select(audit_log)) if r.action == "subscription:read"}
        assert subjects == {f"line:{new.id}"}

    def test_a_live_number_is_not_registered_twice(self, container):
        _store(container, complete_record(point_of_sale="STORE-1"))
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(Exception, match="msisdn taken"):
            counter.register_subscription(
                RegisterSubscription({"msisdn": "0901234567", "holder": _new_holder()}, registration_images()),
                uow=container.uow(), ctx=ctx(container), actor=store,
            )  # fmt: skip

    def test_an_audit_query_by_number_finds_every_line_it_has_had(self, container):
        _store(container, complete_record(point_of_sale="STORE-1"))
        store = actor(container, "store_staff", "STORE-1", "store")
        counter.lookup_by_msisdn(LookUpNumber("0901234567", "transaction"), uow=container.uow(), ctx=ctx(container),
                                 actor=store)  # fmt: skip
        _store(container, complete_record(point_of_sale="STORE-1", status="terminated"))
        _store(container, complete_record(point_of_sale="STORE-1", holder=_new_holder()))  # reissued
        counter.lookup_by_msisdn(LookUpNumber("0901234567", "transaction"), uow=container.uow(), ctx=ctx(container),
                                 actor=store)  # fmt: skip
        with container.uow() as uow:
            subjects = audit.subjects_of_number(uow, container.vault, "+84901234567")
            found = audit.query(uow, actor=None, criteria=AuditFilter(subjects=subjects, action="subscription:read"))
        assert len({e.subject for e in found}) == 2


class TestTermination:
    """A line stored again as terminated (a termination through the writer, an update at the counter) stays its
    holder's: the holder is found by the ID document even though a terminated line no longer counts under it."""

    def test_the_line_keeps_its_holder_and_its_images_still_open(self, container):
        portrait = jpeg()
        with container.uow() as uow:
            registry.store_subscription(
                complete_record(), uow=uow, vault=container.vault, blobs=container.blobs, as_of=date(2026, 11, 28),
                actor=None, channel="store", rule_set=container.rule_set, images={"portrait": portrait},
            )  # fmt: skip
            uow.commit()
        _store(container, complete_record(status="terminated"))
        with container.uow() as uow:
            (line,) = uow.subscriptions.lines_of(NUMBER)
            under_document = uow.holders.find_by_blind(container.vault.blind("079190123456"))
            (doc,) = [d for d in uow.documents.list_for(line.id) if d.blob_key]
            _, data = registry.read_document(doc.id, uow=uow, vault=container.vault, blobs=container.blobs)
        assert line.status == "terminated"
        assert [h.id for h in under_document] == [line.holder_id]
        assert data == portrait
        assert len(_rows(container, select(holders))) == 1


def test_an_import_of_a_reissued_number_adds_a_line(container, tmp_path):
    from subreg.adapters.files.records_io import write_jsonl
    from tests.integration.test_import import do_import

    path = tmp_path / "base.jsonl"
    for record in (complete_record(), complete_record(status="terminated"), complete_record(holder=_new_holder())):
        with path.open("wb") as f:
            write_jsonl([record], f)
        do_import(container, path)
    lines = _rows(container, select(subscriptions.c.generation, subscriptions.c.status).order_by("generation"))
    assert [tuple(r) for r in lines] == [(1, "terminated"), (2, "active")]


class TestMigration:
    """A base migrated from revision 0005 (keyed by number) keeps every row, reachable by its line."""

    @pytest.fixture
    def old_engine(self, database_url):
        engine = create_engine_for(database_url)
        migrate(engine, revision="0005_document_blob_key")
        yield engine
        engine.dispose()

    def test_lines_take_their_number_as_id_and_the_children_follow(self, old_engine):
        with old_engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO key_encryption_keys (id, wrapped_key, master_key_id, purpose) "
                    "VALUES (1, :w, 'm', 'data')"
                ),
                {"w": b"k"},
            )
            c.execute(
                text("INSERT INTO holders (id, kind, aad_ref, kek_id, payload) VALUES (1, 'person', :a, 1, :p)"),
                {"a": b"a" * 16, "p": b"p"},
            )
            c.execute(text(
                "INSERT INTO subscriptions (msisdn, holder_id, status, complete, rule_set, evaluated_on) "
                "VALUES (84901234567, 1, 'active', false, 'nd49-2017', '2018-04-24')"
            ))  # fmt: skip
            c.execute(text("INSERT INTO documents (msisdn, kind, external_ref) VALUES (84901234567, 'portrait', 'x')"))
            c.execute(
                text("INSERT INTO subscription_history (msisdn, action, changes) VALUES (84901234567, 'created', '{}')")
            )
            c.execute(text("INSERT INTO network_orders (msisdn, action, reason) VALUES (84901234567, 'unlock', 'r')"))
        migrate(old_engine)
        with old_engine.begin() as c:
            line = c.execute(text("SELECT id, msisdn, generation FROM subscriptions")).one()
            assert tuple(line) == (84901234567, 84901234567, 1)
            assert c.execute(text("SELECT subscription_id FROM documents")).scalar_one() == line.id
            assert c.execute(text("SELECT subscription_id FROM subscription_history")).scalar_one() == line.id
            assert c.execute(text("SELECT subscription_id FROM network_orders")).scalar_one() == line.id
            # A new line takes an id no migrated line can have, and the documents' foreign key holds.
            c.execute(text(
                "INSERT INTO subscriptions (msisdn, generation, holder_id, status, complete, rule_set, evaluated_on) "
                "VALUES (84901234568, 1, 1, 'active', false, 'nd49-2017', '2018-04-24')"
            ))  # fmt: skip
            new_id = c.execute(text("SELECT id FROM subscriptions WHERE msisdn = 84901234568")).scalar_one()
            assert new_id > line.id
        with pytest.raises(Exception, match=r"(?i)foreign key"), old_engine.begin() as c:
            c.execute(text("INSERT INTO documents (subscription_id, kind) VALUES (42, 'portrait')"))


class TestChangeOfOwner:
    def test_a_new_owner_with_complete_papers_takes_the_line_over(self, container):
        _store(container, complete_record(point_of_sale="STORE-1", holder=_new_holder()))
        store = actor(container, "store_staff", "STORE-1", "store")
        done = counter.change_owner(
            ChangeOwner("0901234567", {"holder": card_holder()}, registration_images()),
            uow=container.uow(), ctx=ctx(container), actor=store,
        )  # fmt: skip
        assert done["complete"] is True
        (line,) = _rows(container, select(subscriptions))
        assert line.generation == 1  # the same line, a new holder
        card = counter.lookup_by_msisdn(
            LookUpNumber("0901234567", "transaction"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert card["holder"]["full_name"].startswith("N")
        kinds = [r.kind for r in _rows(container, select(counter_transactions))]
        assert kinds == ["change_owner"]

    def test_without_the_new_owners_papers_nothing_changes(self, container):
        _store(container, complete_record(point_of_sale="STORE-1", holder=_new_holder()))
        store = actor(container, "store_staff", "STORE-1", "store")
        before = _rows(container, select(subscriptions))
        with pytest.raises(NewOwnerPapersRequiredError) as refused:
            counter.change_owner(
                ChangeOwner("0901234567", {"holder": card_holder()}, {}),
                uow=container.uow(), ctx=ctx(container), actor=store,
            )  # fmt: skip
        assert "documents.portrait" in refused.value.missing
        assert _rows(container, select(subscriptions)) == before
        # The gate refuses the bare transaction too: the papers are what decides.
        with pytest.raises(NewOwnerPapersRequiredError):
            counter.transact(
                Transact("0901234567", "change_owner"), uow=container.uow(), ctx=ctx(container), actor=store
            )


class TestTheGateOnStoredLines:
    def test_a_line_needing_its_contract_is_refused_but_payment_termination_and_the_update_go_through(self, container):
        for n in range(4):
            _store(container, complete_record(msisdn=f"090123456{n}", point_of_sale="STORE-1",
                                              activated_on=f"2016-03-0{n + 1}"))  # fmt: skip
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(UpdateRequiredError) as refused:
            counter.transact(Transact("0901234563", "sim_replacement"), uow=container.uow(), ctx=ctx(container),
                             actor=store)  # fmt: skip
        assert "contract_number" in refused.value.missing
        paid = counter.pay_bill(PayBill("0901234563", 10_000), uow=container.uow(), ctx=ctx(container), actor=store)
        assert paid["update_offered"] is True
        # An update without the contract yet is stored (papers in steps); the contract stays missing.
        done = counter.update_subscription(
            UpdateSubscription("0901234563", {"payment_type": "postpaid"}), uow=container.uow(), ctx=ctx(container),
            actor=store,
        )  # fmt: skip
        assert "contract_number" in done["missing"]
        ended = counter.transact(
            Transact("0901234563", "termination"), uow=container.uow(), ctx=ctx(container), actor=store
        )
        assert ended["outcome"] == "done"

    def test_a_verdict_past_its_date_is_checked_again_before_the_gate_answers(self, container):
        record = complete_record(point_of_sale="STORE-1")
        record["holder"] = {**record["holder"], "id_expiry_date": "2026-12-01"}
        with container.uow() as uow:  # stored while the card was valid
            registry.store_subscription(
                record, uow=uow, vault=container.vault, blobs=container.blobs, as_of=date(2026, 11, 1), actor=None,
                channel="legacy_import", rule_set=container.rule_set,
            )  # fmt: skip
            uow.commit()
        assert _rows(container, select(subscriptions))[0].complete
        store = actor(container, "store_staff", "STORE-1", "store")
        with pytest.raises(UpdateRequiredError) as refused:  # the counter's today is 2026-11-28: not yet...
            counter.transact(Transact("0901234567", "sim_replacement"), uow=container.uow(),
                             ctx=ctx(container, datetime(2026, 12, 2, 3, tzinfo=UTC)), actor=store)  # fmt: skip
        assert "holder.id_expiry_date" in refused.value.missing or refused.value.errors
        (line,) = _rows(container, select(subscriptions))
        assert not line.complete
        assert "id_expired" in line.error_codes
