"""Staff identities: accounts, sign-in with lockout, sessions and API tokens, passwords, TOTP.

Every use case works in the unit of work it is given and commits it itself.
"""

from subreg.services.access.accounts import (
    StaffAccount,
    admin_reset_password,
    change_password,
    check_password_policy,
    create_staff,
    disable_staff,
    list_staff,
    set_provinces,
)
from subreg.services.access.policy import AuthPolicy
from subreg.services.access.sessions import IssuedSession, SessionInfo, issue_session, logout, resolve, resolve_session
from subreg.services.access.sign_in import LoginResult, authenticate
from subreg.services.access.totp import confirm_totp, enroll_totp

__all__ = [
    "AuthPolicy",
    "IssuedSession",
    "LoginResult",
    "SessionInfo",
    "StaffAccount",
    "admin_reset_password",
    "authenticate",
    "change_password",
    "check_password_policy",
    "confirm_totp",
    "create_staff",
    "disable_staff",
    "enroll_totp",
    "issue_session",
    "list_staff",
    "logout",
    "resolve",
    "resolve_session",
    "set_provinces",
]
