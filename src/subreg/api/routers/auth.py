"""API routes: sign-in, API tokens, the caller's own account (password, TOTP), staff administration.

Thin: each route parses, calls `subreg.services.access`, and shapes the answer.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field

from subreg.api.deps import actor, auth_policy, container, current_session, requires, run_use_case
from subreg.api.schemas.ids import RowIdPath
from subreg.bootstrap import Container
from subreg.domain.access.permissions import Actor, Permission, can
from subreg.services import access as auth_service

router = APIRouter(tags=["auth"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "Not signed in, or sign-in refused (`invalid_credentials`, `account_locked`, `totp_required`)"
    },
    429: {"description": "Too many failed sign-ins from this address (`too_many_attempts`); see `Retry-After`"},
}


class LoginRequest(BaseModel):
    """Credentials; `totp` only for accounts with a second factor."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(None, max_length=10)


class TokenRead(BaseModel):
    """A new API token: send it as `Authorization: Bearer <token>`. It is shown once."""

    token: str
    expires_at: datetime
    role: str
    must_change_password: bool


class PointOfSaleRef(BaseModel):
    code: str | None
    kind: str | None


class MeRead(BaseModel):
    """The signed-in account, its point of sale and what its role may do."""

    staff_id: int
    username: str
    display_name: str
    role: str
    point_of_sale: PointOfSaleRef
    permissions: list[str]
    must_change_password: bool
    second_factor: bool
    totp_enrollment_required: bool
    session_kind: str
    expires_at: datetime


class PasswordChange(BaseModel):
    old_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class TotpEnrollRead(BaseModel):
    """Show `otpauth_uri` as a QR code to the authenticator app, then confirm with a code."""

    otpauth_uri: str


class TotpConfirm(BaseModel):
    code: str = Field(min_length=6, max_length=10)


class Done(BaseModel):
    ok: bool = True


def _bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else request.cookies.get("subreg_session")


@router.post(
    "/auth/login",
    response_model=TokenRead,
    dependencies=[requires(Permission.PUBLIC_LOGIN)],
    responses=_ERRORS,
    summary="Sign in and get an API token",
)
async def login(
    request: Request,
    body: Annotated[
        LoginRequest,
        Body(
            openapi_examples={
                "password": {"summary": "Password only", "value": {"username": "store.hn", "password": "…"}},
                "totp": {
                    "summary": "With a one-time code",
                    "value": {"username": "admin", "password": "…", "totp": "123456"},
                },
            }
        ),
    ],
    c: Container = Depends(container),
) -> TokenRead:
    """Check the credentials and return a bearer token valid for `session_minutes`.

    Wrong username, wrong password and disabled account all answer 401 `invalid_credentials`;
    after `login_max_failures` failures in a row the account answers `account_locked` for a while.
    """
    policy = auth_policy(request)

    def run() -> auth_service.LoginResult:
        with c.uow() as uow:
            return auth_service.authenticate(
                uow, body.username, body.password, body.totp, kind="api", vault=c.vault, policy=policy,
                source=request.client.host if request.client else None,
            )  # fmt: skip

    result = await run_use_case(run)
    return TokenRead(
        token=result.session.token,
        expires_at=result.session.expires_at,
        role=result.role,
        must_change_password=result.must_change_password,
    )


@router.post(
    "/auth/logout",
    response_model=Done,
    dependencies=[requires(Permission.SESSION_SELF)],
    responses=_ERRORS,
    summary="End this session or revoke this token",
)
async def logout(request: Request, c: Container = Depends(container)) -> Done:
    """Revoke the token (or web session) the request was made with."""
    token = _bearer_token(request)

    def run() -> None:
        with c.uow() as uow:
            auth_service.logout(uow, token)

    await run_use_case(run)
    return Done()


