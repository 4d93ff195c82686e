"""Privacy: consent records, data-subject requests, crypto-shredding and retention, the data subject's
export, master-key rotation, and reading back the audit log (verify, query, anomaly signals)."""

from subreg.services.privacy.consent import consent_text, record_consent
from subreg.services.privacy.export import export_request
from subreg.services.privacy.keys import key_status, rotate_master_key
from subreg.services.privacy.requests import fulfil_request, list_requests, open_request
from subreg.services.privacy.shredding import retention_sweep, shred_holder

__all__ = [
    "consent_text",
    "export_request",
    "fulfil_request",
    "key_status",
    "list_requests",
    "open_request",
    "record_consent",
    "retention_sweep",
    "rotate_master_key",
    "shred_holder",
]
