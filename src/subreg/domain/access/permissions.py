"""Staff roles, least-privilege permissions, declared purposes and the decisions made from them.

Deny by default: a role holds only the permissions listed for it in `ROLE_PERMISSIONS`; an unknown
role, permission or purpose is refused. Three further gates apply on top of the matrix:

1. **Purpose.** Every permission that touches personal data (`PURPOSES_BY_PERMISSION`) needs a declared
   purpose, and the purpose must be one both the permission and the role admit (`PURPOSES_BY_ROLE`):
   a DPO reads a subscription only for a data-subject request, a store only for its own work.
2. **Point of sale.** The point-of-sale roles act from a point of sale of their own kind: a store
   account attached to an agent's point gets no store-wide reach.
3. **Scope.** Agents and authorized points are third parties: they see and change only subscriptions
   they registered or are serving (`Scope`). Operator stores serve any subscriber who walks in.

`visible_fields` then says how a permitted read is rendered: which holder fields in clear, which
masked, which hidden, and whether images may be shown (see `masking.mask_holder`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from subreg.domain.common.errors import PermissionDeniedError

__all__ = [
    "PERSONAL_DATA_PERMISSIONS",
    "POS_KIND_BY_ROLE",
    "PUBLIC_PERMISSIONS",
    "PURPOSES_BY_PERMISSION",
    "PURPOSES_BY_ROLE",
    "ROLE_PERMISSIONS",
    "SCOPED_PERMISSIONS",
    "SCOPED_ROLES",
    "Actor",
    "Decision",
    "FieldVisibility",
    "Permission",
    "Purpose",
    "Reason",
    "Role",
    "Scope",
    "Visibility",
    "allowed_purposes",
    "authorize",
    "can",
    "in_scope",
    "require",
    "visible_fields",
]


class Role(StrEnum):
    """A staff role; each account has exactly one."""

    STORE_STAFF = "store_staff"
    AGENT = "agent"
    AUTHORIZED_POINT = "authorized_point"
    COMPLIANCE_OFFICER = "compliance_officer"
    AUDITOR = "auditor"
    DPO = "dpo"
    SUPERVISOR = "supervisor"  # reviews flagged registrations and updates (docs/backoffice.md)
    ADMIN = "admin"
    REGIONAL_MANAGER = "regional_manager"  # the dashboard's aggregates of the provinces its account names
    BACKOFFICE = "backoffice"  # completes lines from the scans on file, one queue item at a time


class Permission(StrEnum):
    """Something a route, command or job may do; routes declare one with `api.deps.requires`."""

    PUBLIC_HEALTH = "public:health"
    PUBLIC_HOME = "public:home"
    PUBLIC_LOGIN = "public:login"  # the sign-in form and endpoint
    PUBLIC_SMS_GATEWAY = "public:sms_gateway"  # an SMS gateway's callbacks: each checks its gateway's own secret
    SESSION_SELF = "session:self"
    SUBSCRIPTION_READ = "subscription:read"
    SUBSCRIPTION_UPDATE = "subscription:update"
    SUBSCRIPTION_REGISTER = "subscription:register"
    SUBSCRIPTION_LOOKUP_BY_ID = "subscription:lookup_by_id"
    DOCUMENT_VIEW_IMAGE = "document:view_image"
    PERSONAL_DATA_UNMASKED = "personal_data:unmasked"
    CHECKS_RUN = "checks:run"
    ID_DOCUMENTS_PARSE = "id_documents:parse"
    RECORDS_IMPORT = "records:import"
    REPORTS_READ = "reports:read"  # aggregates only (no personal data); a regional manager's scoped to provinces
    REPORTS_SNAPSHOT = "reports:snapshot"  # take (or replace) a day's snapshot of the figures
    CAMPAIGNS_MANAGE = "campaigns:manage"
    ENFORCEMENT_MANAGE = "enforcement:manage"
    AUDIT_READ = "audit:read"
    DSR_MANAGE = "dsr:manage"
    STAFF_MANAGE = "staff:manage"
    SETTINGS_MANAGE = "settings:manage"
    KEYS_MANAGE = "keys:manage"
    SIGNALS_REVIEW = "signals:review"  # decide on fraud and quality signals (reviewed, dismissed, escalated)
    SMS_SIMULATE = "sms:simulate"  # the phone simulator: text 1414 as any number, read that number's replies
    REVIEW_DECIDE = "review:decide"  # claim flagged registrations and updates; approve, reject, send back
    BACKOFFICE_WORK = "backoffice:work"  # the back-office queue: the held item's line, its scans, its form


class Purpose(StrEnum):
    """Why personal data is read or changed; declared by the caller and written to the audit log."""

    REGISTRATION = "registration"  # a new subscription is being registered
    TRANSACTION = "transaction"  # any other counter transaction on the subscription (SIM swap, ...)
    UPDATE = "update"  # completing or correcting subscriber information (the Decree 49 update flow)
    CUSTOMER_REQUEST = "customer_request"  # the subscriber, present, asks about their own data
    ENFORCEMENT = "enforcement"  # compliance work on one subscription (a lock, a dispute)
    DSR = "dsr"  # a data-subject request handled by the DPO
    SUBSCRIBER_SELF_SERVICE = "subscriber_self_service"  # the subscriber asks about their own line (1414)
    REVIEW = "review"  # a supervisor checks a flagged registration or update (the second pair of eyes)
    BACKOFFICE = "backoffice"  # completing a line from the documents on file, without the subscriber


class Reason(StrEnum):
    """Why `authorize` decided as it did: stable codes, safe to log and to show."""

    ALLOWED = "allowed"
    UNKNOWN_ROLE = "unknown_role"
    UNKNOWN_PERMISSION = "unknown_permission"
    NOT_PERMITTED = "not_permitted"
    PURPOSE_REQUIRED = "purpose_required"
    PURPOSE_NOT_ALLOWED = "purpose_not_allowed"
    NO_POINT_OF_SALE = "no_point_of_sale"
    POS_KIND_MISMATCH = "pos_kind_mismatch"
    SCOPE_REQUIRED = "scope_required"
    OUT_OF_SCOPE = "out_of_scope"


R, P, U = Role, Permission, Purpose

# Anyone, even before login, may do these; they touch no data.
PUBLIC_PERMISSIONS: frozenset[Permission] = frozenset(
    {P.PUBLIC_HEALTH, P.PUBLIC_HOME, P.PUBLIC_LOGIN, P.PUBLIC_SMS_GATEWAY}
)
_BASE = PUBLIC_PERMISSIONS | {P.SESSION_SELF}

# What a counter needs to serve a subscriber: read, register, update, images of the subscriber in
# front of them, parse the ID document they present, and check a record before saving it.
_COUNTER = _BASE | {
    P.SUBSCRIPTION_READ,
    P.SUBSCRIPTION_UPDATE,
    P.SUBSCRIPTION_REGISTER,
    P.DOCUMENT_VIEW_IMAGE,
    P.PERSONAL_DATA_UNMASKED,
    P.CHECKS_RUN,
    P.ID_DOCUMENTS_PARSE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Only the operator's own stores may search by ID number: for a third party (agent, authorized
    # point) it is an oracle over every subscriber, and the abuse the anomaly rules watch for.
    # The phone simulator texts 1414 *as any number* and shows the masked reply: an oracle over every
    # subscriber, so only for roles that already read any subscription in more detail than the reply gives
    # (operator stores, for their demos; compliance, whose reminders and notices the channel carries).
    # Not for agents and authorized points (third parties, scoped to their own customers), nor for the
    # admin (no personal data at all), the auditor or the DPO (reads only for a data-subject request).
    R.STORE_STAFF: frozenset(_COUNTER | {P.SUBSCRIPTION_LOOKUP_BY_ID, P.SMS_SIMULATE}),
    R.AGENT: frozenset(_COUNTER),
    R.AUTHORIZED_POINT: frozenset(_COUNTER),
    # Campaigns, enforcement and reports work on aggregates; a single subscription is readable for
    # enforcement work but always masked (see visible_fields), and never with images.
    R.COMPLIANCE_OFFICER: frozenset(
        _BASE
        | {
            P.SUBSCRIPTION_READ,
            P.REPORTS_READ,
            P.REPORTS_SNAPSHOT,
            P.CAMPAIGNS_MANAGE,
            P.ENFORCEMENT_MANAGE,
            P.SIGNALS_REVIEW,
            P.CHECKS_RUN,
            P.RECORDS_IMPORT,
            P.SMS_SIMULATE,
        }
    ),
    # The audit log holds no plaintext personal data, so the auditor needs nothing else.
    R.AUDITOR: frozenset(_BASE | {P.AUDIT_READ}),
    # Answering access requests means seeing the subject's data in clear, images included (the
    # portrait is part of what the subject may ask for); the purpose gate restricts all of it to `dsr`.
    R.DPO: frozenset(
        _BASE
        | {
            P.DSR_MANAGE,
            P.SUBSCRIPTION_READ,
            P.SUBSCRIPTION_LOOKUP_BY_ID,
            P.PERSONAL_DATA_UNMASKED,
            P.DOCUMENT_VIEW_IMAGE,
        }
    ),
    # A second pair of eyes on flagged work: the line in clear with its images, for `review` only; no
    # search by ID number and no counter work (a supervisor decides on what the queue hands out).
    R.SUPERVISOR: frozenset(
        _BASE | {P.REVIEW_DECIDE, P.SUBSCRIPTION_READ, P.PERSONAL_DATA_UNMASKED, P.DOCUMENT_VIEW_IMAGE}
    ),
    # Administration without personal data: an admin account is the likeliest to be phished.
    R.ADMIN: frozenset(_BASE | {P.STAFF_MANAGE, P.SETTINGS_MANAGE, P.KEYS_MANAGE}),
    # A manager of some provinces sees counts, never a subscription: the reports' aggregates of their provinces
    # (the provinces of the lines' points of sale, `staff_provinces`), filtered in the reports' use cases.
    R.REGIONAL_MANAGER: frozenset(_BASE | {P.REPORTS_READ}),
    # Back-office staff reach personal data only through the queue item they hold (`backoffice:work`: that
    # line's record in clear, its scans, its form): no look-up by number or ID, no registration, no counter
    # page, so an account cannot browse the base; the purpose gate admits only `backoffice`.
    R.BACKOFFICE: frozenset(_BASE | {P.BACKOFFICE_WORK, P.PERSONAL_DATA_UNMASKED}),
}

# Permissions that touch personal data, and the purposes each admits. Every one needs a purpose.
PURPOSES_BY_PERMISSION: dict[Permission, frozenset[Purpose]] = {
    P.SUBSCRIPTION_READ: frozenset(
        {U.REGISTRATION, U.TRANSACTION, U.UPDATE, U.CUSTOMER_REQUEST, U.ENFORCEMENT, U.DSR, U.REVIEW}
    ),
    P.SUBSCRIPTION_UPDATE: frozenset({U.UPDATE, U.CUSTOMER_REQUEST}),
    P.SUBSCRIPTION_REGISTER: frozenset({U.REGISTRATION}),
    P.SUBSCRIPTION_LOOKUP_BY_ID: frozenset({U.REGISTRATION, U.TRANSACTION, U.CUSTOMER_REQUEST, U.DSR}),
    # A transaction such as a SIM swap needs the stored portrait to recognise the person.
    P.DOCUMENT_VIEW_IMAGE: frozenset({U.TRANSACTION, U.UPDATE, U.CUSTOMER_REQUEST, U.DSR, U.REVIEW}),
    # Routine transactions are served masked; the clear values are for entering or correcting data,
    # for the subject asking to see it, and for answering a data-subject request.
    P.PERSONAL_DATA_UNMASKED: frozenset({U.REGISTRATION, U.UPDATE, U.CUSTOMER_REQUEST, U.DSR, U.REVIEW, U.BACKOFFICE}),
    P.BACKOFFICE_WORK: frozenset({U.BACKOFFICE}),
}
PERSONAL_DATA_PERMISSIONS: frozenset[Permission] = frozenset(PURPOSES_BY_PERMISSION)

_COUNTER_PURPOSES = frozenset({U.REGISTRATION, U.TRANSACTION, U.UPDATE, U.CUSTOMER_REQUEST})
PURPOSES_BY_ROLE: dict[Role, frozenset[Purpose]] = {
    R.STORE_STAFF: _COUNTER_PURPOSES,
    R.AGENT: _COUNTER_PURPOSES,
    R.AUTHORIZED_POINT: _COUNTER_PURPOSES,
    R.COMPLIANCE_OFFICER: frozenset({U.ENFORCEMENT}),
    R.AUDITOR: frozenset(),
    R.DPO: frozenset({U.DSR}),
    R.SUPERVISOR: frozenset({U.REVIEW}),
    R.ADMIN: frozenset(),
    R.REGIONAL_MANAGER: frozenset(),
    R.BACKOFFICE: frozenset({U.BACKOFFICE}),
}

# The kind of point of sale (`points_of_sale.kind`) each counter role must work from.
POS_KIND_BY_ROLE: dict[Role, str] = {
    R.STORE_STAFF: "store",
    R.AGENT: "agent",
    R.AUTHORIZED_POINT: "authorized_point",
}
SCOPED_ROLES: frozenset[Role] = frozenset({R.AGENT, R.AUTHORIZED_POINT})
# What a scoped role may do only on a subscription in its scope. Registering creates the scope;
# the other counter permissions touch no existing subscription.
SCOPED_PERMISSIONS: frozenset[Permission] = frozenset(
    {P.SUBSCRIPTION_READ, P.SUBSCRIPTION_UPDATE, P.DOCUMENT_VIEW_IMAGE, P.PERSONAL_DATA_UNMASKED}
)

del R, P, U


_E = TypeVar("_E", Role, Permission, Purpose)


def _member(enum: type[_E], value: str | None) -> _E | None:
    # Deny by default: a value from a database row or a request that names no member is None.
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        return None


def _as_role(role: str | None) -> Role | None:
    return _member(Role, role)


def _as_permission(permission: str | None) -> Permission | None:
    return _member(Permission, permission)


def _as_purpose(purpose: str | None) -> Purpose | None:
    return _member(Purpose, purpose)


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated staff member making a request, and where they work from."""

    staff_id: int
    role: Role | str
    point_of_sale_id: int | None = None
    pos_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """Which points of sale a subscription belongs to: the one that registered it, those serving it.

    A point of sale is *serving* a subscription while a counter transaction for it is open there
    (the subscriber came in and presented their ID); the service layer records and closes that.
    """

    registered_by_pos_id: int | None = None
    serving_pos_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of(cls, registered_by_pos_id: int | None, serving_pos_ids: Iterable[int] = ()) -> Scope:
        """A scope from any iterable of serving points of sale."""
        return cls(registered_by_pos_id, frozenset(serving_pos_ids))


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of `authorize`: allowed or not, and a stable reason code."""

    allowed: bool
    reason_code: str

    def __bool__(self) -> bool:
        return self.allowed


_ALLOW = Decision(True, Reason.ALLOWED)


def _deny(reason: Reason) -> Decision:
    return Decision(False, reason)


def can(role: Role | str | None, permission: Permission | str) -> bool:
    """Whether `role` holds `permission` in the matrix (None is an anonymous caller: public only)."""
    perm = _as_permission(permission)
    if perm is None:
        return False
    if role is None:
        return perm in PUBLIC_PERMISSIONS
    r = _as_role(role)
    return r is not None and perm in ROLE_PERMISSIONS[r]


def allowed_purposes(role: Role | str | None, permission: Permission | str) -> frozenset[Purpose]:
    """The purposes `role` may declare for `permission` (empty when it holds no such permission)."""
    perm = _as_permission(permission)
    r = _as_role(role)
    if perm is None or r is None or not can(r, perm):
        return frozenset()
    return PURPOSES_BY_PERMISSION.get(perm, frozenset()) & PURPOSES_BY_ROLE[r]


def in_scope(actor: Actor, scope: Scope) -> bool:
    """Whether the actor's point of sale registered or is serving the subscription."""
    pos = actor.point_of_sale_id
    return pos is not None and (pos == scope.registered_by_pos_id or pos in scope.serving_pos_ids)


