"""The central subscriber database as SQLAlchemy Core tables (SQLite and PostgreSQL).

Layout, and why:

- `subscriptions` holds LINES: `id` is the line's identity, `msisdn` its number as an integer
  (`84901234567`, see `domain.common.msisdn.msisdn_key`) and `generation` how many times the number was
  issued (unique together: a number terminated and reclaimed is issued again as a new line, and the old
  line keeps its history). Every child table (documents, history, counter transactions, payments,
  serving visits, network orders, consents) refers to `subscription_id`, the key a PostgreSQL
  deployment hash-partitions the line tables on at 60 M rows.
  The compliance columns (`complete`, `missing`, `error_codes`, `rule_set`, `evaluated_on`) hold no
  personal data and allow set-based statistics and campaigns without decrypting anything.
- `holders` keep ALL personal fields (holder, guardian, organization and its users) in one AES-256-GCM
  ciphertext (`payload`) under a per-holder data key (DEK). The DEK is stored only wrapped by a
  key-encryption key (`kek_id` -> `key_encryption_keys`), which is itself wrapped by the master key
  kept outside the database. Nulling `wrapped_dek` crypto-shreds the holder: the ciphertext stays but
  nobody can read it, and backups that still hold the old row hold only ciphertext.
- `aad_ref` is a random 16-byte value chosen before the insert and used as the AES-GCM associated
  data of the payload (`b"holder:" + aad_ref`), so a payload copied onto another holder row does not
  decrypt. The integer id cannot serve: it is only known after the insert, and bulk loads encrypt first.
- `id_blind` is a keyed HMAC of the normalized ID number (vault `blind`), so "all subscriptions under
  this ID document" is an index look-up without storing the number. It is deliberately NOT unique:
  a CMND and a 12-digit CMND/CCCD may share digits, and organizations are indexed on another number.
- `subscription_history` is append-only: triggers created by the migration refuse UPDATE and DELETE.
- The SMS channel's tables (`sms_inbound`, `sms_outbox`, `sms_submits`, `sms_senders`, `sms_centre`) keep
  message texts only sealed under a per-row data key (an MO may carry an ID number, a reply a name); numbers
  are integer keys like `subscriptions.msisdn`, so the outbox and the rate windows are plain index work.
- `ported_numbers` is the MNP list (numbers ported in to this operator and out of it), keyed by the same
  integer MSISDN: millions of rows, looked up by the numbers at hand, never read whole.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    func,
    text,
    true,
)

__all__ = [
    "HISTORY_ACTIONS",
    "audit_log",
    "auth_sessions",
    "backoffice_items",
    "bill_payments",
    "biometric_templates",
    "campaign_sends",
    "campaigns",
    "consents",
    "counter_transactions",
    "device_changes",
    "document_links",
    "documents",
    "dsr_requests",
    "enforcement_recheck",
    "enforcement_steps",
    "evaluation_dirty",
    "evaluation_runs",
    "field_provenance",
    "holders",
    "import_runs",
    "key_encryption_keys",
    "login_attempts",
    "metadata",
    "network_lines",
    "network_orders",
    "otp_codes",
    "points_of_sale",
    "population_matches",
    "ported_numbers",
    "portrait_bands",
    "report_snapshots",
    "review_items",
    "serving_visits",
    "signal_reviews",
    "sms_centre",
    "sms_inbound",
    "sms_outbox",
    "sms_senders",
    "sms_submits",
    "snapshot_figures",
    "staff",
    "staff_provinces",
    "subscription_history",
    "subscriptions",
    "verifications",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-assigns INTEGER PRIMARY KEY (rowid alias), not BIGINT; PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")

HISTORY_ACTIONS = ("created", "updated", "status_changed", "documents_added")


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


points_of_sale = Table(
    "points_of_sale",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("kind", String(24), nullable=False),  # store | agent | authorized_point
    Column("name", String(200), nullable=False),
    Column("province_code", String(3), nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("point_of_sale_id", Integer, ForeignKey("points_of_sale.id"), nullable=True),
    Column("password_hash", String(255), nullable=False),  # argon2id (argon2-cffi PasswordHasher)
    Column("active", Boolean, nullable=False, server_default=true()),
    _created_at(),
    # Added by 0002_privacy: lockout, second factor, password life cycle.
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("totp_secret", LargeBinary, nullable=True),  # vault-encrypted (aad "staff-totp:<id>")
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Column("must_change_password", Boolean, nullable=False, server_default=false()),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)

key_encryption_keys = Table(
    "key_encryption_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    # Fingerprint of the master key that wraps this KEK: a wrong master key is detected up front.
    Column("master_key_id", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),  # data | blind_index
    _created_at(),
    Column("active", Boolean, nullable=False, server_default=true()),
)

holders = Table(
    "holders",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(16), nullable=False),  # person | organization
    Column("id_type", String(16), nullable=True),  # cmnd | cccd | passport | organization
    Column("id_blind", LargeBinary(32), nullable=True),
    # The CCCD's first three digits (province of birth registration) stay in clear ON PURPOSE: regional
    # statistics for the regulator need them for 60 M rows, and three digits shared by ~1 M people do
    # not identify anyone. Everything else personal is inside `payload`.
    Column("province_code", String(3), nullable=True),
    Column("aad_ref", LargeBinary(16), nullable=False),
    Column("kek_id", Integer, ForeignKey("key_encryption_keys.id"), nullable=False),
    Column("wrapped_dek", LargeBinary, nullable=True),  # NULL = crypto-shredded
    Column("payload", LargeBinary, nullable=False),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Added by 0002_privacy: data-subject flags and crypto-shredding time.
    Column("restricted", Boolean, nullable=False, server_default=false()),
    Column("objected", Boolean, nullable=False, server_default=false()),
    Column("erased_at", DateTime(timezone=True), nullable=True),
    Index(None, "id_blind"),
    Index("ix_holders_restricted", "id", sqlite_where=text("restricted"), postgresql_where=text("restricted")),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    # The line's identity (0006): the number is reissued to a new holder after a termination, as a new
    # line (generation + 1); history, documents, orders and audit entries refer to the line, not the number.
    Column("id", BigId, primary_key=True),
    Column("msisdn", BigInteger, nullable=False),
    Column("generation", SmallInteger, nullable=False, server_default="1"),
    Column("holder_id", BigId, ForeignKey("holders.id"), nullable=False),
    Column("subscriber_type", String(16), nullable=True),
    Column("payment_type", String(16), nullable=True),
    Column("activated_on", Date, nullable=True),
    Column("channel", String(24), nullable=True),
    Column("point_of_sale_id", Integer, ForeignKey("points_of_sale.id"), nullable=True),
    # The code as given, kept even when it names no known point of sale (legacy imports).
    Column("point_of_sale_code", String(32), nullable=True),
    Column("contract_number", String(64), nullable=True),
    Column("purpose", String(24), nullable=True),  # personal_use | organization_use (not personal data)
    Column("status", String(16), nullable=False, server_default="active"),
    Column("complete", Boolean, nullable=False),
    Column("missing", Text, nullable=False, server_default=""),  # comma-joined field paths
    Column("error_codes", Text, nullable=False, server_default=""),  # comma-joined "path:code"
    Column("rule_set", String(32), nullable=False),
    Column("evaluated_on", Date, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Added by 0003_compliance (bulk import, evaluation at scale; none of them is personal data):
    # state 0 complete | 1 incomplete | 2 contract needed | 3 invalid; phase 1 | 2 (NULL: no activation
    # date); missing_mask: bit i = services.evaluation.MISSING_ITEMS[i]; source_hash: keyed hash of the
    # normalized record (re-import detects "unchanged"); document_refs: JSON {kind: reference}.
    Column("verdict", SmallInteger, nullable=True),
    Column("phase", SmallInteger, nullable=True),
    Column("missing_mask", BigInteger, nullable=True),
    Column("has_contract", Boolean, nullable=True),
    Column("contract_needed", Boolean, nullable=True),
    Column("province_code", String(3), nullable=True),
    Column("source_hash", LargeBinary(16), nullable=True),
    Column("document_refs", Text, nullable=True),
    # Added by 0007 (incremental evaluation; see the migration's docstring): verdict = the rule set's answer
    # on the line's own papers (0 complete | 1 incomplete | 3 invalid, domain.compliance.state); valid_until =
    # the Monday of the week its verdict can change by itself; person_key = the blind index the line counts
    # towards for the 4th-subscription rule.
    Column("valid_until", Date, nullable=True),
    Column("person_key", LargeBinary(32), nullable=True),
    # Added by 0012 (enforcement; domain.enforcement.machine): the line's state in the machine (NULL: not in it),
    # the day its current step happened, the notices sent, the regime. On the line so that a day's sweep is one scan.
    Column("enf_state", SmallInteger, nullable=True),
    Column("enf_step_on", Date, nullable=True),
    Column("enf_notices", SmallInteger, nullable=True),
    Column("enf_last_notice_on", Date, nullable=True),
    Column("enf_regime", String(32), nullable=True),
    # 0016: the line's last verification (regime, method: document | population_db | chip | face | ...; when).
    Column("verified_regime", String(32), nullable=True),
    Column("verified_method", String(16), nullable=True),
    Column("verified_at", DateTime(timezone=True), nullable=True),
    Index(None, "holder_id"),
    Index("uq_subscriptions_msisdn_generation", "msisdn", "generation", unique=True),
    Index(
        None,
        "valid_until",
        sqlite_where=text("valid_until IS NOT NULL"),
        postgresql_where=text("valid_until IS NOT NULL"),
    ),
    Index(None, "person_key"),
    Index(
        "ix_subscriptions_contract_needed",
        "verdict",
        sqlite_where=text("contract_needed"),
        postgresql_where=text("contract_needed"),
    ),
)

# A document (blind index) counted under another person key: a CCCD whose QR code names the previous CMND.
document_links = Table(
    "document_links",
    metadata,
    Column("document_key", LargeBinary(32), primary_key=True),
    Column("person_key", LargeBinary(32), nullable=False),
)

# People (person keys) whose active lines changed since the last evaluation: written in the transaction of
# the change, emptied by the evaluation that re-ranks their lines (the 4th-subscription rule).
evaluation_dirty = Table(
    "evaluation_dirty",
    metadata,
    Column("person_key", LargeBinary(32), primary_key=True),
)

# One row per `subreg evaluate` (and the daily job): the dates and rule set it answered for.
evaluation_runs = Table(
    "evaluation_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("phase_reference", Date, nullable=False),
    Column("rule_set", String(32), nullable=False),
    Column("full", Boolean, nullable=False),
    Column("report", Text, nullable=False, server_default="{}"),
    Column("finished_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

documents = Table(
    "documents",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, ForeignKey("subscriptions.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    # Random key in the blob store (bytes encrypted with the holder's DEK); NULL when only a reference
    # to a document held elsewhere is known (legacy imports, demo data).
    Column("blob_key", String(64), nullable=True),
    Column("external_ref", String(256), nullable=True),
    Column("content_type", String(64), nullable=True),
    Column("size", Integer, nullable=True),
    _created_at(),
    Column("created_by_staff_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("point_of_sale_id", Integer, ForeignKey("points_of_sale.id"), nullable=True),
    Index(None, "subscription_id"),
    Index(None, "blob_key", unique=True),
)

subscription_history = Table(
    "subscription_history",
    metadata,
    Column("id", BigId, primary_key=True),
    # No foreign key: history outlives the subscription row (holder erased).
    Column("subscription_id", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor_staff_id", Integer, nullable=True),
    Column("channel", String(24), nullable=True),
    Column("action", String(24), nullable=False),
    # JSON: {"fields": [paths], "values": {non-personal path: [old, new]}}; personal values never appear.
    Column("changes", Text, nullable=False, server_default="{}"),
    Index(None, "subscription_id"),
    Index(None, "at"),  # 0014: period reports
)


# --- 0002_privacy: sessions, login attempts, audit log, data-subject requests, consents ------------------

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", BigId, primary_key=True),
    # SHA-256 of the random token: a leaked database does not hand out live sessions.
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # web | api
    Column("csrf_hash", LargeBinary(32), nullable=True),  # web sessions only
    Column("second_factor", Boolean, nullable=False, server_default=false()),
    _created_at(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index(None, "staff_id"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("username", String(64), nullable=False),
    Column("staff_id", Integer, nullable=True),
    Column("success", Boolean, nullable=False),
    # ok | bad_password | locked | disabled | bad_totp | unknown | totp_required | too_many_attempts
    Column("reason", String(32), nullable=False),
    Column("source_hash", LargeBinary(16), nullable=True),  # keyed hash of the client address, never the address
    Index(None, "username", "at"),
    Index(None, "source_hash", "at"),
    # Successes only (a few per account and day, however many failures an attacker adds): whether an account
    # signed in from an address lately, so that it may still sign in from it while the address is held back.
    Index(
        "ix_login_attempts_signed_in",
        "staff_id",
        "source_hash",
        "at",
        sqlite_where=text("success = 1"),
        postgresql_where=text("success = true"),
    ),
)

# Append-only and hash-chained (domain.audit): `seq` is assigned by the appender, never by the database,
# so a gap is visible. Triggers created by the migration refuse UPDATE and DELETE.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),  # canonical UTC timestamp (domain.audit.utc_timestamp)
    Column("actor_staff_id", Integer, nullable=True),
    Column("actor_role", String(32), nullable=True),
    Column("point_of_sale_id", Integer, nullable=True),
    Column("action", String(48), nullable=False),
    Column("subject", String(128), nullable=True),  # e.g. "sub:84912345678", "holder:17"; never plaintext PII
    Column("fields", Text, nullable=False, server_default="[]"),  # JSON list of field paths
    Column("purpose", String(32), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("details", Text, nullable=False, server_default="{}"),  # JSON, no personal data
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "actor_staff_id", "at"),
    Index(None, "subject"),
    Index(None, "at"),
)

dsr_requests = Table(
    "dsr_requests",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(16), nullable=False),  # access | export | rectify | restrict | object | erase
    Column("holder_id", BigId, ForeignKey("holders.id"), nullable=True),
    Column("status", String(16), nullable=False, server_default="open"),  # open | done | refused
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("due_on", Date, nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("outcome", String(64), nullable=True),  # a code, never free text about the person
    Index(None, "holder_id"),
    Index(None, "status", "due_on"),
)

consents = Table(
    "consents",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("holder_id", BigId, ForeignKey("holders.id"), nullable=False),
    Column("subscription_id", BigInteger, nullable=True),
    Column("text_version", String(32), nullable=False),
    Column("text_sha256", String(64), nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("shown_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("staff_id", Integer, nullable=True),
    Column("point_of_sale_id", Integer, nullable=True),
    Index(None, "holder_id"),
)

# --- 0002_privacy, for the point of sale: counter transactions, bill payments, network orders ----------

counter_transactions = Table(
    "counter_transactions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),  # sim_replacement | change_owner | package_change | ...
    Column("outcome", String(16), nullable=False),  # done | refused
    Column("refusal_code", String(32), nullable=True),  # e.g. update_required
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("staff_id", Integer, nullable=True),
    Column("point_of_sale_id", Integer, nullable=True),
    Index(None, "subscription_id"),
)

bill_payments = Table(
    "bill_payments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("amount_vnd", BigInteger, nullable=False),
    Column("reference", String(64), nullable=True),
    Column("paid_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("staff_id", Integer, nullable=True),
    Column("point_of_sale_id", Integer, nullable=True),
    Index(None, "subscription_id"),
)

# A point of sale "serves" a subscription while its holder is at the counter: opened when staff prove
# presence (number + the ID document shown, or a QR read from the card), closed by expiry. Agents and
# authorized points see only subscriptions they registered or are serving (domain.access.Scope).
serving_visits = Table(
    "serving_visits",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("point_of_sale_id", Integer, nullable=False),
    Column("staff_id", Integer, nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index(None, "subscription_id", "point_of_sale_id"),
)

# --- 0003_compliance: resumable bulk imports -----------------------------------------------------------

# One row per import of one file. A batch's rows and this row's progress commit in ONE transaction, so
# after a kill the same command resumes at `next_offset` (bytes) / `next_line` and the reject file is cut
# back to `reject_bytes`. `counts` is JSON {imported, updated, unchanged, rejected, incomplete}.
import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of size, head, tail, format, mapping
    Column("source", String(255), nullable=False),  # the file's base name
    Column("format", String(16), nullable=False),
    Column("status", String(16), nullable=False, server_default="running"),  # running | done
    Column("next_offset", BigInteger, nullable=False, server_default="0"),
    Column("next_line", BigInteger, nullable=False, server_default="0"),
    Column("reject_bytes", BigInteger, nullable=False, server_default="0"),
    Column("counts", Text, nullable=False, server_default="{}"),
    _created_at(),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index(None, "fingerprint", "status"),
)

# Orders for the HLR/HSS (lock, unlock, terminate); the enforcement work carries them out.
network_orders = Table(
    "network_orders",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("action", String(24), nullable=False),  # unlock | lock_one_way | lock_two_way | terminate
    Column("status", String(16), nullable=False, server_default="queued"),  # queued | sent | done | failed
    Column("reason", String(48), nullable=False),  # e.g. information_complete
    _created_at(),
    Column("created_by_staff_id", Integer, nullable=True),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    Column("priority", SmallInteger, nullable=False, server_default="5"),
    # Added by 0012 (the orders' outbox): the idempotency key, retries, what the network applied and who.
    Column("order_key", String(96), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(48), nullable=True),
    Column("applied", String(16), nullable=True),
    Column("provisioner", String(48), nullable=True),
    Index(None, "status", "priority", "id"),
    Index(None, "subscription_id"),
    Index(None, "order_key", unique=True),
)

# Enforcement (0012): the dated steps; lines completed since the last restore (the state is on the line).
enforcement_steps = Table(
    "enforcement_steps",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("action", String(16), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("regime", String(32), nullable=False),
    Column("province_code", String(8), nullable=False),
    Column("channel", String(24), nullable=False),
    _created_at(),
    Index(None, "subscription_id", "id"),
    Index(None, "on_date", "action"),
)
enforcement_recheck = Table(
    "enforcement_recheck",
    metadata,
    Column("subscription_id", BigInteger, primary_key=True),
    Column("channel", String(24), nullable=False),
    _created_at(),
)
# The built-in network of the embedded default: what each number can do (open | one_way | two_way | absent).
network_lines = Table(
    "network_lines",
    metadata,
    Column("msisdn", BigInteger, primary_key=True),
    Column("access", String(8), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("order_key", String(96), nullable=True),
)

# --- 0009_ported_numbers: the MNP list ------------------------------------------------------------------

# Numbers ported in to this operator (`in`) and out of it (`out`), from the national MNP database's export,
# loaded by `subreg numbers load-ported` (one transaction: a failed load leaves the previous list). Keyed by
# the integer MSISDN (domain.common.msisdn.msisdn_key) like `subscriptions`, so a batch's numbers are one
# index look-up and the table can be partitioned the same way; without a rowid on SQLite (the key is the
# table). A phone number's portability status is not personal data about its holder.
ported_numbers = Table(
    "ported_numbers",
    metadata,
    Column("msisdn", BigInteger, primary_key=True, autoincrement=False),
    Column("direction", String(3), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("direction IN ('in', 'out')", name="direction"),
    sqlite_with_rowid=False,
)


# The SMS channel (migration 0011). Texts are sealed: kek_id + wrapped_dek + payload as in `holders`.
sms_inbound = Table(
    "sms_inbound",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("transport", String(48), nullable=False),  # smpp:<bind> | kannel:<gateway> | builtin | cli
    Column("gateway_id", String(96), nullable=True),  # the gateway's id of the MO: a redelivery is stored once
    Column("sender", BigInteger, nullable=True),  # msisdn key; NULL when the sender is not a Vietnamese mobile
    Column("recipient", String(20), nullable=False),
    Column("coding", String(10), nullable=False),
    Column("kek_id", Integer, nullable=False),
    Column("wrapped_dek", LargeBinary, nullable=True),
    Column("payload", LargeBinary, nullable=False),  # sealed {"sender": as given, "text": ...}
    Column("state", String(16), nullable=False, server_default="received"),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Index(None, "transport", "gateway_id", unique=True),
    Index(None, "state", "id"),
)

sms_outbox = Table(
    "sms_outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    _created_at(),
    Column("kind", String(16), nullable=False),  # reply | manual | notice | campaign
    Column("priority", SmallInteger, nullable=False),  # 0 replies first, then notices, then campaigns
    Column("recipient", BigInteger, nullable=False),
    Column("sender", String(16), nullable=False),
    Column("encoding", String(8), nullable=False),  # gsm7 | ucs2
    Column("part_count", SmallInteger, nullable=False),
    Column("state", String(12), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("kek_id", Integer, nullable=False),
    Column("wrapped_dek", LargeBinary, nullable=True),
    Column("payload", LargeBinary, nullable=False),  # sealed text
    Column("inbound_id", BigInteger, ForeignKey("sms_inbound.id"), nullable=True),
    Column("transport", String(48), nullable=True),  # who accepted it
    Column("accepted_at", DateTime(timezone=True), nullable=True),
    Column("final_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(48), nullable=True),
    # Added by 0013_campaigns: the campaign send record a campaign message was queued for.
    Column("campaign_send_id", BigInteger, nullable=True),
    Index(None, "state", "priority", "next_attempt_at"),
    Index(None, "recipient", "id"),
    Index(None, "inbound_id"),
    Index(
        None,
        "campaign_send_id",
        sqlite_where=text("campaign_send_id IS NOT NULL"),
        postgresql_where=text("campaign_send_id IS NOT NULL"),
    ),
)

sms_submits = Table(
    "sms_submits",
    metadata,
    Column("message_id", String(160), primary_key=True),  # "<transport>:<the SMSC's id of one part>"
    Column("transport", String(48), nullable=False),
    Column("outbox_id", BigInteger, ForeignKey("sms_outbox.id"), nullable=False),
    Column("part", SmallInteger, nullable=False),
    Column("state", String(12), nullable=False, server_default="accepted"),
    Column("receipt_at", DateTime(timezone=True), nullable=True),
    Index(None, "outbox_id"),
)

sms_senders = Table(
    "sms_senders",
    metadata,
    Column("sender", BigInteger, primary_key=True, autoincrement=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
    Column("refused", Boolean, nullable=False, server_default=false()),
)

# The built-in SMS centre of the embedded default: what it "delivered" to phones, for the phone simulator.
sms_centre = Table(
    "sms_centre",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("reference", String(32), nullable=False, unique=True),  # "<outbox id>.<part>": a resubmit is stored once
    Column("recipient", BigInteger, nullable=False),
    Column("sender", String(16), nullable=False),
    Column("udh", LargeBinary, nullable=False),
    Column("kek_id", Integer, nullable=False),
    Column("wrapped_dek", LargeBinary, nullable=True),
    Column("payload", LargeBinary, nullable=False),  # sealed text of the part
    _created_at(),
    Index(None, "recipient", "id"),
)

# Reminder campaigns (0013): the definition and progress of each, and one send record per line and wave, the
# idempotency key that keeps a line from being queued twice for one wave whatever crashes (docs/campaigns.md).
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("template", String(48), nullable=False),
    Column("lang", String(2), nullable=False),
    Column("cohort", Text, nullable=False),  # JSON: domain.campaigns.cohort.Cohort.as_dict()
    Column("start_on", Date, nullable=False),
    Column("hours", String(11), nullable=False),  # "08:00-20:00", local time
    Column("waves", SmallInteger, nullable=False),
    Column("rate_per_bind", Integer, nullable=False),
    Column("binds", SmallInteger, nullable=False),
    Column("state", String(8), nullable=False),  # draft | running | paused | done
    Column("wave", SmallInteger, nullable=False, server_default="0"),  # the current or last wave; 0: none yet
    Column("wave_finished_on", Date, nullable=True),  # the local day the current wave finished
    Column("cursor", BigInteger, nullable=False, server_default="0"),  # the last line queued in the current wave
    Column("rate_clock", DateTime(timezone=True), nullable=True),  # sending allowance used up to this instant
    Column("created_by", String(64), nullable=False),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index(None, "state"),
)
campaign_sends = Table(
    "campaign_sends",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("wave", SmallInteger, nullable=False),
    Column("subscription_id", BigInteger, nullable=False),
    _created_at(),
    Index("uq_campaign_sends_campaign_id_wave_subscription_id", "campaign_id", "wave", "subscription_id", unique=True),
)


# --- 0014_reports: daily snapshots, regional managers' provinces, signal reviews, portrait bands ---------

report_snapshots = Table(
    "report_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", Date, nullable=False, unique=True),
    Column("rule_set", String(32), nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("figures", Integer, nullable=False, server_default="0"),  # how many snapshot_figures rows
)
# One count per (dimension, province of the point of sale or "unknown", key); never updated.
snapshot_figures = Table(
    "snapshot_figures",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("report_snapshots.id"), primary_key=True),
    Column("dimension", String(24), primary_key=True),
    Column("province", String(8), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("n", BigInteger, nullable=False),
)
# The provinces a regional_manager account sees (no row: sees nothing).
staff_provinces = Table(
    "staff_provinces",
    metadata,
    Column("staff_id", Integer, ForeignKey("staff.id"), primary_key=True),
    Column("province_code", String(3), primary_key=True),
)
# Append-only decisions on fraud and quality signals; the newest row per (kind, signal_key) is the state.
signal_reviews = Table(
    "signal_reviews",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("signal_key", String(96), nullable=False),  # stable, no personal data in clear
    Column("decision", String(16), nullable=False),  # reviewed | dismissed | escalated
    Column("reason", String(32), nullable=False),  # a code from the reasons list
    Column("note", Text, nullable=True),
    Column("staff_id", Integer, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "kind", "signal_key"),
)
# Keyed hashes of a portrait's perceptual-hash bands: look-alikes share a digest; no clear hash is indexed.
portrait_bands = Table(
    "portrait_bands",
    metadata,
    Column("document_id", BigInteger, primary_key=True),
    Column("band", SmallInteger, primary_key=True),
    Column("digest", LargeBinary(16), nullable=False),
    Index(None, "digest"),
)


# --- 0015_backoffice: provenance of filled values, the back-office and supervisor queues ----------------

# Where a value filled without the subscriber came from; append-only, never the value itself.
field_provenance = Table(
    "field_provenance",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("path", String(64), nullable=False),  # e.g. holder.nationality
    Column("method", String(16), nullable=False),  # derived | qr | mrz | ocr | typed
    Column("rule", String(48), nullable=True),  # the rule set's derivation, e.g. nd49-2017:nationality
    Column("source", String(64), nullable=True),  # the source field or document (e.g. document:<id>)
    Column("confidence", Float, nullable=True),  # a reading's confidence, 0..1
    Column("staff_id", Integer, nullable=True),  # NULL: a job
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "subscription_id"),
)
# Lines whose missing fields can be read from stored scans; claimed under a lease, oldest deadline first.
backoffice_items = Table(
    "backoffice_items",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("missing", Text, nullable=False, server_default=""),  # comma-joined paths when queued
    Column("deadline", Date, nullable=True),  # the line's next enforcement step
    Column("state", String(12), nullable=False, server_default="open"),  # open | done | skipped
    Column("version_seen", Integer, nullable=False),  # subscriptions.version when queued
    Column("claimed_by", Integer, nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("outcome", String(24), nullable=True),
    Column("done_by", Integer, nullable=True),
    Column("done_at", DateTime(timezone=True), nullable=True),
    _created_at(),
    Index(None, "state", "deadline", "id"),
    Index(None, "subscription_id"),
)
# Flagged registrations and updates waiting for a supervisor; claimed under a lease.
review_items = Table(
    "review_items",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # registration | update
    Column("flags", Text, nullable=False, server_default=""),  # comma-joined flag codes
    Column("state", String(12), nullable=False, server_default="pending"),  # pending | decided
    Column("version_seen", Integer, nullable=False),
    Column("point_of_sale_id", Integer, nullable=True),  # where the work was done
    Column("submitted_by", Integer, nullable=True),
    Column("claimed_by", Integer, nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("decision", String(16), nullable=True),  # approved | rejected | sent_back
    Column("reason", String(32), nullable=True),
    Column("note", Text, nullable=True),
    Column("decided_by", Integer, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    _created_at(),
    Index(None, "state", "created_at"),
    Index(None, "subscription_id"),
)


# --- 0016_verification: population matching, verification trail, biometric templates, device changes, codes ---

# The newest per-field result of matching a line against the National Population Database.
population_matches = Table(
    "population_matches",
    metadata,
    Column("subscription_id", BigInteger, primary_key=True, autoincrement=False),
    Column("id_number", String(10), nullable=False),  # match | mismatch | not_found
    Column("full_name", String(10), nullable=False),
    Column("date_of_birth", String(10), nullable=False),
    Column("batch", String(64), nullable=True),  # the exchange file or request it came from
    Column("matched_at", DateTime(timezone=True), nullable=False),
)
# Every verification attempt: method, score, model, decision; never an image or a template.
verifications = Table(
    "verifications",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", BigInteger, nullable=True),
    Column("holder_id", BigInteger, nullable=True),
    Column("regime", String(32), nullable=False),
    Column("method", String(16), nullable=False),  # population_db | chip | face | liveness | otp | ...
    Column("decision", String(16), nullable=False),  # passed | failed | refused
    Column("reason", String(48), nullable=True),  # a code, e.g. sod_signature_invalid, no_face
    Column("score", Float, nullable=True),
    Column("model", String(64), nullable=True),
    Column("channel", String(24), nullable=False),  # counter | self_service | batch
    Column("staff_id", Integer, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "subscription_id"),
)
# A face template sealed under the holder's key (shredded with the holder), kept until `expires_on`.
biometric_templates = Table(
    "biometric_templates",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("holder_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # face
    Column("model", String(64), nullable=False),
    Column("kek_id", Integer, nullable=False),
    Column("wrapped_dek", LargeBinary, nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("expires_on", Date, nullable=True),
    _created_at(),
    Index(None, "holder_id"),
)
# The network's device-change events (Circular 08/2026); the IMEI only as a keyed hash.
device_changes = Table(
    "device_changes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("msisdn", BigInteger, nullable=False),
    Column("subscription_id", BigInteger, nullable=True),
    Column("imei_hash", LargeBinary(32), nullable=True),
    Column("event_key", String(96), nullable=False, unique=True),  # idempotency: a redelivered event is stored once
    Column("source", String(24), nullable=False),  # webhook | csv | cli
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False, server_default="suspended"),  # suspended | verified | ignored
    Column("verified_at", DateTime(timezone=True), nullable=True),
    _created_at(),
    Index(None, "subscription_id"),
)
# Self-service one-time codes, as hashes, with attempts and expiry.
otp_codes = Table(
    "otp_codes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("msisdn", BigInteger, nullable=False),
    Column("code_hash", LargeBinary(32), nullable=False),
    Column("purpose", String(24), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    _created_at(),
    Index(None, "msisdn"),
)
