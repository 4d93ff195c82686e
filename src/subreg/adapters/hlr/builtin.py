"""The built-in network of the embedded default: each number's access lives in subreg's own database.

`make run` has no HLR; this stands in for one so that the demo shows the whole life cycle: the counter
card and the phone simulator read what a line can do from here (a locked line's `TTTB` to 1414 still
works). Orders are idempotent: applying the same order (same key) again changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from subreg.adapters.db.tables import network_lines
from subreg.domain.common.msisdn import msisdn_key
from subreg.services.enforcement.ports import LineAccess, NetworkOrder, OrderOutcome

__all__ = ["BuiltinNetwork"]

_ACCESS: dict[str, LineAccess] = {
    "lock_one_way": "one_way", "lock_two_way": "two_way", "unlock": "open", "terminate": "absent",
}  # fmt: skip


class BuiltinNetwork:
    name = "builtin"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def apply(self, order: NetworkOrder) -> OrderOutcome:
        access = _ACCESS[order.action]
        key = msisdn_key("+" + order.msisdn)
        values = {"access": access, "updated_at": datetime.now(UTC), "order_key": order.key}
        with self._engine.begin() as c:
            updated = c.execute(network_lines.update().where(network_lines.c.msisdn == key).values(values)).rowcount
            if not updated:
                c.execute(network_lines.insert().values(msisdn=key, **values))
        return OrderOutcome("done", applied=access)

    def access(self, msisdn: str) -> LineAccess:
        key = msisdn_key("+" + msisdn.lstrip("+"))
        with self._engine.connect() as c:
            found = c.execute(select(network_lines.c.access).where(network_lines.c.msisdn == key)).scalar()
        return found or "open"  # a number the network never heard of is open (every live line starts so)

    def close(self) -> None:
        pass
