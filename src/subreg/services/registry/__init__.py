"""The registry: the central database of subscriptions and holders, and everything done to it in bulk.

One writer stores a subscription (`writer.store_subscription`, also behind the `SubscriptionWriter` port
the counter and the back office use); `rows` builds the columns of every write path, `bulk_load` and
`importer` load many rows at once; `evaluation` and `stats` work set-based over the whole base;
`checks` validates records without storing them; `ported` loads the MNP list (which numbers are this
operator's).
"""

from subreg.services.registry.bulk_load import BulkLoadStats, bulk_load
from subreg.services.registry.checks import CheckSummary, check_records
from subreg.services.registry.ported import PortedLoad, load_ported, ported_counts
from subreg.services.registry.reading import get_subscription, read_document, record_of
from subreg.services.registry.writer import Registry, seal_images, store_subscription

__all__ = [
    "BulkLoadStats",
    "CheckSummary",
    "PortedLoad",
    "Registry",
    "bulk_load",
    "check_records",
    "get_subscription",
    "load_ported",
    "ported_counts",
    "read_document",
    "record_of",
    "seal_images",
    "store_subscription",
]
