"""A counter verification with chip data and the face, stored on SQLite and PostgreSQL: the trail rows, the
template sealed under the holder's key (reused next time, purged at expiry, gone when the holder is shredded),
and refusals that store nothing but the trail row and the audit entry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from subreg.adapters.db.tables import audit_log, biometric_templates, verifications
from subreg.bootstrap import face_model, passive_authenticator
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.common.msisdn import msisdn_key
from subreg.domain.verification.face import DEFAULT_THRESHOLDS
from subreg.services import privacy, registry
from subreg.services.verification.chip_face import (
    ChipData,
    CounterVerification,
    open_template,
    purge_expired_templates,
    verify_at_counter,
)
from tests.fixtures.faces import astronaut, jpeg, transforms
from tests.fixtures.icao import make_chip
from tests.records import complete_record

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
STAFF = Actor(staff_id=None, role=Role.STORE_STAFF)  # type: ignore[arg-type]
REGIME = "circular-08-2026"


@pytest.fixture(scope="module")
def model():
    from subreg.adapters.face import DlibFaceModel

    return DlibFaceModel()


@pytest.fixture(scope="module")
def chip():
    holder = complete_record()["holder"]
    return make_chip(jpeg(astronaut()), holder={**holder, "date_of_birth": date(1990, 5, 17)}, expiry=date(2030, 5, 17))


@pytest.fixture
def line(container):
    with container.uow() as uow:
        registry.store_subscription(
            complete_record(), uow=uow, vault=container.vault, blobs=container.blobs, as_of=date(2026, 12, 1),
            actor=None, channel="store", rule_set=container.rule_set,
        )  # fmt: skip
        uow.commit()
        return uow.subscriptions.get(msisdn_key("+84901234567"))


def _verify(container, model, chip, line, *, probe, with_chip=True, settings=None, days=None, typed=None):
    csca = settings.var_dir / "csca.pem"
    csca.parent.mkdir(parents=True, exist_ok=True)
    csca.write_bytes(chip.csca.pem)
    cmd = CounterVerification(
        regime=REGIME, probe=probe, holder_id=line.holder_id, subscription_id=line.id,
        chip=ChipData(chip.groups[1], chip.groups[2], chip.sod, chip.groups[13]) if with_chip else None,
        typed=typed if typed is not None else complete_record()["holder"],
    )  # fmt: skip
    return verify_at_counter(
        cmd, uow=container.uow(), vault=container.vault, authenticator=passive_authenticator(settings, csca),
        model=model, thresholds=DEFAULT_THRESHOLDS, template_days=days, actor=STAFF, now=NOW,
    )  # fmt: skip


def _rows(container, table):
    with container.engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(table).order_by(table.c.id))]


def test_chip_and_face_pass_record_the_trail_and_seal_the_template(container, settings, model, chip, line):
    darker, quality = transforms()["darker_0.55"]
    result = _verify(container, model, chip, line, probe=jpeg(darker(astronaut()), quality), settings=settings)
    assert result.passed, result.reason
    trail = _rows(container, verifications)
    assert [(r["method"], r["decision"], r["reason"]) for r in trail] == [
        ("chip", "passed", None),
        ("face", "passed", None),
    ]
    face = trail[1]
    assert face["regime"] == REGIME
    assert face["model"] == model.model
    assert 0 < face["score"] < DEFAULT_THRESHOLDS[REGIME]
    assert face["subscription_id"] == line.id
    (template,) = _rows(container, biometric_templates)
    assert template["holder_id"] == line.holder_id
    assert template["expires_on"] is None  # kept while the line is active (Circular 08/2026)
    with container.uow() as uow:
        kek_id, wrapped = uow.biometrics.holder_key(line.holder_id)
    opened = open_template(
        container.vault, container.vault.unwrap(kek_id, wrapped), bytes(template["payload"]), model=model.model,
        holder_id=line.holder_id,
    )  # fmt: skip
    assert len(opened.vector) == 128  # sealed: only the holder's key opens it
    with container.engine.connect() as c:
        entry = c.execute(select(audit_log).where(audit_log.c.action == "verification:chip_face")).one()
    assert entry.subject == f"holder:{line.holder_id}"
    assert entry.purpose == "verification"

    # Next time, without the chip: the stored template is the reference (no chip, no card photo needed).
    again = _verify(container, model, chip, line, probe=jpeg(astronaut()), with_chip=False, settings=settings)
    assert again.passed
    assert again.template_id is None  # nothing new stored
    assert len(_rows(container, biometric_templates)) == 1


def test_refusals_store_only_the_trail_row_and_the_audit_entry(container, settings, model, chip, line):
    from skimage import data

    mismatch = _verify(container, model, chip, line, probe=jpeg(astronaut()), settings=settings,
                       typed={**complete_record()["holder"], "id_number": "079190999999"})  # fmt: skip
    assert mismatch.reason == "dg1_mismatch"
    tampered = type(chip)(chip.csca, chip.ds, {**chip.groups, 2: chip.groups[2][:-1] + b"\x00"}, chip.sod)
    forged = _verify(container, model, tampered, line, probe=jpeg(astronaut()), settings=settings)
    assert forged.reason == "data_group_hash_mismatch"
    cat = _verify(container, model, chip, line, probe=jpeg(data.chelsea()), settings=settings)
    assert cat.reason == "no_face"
    trail = [(r["method"], r["decision"], r["reason"]) for r in _rows(container, verifications)]
    assert trail == [
        ("chip", "refused", "dg1_mismatch"),
        ("chip", "refused", "data_group_hash_mismatch"),
        ("chip", "passed", None),
        ("face", "refused", "no_face"),
    ]
    assert _rows(container, biometric_templates) == []
    with container.engine.connect() as c:
        count = c.execute(select(func.count()).where(audit_log.c.action == "verification:chip_face")).scalar_one()
    assert count == 3


def test_templates_expire_and_are_shredded_with_the_holder(container, settings, model, chip, line):
    assert _verify(container, model, chip, line, probe=jpeg(astronaut()), settings=settings, days=30).passed
    (template,) = _rows(container, biometric_templates)
    assert template["expires_on"] == NOW.date() + timedelta(days=30)
    assert purge_expired_templates(container.uow(), today=NOW.date() + timedelta(days=30)) == 0
    assert purge_expired_templates(container.uow(), today=NOW.date() + timedelta(days=31)) == 1
    assert _rows(container, biometric_templates) == []

    assert _verify(container, model, chip, line, probe=jpeg(astronaut()), settings=settings).passed
    assert len(_rows(container, biometric_templates)) == 1
    dpo = Actor(staff_id=None, role=Role.DPO)  # type: ignore[arg-type]
    with container.uow() as uow:
        privacy.shred_holder(uow, line.holder_id, actor=dpo, reason="dsr", blobs=container.blobs)
    assert _rows(container, biometric_templates) == []


def test_face_model_is_wired_from_settings(settings):
    assert face_model(settings).model.startswith("dlib-resnet-v1/")
