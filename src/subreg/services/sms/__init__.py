"""The SMS channel: 1414 look-ups (`TTTB`, `TTTB <ID>`), the outbox every MT leaves through, receipts."""
