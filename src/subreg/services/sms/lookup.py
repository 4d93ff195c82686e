"""What a 1414 reply says: the sender's own line (`TTTB`), or the lines under an ID document (`TTTB <ID>`).

No enumeration: a number or an ID document is described only to a sender registered under it. The reply to
`TTTB <ID>` from anyone else is rendered from what the sender typed alone, the very context of an ID that is
not registered at all, so the two texts are identical by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from subreg.domain.common.messages import field_label
from subreg.domain.common.msisdn import msisdn_from_key
from subreg.domain.sms.grammar import IdQuery
from subreg.domain.sms.replies import mask_birth, mask_id_number, mask_msisdn, mask_name
from subreg.services.common.ports import Vault
from subreg.services.registry.ports import HolderRow, SubscriptionRow, holder_aad
from subreg.services.sms.options import SmsOptions
from subreg.services.sms.ports import SmsUnitOfWork

__all__ = ["Found", "id_numbers", "own_line"]

_LIVE = ("active", "one_way_locked", "two_way_locked")
# Fields a status reply may show (for the audit entry's `fields`).
_SHOWN = ("holder.full_name", "holder.date_of_birth", "holder.id_number", "holder.id_issue_place")


@dataclass(frozen=True, slots=True)
class Found:
    """A reply's template, its context, and for the audit: the subject described and the fields shown."""

    template: str
    context: Mapping[str, Any]
    subject: str | None = None
    fields: tuple[str, ...] = ()
    outcome: str = "answered"


def _missing_label(item: str, lang: str) -> str:
    label = field_label(item, lang)
    return label if lang == "vi" else item.rsplit(".", 1)[-1].replace("_", " ")


def _personal(vault: Vault, holder: HolderRow) -> dict[str, Any]:
    dek = vault.unwrap(holder.kek_id, holder.wrapped_dek)
    return dict(orjson.loads(vault.open(dek, holder.payload, holder_aad(holder.aad_ref))))


def _state(sub: SubscriptionRow) -> str:
    if sub.status != "active":
        return sub.status
    return "complete" if sub.complete else "incomplete"


def own_line(sender: int, *, uow: SmsUnitOfWork, vault: Vault, options: SmsOptions) -> Found:
    """`TTTB`: what is registered for the sending number."""
    sub = uow.subscriptions.get(sender)
    holder = uow.holders.get(sub.holder_id) if sub is not None and sub.status in _LIVE else None
    if sub is None or holder is None or holder.wrapped_dek is None:
        return Found("not_registered", {"msisdn": mask_msisdn(msisdn_from_key(sender), keep_last=4)},
                     outcome="not_registered")  # fmt: skip
    personal = _personal(vault, holder)
    person = personal.get("holder") or {}
    org = personal.get("organization") or {}
    m = options.masking
    name = org.get("name") or person.get("full_name")
    birth = person.get("date_of_birth") or person.get("birth_year")
    id_number = person.get("id_number")
    context = {
        "msisdn": mask_msisdn(msisdn_from_key(sender), keep_last=4),
        "name": mask_name(name, m.name) if isinstance(name, str) and name.strip() else None,
        "birth": mask_birth(birth, m.birth) if isinstance(birth, str | int) and birth else None,
        "id_number": mask_id_number(id_number, keep_last=m.id_keep_last) if isinstance(id_number, str) else None,
        "issue_place": person.get("id_issue_place") if m.show_issue_place else None,
        "complete": bool(sub.complete) and not sub.contract_needed,
        "state": _state(sub),
        "missing": [_missing_label(item, options.lang) for item in sub.missing],
        "contract_needed": bool(sub.contract_needed),
    }
    return Found("status", context, subject=f"line:{sub.id}", fields=_SHOWN)


def id_numbers(
    query: IdQuery, sender: int, *, uow: SmsUnitOfWork, vault: Vault, options: SmsOptions,
    document_key: Callable[[Mapping[str, Any]], str | None],
) -> Found:  # fmt: skip
    """`TTTB <ID>`: the numbers under that ID document, only for a sender who is one of them."""
    typed = {"id_masked": mask_id_number(query.id_number, keep_last=options.masking.id_keep_last)}
    key = document_key({"holder": {"id_type": query.id_type_hint, "id_number": query.id_number}})
    holders = uow.holders.find_by_blind(vault.blind(key)) if key else []
    lines = [s for s in uow.subscriptions.list_by_holders([h.id for h in holders]) if s.status in _LIVE]
    if sender not in {s.msisdn for s in lines}:
        return Found("id_unknown", typed, outcome="not_holder")
    keep = options.msisdn_keep_last
    context = {
        **typed,
        "lines": [
            {"msisdn": mask_msisdn(msisdn_from_key(s.msisdn), keep_last=keep), "state": _state(s)}
            for s in sorted(lines, key=lambda s: s.msisdn)
        ],
    }
    return Found("id_numbers", context, subject=f"holder:{holders[0].id}", fields=("holder.id_number",))
