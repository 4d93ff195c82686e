"""The signals' use cases on the in-memory fakes: the lists, the review decisions and their audit entries, the
portrait bands keyed when the writer stores a portrait and by the backfill, and permissions."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from PIL import Image

from subreg.adapters.clock import OPERATOR_TZ
from subreg.adapters.images.portrait_hash import KeyedPortraitHasher
from subreg.adapters.memory.signals import bands_of
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.errors import InputError, NotFoundError, PermissionDeniedError
from subreg.domain.signals.volume import VolumeRule
from subreg.services.registry.writer import Registry
from subreg.services.signals.lists import line_to_open, list_signals, review_signal
from subreg.services.signals.options import SignalOptions
from subreg.services.signals.portraits import index_portraits
from tests.fakes import NOW, TODAY, Fakes
from tests.fixtures.images import encode, face_image, portrait_jpeg
from tests.records import complete_record, with_holder

OFFICER = Actor(staff_id=None, role=Role.COMPLIANCE_OFFICER)
OPTIONS = SignalOptions(tz=OPERATOR_TZ, volume=VolumeRule(min_volume=3), multi_pos_min_registrations=2)


@pytest.fixture
def fakes() -> Fakes:
    return Fakes.build()


def hasher(fakes: Fakes) -> KeyedPortraitHasher:
    return KeyedPortraitHasher(fakes.vault.portrait_key)


def store(fakes: Fakes, number: str, id_number: str, *, point: str = "HN-1", portrait: bytes | None = None,
          registry: Registry | None = None) -> None:  # fmt: skip
    record = with_holder(complete_record(msisdn=number, point_of_sale=point), id_number=id_number)
    with fakes.uow() as uow:
        (registry or fakes.registry()).store(record, uow=uow, as_of=TODAY, actor=None, channel="store",
                                             images={"portrait": portrait} if portrait else None)  # fmt: skip
        uow.commit()


def listed(fakes: Fakes, kind: str, **kw):
    return list_signals(kind, uow=fakes.uow(), options=OPTIONS, actor=kw.pop("actor", None), today=TODAY, now=NOW,
                        documents=fakes.registry(), hasher=hasher(fakes), **kw)  # fmt: skip


class TestTheLists:
    def test_an_id_document_with_four_lines_and_no_contract_is_listed_with_masked_numbers(self, fakes):
        for i in range(4):
            store(fakes, f"090300000{i}", "079190123456")
        store(fakes, "0903000009", "079190999999")
        got = listed(fakes, "over_limit")
        assert [i.facts["lines"] for i in got.items] == [4]
        assert [r.masked for r in got.items[0].lines] == [f"+84 90*****0{i}" for i in range(4)]
        assert fakes.audit_actions()[-1] == "signals:listed"

    def test_registrations_at_two_points_the_same_day_and_a_points_volume_are_listed(self, fakes):
        store(fakes, "0903000001", "079190123456", point="A")
        store(fakes, "0903000002", "079190123456", point="B")
        for i in range(3):
            store(fakes, f"090300010{i}", f"07919012300{i}", point="C")
        multi = listed(fakes, "multi_pos_day")
        assert [(i.facts["points_of_sale"], i.facts["registrations"]) for i in multi.items] == [(["A", "B"], 2)]
        volume = listed(fakes, "pos_volume")
        assert [(i.facts["point_of_sale"], i.facts["registrations"]) for i in volume.items] == [("C", 3)]

    def test_reading_needs_reports_read_and_an_unknown_kind_is_named(self, fakes):
        with pytest.raises(PermissionDeniedError):
            listed(fakes, "over_limit", actor=Actor(staff_id=1, role=Role.AUDITOR))
        with pytest.raises(InputError) as raised:
            listed(fakes, "everything")
        assert [e.field for e in raised.value.errors] == ["kind"]


class TestDecisions:
    def test_a_decision_closes_the_signal_and_is_audited_in_its_transaction(self, fakes):
        for i in range(4):
            store(fakes, f"090300000{i}", "079190123456")
        key = listed(fakes, "over_limit").items[0].key
        review_signal({"kind": "over_limit", "key": key, "decision": "dismissed", "reason": "test_data"},
                      uow=fakes.uow(), options=OPTIONS, actor=OFFICER, today=TODAY, now=NOW)  # fmt: skip
        assert [(r["decision"], r["reason"]) for r in fakes.rows("signal_reviews")] == [("dismissed", "test_data")]
        assert fakes.audit_actions()[-1] == "signal:decided"
        assert listed(fakes, "over_limit").items == ()

    def test_a_key_not_in_the_list_is_not_found_and_nothing_is_written(self, fakes):
        before = len(fakes.rows("audit_log"))
        values = {"kind": "over_limit", "key": "nope", "decision": "reviewed", "reason": "other", "note": "x"}
        with pytest.raises(NotFoundError) as raised:
            review_signal(values, uow=fakes.uow(), options=OPTIONS, actor=OFFICER, today=TODAY, now=NOW)
        assert [e.field for e in raised.value.errors] == ["key"]
        assert fakes.rows("signal_reviews") == []
        assert len(fakes.rows("audit_log")) == before

    def test_opening_a_line_gives_its_number_key_for_the_card(self, fakes):
        store(fakes, "0903000001", "079190123456")
        line = fakes.line("0903000001")
        assert line_to_open(line.id, uow=fakes.uow(), actor=OFFICER) == line.msisdn
        with pytest.raises(NotFoundError):
            line_to_open(999_999, uow=fakes.uow(), actor=OFFICER)


class TestPortraits:
    def test_the_writer_keys_a_new_portrait_and_the_backfill_the_older_ones(self, fakes):
        keyed = Registry(fakes.vault, fakes.blobs, fakes.rule_set, phase_reference=fakes.phase_reference,
                         portraits=hasher(fakes))  # fmt: skip
        store(fakes, "0903000001", "079190000001", portrait=portrait_jpeg())  # before: no bands
        assert bands_of_db(fakes) == {}
        store(fakes, "0903000002", "079190000002", registry=keyed,
              portrait=encode(face_image().resize((320, 320), Image.Resampling.LANCZOS), quality=70))  # fmt: skip
        assert len(bands_of_db(fakes)) == 1
        report = index_portraits(uow=fakes.uow(), documents=fakes.registry(), hasher=hasher(fakes),
                                 options=OPTIONS, actor=None, now=NOW)  # fmt: skip
        assert (report.indexed, report.batches) == (1, 1)
        assert "signals:portraits_indexed" in fakes.audit_actions()
        got = listed(fakes, "portrait_reuse")
        assert len(got.items) == 1
        assert got.items[0].facts["distance"] <= OPTIONS.portrait_max_distance

    def test_a_far_threshold_is_not_a_licence_to_match_everything(self, fakes):
        from skimage import data

        keyed = Registry(fakes.vault, fakes.blobs, fakes.rule_set, phase_reference=fakes.phase_reference,
                         portraits=hasher(fakes))  # fmt: skip
        store(fakes, "0903000001", "079190000001", registry=keyed, portrait=portrait_jpeg())
        store(fakes, "0903000002", "079190000002", registry=keyed, portrait=encode(Image.fromarray(data.camera())))
        assert listed(fakes, "portrait_reuse").items == ()
        strict = replace(OPTIONS, portrait_max_distance=0)
        assert list_signals("portrait_reuse", uow=fakes.uow(), options=strict, actor=None, today=TODAY,
                            now=NOW + timedelta(seconds=1), documents=fakes.registry(),
                            hasher=hasher(fakes)).items == ()  # fmt: skip


def bands_of_db(fakes: Fakes) -> dict:
    with fakes.uow() as uow:
        return dict(bands_of(uow.signals._tx()))
