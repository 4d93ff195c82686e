"""Network elements that lock and unlock lines (`services.enforcement.ports.NetworkProvisioner`): OsmoHLR over
CTRL (`osmohlr`), a signed HTTP provisioning webhook (`webhook`), the embedded default's own network (`builtin`)."""
