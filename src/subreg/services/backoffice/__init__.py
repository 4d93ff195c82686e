"""Back-office use cases: the work queue of lines completed from the scans on file."""