@router.get(
    "/auth/me",
    response_model=MeRead,
    dependencies=[requires(Permission.SESSION_SELF)],
    responses={
        **_ERRORS,
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "staff_id": 7,
                        "username": "store.hn",
                        "display_name": "Giao dịch viên Hoàn Kiếm",
                        "role": "store_staff",
                        "point_of_sale": {"code": "HN-HK-01", "kind": "store"},
                        "permissions": ["public:health", "session:self", "subscription:read"],
                        "must_change_password": False,
                        "second_factor": False,
                        "totp_enrollment_required": False,
                        "session_kind": "api",
                        "expires_at": "2026-01-05T10:00:00Z",
                    }
                }
            }
        },
    },
    summary="Who am I",
)
async def me(request: Request) -> MeRead:
    """The signed-in account (no personal data beyond the staff member's own display name)."""
    s = await current_session(request)
    role = s.actor.role
    perms = sorted(p.value for p in Permission if can(role, p))
    return MeRead(
        staff_id=s.actor.staff_id,
        username=s.username,
        display_name=s.display_name,
        role=str(role),
        point_of_sale=PointOfSaleRef(code=s.pos_code, kind=s.actor.pos_kind),
        permissions=perms,
        must_change_password=s.must_change_password,
        second_factor=s.second_factor,
        totp_enrollment_required=s.totp_enrollment_required,
        session_kind=s.kind,
        expires_at=s.expires_at,
    )


@router.post(
    "/auth/password",
    response_model=Done,
    dependencies=[requires(Permission.SESSION_SELF)],
    responses={**_ERRORS, 422: {"description": "`wrong_password`, `password_too_short`, `password_same_as_username`"}},
    summary="Change my password",
)
async def change_password(
    request: Request,
    body: Annotated[
        PasswordChange,
        Body(openapi_examples={"change": {"value": {"old_password": "…", "new_password": "a-long-new-passphrase"}}}),
    ],
    me_: Actor = Depends(actor),
    c: Container = Depends(container),
) -> Done:
    """Change the password (at least 10 characters, not the username); other sessions are ended."""
    session = await current_session(request)

    def run() -> None:
        with c.uow() as uow:
            auth_service.change_password(
                uow, me_.staff_id, body.old_password, body.new_password, keep_session=session.session_id
            )

    await run_use_case(run)
    return Done()


@router.post(
    "/auth/totp/enroll",
    response_model=TotpEnrollRead,
    dependencies=[requires(Permission.SESSION_SELF)],
    responses={
        **_ERRORS,
        200: {
            "content": {
                "application/json": {
                    "example": {"otpauth_uri": "otpauth://totp/subreg%3Aadmin?secret=JBSWY3DPEHPK3PXP&issuer=subreg"}
                }
            }
        },
    },
    summary="Start setting up a TOTP second factor",
)
async def totp_enroll(me_: Actor = Depends(actor), c: Container = Depends(container)) -> TotpEnrollRead:
    """A new secret as an otpauth:// URI; it takes effect once confirmed with a code."""

    def run() -> str:
        with c.uow() as uow:
            return auth_service.enroll_totp(uow, me_.staff_id, vault=c.vault)

    return TotpEnrollRead(otpauth_uri=await run_use_case(run))


@router.post(
    "/auth/totp/confirm",
    response_model=Done,
    dependencies=[requires(Permission.SESSION_SELF)],
    responses={**_ERRORS, 422: {"description": "`invalid_totp`, `totp_not_enrolled`"}},
    summary="Confirm the TOTP second factor with a code",
)
async def totp_confirm(
    request: Request,
    body: Annotated[TotpConfirm, Body(openapi_examples={"code": {"value": {"code": "123456"}}})],
    me_: Actor = Depends(actor),
    c: Container = Depends(container),
) -> Done:
    """From now on signing in needs a code; this session counts as verified."""
    session = await current_session(request)

    def run() -> None:
        with c.uow() as uow:
            auth_service.confirm_totp(uow, me_.staff_id, body.code, vault=c.vault, session_id=session.session_id)

    await run_use_case(run)
    return Done()


# --- staff administration (admin: `staff:manage`) ----------------------------------------------


class StaffCreate(BaseModel):
    """A new account; its password is generated and returned once."""

    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    role: str = Field(max_length=32)
    pos_code: str | None = Field(None, max_length=32)


