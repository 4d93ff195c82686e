"""API schemas (documentation and response shapes). They live only here."""
