"""Fraud and quality signals: the lists a compliance officer works through, their review decisions, and the
keyed portrait bands (docs/signals.md)."""