class StaffRead(BaseModel):
    """An account as administrators see it: no password hash, no TOTP secret."""

    id: int
    username: str
    display_name: str
    role: str
    pos_code: str | None
    active: bool
    locked: bool
    totp_enrolled: bool
    must_change_password: bool
    last_login_at: datetime | None


class StaffPassword(BaseModel):
    """A generated password, shown once; the account must change it at its next sign-in."""

    id: int
    password: str


_STAFF_EXAMPLE = {
    "id": 12,
    "username": "lan.nguyen",
    "display_name": "Nguyễn Thị Lan",
    "role": "store_staff",
    "pos_code": "HN-HK-01",
    "active": True,
    "locked": False,
    "totp_enrolled": False,
    "must_change_password": True,
    "last_login_at": None,
}
_STAFF_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    403: {"description": "The role does not hold `staff:manage`"},
    404: {"description": "No such account"},
}


@router.get(
    "/staff",
    response_model=list[StaffRead],
    dependencies=[requires(Permission.STAFF_MANAGE)],
    responses={**_STAFF_ERRORS, 200: {"content": {"application/json": {"example": [_STAFF_EXAMPLE]}}}},
    summary="List staff accounts",
)
async def staff_list(c: Container = Depends(container)) -> list[StaffRead]:
    """Every account with its state (active, locked, second factor)."""

    def run() -> list[auth_service.StaffAccount]:
        with c.uow() as uow:
            return auth_service.list_staff(uow)

    return [StaffRead(**dataclasses.asdict(a)) for a in await run_use_case(run)]


@router.post(
    "/staff",
    response_model=StaffPassword,
    status_code=201,
    dependencies=[requires(Permission.STAFF_MANAGE)],
    responses={**_STAFF_ERRORS, 422: {"description": "`duplicate_username`, `unknown_point_of_sale`, ..."}},
    summary="Create a staff account",
)
async def staff_create(
    body: Annotated[
        StaffCreate,
        Body(
            openapi_examples={
                "store": {
                    "summary": "A store clerk",
                    "value": {
                        "username": "lan.nguyen",
                        "display_name": "Nguyễn Thị Lan",
                        "role": "store_staff",
                        "pos_code": "HN-HK-01",
                    },
                },
                "auditor": {
                    "summary": "A back-office auditor (no point of sale)",
                    "value": {"username": "kiem.toan", "display_name": "Kiểm toán nội bộ", "role": "auditor"},
                },
            }
        ),
    ],
    me_: Actor = Depends(actor),
    c: Container = Depends(container),
) -> StaffPassword:
    """Create the account bound to its point of sale; the generated password is in the answer, once."""

    def run() -> StaffPassword:
        with c.uow() as uow:
            password = auth_service.create_staff(
                uow, body.username, body.display_name, body.role, body.pos_code, actor=me_
            )
            created = uow.auth.staff_by_username(body.username.strip())
            return StaffPassword(id=created.id if created else 0, password=password)

    return await run_use_case(run)


@router.post(
    "/staff/{staff_id}/disable",
    response_model=Done,
    dependencies=[requires(Permission.STAFF_MANAGE)],
    responses=_STAFF_ERRORS,
    summary="Disable a staff account",
)
async def staff_disable(staff_id: RowIdPath, me_: Actor = Depends(actor), c: Container = Depends(container)) -> Done:
    """Disable the account and end its sessions (its history stays)."""

    def run() -> None:
        with c.uow() as uow:
            auth_service.disable_staff(uow, staff_id, actor=me_)

    await run_use_case(run)
    return Done()


@router.post(
    "/staff/{staff_id}/reset-password",
    response_model=StaffPassword,
    dependencies=[requires(Permission.STAFF_MANAGE)],
    responses=_STAFF_ERRORS,
    summary="Reset a staff account's password",
)
async def staff_reset_password(
    staff_id: RowIdPath, me_: Actor = Depends(actor), c: Container = Depends(container)
) -> StaffPassword:
    """A new generated password (shown once); unlocks, removes TOTP, ends sessions."""

    def run() -> str:
        with c.uow() as uow:
            return auth_service.admin_reset_password(uow, staff_id, actor=me_)

    return StaffPassword(id=staff_id, password=await run_use_case(run))
