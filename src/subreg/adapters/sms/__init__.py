"""SMS transports (SMPP, Kannel HTTP, the built-in centre) and the reply templates."""
