"""subreg: subscriber registry and KYC compliance for mobile network operators."""

__version__ = "0.1.0"
