"""Counter verification on the in-memory fakes: the trail, the sealed template, expiry and shredding."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from subreg.adapters.chip import IcaoPassiveAuthenticator
from subreg.domain.access.permissions import Actor, Role
from subreg.domain.verification.face import DEFAULT_THRESHOLDS
from subreg.services import privacy
from subreg.services.verification.chip_face import (
    ChipData,
    CounterVerification,
    purge_expired_templates,
    verify_at_counter,
)
from tests.fakes import NOW
from tests.fixtures.faces import astronaut, jpeg
from tests.fixtures.icao import make_chip
from tests.records import complete_record

DPO = Actor(staff_id=None, role=Role.DPO)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def model():
    from subreg.adapters.face import DlibFaceModel

    return DlibFaceModel()


@pytest.fixture(scope="module")
def chip():
    holder = {**complete_record()["holder"], "date_of_birth": date(1990, 5, 17)}
    return make_chip(jpeg(astronaut()), holder=holder, expiry=date(2030, 5, 17))


def _verify(fakes, model, chip, line, *, days=None, probe=None):
    cmd = CounterVerification(
        regime="circular-08-2026", probe=probe or jpeg(astronaut().rotate(5)), holder_id=line.holder_id,
        subscription_id=line.id, chip=ChipData(chip.groups[1], chip.groups[2], chip.sod, chip.groups[13]),
        typed=complete_record()["holder"],
    )  # fmt: skip
    return verify_at_counter(
        cmd, uow=fakes.uow(), vault=fakes.vault, authenticator=IcaoPassiveAuthenticator([chip.csca.cert]),
        model=model, thresholds=DEFAULT_THRESHOLDS, template_days=days, actor=None, now=NOW,
    )  # fmt: skip


def test_a_passing_verification_keeps_a_sealed_template_until_it_expires(fakes, model, chip):
    line = fakes.seed(complete_record())
    result = _verify(fakes, model, chip, line, days=10)
    assert result.passed
    assert [(r["method"], r["decision"]) for r in fakes.rows("verifications")] == [
        ("chip", "passed"),
        ("face", "passed"),
    ]
    (template,) = fakes.rows("biometric_templates")
    assert template["expires_on"] == NOW.date() + timedelta(days=10)
    assert purge_expired_templates(fakes.uow(), today=NOW.date() + timedelta(days=11)) == 1
    assert fakes.rows("biometric_templates") == []


def test_templates_go_with_the_holder(fakes, model, chip):
    line = fakes.seed(complete_record())
    assert _verify(fakes, model, chip, line).passed
    assert len(fakes.rows("biometric_templates")) == 1
    with fakes.uow() as uow:
        privacy.shred_holder(uow, line.holder_id, actor=DPO, reason="dsr", blobs=fakes.blobs, now=NOW)
    assert fakes.rows("biometric_templates") == []
    # A shredded holder's next verification cannot keep a template: there is no key to seal it under.
    assert _verify(fakes, model, chip, line).template_id is None
    assert fakes.rows("biometric_templates") == []
