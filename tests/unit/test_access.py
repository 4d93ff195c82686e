"""Roles, permissions, purposes and scope: the least-privilege matrix and the decisions made from it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subreg.domain.access.permissions import (
    PURPOSES_BY_PERMISSION,
    PURPOSES_BY_ROLE,
    ROLE_PERMISSIONS,
    Actor,
    Decision,
    Permission,
    Purpose,
    Role,
    Scope,
    Visibility,
    allowed_purposes,
    authorize,
    can,
    in_scope,
    require,
    visible_fields,
)
from subreg.domain.common.errors import PermissionDeniedError

P = Permission
ALL = frozenset(Permission)
PUBLIC = {P.PUBLIC_HEALTH, P.PUBLIC_HOME, P.PUBLIC_LOGIN, P.PUBLIC_SMS_GATEWAY, P.SESSION_SELF}
COUNTER = PUBLIC | {
    P.SUBSCRIPTION_READ,
    P.SUBSCRIPTION_UPDATE,
    P.SUBSCRIPTION_REGISTER,
    P.DOCUMENT_VIEW_IMAGE,
    P.PERSONAL_DATA_UNMASKED,
    P.CHECKS_RUN,
    P.ID_DOCUMENTS_PARSE,
}

# The expected matrix, written out independently of the module: each role's allowed set. Every
# permission not listed for a role is asserted DENIED for it.
EXPECTED: dict[Role, set[Permission]] = {
    Role.STORE_STAFF: COUNTER | {P.SUBSCRIPTION_LOOKUP_BY_ID, P.SMS_SIMULATE},
    Role.AGENT: set(COUNTER),
    Role.AUTHORIZED_POINT: set(COUNTER),
    Role.COMPLIANCE_OFFICER: PUBLIC
    | {P.SUBSCRIPTION_READ, P.REPORTS_READ, P.REPORTS_SNAPSHOT, P.CAMPAIGNS_MANAGE, P.ENFORCEMENT_MANAGE,
       P.SIGNALS_REVIEW, P.CHECKS_RUN, P.RECORDS_IMPORT, P.SMS_SIMULATE},
    Role.AUDITOR: PUBLIC | {P.AUDIT_READ},
    Role.DPO: PUBLIC
    | {P.DSR_MANAGE, P.SUBSCRIPTION_READ, P.SUBSCRIPTION_LOOKUP_BY_ID, P.PERSONAL_DATA_UNMASKED,
       P.DOCUMENT_VIEW_IMAGE},
    Role.SUPERVISOR: PUBLIC | {P.REVIEW_DECIDE, P.SUBSCRIPTION_READ, P.PERSONAL_DATA_UNMASKED, P.DOCUMENT_VIEW_IMAGE},
    Role.ADMIN: PUBLIC | {P.STAFF_MANAGE, P.SETTINGS_MANAGE, P.KEYS_MANAGE},
    # Aggregates of its provinces only: no subscription, no personal data, nothing to change.
    Role.REGIONAL_MANAGER: PUBLIC | {P.REPORTS_READ},
    Role.BACKOFFICE: PUBLIC | {P.BACKOFFICE_WORK, P.PERSONAL_DATA_UNMASKED},
}  # fmt: skip
MATRIX = [(role, perm, perm in EXPECTED[role]) for role in Role for perm in Permission]

STORE = Actor(1, Role.STORE_STAFF, point_of_sale_id=10, pos_kind="store")
AGENT_A = Actor(2, Role.AGENT, point_of_sale_id=20, pos_kind="agent")
AGENT_B = Actor(3, Role.AGENT, point_of_sale_id=30, pos_kind="agent")
POINT = Actor(4, Role.AUTHORIZED_POINT, point_of_sale_id=40, pos_kind="authorized_point")
COMPLIANCE = Actor(5, Role.COMPLIANCE_OFFICER)
AUDITOR = Actor(6, Role.AUDITOR)
DPO = Actor(7, Role.DPO)
ADMIN = Actor(8, Role.ADMIN)
SUPERVISOR = Actor(9, Role.SUPERVISOR, point_of_sale_id=10)
REGISTERED_BY_A = Scope.of(registered_by_pos_id=20)


class TestMatrix:
    def test_every_role_has_an_expected_row(self):
        assert set(EXPECTED) == set(Role) == set(ROLE_PERMISSIONS)

    @pytest.mark.parametrize(("role", "permission", "allowed"), MATRIX, ids=lambda v: str(v))
    def test_the_role_holds_exactly_the_expected_permissions(self, role, permission, allowed):
        assert can(role, permission) is allowed
        assert (permission in ROLE_PERMISSIONS[role]) is allowed

    def test_compliance_officer_cannot_view_images_or_unmask(self):
        assert not can(Role.COMPLIANCE_OFFICER, P.DOCUMENT_VIEW_IMAGE)
        assert not can(Role.COMPLIANCE_OFFICER, P.PERSONAL_DATA_UNMASKED)
        assert not can(Role.COMPLIANCE_OFFICER, P.SUBSCRIPTION_LOOKUP_BY_ID)

    def test_admin_has_no_personal_data(self):
        assert not any(can(Role.ADMIN, p) for p in PURPOSES_BY_PERMISSION)

    def test_auditor_only_reads_the_audit_log(self):
        assert {p for p in Permission if can(Role.AUDITOR, p)} - PUBLIC == {P.AUDIT_READ}

    def test_only_store_staff_and_dpo_may_search_by_id_number(self):
        assert {r for r in Role if can(r, P.SUBSCRIPTION_LOOKUP_BY_ID)} == {Role.STORE_STAFF, Role.DPO}

    def test_only_store_staff_and_compliance_may_use_the_phone_simulator(self):
        # It answers TTTB as any number: no third party (agent, authorized point), no admin, auditor or DPO.
        assert {r for r in Role if can(r, P.SMS_SIMULATE)} == {Role.STORE_STAFF, Role.COMPLIANCE_OFFICER}

    def test_backoffice_staff_reach_personal_data_only_through_the_queue(self):
        # No look-up by number or ID, no registration, no counter update, no image route of the counter:
        # the held queue item is the only way in, and only for the `backoffice` purpose.
        for permission in (P.SUBSCRIPTION_READ, P.SUBSCRIPTION_UPDATE, P.SUBSCRIPTION_REGISTER,
                           P.SUBSCRIPTION_LOOKUP_BY_ID, P.DOCUMENT_VIEW_IMAGE, P.SMS_SIMULATE):  # fmt: skip
            assert not can(Role.BACKOFFICE, permission)
        actor = Actor(10, Role.BACKOFFICE)
        assert authorize(actor, P.BACKOFFICE_WORK, purpose=Purpose.BACKOFFICE).allowed
        assert authorize(actor, P.BACKOFFICE_WORK, purpose=Purpose.UPDATE).reason_code == "purpose_not_allowed"
        assert authorize(actor, P.BACKOFFICE_WORK).reason_code == "purpose_required"
        assert {r for r in Role if can(r, P.BACKOFFICE_WORK)} == {Role.BACKOFFICE}
        # The new purpose opens nothing to the other roles.
        assert all(Purpose.BACKOFFICE not in PURPOSES_BY_ROLE[r] for r in Role if r is not Role.BACKOFFICE)

    def test_an_anonymous_caller_gets_only_public_permissions(self):
        assert {p for p in Permission if can(None, p)} == PUBLIC - {P.SESSION_SELF}

    def test_unknown_roles_and_permissions_are_denied(self):
        assert not can("superuser", P.PUBLIC_HEALTH)
        assert not can(Role.ADMIN, "staff:delete_everything")
        assert can("store_staff", "subscription:read")  # plain strings from the database work

    def test_every_role_may_manage_its_own_session_and_see_public_pages(self):
        assert all(can(r, p) for r in Role for p in PUBLIC)


class TestPurpose:
    @pytest.mark.parametrize("permission", sorted(PURPOSES_BY_PERMISSION))
    def test_a_personal_data_permission_without_purpose_is_denied(self, permission):
        holder = STORE if can(Role.STORE_STAFF, permission) else Actor(10, Role.BACKOFFICE)
        assert authorize(holder, permission) == Decision(False, "purpose_required")

    def test_store_reads_for_a_transaction(self):
        assert authorize(STORE, P.SUBSCRIPTION_READ, purpose=Purpose.TRANSACTION).allowed

    def test_store_cannot_claim_a_data_subject_request(self):
        d = authorize(STORE, P.SUBSCRIPTION_READ, purpose=Purpose.DSR)
        assert d == Decision(False, "purpose_not_allowed")

    def test_a_supervisor_reads_a_line_in_clear_with_images_only_to_review_it(self):
        assert authorize(SUPERVISOR, P.REVIEW_DECIDE).allowed
        for perm in (P.SUBSCRIPTION_READ, P.PERSONAL_DATA_UNMASKED, P.DOCUMENT_VIEW_IMAGE):
            assert authorize(SUPERVISOR, perm, purpose=Purpose.REVIEW).allowed
            assert authorize(SUPERVISOR, perm, purpose=Purpose.UPDATE).reason_code == "purpose_not_allowed"
        assert authorize(SUPERVISOR, P.SUBSCRIPTION_UPDATE, purpose=Purpose.UPDATE).reason_code == "not_permitted"
        assert authorize(SUPERVISOR, P.SUBSCRIPTION_LOOKUP_BY_ID, purpose="review").reason_code == "not_permitted"
        v = visible_fields(Role.SUPERVISOR, Purpose.REVIEW)
        assert v.images
        assert v.of("full_name") is Visibility.CLEAR

    def test_no_other_role_may_declare_the_review_purpose(self):
        assert {r for r in Role if allowed_purposes(r, P.SUBSCRIPTION_READ) & {Purpose.REVIEW}} == {Role.SUPERVISOR}

    def test_dpo_reads_only_for_a_data_subject_request(self):
        assert authorize(DPO, P.SUBSCRIPTION_READ, purpose=Purpose.DSR).allowed
        assert authorize(DPO, P.DOCUMENT_VIEW_IMAGE, purpose="dsr").allowed
        assert authorize(DPO, P.SUBSCRIPTION_READ, purpose=Purpose.TRANSACTION).reason_code == "purpose_not_allowed"

    def test_compliance_reads_only_for_enforcement(self):
        assert authorize(COMPLIANCE, P.SUBSCRIPTION_READ, purpose=Purpose.ENFORCEMENT).allowed
        assert not authorize(COMPLIANCE, P.SUBSCRIPTION_READ, purpose=Purpose.UPDATE).allowed

    def test_unmasked_data_is_not_for_routine_transactions(self):
        d = authorize(STORE, P.PERSONAL_DATA_UNMASKED, purpose=Purpose.TRANSACTION)
        assert d.reason_code == "purpose_not_allowed"
        assert authorize(STORE, P.PERSONAL_DATA_UNMASKED, purpose=Purpose.UPDATE).allowed

    def test_an_unknown_purpose_is_refused(self):
        assert authorize(STORE, P.SUBSCRIPTION_READ, purpose="curiosity").reason_code == "purpose_not_allowed"

    def test_permissions_without_personal_data_need_no_purpose(self):
        assert authorize(COMPLIANCE, P.REPORTS_READ).allowed
        assert authorize(AUDITOR, P.AUDIT_READ).allowed
        assert authorize(ADMIN, P.STAFF_MANAGE).allowed

    def test_allowed_purposes_are_the_intersection_of_role_and_permission(self):
        assert allowed_purposes(Role.STORE_STAFF, P.SUBSCRIPTION_UPDATE) == {
            Purpose.UPDATE,
            Purpose.CUSTOMER_REQUEST,
        }
        assert allowed_purposes(Role.DPO, P.SUBSCRIPTION_UPDATE) == frozenset()
        assert allowed_purposes(Role.ADMIN, P.SUBSCRIPTION_READ) == frozenset()

    @given(
        st.sampled_from(list(Role)),
        st.sampled_from(sorted(PURPOSES_BY_PERMISSION)),
        st.sampled_from(list(Purpose)),
    )
    def test_an_allowed_decision_always_has_an_admitted_purpose(self, role, permission, purpose):
        actor = Actor(1, role, point_of_sale_id=20, pos_kind={"store_staff": "store"}.get(role, role.value))
        d = authorize(actor, permission, purpose=purpose, subject_scope=REGISTERED_BY_A)
        if d.allowed:
            assert can(role, permission)
            assert purpose in PURPOSES_BY_PERMISSION[permission]


class TestPointOfSale:
    def test_a_counter_role_without_a_point_of_sale_is_denied(self):
        actor = Actor(9, Role.STORE_STAFF)
        assert authorize(actor, P.SUBSCRIPTION_READ, purpose="transaction").reason_code == "no_point_of_sale"

    def test_a_store_account_at_an_agents_point_gets_no_store_reach(self):
        actor = Actor(9, Role.STORE_STAFF, point_of_sale_id=20, pos_kind="agent")
        assert authorize(actor, P.SUBSCRIPTION_READ, purpose="transaction").reason_code == "pos_kind_mismatch"

    def test_session_and_public_permissions_need_no_point_of_sale(self):
        assert authorize(Actor(9, Role.AGENT), P.SESSION_SELF).allowed


class TestAgentScope:
    def test_an_agent_reads_a_subscription_it_registered(self):
        assert authorize(AGENT_A, P.SUBSCRIPTION_READ, purpose="transaction", subject_scope=REGISTERED_BY_A).allowed

    def test_an_agent_cannot_read_another_agents_customer(self):
        d = authorize(AGENT_B, P.SUBSCRIPTION_READ, purpose="transaction", subject_scope=REGISTERED_BY_A)
        assert d == Decision(False, "out_of_scope")

    def test_an_agent_serving_the_subscriber_may_update_it(self):
        serving = Scope.of(registered_by_pos_id=20, serving_pos_ids=[30])
        assert authorize(AGENT_B, P.SUBSCRIPTION_UPDATE, purpose="update", subject_scope=serving).allowed

    @pytest.mark.parametrize(
        "permission",
        [P.SUBSCRIPTION_READ, P.SUBSCRIPTION_UPDATE, P.DOCUMENT_VIEW_IMAGE, P.PERSONAL_DATA_UNMASKED],
    )
    def test_every_scoped_permission_is_refused_outside_scope(self, permission):
        d = authorize(AGENT_B, permission, purpose="update", subject_scope=REGISTERED_BY_A)
        assert d.reason_code == "out_of_scope"

    def test_without_a_scope_an_agent_reads_nothing(self):
        assert authorize(AGENT_A, P.SUBSCRIPTION_READ, purpose="transaction").reason_code == "scope_required"

    def test_an_agent_registers_a_new_subscription_without_a_scope(self):
        assert authorize(AGENT_A, P.SUBSCRIPTION_REGISTER, purpose="registration").allowed

    def test_an_authorized_point_is_scoped_like_an_agent(self):
        own = Scope.of(registered_by_pos_id=40)
        assert authorize(POINT, P.SUBSCRIPTION_READ, purpose="transaction", subject_scope=own).allowed
        d = authorize(POINT, P.SUBSCRIPTION_READ, purpose="transaction", subject_scope=REGISTERED_BY_A)
        assert d.reason_code == "out_of_scope"

    def test_a_store_serves_any_subscriber(self):
        assert authorize(STORE, P.SUBSCRIPTION_UPDATE, purpose="update", subject_scope=REGISTERED_BY_A).allowed

    def test_in_scope_needs_a_point_of_sale(self):
        assert not in_scope(Actor(9, Role.AGENT), Scope.of(None))
        assert in_scope(AGENT_B, Scope.of(None, [30]))


class TestDecision:
    def test_require_raises_with_only_the_reason_code(self):
        with pytest.raises(PermissionDeniedError) as err:
            require(ADMIN, P.SUBSCRIPTION_READ, purpose="transaction")
        assert str(err.value) == "not_permitted"

    def test_require_passes_silently_when_allowed(self):
        require(AUDITOR, P.AUDIT_READ)

    def test_an_unknown_role_on_the_actor_is_denied(self):
        assert authorize(Actor(1, "root"), P.PUBLIC_HEALTH).reason_code == "unknown_role"

    def test_an_unknown_permission_is_denied(self):
        assert authorize(ADMIN, "nuke:all").reason_code == "unknown_permission"

    def test_a_decision_is_truthy_only_when_allowed(self):
        assert Decision(True, "allowed")
        assert not Decision(False, "not_permitted")


class TestVisibleFields:
    def test_store_updating_sees_everything_in_clear_with_images(self):
        v = visible_fields(Role.STORE_STAFF, Purpose.UPDATE)
        assert v.of("id_number") is Visibility.CLEAR
        assert v.of("full_name") is Visibility.CLEAR
        assert v.images

    def test_store_in_a_routine_transaction_sees_masked_values_and_images(self):
        v = visible_fields(Role.STORE_STAFF, Purpose.TRANSACTION)
        assert v.of("id_number") is Visibility.MASKED
        assert v.of("full_name") is Visibility.MASKED
        assert v.of("address") is Visibility.MASKED
        assert v.of("id_type") is Visibility.CLEAR
        assert v.images

    def test_compliance_sees_a_minimal_masked_view_and_no_images(self):
        v = visible_fields(Role.COMPLIANCE_OFFICER, Purpose.ENFORCEMENT)
        assert v.of("full_name") is Visibility.MASKED
        assert v.of("id_number") is Visibility.MASKED
        assert v.of("address") is Visibility.HIDDEN
        assert v.of("date_of_birth") is Visibility.HIDDEN
        assert not v.images

    def test_dpo_handling_a_request_sees_everything(self):
        v = visible_fields(Role.DPO, Purpose.DSR)
        assert v.of("address") is Visibility.CLEAR
        assert v.images

    @pytest.mark.parametrize(
        ("role", "purpose"),
        [(Role.ADMIN, "update"), (Role.AUDITOR, "dsr"), (Role.STORE_STAFF, None), (Role.DPO, "transaction"),
         ("ghost", "update"), (Role.STORE_STAFF, "curiosity")],
    )  # fmt: skip
    def test_no_read_permission_or_purpose_shows_nothing(self, role, purpose):
        v = visible_fields(role, purpose)
        assert all(v.of(f) is Visibility.HIDDEN for f in ("full_name", "id_number", "gender"))
        assert not v.images

    def test_an_unknown_field_is_hidden_even_in_the_clear_view(self):
        assert visible_fields(Role.DPO, Purpose.DSR).of("biometric_template") is Visibility.HIDDEN

    @given(st.sampled_from(list(Role)), st.sampled_from(list(Purpose)))
    def test_images_only_where_view_image_is_allowed(self, role, purpose):
        v = visible_fields(role, purpose)
        may_read = purpose in allowed_purposes(role, P.SUBSCRIPTION_READ)
        may_view = purpose in allowed_purposes(role, P.DOCUMENT_VIEW_IMAGE)
        assert v.images == (may_read and may_view)

    @given(st.sampled_from(list(Role)), st.sampled_from(list(Purpose)))
    def test_clear_values_only_where_unmasked_is_allowed(self, role, purpose):
        v = visible_fields(role, purpose)
        if v.of("id_number") is Visibility.CLEAR:
            assert purpose in allowed_purposes(role, P.PERSONAL_DATA_UNMASKED)
