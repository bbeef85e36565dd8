"""Kreiswissen: a self-hosted, permission-aware German knowledge assistant for public administrations."""

__version__ = "0.1.0"
