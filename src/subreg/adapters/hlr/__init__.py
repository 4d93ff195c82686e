"""Network elements that lock and unlock lines (HLR/HSS and provisioning gateways), behind `enforcement.ports`."""
