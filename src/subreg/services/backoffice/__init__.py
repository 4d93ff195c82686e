"""The back office: work done on lines after the counter (bulk derivation, the work queue, the supervisor review)."""
