"""Reports: what a daily snapshot counts (dimensions and keys) and how the dashboard reads the counts."""