def authorize(
    actor: Actor,
    permission: Permission | str,
    *,
    purpose: Purpose | str | None = None,
    subject_scope: Scope | None = None,
) -> Decision:
    """Decide whether `actor` may use `permission` for `purpose` on a subscription of `subject_scope`.

    `subject_scope` is None when no existing subscription is concerned (a registration, a report);
    scoped roles are then refused any permission of `SCOPED_PERMISSIONS`.
    """
    role = _as_role(actor.role)
    if role is None:
        return _deny(Reason.UNKNOWN_ROLE)
    perm = _as_permission(permission)
    if perm is None:
        return _deny(Reason.UNKNOWN_PERMISSION)
    if perm not in ROLE_PERMISSIONS[role]:
        return _deny(Reason.NOT_PERMITTED)
    if perm in PURPOSES_BY_PERMISSION:
        if purpose is None:
            return _deny(Reason.PURPOSE_REQUIRED)
        p = _as_purpose(purpose)
        if p is None or p not in allowed_purposes(role, perm):
            return _deny(Reason.PURPOSE_NOT_ALLOWED)
    expected_kind = POS_KIND_BY_ROLE.get(role)
    if expected_kind is not None and perm not in _BASE:
        if actor.point_of_sale_id is None:
            return _deny(Reason.NO_POINT_OF_SALE)
        if actor.pos_kind != expected_kind:
            return _deny(Reason.POS_KIND_MISMATCH)
    if role in SCOPED_ROLES and perm in SCOPED_PERMISSIONS:
        if subject_scope is None:
            return _deny(Reason.SCOPE_REQUIRED)
        if not in_scope(actor, subject_scope):
            return _deny(Reason.OUT_OF_SCOPE)
    return _ALLOW


