"""Population-database matching adapters: the HTTP contract, the batch file exchange, the reference registry."""
