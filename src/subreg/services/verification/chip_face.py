"""Counter verification with the card's chip and the holder's face (Circular 08/2026, Decree 163/2024).

`check_chip` runs passive authentication (the adapter behind `PassiveAuthenticator`) and compares DG1's MRZ
with what the counter typed. `match_face` matches the counter's portrait with a reference face (the chip's DG2,
the card's printed face, or a stored template) under the regime's threshold. `verify_at_counter` does both,
records every attempt in `verifications` (decision, reason code, score, model: never an image or a template),
keeps the reference template sealed under the holder's data key (shredded with the holder, deleted at
`expires_on`) and writes one audit entry. A refusal stores nothing but the trail row and the audit entry.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from subreg.domain.access.permissions import Actor
from subreg.domain.common.errors import InputError
from subreg.domain.id_documents.card_codes import parse_td1_mrz
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.domain.verification.chip import ChipReason, PassiveAuthOutcome, mrz_mismatches
from subreg.domain.verification.face import FaceDecision, FaceReason, decide, template_expiry, threshold_for
from subreg.services.common import audit_trail
from subreg.services.common.ports import Vault
from subreg.services.verification.biometric_ports import (
    BiometricUnitOfWork,
    FaceModel,
    FaceRefusedError,
    FaceTemplate,
    PassiveAuthenticator,
)

__all__ = [
    "ChipCheck",
    "ChipData",
    "CounterResult",
    "CounterVerification",
    "check_chip",
    "match_face",
    "open_template",
    "purge_expired_templates",
    "seal_template",
    "verify_at_counter",
]

PURPOSE_VERIFICATION = "verification"


@dataclass(frozen=True, slots=True)
class ChipData:
    """What a chip reader (or VNeID) hands over: the data groups and EF.SOD, as bytes."""

    dg1: bytes
    dg2: bytes
    sod: bytes
    dg13: bytes | None = None

    def groups(self) -> dict[int, bytes]:
        """Data-group number -> bytes."""
        found = {1: self.dg1, 2: self.dg2}
        if self.dg13 is not None:
            found[13] = self.dg13
        return found


@dataclass(frozen=True, slots=True)
class ChipCheck:
    """Passive authentication plus the DG1 comparison."""

    passed: bool
    reason: ChipReason | None
    details: tuple[str, ...] = ()
    mrz_fields: Mapping[str, str] = field(default_factory=dict)  # personal data: shown, never logged
    portrait: bytes | None = None
    portrait_format: str | None = None


def check_chip(
    chip: ChipData, *, typed: Mapping[str, object] | None, authenticator: PassiveAuthenticator, now: datetime
) -> ChipCheck:
    """Passive authentication of the chip data, then DG1's MRZ against the typed data (when given)."""
    outcome: PassiveAuthOutcome = authenticator.authenticate(sod=chip.sod, groups=chip.groups(), at=now)
    if not outcome.passed:
        return ChipCheck(False, outcome.reason, outcome.details)
    try:
        fields = parse_td1_mrz(outcome.mrz_text or "", as_of=now.date())
    except (InputError, ValueError):
        return ChipCheck(False, ChipReason.DG1_MALFORMED)
    wrong = mrz_mismatches(fields, typed or {})
    if wrong:
        return ChipCheck(False, ChipReason.DG1_MISMATCH, tuple(wrong))
    return ChipCheck(True, None, (), fields, outcome.portrait, outcome.portrait_format)


def match_face(
    probe: bytes | FaceTemplate,
    reference: bytes | FaceTemplate,
    *,
    model: FaceModel,
    threshold: float,
    live_capture: bool = True,
) -> tuple[FaceDecision, FaceTemplate | None]:
    """The decision for the counter's portrait `probe` against `reference`, and the reference's template."""
    ref: FaceTemplate | None = None
    try:
        ref = reference if isinstance(reference, FaceTemplate) else model.template(reference, live_capture=False)
    except FaceRefusedError:
        return FaceDecision(False, FaceReason.NO_REFERENCE, None, threshold, model.model), None
    try:
        live = probe if isinstance(probe, FaceTemplate) else model.template(probe, live_capture=live_capture)
    except FaceRefusedError as exc:
        return FaceDecision(False, exc.reason, None, threshold, model.model), ref
    return decide(model.distance(live, ref), threshold=threshold, model=model.model), ref


def _template_aad(holder_id: int, kind: str) -> bytes:
    return f"biometric:{holder_id}:{kind}".encode()


def seal_template(vault: Vault, dek: bytes, template: FaceTemplate, *, holder_id: int, kind: str = "face") -> bytes:
    """A template as float32 values sealed under the holder's DEK, bound to the holder and kind."""
    raw = struct.pack(f"<{len(template.vector)}f", *template.vector)
    return vault.seal(dek, raw, _template_aad(holder_id, kind))


def open_template(
    vault: Vault, dek: bytes, payload: bytes, *, model: str, holder_id: int, kind: str = "face"
) -> FaceTemplate:
    """The template sealed by `seal_template`."""
    raw = vault.open(dek, payload, _template_aad(holder_id, kind))
    return FaceTemplate(model, struct.unpack(f"<{len(raw) // 4}f", raw))


@dataclass(frozen=True, slots=True)
class CounterVerification:
    """One verification at the counter (or another channel): chip data and/or the face."""

    regime: str
    probe: bytes  # the counter's portrait (camera)
    chip: ChipData | None = None
    card_face: bytes | None = None  # the card's printed face, when there is no chip
    typed: Mapping[str, object] | None = None
    holder_id: int | None = None
    subscription_id: int | None = None
    channel: str = "counter"
    keep_template: bool = True


