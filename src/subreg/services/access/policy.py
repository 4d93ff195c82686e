"""The sign-in rules, taken from settings by `bootstrap.auth_policy`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AuthPolicy"]


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """Sign-in rules (session length, lockouts, TOTP roles)."""

    session_minutes: int = 480
    max_failures: int = 5
    lockout_minutes: int = 15
    # Failed sign-ins from one client address, over any accounts, before it must wait: the per-account
    # lockout alone lets one address try a few passwords on every account (password spraying).
    max_source_failures: int = 20
    source_window_minutes: int = 15
    # An account that signed in successfully from an address within this many days may still sign in from
    # it while the address is held back (a store's tablets share one address behind a NAT: one mistyping
    # tablet, or one attacker, must not lock the whole store out). 0: no such exception.
    trusted_source_days: int = 30
    totp_roles: frozenset[str] = frozenset()
    issuer: str = "subreg"

    def needs_totp(self, role: str) -> bool:
        """Whether accounts of `role` must use a second factor."""
        return role in self.totp_roles
