"""Angee bundled plugin: process-compose runtime and the embedded local engine for local services."""
