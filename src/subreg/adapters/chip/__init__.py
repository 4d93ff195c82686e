"""Chip data of an ICAO 9303 ID card (the chip CCCD): LDS parsing and passive authentication."""

from subreg.adapters.chip.passive_auth import IcaoPassiveAuthenticator, load_csca_certificates

__all__ = ["IcaoPassiveAuthenticator", "load_csca_certificates"]
