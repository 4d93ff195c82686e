"""The reports: daily snapshots and the dashboard, the regulator's report (use cases over set-based ports)."""
