"""The back office's own rules: what a stored scan can fill, and how much each reading is trusted."""
