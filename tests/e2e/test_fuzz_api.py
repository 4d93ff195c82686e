"""Fuzzing the HTTP API from its OpenAPI document (schemathesis, in process), as each role.

Every operation of `/api/v1/openapi.json` is called with generated requests (the documented examples,
the coverage phase's boundary values and wrong content types, then random valid and invalid data) through
the ASGI app, no server, with the bearer token of a signed-in account of each role. Every answer must be
no server error (no 5xx), and every error must have the documented shape
`{"error": {"code", "message", "errors": [{"field", "code", "message"}]}}`.

Each role works on its own fresh database (a copy of one with a small demo operator: points of sale, one
account per role, subscriptions with images): what one role's fuzzing does (signing out, guessing
passwords, disabling accounts) never starves another. Within a role, operations that may end the session
(sign-out, password change, an admin disabling or resetting its own account) get a fresh token, and the
account is put back in order, for each example.

The run is derandomized (schemathesis' `deterministic`, a fixed seed): the same requests every time, so it
does not flake. Budget (about a minute and a half on two cores): every operation a role may call gets the
coverage phase and EXAMPLES_FULL fuzzed examples, except operations that answer the same whoever asks
(public, own account, pure checks), fuzzed in full by the first role allowed and lightly by the others;
an operation the gate refuses gets EXAMPLES_LIGHT. `SUBREG_FUZZ_EXAMPLES=60` explores deeper.

pytest 9.2 drops the schemathesis test's parameters from its name; a failure says the role and operation
in a note, and schemathesis prints the request as a curl command.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from subreg.api.app import create_app
from subreg.bootstrap import Container, bootstrap, demo_jpegs, init_storage
from subreg.config import Settings
from subreg.domain.access.permissions import PERSONAL_DATA_PERMISSIONS, PUBLIC_PERMISSIONS, Permission, Role, can
from subreg.logging import configure_logging
from subreg.services.access import issue_session
from subreg.services.registry import demo_data
from tests.auth_helpers import bearer
from tests.e2e.test_authz_matrix import _gated_routes

SEED = 2018
# Examples per operation in the fuzzing phase: in full (with the coverage phase before), and light.
EXAMPLES_FULL = int(os.environ.get("SUBREG_FUZZ_EXAMPLES", "12"))
EXAMPLES_LIGHT = 3
# Operations that answer the same whoever asks: public ones, the caller's own account, pure checks.
ROLE_INDEPENDENT = frozenset(
    {p.value for p in PUBLIC_PERMISSIONS}
    | {Permission.SESSION_SELF, Permission.CHECKS_RUN, Permission.ID_DOCUMENTS_PARSE}
)
# Operations whose examples may end the session they are made with (sign-out, a password change revokes
# the other sessions, an admin disabling or resetting its own account): each example gets a fresh one.
SESSION_ENDING = re.compile(r"^POST /api/v1/(auth/(logout|password)|staff/\{staff_id\}/(disable|reset-password))$")

# JSON lines are text on the wire, like CSV.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def _app_without_storage() -> Any:
    # The OpenAPI document and the routes' permissions depend on the routes only (no container needed).
    return create_app(Settings(env="test"), container=object())  # type: ignore[arg-type]


def _permissions(app: Any) -> dict[str, frozenset[str]]:
    """'METHOD /path' -> the permissions its route declares (the authorization matrix's walk)."""
    return {f"{method} {path}": perms for method, path, perms in _gated_routes(app)}


def _light(role: Role, perms: frozenset[str]) -> bool:
    """Whether `role` gets only a few examples of an operation declaring `perms`: the gate stops it, or the
    operation answers the same whoever asks and the first role that may call it is fuzzing it in full."""
    if not all(can(role, p) for p in perms):
        return True
    if not perms <= ROLE_INDEPENDENT:
        return False
    return role != next(r for r in Role if all(can(r, p) for p in perms))


def _schema_for(role: Role, document: dict[str, Any], permissions: dict[str, frozenset[str]]) -> Any:
    light = [label for label, perms in permissions.items() if _light(role, perms)]
    config = {
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": EXAMPLES_FULL, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                "include-name": label,
                "generation": {"max-examples": EXAMPLES_LIGHT},
                "phases": {"coverage": {"enabled": False}},
            }
            for label in light
        ],
    }
    # A copy each: a case's schema document tells which role's run it belongs to (`_role_of`).
    return schemathesis.openapi.from_dict(copy.deepcopy(document), config=SchemathesisConfig.from_dict(config))


_APP = _app_without_storage()
_DOCUMENT = _APP.openapi()
_PERMISSIONS = _permissions(_APP)
SCHEMAS = {role.value: _schema_for(role, _DOCUMENT, _PERMISSIONS) for role in Role}


