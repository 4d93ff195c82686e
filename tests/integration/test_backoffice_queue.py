"""The back-office work queue on SQLite and PostgreSQL: filling, claiming under concurrency, reading the
scans, saving with provenance, refusing a stale save."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from subreg.adapters.db.tables import audit_log, backoffice_items, enforcement_recheck, field_provenance, subscriptions
from subreg.adapters.images.card_text import ocr_languages
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.backoffice.reading import Source
from subreg.domain.common.errors import ConflictError, PermissionDeniedError
from subreg.services.backoffice import work_queue as wq
from subreg.services.backoffice.work_queue import SaveItem
from tests.integration.backoffice_data import NOW, backoffice_actor, seed_line

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr not installed")


def ctx(container: Any, now: Any = NOW) -> wq.WorkContext:
    return container.work_context(now=now)


def _claim(container: Any, actor: Actor, now: Any = NOW) -> Any:
    return wq.next_item(uow=container.uow(), ctx=ctx(container, now), actor=actor)


class TestFilling:
    def test_queues_incomplete_lines_with_scans_whose_missing_fields_a_scan_can_fill(self, container):
        seed_line(container, 1, missing=("id_issue_place",))
        seed_line(container, 2, missing=("id_issue_date", "date_of_birth"))
        seed_line(container, 3, missing=("id_issue_place",), scans={})  # no scan stored: nothing to read
        seed_line(container, 4, missing=())  # complete
        added = wq.fill_queue(uow=container.uow(), ctx=ctx(container))
        assert added == 2
        # Filling again queues nothing twice.
        assert wq.fill_queue(uow=container.uow(), ctx=ctx(container)) == 0
        with container.engine.connect() as c:
            rows = c.execute(select(backoffice_items.c.missing, backoffice_items.c.state)).all()
        assert sorted(r.missing for r in rows) == ["holder.date_of_birth,holder.id_issue_date", "holder.id_issue_place"]

    def test_the_oldest_enforcement_deadline_comes_first(self, container):
        seed_line(container, 1)
        seed_line(container, 2)
        with container.engine.begin() as c:
            # Line 2 is already one-way locked since long ago: its next step (two-way) is the nearest.
            c.execute(update(subscriptions).where(subscriptions.c.msisdn == 84900000002)
                      .values(enf_state=2, enf_step_on=NOW.date() - timedelta(days=200)))  # fmt: skip
        wq.fill_queue(uow=container.uow(), ctx=ctx(container))
        actor = backoffice_actor(container)
        item = _claim(container, actor)
        with container.engine.connect() as c:
            first = c.execute(select(subscriptions.c.msisdn).where(subscriptions.c.id == item.subscription_id)).scalar()
        assert first == 84900000002
        assert item.deadline is not None
        assert item.deadline < NOW.date()


class TestClaiming:
    def test_two_staff_asking_at_once_get_different_items(self, container):
        for n in range(1, 9):
            seed_line(container, n)
        wq.fill_queue(uow=container.uow(), ctx=ctx(container))
        actors = [backoffice_actor(container) for _ in range(8)]
        got: dict[int, Any] = {}
        errors: list[BaseException] = []
        barrier = threading.Barrier(len(actors))

        def work(actor: Actor) -> None:
            try:
                barrier.wait()
                got[actor.staff_id] = _claim(container, actor)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(a,)) for a in actors]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        ids = [item.id for item in got.values()]
        assert len(ids) == 8
        assert len(set(ids)) == 8

    def test_a_held_item_is_served_again_to_its_holder_and_to_nobody_else_until_the_lease_ends(self, container):
        seed_line(container, 1)
        seed_line(container, 2)
        wq.fill_queue(uow=container.uow(), ctx=ctx(container))
        a, b = backoffice_actor(container), backoffice_actor(container)
        first = _claim(container, a)
        assert _claim(container, a).id == first.id  # reloading the page: the same item
        second = _claim(container, b)
        assert second.id != first.id
        assert _claim(container, backoffice_actor(container)) is None  # the queue is empty now
        # A's lease runs out: the next staff member gets A's item.
        later = NOW + timedelta(minutes=16)
        third = _claim(container, backoffice_actor(container), later)
        assert third.id == first.id

    def test_other_roles_are_refused(self, container):
        with pytest.raises(PermissionDeniedError):
            _claim(container, Actor(1, Role.STORE_STAFF, point_of_sale_id=1, pos_kind="store"))


class TestItem:
    @needs_tesseract
    def test_the_form_is_prefilled_from_the_scans_with_source_and_confidence(self, container):
        holder = seed_line(container, 1, missing=("id_issue_place", "date_of_birth"))
        wq.fill_queue(uow=container.uow(), ctx=ctx(container))
        actor = backoffice_actor(container)
        item = _claim(container, actor)
        view = wq.open_item(item.id, uow=container.uow(), ctx=ctx(container), actor=actor)
        by_name = {f.name: f for f in view.fields}
        assert by_name["date_of_birth"].missing
        assert by_name["date_of_birth"].reading.value == holder["date_of_birth"]
        assert by_name["date_of_birth"].reading.source is Source.QR
        assert by_name["date_of_birth"].reading.confidence == pytest.approx(0.99)
        if "vie" in ocr_languages():
            place = by_name["id_issue_place"].reading
            assert place is not None
            assert place.source is Source.OCR
            assert place.value == holder["id_issue_place"]
            assert 0 < place.confidence < 0.99
        assert by_name["full_name"].stored == holder["full_name"]
        assert by_name["full_name"].reading is None
        with container.engine.connect() as c:
            actions = c.execute(select(audit_log.c.action, audit_log.c.purpose)).all()
        assert ("subscription:read", "backoffice") in [(a.action, a.purpose) for a in actions]

    def test_an_unreadable_scan_leaves_the_item_workable_by_typing(self, container):
        seed_line(container, 1, scans={"id_front": b"\x89PNG not really", "id_back": b"garbage"})
        wq.fill_queue(uow=container.uow(), ctx=ctx(container))
        actor = backoffice_actor(container)
        item = _claim(container, actor)
        view = wq.open_item(item.id, uow=container.uow(), ctx=ctx(container), actor=actor)
        assert len(view.unreadable) == 2
        assert all(s.error for s in view.unreadable)
        assert all(f.reading is None for f in view.fields)
        saved = wq.save_item(SaveItem(item.id, view.version, {"id_issue_place": "Cục Cảnh sát QLHC về TTXH"}),
                             uow=container.uow(), ctx=ctx(container), actor=actor)  # fmt: skip
        assert saved.complete
        assert saved.filled == ("id_issue_place",)
        with container.engine.connect() as c:
            prov = c.execute(select(field_provenance)).one()
        assert (prov.method, prov.source, prov.staff_id, prov.path) == ("typed", None, actor.staff_id,
                                                                      "holder.id_issue_place")  # fmt: skip


class TestSaving:
    def _open(self, container: Any) -> tuple[Actor, Any]:
        wq.fill_queue(uow=container.uow(), ctx=ctx(container))
        actor = backoffice_actor(container)
        item = _claim(container, actor)
        reader_off = dataclasses.replace(ctx(container), reader=None)
        return actor, wq.open_item(item.id, uow=container.uow(), ctx=reader_off, actor=actor)

    def test_confirmed_values_are_stored_with_provenance_and_the_line_is_restored(self, container):
        holder = seed_line(container, 1, missing=("date_of_birth",))
        actor, view = self._open(container)
        qr_doc = view.scans[0].document_id
        offered = {"date_of_birth": wq.Reading("date_of_birth", holder["date_of_birth"], Source.QR, 0.99, qr_doc)}
        saved = wq.save_item(
            SaveItem(view.item.id, view.version, {"date_of_birth": holder["date_of_birth"]}, offered),
            uow=container.uow(), ctx=ctx(container), actor=actor,
        )  # fmt: skip
        assert saved.complete
        assert saved.restore_requested
        with container.engine.connect() as c:
            prov = c.execute(select(field_provenance)).one()
            item = c.execute(select(backoffice_items)).one()
            line = c.execute(select(subscriptions.c.complete, subscriptions.c.channel)).one()
            recheck = c.execute(select(enforcement_recheck.c.channel)).scalar()
        assert (prov.method, prov.source, prov.confidence) == ("qr", f"document:{qr_doc}", pytest.approx(0.99))
        assert (item.state, item.outcome, item.done_by) == ("done", "complete", actor.staff_id)
        assert line.complete
        assert recheck == "backoffice"

    def test_nothing_stored_is_overwritten(self, container):
        holder = seed_line(container, 1, missing=("id_issue_place",))
        actor, view = self._open(container)
        wq.save_item(SaveItem(view.item.id, view.version, {"id_issue_place": "Công an TP Hồ Chí Minh",
                                                           "full_name": "Someone Else"}),
                     uow=container.uow(), ctx=ctx(container), actor=actor)  # fmt: skip
        with container.uow() as uow:
            sub = uow.subscriptions.get(84900000001)
            record = container.registry().record_of(sub, uow=uow)
        assert record["holder"]["full_name"] == holder["full_name"]
        assert record["holder"]["id_issue_place"] == "Công an TP Hồ Chí Minh"

    def test_a_line_changed_since_the_page_was_served_refuses_the_save(self, container):
        seed_line(container, 1)
        actor, view = self._open(container)
        with container.engine.begin() as c:
            c.execute(update(subscriptions).values(version=subscriptions.c.version + 1))
        with pytest.raises(ConflictError) as refused:
            wq.save_item(SaveItem(view.item.id, view.version, {"id_issue_place": "X"}),
                         uow=container.uow(), ctx=ctx(container), actor=actor)  # fmt: skip
        assert refused.value.errors[0].code == "version_changed"
        with container.engine.connect() as c:
            assert c.execute(select(field_provenance)).first() is None
            assert c.execute(select(backoffice_items.c.state)).scalar() == "open"
        # Opened again, the page shows the line as it is now.
        again = wq.open_item(view.item.id, uow=container.uow(), ctx=dataclasses.replace(ctx(container), reader=None),
                             actor=actor)  # fmt: skip
        assert again.changed
        assert again.version == view.version + 1

    def test_a_save_after_the_lease_went_to_someone_else_is_refused(self, container):
        seed_line(container, 1)
        actor, view = self._open(container)
        later = NOW + timedelta(minutes=20)
        other = backoffice_actor(container)
        assert _claim(container, other, later).id == view.item.id
        with pytest.raises(ConflictError) as refused:
            wq.save_item(SaveItem(view.item.id, view.version, {"id_issue_place": "X"}),
                         uow=container.uow(), ctx=ctx(container, later), actor=actor)  # fmt: skip
        assert refused.value.errors[0].code == "item_not_held"

    def test_a_skipped_item_leaves_the_queue_until_its_line_changes(self, container):
        seed_line(container, 1)
        actor, view = self._open(container)
        wq.skip_item(view.item.id, uow=container.uow(), ctx=ctx(container), actor=actor, reason="unreadable")
        assert wq.fill_queue(uow=container.uow(), ctx=ctx(container)) == 0
        with container.engine.begin() as c:
            c.execute(update(subscriptions).values(version=subscriptions.c.version + 1))
        assert wq.fill_queue(uow=container.uow(), ctx=ctx(container)) == 1
