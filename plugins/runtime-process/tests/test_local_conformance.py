"""The local-backend conformance suite, run against the embedded engine (and process-compose if on PATH)."""

from __future__ import annotations

from local_conformance import LocalRuntimeConformance


class TestLocalRuntimeConformance(LocalRuntimeConformance):
    """Every test of the suite, once per backend (``runtime`` fixture parameter)."""
