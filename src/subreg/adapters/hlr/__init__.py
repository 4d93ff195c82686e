"""Network elements that lock and unlock lines (HLR/HSS and their provisioning gateways): `NetworkProvisioner`s."""
