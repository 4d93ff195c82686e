"""Settings, read once from the environment (prefix SUBREG_) and an optional .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Every knob of subreg; docs/configuration.md lists them (written from here by docs/tables.py)."""

    model_config = SettingsConfigDict(env_prefix="SUBREG_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = Field(
        "dev", description="`dev` and `test` create the master key file on demand; `prod` refuses to and requires a key"
    )
    var_dir: Path = Field(Path("var"), description="Where the embedded database, the blob store and the dev key live")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/db` in production; "
        "default `sqlite:///<var_dir>/subreg.db`",
    )
    blob_backend: Literal["local"] = Field(
        "local", description="Where document images are stored: `local`, a directory (the only backend so far)"
    )
    blob_dir: Path | None = Field(
        None, description="Root of the local blob store (files are AES-256-GCM ciphertext); default `<var_dir>/blobs`"
    )
    master_key: SecretStr | None = Field(
        None, description="Base64 of 32 random bytes; takes precedence over the key file"
    )
    master_key_file: Path | None = Field(
        None, description="File holding the master key (mode 0600, never committed); default `<var_dir>/master.key`"
    )
    rule_set: str = Field("nd49-2017", description="Completeness rule set applied by default")
    operator_ranges: str = Field(
        "",
        description=(
            "This operator's numbers, comma-separated: prefixes (`090`, `+8493`, `0162`) or inclusive ranges "
            "(`0901000000-0901999999`). Registration refuses a number outside them unless it was ported in, and a "
            "number ported out (`subreg numbers load-ported`), with `not_operator_number`; `subreg check`, "
            "`POST /api/v1/checks` and `subreg import` apply them only when set. Empty: every Vietnamese mobile number"
        ),
    )
    lang: Literal["vi", "en"] = Field("vi", description="Default language of messages and pages")
    host: str = Field("127.0.0.1", description="Address `subreg serve` listens on")
    port: int = Field(8000, description="Port `subreg serve` listens on")
    log_level: str = Field("INFO", description="Log level (`DEBUG`, `INFO`, `WARNING`, `ERROR`)")
    log_json: bool = Field(True, description="Structured JSON logs (`false`: console output)")
    max_upload_bytes: int = Field(10 * 1024 * 1024, description="Largest request body or image accepted, in bytes")
    max_image_pixels: int = Field(40_000_000, description="Decompression-bomb guard: most pixels an image may have")
    max_body_records: int = Field(10_000, description="Most records in one `POST /api/v1/checks` body")

    # Privacy (staff sign-in, sessions, audit, retention, data-subject requests)
    session_minutes: int = Field(480, description="Lifetime of a web session or API token, in minutes")
    login_max_failures: int = Field(5, description="Failed sign-ins in a row before an account locks")
    lockout_minutes: int = Field(15, description="How long a locked account stays locked")
    login_max_source_failures: int = Field(
        20, ge=1, description="Failed sign-ins from one client address (any accounts) before it must wait"
    )
    login_source_window_minutes: int = Field(15, ge=1, description="The window those failures are counted over")
    login_trusted_source_days: int = Field(
        30,
        ge=0,
        description=(
            "An account that signed in from a client address within this many days may still sign in from it "
            "while that address must wait (shared addresses behind a NAT); 0 turns the exception off"
        ),
    )
    totp_roles: str = Field(
        "", description="Comma-separated roles that must use a TOTP second factor, e.g. `admin,dpo`"
    )
    cookie_secure: bool = Field(False, description="Send cookies only over HTTPS (`true` in production)")
    serving_minutes: int = Field(
        30, description="How long a point of sale may serve a subscription after the holder proved presence, in minutes"
    )
    retention_years: int = Field(
        5,
        description="Years a terminated subscription's personal data is kept before `subreg dsr retention` "
        "crypto-shreds it",
    )
    dsr_deadline_days: int = Field(30, description="Days to answer a data-subject request")
    consent_version: str = Field("2026-01", description="Version of the consent text shown at registration")
    opening_hours: str = Field(
        "07:30-21:30",
        description="Points of sale's usual opening hours (`HH:MM-HH:MM`, local time): "
        "reads outside them are an anomaly signal",
    )
    local_timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="Time zone of the points of sale (of those opening hours)"
    )

    # Compliance at scale
    phase_reference_date: str = Field(
        "2018-04-24", description="Reference date of update phases (phase 1 = tenure under 5 years)"
    )
    import_workers: int = Field(2, description="Worker processes used by `subreg import`")
    workers: int = Field(
        0, ge=0, description="HTTP server processes of `subreg serve` (0: one per CPU core); SQLite writers queue"
    )
    threads: int = Field(
        8, ge=1, description="Threads per server process for blocking work (database, image checks); more wait in line"
    )

    # The SMS channel (1414 look-ups; later reminders and notices): docs/sms.md
    sms_transport: Literal["builtin", "smpp", "kannel"] = Field(
        "builtin",
        description="How MT messages leave and MO arrive: `builtin` (the embedded SMS centre and its phone simulator), "
        "`smpp` (an SMSC, setting `smpp_binds`) or `kannel` (Kannel's sendsms and smsbox callbacks)",
    )
    sms_short_code: str = Field("1414", description="The service number subscribers text (the sender of replies)")
    sms_allow_ucs2: bool = Field(
        False, description="Keep Vietnamese accents in replies (UCS-2: 70 characters per SMS instead of 160)"
    )
    sms_rate_limit: int = Field(20, ge=1, description="Look-ups a sender may make per window before a polite refusal")
    sms_rate_window_minutes: int = Field(60, ge=1, description="The window of `sms_rate_limit`, in minutes")
    sms_show_name: Literal["full", "initials", "hidden"] = Field("full", description="How a 1414 reply shows the name")
    sms_show_birth: Literal["full", "year", "hidden"] = Field("year", description="How a 1414 reply shows the birth")
    sms_id_keep_last: int = Field(4, ge=0, le=12, description="Digits of the ID number a 1414 reply shows (the last)")
    sms_msisdn_keep_last: int = Field(4, ge=0, le=9, description="Digits of each number `TTTB <ID>` lists (the last)")
    sms_show_issue_place: bool = Field(True, description="Whether a 1414 reply shows the ID's place of issue")
    sms_templates_dir: Path | None = Field(
        None, description="The operator's reply templates (`<dir>/<lang>/<name>.txt`), used before the built-in ones"
    )
    sms_operator_name: str = Field("nhà mạng", description="The operator's name in replies")
    sms_update_where: str = Field(
        "cửa hàng, đại lý của nhà mạng", description="Where a reply tells the subscriber to go to update"
    )
    smpp_binds: SecretStr = Field(
        SecretStr(""),
        description="SMSC binds, comma-separated `host:port:system_id:password[:system_type]` (transceiver); "
        "several binds share the load",
    )
    smpp_window: int = Field(10, ge=1, description="Submits awaiting the SMSC's answer per bind")
    smpp_throughput: float = Field(
        50.0, ge=0, description="Most submits per second per bind (the SMSC's contract; 0: no limit)"
    )
    smpp_enquire_link_seconds: float = Field(30.0, gt=0, description="Keep-alive interval of each bind")
    smpp_response_timeout_seconds: float = Field(
        10.0, gt=0, description="How long a submit waits for the SMSC's answer before it is retried"
    )
    smpp_reconnect_max_seconds: float = Field(
        30.0, gt=0, description="Longest pause between reconnection attempts (exponential backoff with jitter)"
    )
    smpp_mo_dedupe_seconds: float = Field(
        60.0,
        ge=0,
        description="An identical MO from the same sender within this time is taken as the SMSC's redelivery "
        "and answered once",
    )
    kannel_sendsms_url: str = Field(
        "http://127.0.0.1:13013/cgi-bin/sendsms", description="Kannel's sendsms interface (MT)"
    )
    kannel_username: str = Field("subreg", description="Kannel sendsms-user name")
    kannel_password: SecretStr = Field(SecretStr(""), description="Kannel sendsms-user password")
    kannel_dlr_url: str = Field(
        "", description="Where Kannel posts receipts, e.g. `http://127.0.0.1:8000/sms/kannel/main/dlr?secret=...`"
    )
    sms_gateway_secrets: SecretStr = Field(
        SecretStr(""),
        description="Each gateway's callback secret, comma-separated `name:secret`; a gateway without one is refused",
    )
    sms_gateway_addresses: str = Field(
        "", description="Client addresses allowed to call the gateway callbacks, comma-separated (empty: any)"
    )
    sms_lease_seconds: int = Field(
        60,
        ge=1,
        le=3600,
        description="How long a dispatcher holds an outbox row it claimed; a row not settled by then (the process "
        "died) is submitted again (the built-in centre suppresses the duplicate, SMPP and Kannel cannot)",
    )

    # --- reminder campaigns: docs/campaigns.md ---------------------------------------------------------
    campaign_binds: int = Field(
        1, ge=1, le=64, description="SMSC binds a new campaign sends over (its rate is the rate per bind times these)"
    )
    campaign_hours: str = Field(
        "08:00-20:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$|^([01][0-9]|2[0-3]):[0-5][0-9]-24:00$",
        description="Default allowed local hours of a new campaign (`HH:MM-HH:MM`, Asia/Ho_Chi_Minh)",
    )
    campaign_tick_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the worker queues the next slice of each running campaign"
    )

    # --- enforcement (notices, locks, termination) and the network --------------------------------------
    regime_schedule: dict[str, str] = Field(
        default_factory=lambda: {"2017-04-24": "nd49-2017"},
        description='Which rule set (regime) applies from which date, e.g. `{"2017-04-24": "nd49-2017"}`',
    )
    enforcement_timeline: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='Overrides of a regime\'s enforcement timeline, e.g. `{"nd49-2017": {"notices": 5, '
        '"lock_one_way_days": 15, "lock_two_way_days": 15, "terminate_days": 30, "starts_on": '
        '"2018-04-25"}}` (`<step>_on` sets a fixed date)',
    )
    # --- population-database matching (docs/verification.md) -------------------------------------------------
    population_backend: str = Field(
        "reference",
        pattern=r"^(reference|http)$",
        description="Population database: `reference` (embedded: the demo data with deliberate mismatches) or "
        "`http` (the JSON contract of docs/verification.md at `population_url`)",
    )
    population_url: str = Field("", description="Base URL of the population database's JSON contract (http backend)")
    population_token: SecretStr = Field(SecretStr(""), description="Bearer token of the population database")
    population_reference_seed: int = Field(2023, description="Seed of the reference registry's deliberate mismatches")
    number_quarantine_days: int = Field(
        180, ge=0, le=3650, description="Days a terminated number waits before it can be issued to a new holder"
    )
    enforce_daily_at: str = Field(
        "01:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time the worker runs the day's enforcement sweep",
    )
    snapshot_daily_at: str = Field(
        "23:50",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time the worker takes the day's report snapshot (after the day's enforcement sweep)",
    )
    derive_daily_at: str = Field(
        "00:30",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time the worker fills absent values the papers give (`subreg complete --derive`); "
        "before the enforcement sweep, so that the sweep never notifies or locks a line the papers complete",
    )
    network_provisioner: Literal["builtin", "osmohlr", "webhook"] = Field(
        "builtin",
        description="Where lock and unlock orders go: `builtin` (the embedded network), `osmohlr` (its CTRL "
        "interface, `osmohlr_ctrl`) or `webhook` (a signed HTTP provisioning gateway, `network_webhook_*`)",
    )
    osmohlr_ctrl: str = Field("127.0.0.1:4259", description="OsmoHLR's CTRL interface, `host:port`")
    network_webhook_url: str = Field(
        "", description="The provisioning gateway's base URL (orders go to `<url>/orders`)"
    )
    network_webhook_secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key of the provisioning webhook")
    network_order_attempts: int = Field(
        10, ge=1, description="Tries of one network order before it is shown to staff as failed"
    )
    # Reports
    operator_name: str = Field(
        "Nhà mạng", description="The operator's name as the regulator's report shows it (`subreg report regulator`)"
    )
    regulator_report_template: Path | None = Field(
        None,
        description="The operator's own Jinja2 template of the regulator's printable report (HTML, A4); it may "
        'start with `{% extends "builtin/regulator.html" %}` and replace blocks. Empty: the shipped template',
    )

    # --- fraud and quality signals: docs/signals.md ----------------------------------------------------
    signal_over_limit_min: int = Field(
        4, ge=2, le=100, description="Lines without a contract under one ID document that raise a signal"
    )
    signal_volume_window_days: int = Field(
        28, ge=3, le=366, description="Trailing days a point of sale's daily registrations are compared with"
    )
    signal_volume_min: int = Field(
        20, ge=1, description="Registrations in a day below which a point of sale is never flagged"
    )
    signal_volume_ratio: float = Field(
        3.0, ge=1, le=1000, description="Flagged from this many times the point's trailing daily mean"
    )
    signal_volume_z: float = Field(
        3.5, ge=0, le=100, description="and this robust z-score (median + z x 1.4826 x MAD of the trailing days)"
    )
    signal_recent_days: int = Field(7, ge=1, le=92, description="Days (up to today) judged by the per-day signals")
    signal_multi_pos_points: int = Field(
        2, ge=2, le=100, description="Points of sale one ID document was registered at on one day"
    )
    signal_multi_pos_registrations: int = Field(
        3, ge=2, le=1000, description="Registrations of one ID document on that day"
    )
    signal_portrait_bands: int = Field(
        8, ge=2, le=64, description="Bands a portrait's 256-bit perceptual hash is cut into (must divide 256)"
    )
    signal_portrait_max_distance: int = Field(
        24, ge=0, le=128, description="Hamming distance (of 256 bits) under which two portraits are the same"
    )
    signal_portrait_batch: int = Field(
        200, ge=1, le=10000, description="Portraits decrypted per transaction by `subreg signals index-portraits`"
    )
    signal_staff_days: int = Field(30, ge=1, le=366, description="Audit-log days the staff-reads signal counts")
    signal_staff_factor: float = Field(
        5.0, ge=1, le=1000, description="Staff flagged from this many times their peers' median reads"
    )
    signal_staff_min_reads: int = Field(50, ge=1, description="Reads below which staff are never flagged")
    signal_list_limit: int = Field(500, ge=1, le=100000, description="Signals listed per kind at most")
    # The back-office work queue (services/backoffice/work_queue.py).
    backoffice_lease_minutes: int = Field(
        15, ge=1, le=480, description="How long a back-office item stays with the staff member who took it"
    )

    # --- the supervisor review queue: docs/backoffice.md ---------------------------------------------
    review_enabled: bool = Field(True, description="Flag doubtful registrations and updates for a supervisor")
    review_cross_store_only: bool = Field(
        True, description="A supervisor never reviews their own point of sale's work while one of another is active"
    )
    review_active_minutes: int = Field(
        30, ge=1, le=1440, description="A supervisor signed in or seen within this many minutes is active"
    )
    review_lease_seconds: int = Field(
        600, ge=30, le=86400, description="How long a claimed item stays with its supervisor"
    )
    review_image_margin: float = Field(
        0.15, ge=0, le=5, description="An image check passing within this share above its threshold is flagged"
    )
    review_rejected_services: str = Field(
        "",
        description="What a rejected line keeps, comma-separated (e.g. `sms_1414,emergency_calls`); "
        "empty: the rule set's `rejected_registration_services`",
    )

    # --- chip data and face biometrics: docs/verification-chip-face.md ------------------------------------
    chip_csca_path: Path | None = Field(
        None, description="Trusted CSCA certificates: a PEM file or a folder of PEM/DER files (none: chips refused)"
    )
    face_thresholds: str = Field(
        "",
        description="Face distance thresholds per regime over the defaults, e.g. `circular-08-2026=0.5,nd163-2024=0.6`",
    )
    face_template_days: int | None = Field(
        None, ge=1, description="Days a face template is kept; empty: while the holder's line is active"
    )
    face_recapture_limit: float = Field(
        60.0, gt=1, description="Spectral peak ratio above which a live capture is refused as a photo of a photo"
    )

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'subreg.db'}"
        if self.blob_dir is None:
            self.blob_dir = self.var_dir / "blobs"
        if self.master_key_file is None:
            self.master_key_file = self.var_dir / "master.key"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def operator_range_list(self) -> list[str]:
        """`operator_ranges` split at its commas (validated by `bootstrap.operator_numbers`)."""
        text = self.operator_ranges.strip()
        return [entry.strip() for entry in text.split(",")] if text else []
