"""Network elements that lock and unlock lines (`services.enforcement.ports.NetworkProvisioner`): OsmoHLR over CTRL."""

from subreg.adapters.hlr.osmohlr import OsmoHlrProvisioner

__all__ = ["OsmoHlrProvisioner"]
