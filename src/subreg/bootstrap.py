"""Wire settings to adapters: the only module that names concrete adapters. Nothing runs at import.

Entrypoints (`api`, `web`, `cli`, `jobs`) get every adapter from here: the `Container` built by
`bootstrap(settings)` for what needs the database and the keys, and the module functions below for
what does not (reading record files, ID-card images, the clock). import-linter keeps them from
importing `subreg.adapters` themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from subreg.config import Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from concurrent.futures import Future
    from typing import Any

    from sqlalchemy import Engine

    from subreg.adapters.db.uow import SqlUnitOfWork
    from subreg.adapters.images.portrait_hash import KeyedPortraitHasher
    from subreg.adapters.reports.regulator import RegulatorRenderer
    from subreg.adapters.sms.builtin import BuiltinCentre
    from subreg.domain.common.errors import FieldError
    from subreg.domain.common.operator_numbers import OperatorNumbers
    from subreg.domain.compliance.rules.base import RuleSet
    from subreg.domain.registry.column_mapping import ColumnMapping
    from subreg.services.access.policy import AuthPolicy
    from subreg.services.backoffice.derive_ports import DeriveStore
    from subreg.services.backoffice.review import ReviewContext
    from subreg.services.backoffice.review_ports import ReviewRules
    from subreg.services.backoffice.work_queue import WorkContext
    from subreg.services.campaigns.options import CampaignOptions
    from subreg.services.campaigns.ports import CampaignTexts
    from subreg.services.common.ports import BlobStore, Clock, Vault
    from subreg.services.counter.context import CounterContext
    from subreg.services.counter.ports import CardReader, ImageInspector
    from subreg.services.enforcement.options import EnforcementOptions
    from subreg.services.enforcement.ports import NetworkProvisioner, NoticeComposer
    from subreg.services.privacy.ports import AuditHead, KeyRing
    from subreg.services.registry.ports import (
        BulkStore,
        ImportFiles,
        ImportSource,
        PortedLookup,
        PortedSource,
        WorkerPool,
    )
    from subreg.services.registry.writer import Registry
    from subreg.services.reports.regulator import ReportOptions
    from subreg.services.reports.regulator_ports import RegulatorFigures
    from subreg.services.signals.options import SignalOptions
    from subreg.services.sms.context import SmsContext
    from subreg.services.sms.ports import InboundMessage, Receipt, SmsTransport
    from subreg.services.verification.biometric_ports import FaceModel, PassiveAuthenticator
    from subreg.services.verification.population_ports import PopulationBatchStore, PopulationRegistry

__all__ = [
    "Container",
    "bootstrap",
    "card_reader",
    "demo_card_scans",
    "demo_jpegs",
    "generate_master_key",
    "import_file_system",
    "import_fingerprint",
    "init_storage",
    "keyring",
    "keys_database",
    "open_import_source",
    "open_ported_file",
    "operator_numbers",
    "ported_lookup",
    "read_records",
    "regulator_renderer",
    "system_clock",
    "write_records",
]


@dataclass
class Container:
    """Everything an entrypoint needs, built once from settings (close it when done)."""

    settings: Settings
    engine: Engine
    vault: Vault
    blobs: BlobStore
    rule_set: RuleSet
    clock: Clock
    # The operator's number ranges (setting `operator_ranges`), parsed once: a bad setting fails at start.
    numbers: OperatorNumbers
    # HMAC key of the audit chain (derived in the vault, never stored; kept out of repr).
    audit_key: bytes | None = field(default=None, repr=False)
    _inspector: ImageInspector | None = field(default=None, init=False, repr=False)
    _enforcement_options: EnforcementOptions | None = field(default=None, init=False, repr=False)

    def uow(self) -> SqlUnitOfWork:
        """A new unit of work (`with container.uow() as uow: ...; uow.commit()`)."""
        from subreg.adapters.db.uow import SqlUnitOfWork

        return SqlUnitOfWork(self.engine, audit_key=self.audit_key)

    def ping(self) -> bool:
        """Whether the database answers a trivial query (for health checks; never raises)."""
        from subreg.adapters.db.engine import ping

        return ping(self.engine)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    def ported_lookup(self) -> PortedLookup:
        """The MNP list looked up by the numbers at hand, each call in a short read of its own (checks)."""
        from subreg.adapters.db.ported_repo import EnginePortedLookup

        return EnginePortedLookup(self.engine)

    def bulk_session(self) -> BulkStore:
        """One raw connection for set-based work (import, evaluation, statistics); close it when done."""
        from subreg.adapters.db.bulk import open_bulk_session

        return open_bulk_session(self.engine)

    def derive_store(self) -> DeriveStore:
        """Storage for bulk derivation (`subreg complete --derive`), on a raw connection of its own; close it."""
        from subreg.adapters.db.bulk import open_bulk_session
        from subreg.adapters.db.derive_repo import SqlDeriveStore

        return SqlDeriveStore(open_bulk_session(self.engine))

    def ensure_indexes(self) -> list[str]:
        """Build the indexes a first bulk load left out (killed and never resumed); the names built."""
        from subreg.adapters.db.bulk import ensure_indexes

        return ensure_indexes(self.engine)

    def population_store(self) -> PopulationBatchStore:
        """Set-based storage of population matching, on a raw connection of its own; close it when done."""
        from subreg.adapters.db.population_repo import open_population_store

        return open_population_store(self.engine)

    def population_registry(self) -> PopulationRegistry:
        """The population database the settings name: the embedded reference registry or the HTTP contract."""
        s = self.settings
        if s.population_backend == "http":
            from subreg.adapters.population.http import HttpPopulationRegistry

            if not s.population_url:
                from subreg.domain.common.errors import FieldError, InputError

                raise InputError([FieldError("population_url", "required")])
            return HttpPopulationRegistry(s.population_url, s.population_token.get_secret_value())
        from subreg.adapters.population.reference import DeliberateRates, MirrorReferenceRegistry

        return MirrorReferenceRegistry(DeliberateRates(seed=s.population_reference_seed))

    def worker_pool(self, workers: int) -> WorkerPool:
        """A pool of `workers` processes for CPU-bound batches (inline when 1)."""
        from subreg.adapters.processes import ForkPool, InlinePool

        return ForkPool(workers) if workers > 1 else InlinePool()

    def audit_head(self) -> AuditHead:
        """The audit chain's head checkpoint, kept outside the database (`<var_dir>/audit.head`)."""
        from subreg.adapters.files.audit_head import FileAuditHead

        return FileAuditHead(self.settings.var_dir / "audit.head")

    def keyring(self) -> KeyRing:
        """The master key as configured (environment or key file), for rotation and status."""
        return keyring(self.settings)

    def image_inspector(self) -> ImageInspector:
        """The image checks of the counter (one per process: it holds the per-core slots that keep image
        checks from starving the database writer, so every request must share it)."""
        if self._inspector is None:
            from subreg.adapters.images.quality import OpenCvImageInspector
            from subreg.domain.counter.image_rules import ImageLimits

            s = self.settings
            limits = ImageLimits(
                max_bytes=s.max_upload_bytes, max_pixels=s.max_image_pixels, review_margin=s.review_image_margin
            )
            cores = os.cpu_count() or 1
            share = max(1, cores // (s.workers or cores))  # this process's share of the cores
            self._inspector = OpenCvImageInspector(limits, concurrency=share)
        return self._inspector

    def card_reader(self) -> CardReader:
        """QR and MRZ reading from ID-card photos, with the configured decompression-bomb guard."""
        return card_reader(self.settings)

    def registry(self) -> Registry:
        """The registry's one writer of subscriptions, bound to this vault, blob store and rule set."""
        from subreg.services.registry.writer import Registry

        reference = date.fromisoformat(self.settings.phase_reference_date)
        return Registry(
            self.vault, self.blobs, self.rule_set, phase_reference=reference, portraits=self.portrait_hasher()
        )

    def portrait_hasher(self) -> KeyedPortraitHasher | None:
        """Portraits' perceptual hashes and their bands' keyed digests (None: a vault without the portrait key)."""
        from subreg.adapters.images.portrait_hash import KeyedPortraitHasher

        key = getattr(self.vault, "portrait_key", None)
        if not isinstance(key, bytes):
            return None
        return KeyedPortraitHasher(
            key, bands=self.settings.signal_portrait_bands, max_pixels=self.settings.max_image_pixels
        )

    def signal_options(self) -> SignalOptions:
        """The signals' thresholds (settings `signal_*`), days in the operator's time zone."""
        from subreg.adapters.clock import OPERATOR_TZ
        from subreg.domain.signals.volume import VolumeRule
        from subreg.services.signals.options import SignalOptions

        s = self.settings
        volume = VolumeRule(window=s.signal_volume_window_days, min_volume=s.signal_volume_min,
                            ratio=s.signal_volume_ratio, z=s.signal_volume_z)  # fmt: skip
        return SignalOptions(
            tz=OPERATOR_TZ, over_limit_min=s.signal_over_limit_min, volume=volume,
            recent_days=s.signal_recent_days, multi_pos_min_points=s.signal_multi_pos_points,
            multi_pos_min_registrations=s.signal_multi_pos_registrations,
            portrait_max_distance=s.signal_portrait_max_distance, portrait_batch=s.signal_portrait_batch,
            staff_days=s.signal_staff_days, staff_factor=s.signal_staff_factor,
            staff_min_reads=s.signal_staff_min_reads, limit=s.signal_list_limit,
        )  # fmt: skip

    def counter_context(self, *, now: datetime | None = None, request_id: str | None = None) -> CounterContext:
        """What the point-of-sale use cases need besides the unit of work, for one request."""
        from subreg.services.counter.context import CounterContext
        from subreg.services.privacy.consent import Consents

        s = self.settings
        moment = now or self.clock.now()
        return CounterContext(
            vault=self.vault,
            registry=self.registry(),
            consents=Consents(),
            rule_set=self.rule_set,
            now=moment,
            today=_operator_date(moment),
            serving_minutes=s.serving_minutes,
            phase_reference=date.fromisoformat(s.phase_reference_date),
            consent_version=s.consent_version,
            numbers=self.numbers,
            images=self.image_inspector(),
            request_id=request_id,
            timeline=self._enforcement().timeline_on(_operator_date(moment)),
            quarantine_days=s.number_quarantine_days,
            review=self.review_rules(),
        )

    def review_rules(self) -> ReviewRules:
        """The review's settings (`review_*`, `opening_hours`), in the operator's time zone; InputError names a
        bad `review_rejected_services` entry."""
        from subreg.adapters.clock import OPERATOR_TZ
        from subreg.domain.common.errors import FieldError, InputError
        from subreg.domain.counter.gate import TRANSACTION_KINDS
        from subreg.services.backoffice.review_ports import ReviewRules
        from subreg.services.privacy.audit_log import parse_opening_hours

        s = self.settings
        listed = [e.strip() for e in s.review_rejected_services.split(",") if e.strip()]
        known = {"sms_1414", "emergency_calls", "incoming_calls", "incoming_sms", *TRANSACTION_KINDS}
        bad = [FieldError("review_rejected_services", "invalid_choice") for e in listed if e not in known]
        if bad:
            raise InputError(bad[:1])
        opening, closing = parse_opening_hours(s.opening_hours)
        return ReviewRules(
            enabled=s.review_enabled, cross_store_only=s.review_cross_store_only,
            active_minutes=s.review_active_minutes, lease_seconds=s.review_lease_seconds,
            rejected_services=frozenset(listed) if listed else None, opening=opening, closing=closing,
            tz=OPERATOR_TZ,
        )  # fmt: skip

    def review_context(self, *, now: datetime | None = None, request_id: str | None = None) -> ReviewContext:
        """What the supervisor's use cases need besides the unit of work, for one request."""
        from subreg.services.backoffice.review import ReviewContext

        moment = now or self.clock.now()
        return ReviewContext(
            registry=self.registry(), rule_set=self.rule_set, rules=self.review_rules(), now=moment,
            timeline=self._enforcement().timeline_on(_operator_date(moment)), request_id=request_id,
        )  # fmt: skip

    def work_context(self, *, now: datetime | None = None, request_id: str | None = None) -> WorkContext:
        """What the back-office queue needs besides the unit of work, for one request."""
        from subreg.adapters.images.card_text import TesseractScanReader
        from subreg.services.backoffice.work_queue import WorkContext

        moment = now or self.clock.now()
        today = _operator_date(moment)
        return WorkContext(
            registry=self.registry(), rule_set=self.rule_set, timeline=self._enforcement().timeline_on(today),
            now=moment, today=today, lease_minutes=self.settings.backoffice_lease_minutes,
            reader=TesseractScanReader(max_pixels=self.settings.max_image_pixels), request_id=request_id,
        )  # fmt: skip

    def auth_policy(self) -> AuthPolicy:
        """The sign-in rules from settings (session length, lockouts, TOTP roles)."""
        return auth_policy(self.settings)

    def sms_context(self) -> SmsContext:
        """What the SMS use cases need besides the unit of work: keys, reply templates, options."""
        from datetime import timedelta

        from subreg.adapters.sms.templates import JinjaReplyTemplates
        from subreg.domain.sms.replies import Masking
        from subreg.services.sms.context import SmsContext
        from subreg.services.sms.options import SmsOptions

        s = self.settings
        masking = Masking(
            name=s.sms_show_name, birth=s.sms_show_birth, id_keep_last=s.sms_id_keep_last,
            show_issue_place=s.sms_show_issue_place,
        )  # fmt: skip
        options = SmsOptions(
            short_code=s.sms_short_code, lang=s.lang, allow_ucs2=s.sms_allow_ucs2, masking=masking,
            msisdn_keep_last=s.sms_msisdn_keep_last, rate_limit=s.sms_rate_limit,
            rate_window=timedelta(minutes=s.sms_rate_window_minutes), lease=timedelta(seconds=s.sms_lease_seconds),
        )  # fmt: skip
        templates = JinjaReplyTemplates(
            s.sms_templates_dir, operator=s.sms_operator_name, update_where=s.sms_update_where,
            short_code=s.sms_short_code,
        )  # fmt: skip
        return SmsContext(self.vault, templates, options, self.rule_set.document_key)

    def _enforcement(self) -> EnforcementOptions:
        """The enforcement options, built once per container."""
        if self._enforcement_options is None:
            self._enforcement_options = self.enforcement_options()
        return self._enforcement_options

    def enforcement_options(self) -> EnforcementOptions:
        """The regime schedule and each regime's timeline with the settings' overrides (InputError names a
        bad setting)."""
        from datetime import timedelta

        from subreg.domain.common.errors import FieldError, InputError
        from subreg.domain.compliance.rules import RULE_SETS, get_rule_set
        from subreg.domain.compliance.timeline import parse_regime_schedule
        from subreg.services.enforcement.options import EnforcementOptions

        s = self.settings
        schedule = parse_regime_schedule(s.regime_schedule, RULE_SETS)
        unknown = [FieldError(f"enforcement_timeline.{k}", "unknown_rule_set") for k in s.enforcement_timeline
                   if k not in RULE_SETS]  # fmt: skip
        if unknown:
            raise InputError(unknown)
        timelines = {
            name: get_rule_set(name).timeline.overridden(s.enforcement_timeline.get(name, {})) for name in RULE_SETS
        }
        return EnforcementOptions(
            schedule=schedule, timelines=timelines, quarantine_days=s.number_quarantine_days,
            order_attempts=s.network_order_attempts, retry_after=timedelta(seconds=5),
        )  # fmt: skip

    def rule_set_on(self, day: date) -> RuleSet:
        """The rule set the regime schedule names for `day` (`regime_schedule`), else the setting `rule_set`:
        the enforcement sweep's re-evaluation answers under the regime whose timeline it follows."""
        from subreg.domain.compliance.rules import get_rule_set

        regime = self._enforcement().schedule.regime_on(day)
        return get_rule_set(regime) if regime is not None else self.rule_set

    def reevaluate(self, day: date, *, workers: int | None = None) -> dict[str, Any]:
        """`subreg evaluate --as-of day`: every line's verdict brought up to `day` (incremental); its report."""
        from subreg.services.registry.evaluation import evaluate

        self.ensure_indexes()
        store = self.bulk_session()
        try:
            reference = date.fromisoformat(self.settings.phase_reference_date)
            report = evaluate(
                store, as_of=day, reference=reference, rule_set=self.rule_set_on(day), vault=self.vault,
                pool=self.worker_pool(workers or self.settings.import_workers),
            )  # fmt: skip
        finally:
            store.close()
        return dict(report.as_dict())

    def reevaluate_within(self, uow: Any, day: date) -> dict[str, Any]:
        """`reevaluate` inside `uow`'s open transaction (a dry run's: rolled back with it, so the verdicts the
        date would change are seen by the sweep planned next in the same transaction, then forgotten)."""
        from subreg.adapters.db.bulk import BulkSession
        from subreg.services.registry.evaluation import evaluate

        store = BulkSession(self.engine, within=uow.connection.connection.driver_connection)
        report = evaluate(
            store, as_of=day, reference=date.fromisoformat(self.settings.phase_reference_date),
            rule_set=self.rule_set_on(day), vault=self.vault, pool=self.worker_pool(self.settings.import_workers),
        )  # fmt: skip
        return dict(report.as_dict())

    def take_snapshot(self, as_of: date | str, *, replace: bool = False, actor: Any = None) -> Any:
        """`services.reports.snapshots.take_snapshot` for a day (local days of the operator's time zone)."""
        from datetime import UTC

        from subreg.adapters.clock import OPERATOR_TZ
        from subreg.services.reports.snapshots import TakeSnapshot, take_snapshot

        return take_snapshot(TakeSnapshot(as_of, replace), uow=self.uow(), rule_set=self.rule_set, tz=OPERATOR_TZ,
                             now=datetime.now(UTC), actor=actor)  # fmt: skip

    def notices(self) -> NoticeComposer:
        """Enforcement notices as SMS (the reply templates, sealed once per sweep and action)."""
        from subreg.services.sms.notices import SmsNotices

        return SmsNotices(self.sms_context())

    def campaign_options(self) -> CampaignOptions:
        """Reminder campaigns' defaults and the tick (settings `campaign_*`), in the operator's time zone."""
        from datetime import timedelta

        from subreg.adapters.clock import OPERATOR_TZ
        from subreg.services.campaigns.options import CampaignOptions

        s = self.settings
        return CampaignOptions(
            tz=OPERATOR_TZ, missing_items=tuple(self.rule_set.missing_items), hours=s.campaign_hours,
            binds=s.campaign_binds, lang=s.lang, tick=timedelta(seconds=s.campaign_tick_seconds),
        )  # fmt: skip

    def campaign_texts(self) -> CampaignTexts:
        """Campaign reminders as SMS (the reply templates `campaign_*`, sealed once per tick)."""
        from subreg.services.sms.campaign_texts import SmsCampaignTexts

        return SmsCampaignTexts(self.sms_context())

    def regulator_figures(self) -> RegulatorFigures:
        """The regulator's report's figures, counted set-based in one read snapshot per report."""
        from subreg.adapters.db.regulator_repo import SqlRegulatorFigures

        return SqlRegulatorFigures(self.engine)

    def report_options(self) -> ReportOptions:
        """The operator's name (setting `operator_name`) and time zone the regulator's report is made in."""
        from subreg.adapters.clock import OPERATOR_TZ
        from subreg.services.reports.regulator import ReportOptions

        return ReportOptions(operator=self.settings.operator_name, tz=OPERATOR_TZ)

    def regulator_renderer(self, lang: str | None = None) -> RegulatorRenderer:
        """xlsx, CSV and printable HTML of the regulator's report (`lang`: default the setting `lang`)."""
        return regulator_renderer(self.settings, lang)

    def network(self) -> NetworkProvisioner:
        """The configured network element (setting `network_provisioner`)."""
        s = self.settings
        if s.network_provisioner == "osmohlr":
            from subreg.adapters.hlr.osmohlr import OsmoHlrProvisioner

            host, _, port = s.osmohlr_ctrl.rpartition(":")
            return OsmoHlrProvisioner(host or "127.0.0.1", int(port))
        if s.network_provisioner == "webhook":
            from subreg.adapters.hlr.webhook import WebhookProvisioner

            return WebhookProvisioner(
                "webhook", s.network_webhook_url, s.network_webhook_secret.get_secret_value().encode()
            )
        from subreg.adapters.hlr.builtin import BuiltinNetwork

        return BuiltinNetwork(self.engine)

    def sms_centre(self) -> BuiltinCentre:
        """The built-in SMS centre (embedded default) and the phone simulator's view of it."""
        from subreg.adapters.sms.builtin import BuiltinCentre

        return BuiltinCentre(self.engine, self.vault)

    def phone_centre(self) -> BuiltinCentre | None:
        """The phone simulator's network: the built-in centre, or None when the configured transport is a real
        network (a reply to an MO typed in the simulator would then reach the real subscriber's phone)."""
        return self.sms_centre() if self.settings.sms_transport == "builtin" else None

    def sms_transport(
        self, *, on_mo: Callable[[InboundMessage], Future[Any] | None], on_receipts: Callable[[list[Receipt]], None]
    ) -> SmsTransport:
        """The configured transport (setting `sms_transport`); MO and receipts it hears go to the callbacks."""
        s = self.settings
        if s.sms_transport == "smpp":
            return smpp_transport(s, on_mo=on_mo, on_receipts=on_receipts)
        if s.sms_transport == "kannel":
            return kannel_transport(s)
        return self.sms_centre()


def smpp_transport(
    settings: Settings,
    *,
    on_mo: Callable[[InboundMessage], Future[Any] | None],
    on_receipts: Callable[[list[Receipt]], None],
) -> SmsTransport:
    """The SMPP ESME of setting `smpp_binds` (binding in the background); InputError when the setting is wrong."""
    from subreg.adapters.sms.smpp import SmppConfig, SmppTransport, parse_bind
    from subreg.domain.common.errors import FieldError, InputError

    specs = [b.strip() for b in settings.smpp_binds.get_secret_value().split(",") if b.strip()]
    try:
        binds = tuple(parse_bind(spec, name=f"bind{n}") for n, spec in enumerate(specs, 1))
    except ValueError:
        binds = ()
    if not binds:
        raise InputError([FieldError("smpp_binds", "invalid_format")])
    config = SmppConfig(
        binds, window=settings.smpp_window, throughput=settings.smpp_throughput,
        enquire_link_s=settings.smpp_enquire_link_seconds, response_timeout_s=settings.smpp_response_timeout_seconds,
        reconnect_max_s=settings.smpp_reconnect_max_seconds, mo_dedupe_s=settings.smpp_mo_dedupe_seconds,
    )  # fmt: skip
    transport = SmppTransport(config, on_mo=on_mo, on_receipts=on_receipts)
    transport.start()
    return transport


def kannel_transport(settings: Settings) -> SmsTransport:
    """Kannel's sendsms interface (settings `kannel_*`); receipts come back to the API's dlr endpoint."""
    from subreg.adapters.sms.kannel import KannelConfig, KannelTransport

    config = KannelConfig(
        sendsms_url=settings.kannel_sendsms_url, username=settings.kannel_username,
        password=settings.kannel_password.get_secret_value(), dlr_url=settings.kannel_dlr_url,
    )  # fmt: skip
    return KannelTransport(config)


def regulator_renderer(settings: Settings, lang: str | None = None) -> RegulatorRenderer:
    """The regulator's report's renderers, with the operator's template (setting `regulator_report_template`);
    InputError `not_found` at `regulator_report_template` when the setting names no file."""
    from subreg.adapters.clock import OPERATOR_TZ
    from subreg.adapters.reports.regulator import RegulatorRenderer
    from subreg.domain.common.errors import FieldError, InputError

    template = settings.regulator_report_template
    if template is not None and not template.is_file():
        raise InputError([FieldError("regulator_report_template", "not_found")])
    return RegulatorRenderer(lang=lang or settings.lang, tz=OPERATOR_TZ, template=template)


def _operator_date(moment: datetime) -> date:
    from subreg.adapters.clock import OPERATOR_TZ

    return moment.astimezone(OPERATOR_TZ).date()


def _master_key(settings: Settings) -> bytes:
    from subreg.adapters.crypto.vault import load_master_key

    secret = settings.master_key.get_secret_value() if settings.master_key else None
    return load_master_key(master_key=secret, master_key_file=settings.master_key_file)


def keyring(settings: Settings) -> KeyRing:
    """The master key as configured (environment or key file), for rotation and status."""
    from subreg.adapters.crypto.vault import FileKeyRing

    secret = settings.master_key.get_secret_value() if settings.master_key else None
    return FileKeyRing(_master_key(settings), settings.master_key_file, from_env=bool(secret))


@contextmanager
def keys_database(settings: Settings) -> Iterator[SqlUnitOfWork]:
    """A unit of work on the database WITHOUT unwrapping any key (`subreg keys status` must work when the
    configured master key is not the one the database needs: that is what it reports)."""
    from subreg.adapters.db.engine import create_engine_for
    from subreg.adapters.db.uow import SqlUnitOfWork

    engine = create_engine_for(settings.database_url)
    try:
        yield SqlUnitOfWork(engine)
    finally:
        engine.dispose()


@contextmanager
def ported_lookup(settings: Settings) -> Iterator[PortedLookup]:
    """The MNP list of the configured database for a command that needs nothing else (`subreg check` with
    `operator_ranges` set): no key is unwrapped. NotFoundError when the database has no such table."""
    from sqlalchemy import inspect

    from subreg.adapters.db.engine import create_engine_for
    from subreg.adapters.db.ported_repo import EnginePortedLookup
    from subreg.domain.common.errors import FieldError, NotFoundError

    engine = create_engine_for(settings.database_url)
    try:
        if not inspect(engine).has_table("ported_numbers"):
            raise NotFoundError(
                "the database has no list of ported numbers: run `subreg init`, then `subreg numbers load-ported`",
                errors=[FieldError("database_url", "not_found")],
            )
        yield EnginePortedLookup(engine)
    finally:
        engine.dispose()


def init_storage(settings: Settings) -> None:
    """Create the var directories, the master key (dev/test only), the schema and the encryption keys."""
    from subreg.adapters.crypto.vault import ensure_keys, ensure_master_key
    from subreg.adapters.db.engine import create_engine_for, migrate

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if settings.blob_dir is not None:
        settings.blob_dir.mkdir(parents=True, exist_ok=True)
    secret = settings.master_key.get_secret_value() if settings.master_key else None
    ensure_master_key(env=settings.env, master_key=secret, master_key_file=settings.master_key_file)
    master_key = _master_key(settings)
    engine = create_engine_for(settings.database_url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            ensure_keys(connection, master_key)
    finally:
        engine.dispose()


def operator_numbers(settings: Settings) -> OperatorNumbers:
    """The operator's number ranges from `operator_ranges` (FieldValueError `invalid_format` at `operator_ranges`)."""
    from subreg.domain.common.operator_numbers import operator_numbers as parse

    return parse(settings.operator_range_list)


def bootstrap(settings: Settings) -> Container:
    """Build the container: engine, vault (keys unwrapped once), blob store, rule set and clock."""
    from subreg.adapters.blob.local import LocalBlobStore
    from subreg.adapters.clock import SystemClock
    from subreg.adapters.crypto.vault import AesGcmVault
    from subreg.adapters.db.engine import create_engine_for
    from subreg.domain.compliance.rules import get_rule_set

    numbers = operator_numbers(settings)  # before anything is opened: a bad setting stops the start
    engine = create_engine_for(settings.database_url)
    try:
        vault = AesGcmVault.load(engine, _master_key(settings))
    except BaseException:
        engine.dispose()
        raise
    if settings.blob_backend != "local" or settings.blob_dir is None:
        raise ValueError("unsupported blob backend")
    return Container(
        settings=settings,
        engine=engine,
        vault=vault,
        blobs=LocalBlobStore(settings.blob_dir),
        rule_set=get_rule_set(settings.rule_set),
        clock=SystemClock(),
        numbers=numbers,
        audit_key=vault.audit_key,
    )


# --- what needs no database -----------------------------------------------------------------------------


def system_clock() -> Clock:
    """The machine's clock (UTC now, the operator's date)."""
    from subreg.adapters.clock import SystemClock

    return SystemClock()


def auth_policy(settings: Settings) -> AuthPolicy:
    """The sign-in policy from settings."""
    from subreg.services.access.policy import AuthPolicy

    roles = frozenset(r.strip() for r in settings.totp_roles.split(",") if r.strip())
    return AuthPolicy(
        session_minutes=settings.session_minutes,
        max_failures=settings.login_max_failures,
        lockout_minutes=settings.lockout_minutes,
        max_source_failures=settings.login_max_source_failures,
        source_window_minutes=settings.login_source_window_minutes,
        trusted_source_days=settings.login_trusted_source_days,
        totp_roles=roles,
    )


def card_reader(settings: Settings) -> CardReader:
    """QR (zxing-cpp) and MRZ (Tesseract) reading from ID-card photos."""
    from subreg.adapters.images.card_reader import CardImageReader

    return CardImageReader(max_pixels=settings.max_image_pixels)


def passive_authenticator(settings: Settings, csca_path: Path | None = None) -> PassiveAuthenticator:
    """ICAO 9303 passive authentication against the CSCA certificates of `csca_path` (default: the setting)."""
    from subreg.adapters.chip import IcaoPassiveAuthenticator

    return IcaoPassiveAuthenticator.from_path(csca_path or settings.chip_csca_path)


def face_model(settings: Settings) -> FaceModel:
    """The offline face model (dlib's ResNet through face_recognition; models from face-recognition-models)."""
    from subreg.adapters.face import DlibFaceModel

    return DlibFaceModel(recapture_limit=settings.face_recapture_limit)


def face_thresholds(settings: Settings) -> dict[str, float]:
    """Distance thresholds per regime (the defaults overridden by `face_thresholds`)."""
    from subreg.domain.verification.face import parse_thresholds

    return parse_thresholds(settings.face_thresholds)


def population_request_writer(path: Path) -> Any:
    """The batch request file's writer (a context manager; the file is created with mode 0600)."""
    from subreg.adapters.population.batch_file import BatchRequestWriter

    return BatchRequestWriter(path)


def population_answers(path: Path) -> list[Any]:
    """The answers of a batch answer file, validated (InputError names the bad lines)."""
    from subreg.adapters.population.batch_file import read_answers

    return read_answers(path)


def read_records(stream: BinaryIO, fmt: str = "auto") -> Iterator[tuple[int, dict[str, Any] | FieldError]]:
    """Records of a JSON-lines or CSV stream, one (line, record or line error) at a time."""
    from subreg.adapters.files.records_io import read_records as read

    return read(stream, fmt)


def write_records(records: Iterable[Mapping[str, Any]], stream: BinaryIO, fmt: str) -> int:
    """Write records as JSON lines (`jsonl`) or CSV (`csv`); how many."""
    from subreg.adapters.files.records_io import write_csv, write_jsonl

    return (write_csv if fmt == "csv" else write_jsonl)(records, stream)


def open_import_source(path: Path, fmt: str, encoding: str, mapping: ColumnMapping) -> ImportSource:
    """An operator's export file opened for import (format and encoding detected when `auto`)."""
    from subreg.adapters.files.import_sources import open_source

    return open_source(path, fmt, encoding, mapping)


def import_file_system() -> ImportFiles:
    """Export files opened from disk and reject files written beside them (`subreg import`)."""
    from subreg.adapters.files.import_sources import ImportFileSystem

    return ImportFileSystem()


def import_fingerprint(path: Path, fmt: str, encoding: str, mapping_text: str) -> str:
    """What identifies one import of one file (so that running it again resumes it)."""
    from subreg.adapters.files.import_sources import fingerprint

    return fingerprint(path, fmt, encoding, mapping_text)


def demo_card_scans(holder: Mapping[str, Any]) -> dict[str, bytes]:
    """Printed card scans (front with the QR code, back with the MRZ) of a demo holder's CCCD or CMND."""
    from subreg.adapters.images.demo_cards import card_scans

    return card_scans(holder)


def demo_jpegs(seed: int) -> dict[str, list[bytes]]:
    """Small synthetic JPEGs per document kind for the demo operator's complete records."""
    from subreg.adapters.images.demo_images import demo_jpegs as make

    return make(seed)


def open_ported_file(path: Path) -> PortedSource:
    """The national MNP database's export (CSV: msisdn, direction), opened for `subreg numbers load-ported`."""
    from subreg.adapters.files.ported_csv import PortedCsv

    return PortedCsv(path)


def generate_master_key() -> bytes:
    """32 random bytes for a new master key."""
    from subreg.adapters.crypto.vault import generate_master_key as generate

    return generate()
