"""SMS transports: how the outbox reaches a gateway (Kannel over HTTP; SMPP to come)."""
