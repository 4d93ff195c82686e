"""Back office: completing subscriptions from what is already on file (derivations, readings of stored scans)
and the supervisor's review of flagged registrations and updates."""
