"""The point of sale: look-up, the gate, updates with images, registration, bill payment, the postpaid shortcut.

Every use case takes a command (`commands`), the unit of work, the request's `CounterContext` and the
signed-in `Actor`; it owns its transaction: it enters the unit of work, commits what it did (including
the audit entry, in the same transaction), and rolls back otherwise. Personal data leaves only through
the look-ups (masked per `access.visible_fields`), `postpaid_suggestions` (purpose `update`, in clear)
and `view_document_image`; each writes an audit entry naming the purpose and the field paths shown,
never values. Refusals by the gate are recorded too (the counter transaction with `outcome = refused`),
then raised: the record survives the refusal.

The counter stores records only through the registry's `SubscriptionWriter` port (`ctx.registry`) and
records consents through the privacy capability's `ConsentRecorder` (`ctx.consents`).
"""

from subreg.services.counter.documents import view_document_image
from subreg.services.counter.id_documents import parse_id_document
from subreg.services.counter.images import check_images
from subreg.services.counter.lookup import lookup_by_id_document, lookup_by_msisdn
from subreg.services.counter.ownership import change_owner
from subreg.services.counter.registration import register_subscription
from subreg.services.counter.suggestions import postpaid_suggestions
from subreg.services.counter.transactions import pay_bill, transact
from subreg.services.counter.update import update_subscription
from subreg.services.counter.visits import open_visit

__all__ = [
    "change_owner",
    "check_images",
    "lookup_by_id_document",
    "lookup_by_msisdn",
    "open_visit",
    "parse_id_document",
    "pay_bill",
    "postpaid_suggestions",
    "register_subscription",
    "transact",
    "update_subscription",
    "view_document_image",
]
