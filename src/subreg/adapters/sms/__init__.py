"""SMS transports: the SMPP ESME (`smpp.SmppTransport`)."""

__all__: list[str] = []
