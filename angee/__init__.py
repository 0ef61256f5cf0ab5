"""Angee: a self-managed stack manager driven by one ``angee.yaml``."""

__version__ = "0.1.0"
