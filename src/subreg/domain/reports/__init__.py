"""The reports: daily snapshots and the dashboard, the regulator's report (pure rules, no I/O)."""
