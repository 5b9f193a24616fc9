"""Renkei (連携): supply-chain cybersecurity risk management, together with suppliers."""

__version__ = "0.1.0"
