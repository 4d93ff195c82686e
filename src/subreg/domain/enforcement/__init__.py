"""Enforcement rules: a line's state machine along its regime's timeline (pure; the sweep runs it in SQL)."""
