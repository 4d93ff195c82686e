"""Fraud and quality signals: the pure rules (thresholds, the unusual-volume test, perceptual-hash bands,
review decisions and reason codes). See docs/signals.md."""