@dataclass
class FuzzTarget:
    """One role's app over its own database, and that role's bearer token."""

    role: str
    app: Any
    container: Container
    staff_id: int
    token: str
    label: str = ""

    def fresh_token(self) -> str:
        """Put the account back in working order (its own admin may have disabled or reset it); a new token."""
        with self.container.uow() as uow:
            uow.auth.update_staff(
                self.staff_id, {"active": True, "must_change_password": False, "locked_until": None, "failed_logins": 0}
            )
            uow.commit()
            self.token = issue_session(uow, self.staff_id, kind="api").token
        return self.token

    def headers_for(self, label: str) -> dict[str, str]:
        if label != self.label or SESSION_ENDING.match(label):
            self.label = label
            self.fresh_token()
        return {"Authorization": f"Bearer {self.token}"}


def _settings(var_dir: Path) -> Settings:
    return Settings(env="test", var_dir=var_dir, log_level="WARNING", max_upload_bytes=200_000)


def _make_template(var_dir: Path) -> dict[str, tuple[str, str]]:
    """A database with the demo operator, copied for each role; role -> (username, password)."""
    settings = _settings(var_dir)
    init_storage(settings)
    container = bootstrap(settings)
    try:
        logins = demo_data.load_demo(
            container.uow(), vault=container.vault, blobs=container.blobs, rule_set=container.rule_set,
            jpegs=demo_jpegs(7), count=40, seed=7, as_of=date(2018, 3, 15),
        )  # fmt: skip
    finally:
        container.close()
    return {role: (username, password) for role, username, password in logins}


def _open_target(role: str, template: Path, logins: dict[str, tuple[str, str]], root: Path) -> FuzzTarget:
    shutil.copytree(template, root / "var")
    settings = _settings(root / "var")
    container = bootstrap(settings)
    username, password = logins[role]
    app = create_app(settings, container=container)
    with TestClient(app) as client:  # a real sign-in, as the role's demo account
        token = bearer(client, username, password)["Authorization"].removeprefix("Bearer ")
    with container.uow() as uow:
        member = uow.staff.get_by_username(username)
        assert member is not None
    return FuzzTarget(role=role, app=app, container=container, staff_id=member.id, token=token)


class _Targets:
    """One live target at a time: schemathesis runs one schema's (role's) operations, then the next one's."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template"
        self.logins = _make_template(self.template)
        self.current: FuzzTarget | None = None

    def get(self, role: str) -> FuzzTarget:
        if self.current is None or self.current.role != role:
            self.close()
            self.current = _open_target(role, self.template, self.logins, self.root / role)
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.container.close()
            self.current = None


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Targets]:
    found = _Targets(tmp_path_factory.mktemp("fuzz"))
    yield found
    found.close()
    configure_logging()  # the apps here log warnings only (a request log line per example costs time)


def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error answer of the API has the documented shape, and nothing else at its top level."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str), body
    assert isinstance(error.get("message"), str), body
    assert isinstance(error.get("errors"), list), body
    for item in error["errors"]:
        assert set(item) == {"field", "code", "message"}, body
        assert all(isinstance(v, str) for v in item.values()), body
    return None


def _role_of(case: Any) -> str:
    return next(name for name, s in SCHEMAS.items() if s.raw_schema is case.operation.schema.raw_schema)


# role -> operation -> statuses seen (for the control test below)
SEEN: dict[str, dict[str, Counter[int]]] = {}


@schemathesis.pytest.parametrize(**SCHEMAS)
def test_no_server_error_and_documented_error_shape(case: Any, targets: _Targets) -> None:
    target = targets.get(_role_of(case))
    try:
        response = case.call(app=target.app, headers=target.headers_for(case.operation.label))
        SEEN.setdefault(target.role, {}).setdefault(case.operation.label, Counter())[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error, error_shape])
    except BaseException as exc:
        exc.add_note(f"as {target.role}: {case.operation.label}")  # pytest 9.2 drops both from the test's name
        raise


# Permitted by the matrix but refused by the service to the role's scope: the staff anomaly signals name staff of
# every province, and a regional manager sees its provinces only (out_of_scope).
_OUT_OF_SCOPE = {"regional_manager": {"GET /api/v1/audit/anomalies"}}


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_the_fuzzer_called_every_operation_signed_in_as_the_role(role: str) -> None:
    # Control: a fuzz run whose token was refused would pass the test above vacuously.
    seen = SEEN.get(role)
    if not seen:
        pytest.skip("the fuzz test did not run for this role (deselected)")
    assert set(seen) == set(_PERMISSIONS) & {op.ok().label for op in SCHEMAS[role].get_all_operations()}
    assert seen["GET /api/v1/auth/me"][200] > 0
    allowed = [label for label in seen if all(can(Role(role), p) for p in _PERMISSIONS[label])]
    # Operations on personal data answer only for a declared purpose (and, for the queues' roles, on the item the
    # caller holds), and random credentials never sign in: the role's own other operations must mostly succeed.
    # A role whose API is only the session's (the queues' and the regional manager's work is on pages) has `me`.
    base = PUBLIC_PERMISSIONS | {Permission.SESSION_SELF}
    skipped = PERSONAL_DATA_PERMISSIONS | base
    own = [op for op in allowed if not set(_PERMISSIONS[op]) & skipped and op not in _OUT_OF_SCOPE.get(role, ())]
    if own:
        assert sum(seen[label][200] + seen[label][201] for label in own) > len(own) // 2, seen