@dataclass(frozen=True, slots=True)
class CounterResult:
    """What happened: the chip check (if any), the face decision (if it got that far), stored ids."""

    passed: bool
    chip: ChipCheck | None
    face: FaceDecision | None
    verification_ids: tuple[int, ...]
    template_id: int | None = None

    @property
    def reason(self) -> str | None:
        """The first reason code that stopped the verification."""
        if self.chip is not None and not self.chip.passed:
            return str(self.chip.reason)
        if self.face is not None and not self.face.passed:
            return str(self.face.reason)
        return None


def verify_at_counter(
    cmd: CounterVerification,
    *,
    uow: BiometricUnitOfWork,
    vault: Vault,
    authenticator: PassiveAuthenticator,
    model: FaceModel,
    thresholds: Mapping[str, float],
    template_days: int | None,
    actor: Actor | None,
    now: datetime,
) -> CounterResult:
    """Chip check, face match, trail rows, sealed reference template, one audit entry; commits."""
    threshold = threshold_for(cmd.regime, thresholds)
    chip = None
    reference: bytes | FaceTemplate | None = cmd.card_face
    if cmd.chip is not None:
        chip = check_chip(cmd.chip, typed=cmd.typed, authenticator=authenticator, now=now)
        reference = chip.portrait
    face: FaceDecision | None = None
    ref_template: FaceTemplate | None = None
    if chip is None or chip.passed:
        if reference is None and cmd.holder_id is not None:
            reference = _stored_template(uow, vault, cmd.holder_id, model=model.model, today=now.date())
        if reference is None:
            face = FaceDecision(False, FaceReason.NO_REFERENCE, None, threshold, model.model)
        else:
            face, ref_template = match_face(cmd.probe, reference, model=model, threshold=threshold)
    with uow:
        audit_trail.hold_appender_lock(uow)
        ids: list[int] = []
        base: dict[str, Any] = {
            "subscription_id": cmd.subscription_id, "holder_id": cmd.holder_id, "regime": cmd.regime,
            "channel": cmd.channel, "staff_id": actor.staff_id if actor else None, "at": now,
        }  # fmt: skip
        if chip is not None:
            reason = None if chip.reason is None else str(chip.reason)
            row = {**base, "method": "chip", "decision": "passed" if chip.passed else "refused",
                   "reason": reason, "score": None, "model": None}  # fmt: skip
            ids.append(uow.biometrics.add_verification(row))
        if face is not None:
            row = {**base, "method": "face", "decision": face.decision,
                   "reason": None if face.reason is None else str(face.reason),
                   "score": face.distance, "model": face.model}  # fmt: skip
            ids.append(uow.biometrics.add_verification(row))
        passed = face is not None and face.passed and (chip is None or chip.passed)
        template_id = None
        fresh_reference = ref_template is not None and not isinstance(reference, FaceTemplate)
        if passed and cmd.keep_template and cmd.holder_id is not None and fresh_reference and ref_template:
            template_id = _store_template(uow, vault, cmd.holder_id, ref_template, now.date(), template_days)
        details: dict[str, Any] = {"regime": cmd.regime, "channel": cmd.channel, "passed": passed}
        if chip is not None:
            details["chip"] = str(chip.reason) if chip.reason else "passed"
        if face is not None:
            details["face"] = face.decision if face.reason is None else str(face.reason)
        subject = audit_trail.subject_for_holder(cmd.holder_id) if cmd.holder_id is not None else None
        audit_trail.record(
            uow, actor=actor, action=AuditAction.BIOMETRIC_VERIFIED, subject=subject,
            purpose=PURPOSE_VERIFICATION, details=details, now=now,
        )  # fmt: skip
        uow.commit()
    return CounterResult(passed, chip, face, tuple(ids), template_id)


def _stored_template(
    uow: BiometricUnitOfWork, vault: Vault, holder_id: int, *, model: str, today: date
) -> FaceTemplate | None:
    with uow:
        key = uow.biometrics.holder_key(holder_id)
        if key is None or key[1] is None:
            return None
        for row in uow.biometrics.templates_of(holder_id, kind="face", today=today):
            if row["model"] == model:
                dek = vault.unwrap(key[0], key[1])
                return open_template(vault, dek, row["payload"], model=model, holder_id=holder_id)
    return None


def _store_template(
    uow: BiometricUnitOfWork, vault: Vault, holder_id: int, template: FaceTemplate, today: date, days: int | None
) -> int | None:
    key = uow.biometrics.holder_key(holder_id)
    if key is None or key[1] is None:
        return None  # unknown or shredded holder: nothing to seal under
    dek = vault.unwrap(key[0], key[1])
    row = {"holder_id": holder_id, "kind": "face", "model": template.model, "kek_id": key[0], "wrapped_dek": None,
           "payload": seal_template(vault, dek, template, holder_id=holder_id),
           "expires_on": template_expiry(today, keep_days=days)}  # fmt: skip
    return uow.biometrics.add_template(row)


def purge_expired_templates(uow: BiometricUnitOfWork, *, today: date) -> int:
    """Delete every template past its `expires_on` (set-based); commits; how many."""
    with uow:
        count = uow.biometrics.delete_expired_templates(today)
        uow.commit()
    return count
