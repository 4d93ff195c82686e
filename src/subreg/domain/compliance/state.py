"""A line's compliance state: what the rule set's verdict and the 4th-subscription rule make of it.

Stored as a small integer (`subscriptions.state`) so that statistics, campaigns and enforcement select
lines by state with one indexed comparison; this enum is the one place the numbers are defined. The
order is meaningful: a higher state is a worse one (an invalid value outweighs a missing contract,
which outweighs a missing item).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ComplianceState", "state_of"]


class ComplianceState(IntEnum):
    """complete < incomplete < contract needed < invalid."""

    COMPLETE = 0
    INCOMPLETE = 1
    CONTRACT_NEEDED = 2  # the 4th or later line under one ID document, without a contract
    INVALID = 3  # a value is there but wrong (any error of the rule set)

    @property
    def label(self) -> str:
        """The name statistics and reports use (`contract_needed`, ...)."""
        return self.name.lower()


def state_of(*, valid: bool, complete: bool, contract_needed: bool) -> ComplianceState:
    """The state of a line from its verdict (`valid`, `complete`) and the 4th-subscription rule."""
    if not valid:
        return ComplianceState.INVALID
    if contract_needed:
        return ComplianceState.CONTRACT_NEEDED
    if not complete:
        return ComplianceState.INCOMPLETE
    return ComplianceState.COMPLETE