def require(
    actor: Actor,
    permission: Permission | str,
    *,
    purpose: Purpose | str | None = None,
    subject_scope: Scope | None = None,
) -> None:
    """`authorize`, raising PermissionDeniedError (message: the reason code only) when refused."""
    decision = authorize(actor, permission, purpose=purpose, subject_scope=subject_scope)
    if not decision.allowed:
        raise PermissionDeniedError(decision.reason_code)


class Visibility(StrEnum):
    """How one personal field is rendered."""

    CLEAR = "clear"
    MASKED = "masked"
    HIDDEN = "hidden"


@dataclass(frozen=True, slots=True)
class FieldVisibility:
    """Which holder fields are shown in clear or masked (every other field is hidden), and images."""

    clear: frozenset[str] = frozenset()
    masked: frozenset[str] = frozenset()
    images: bool = False

    def of(self, name: str) -> Visibility:
        """The visibility of one holder field; unknown fields are hidden (deny by default)."""
        if name in self.clear:
            return Visibility.CLEAR
        if name in self.masked:
            return Visibility.MASKED
        return Visibility.HIDDEN


_ALL_PERSON_FIELDS = frozenset(
    {
        "full_name",
        "date_of_birth",
        "birth_year",
        "gender",
        "nationality",
        "id_type",
        "id_number",
        "id_issue_date",
        "id_issue_place",
        "id_expiry_date",
        "address",
        "relationship",
    }
)
# Low-risk descriptors stay clear so the counter can still tell a CCCD from a passport; everything
# that identifies the person is masked.
_MASKED_VIEW = FieldVisibility(
    clear=frozenset({"gender", "nationality", "id_type", "birth_year", "relationship"}),
    masked=frozenset(
        {"full_name", "date_of_birth", "id_number", "id_issue_date", "id_issue_place", "id_expiry_date",
         "address"}
    ),
)  # fmt: skip
# Enforcement work needs to know which subscriber it is talking about, not who they are.
_MINIMAL_VIEW = FieldVisibility(
    clear=frozenset({"nationality", "id_type"}),
    masked=frozenset({"full_name", "id_number"}),
)
_NOTHING = FieldVisibility()
_MASKED_VIEW_BY_ROLE: dict[Role, FieldVisibility] = {Role.COMPLIANCE_OFFICER: _MINIMAL_VIEW}


def visible_fields(role: Role | str | None, purpose: Purpose | str | None) -> FieldVisibility:
    """How a subscription read by `role` for `purpose` is rendered; assumes `authorize` allowed the read.

    Nothing is visible without a read permission and an admitted purpose; in clear only with
    `personal_data:unmasked` for that purpose; images only with `document:view_image` for it.
    """
    r = _as_role(role)
    p = _as_purpose(purpose)
    if r is None or p is None or p not in allowed_purposes(r, Permission.SUBSCRIPTION_READ):
        return _NOTHING
    images = p in allowed_purposes(r, Permission.DOCUMENT_VIEW_IMAGE)
    if p in allowed_purposes(r, Permission.PERSONAL_DATA_UNMASKED):
        return FieldVisibility(clear=_ALL_PERSON_FIELDS, images=images)
    view = _MASKED_VIEW_BY_ROLE.get(r, _MASKED_VIEW)
    return FieldVisibility(clear=view.clear, masked=view.masked, images=images)
