"""Angee bundled plugin: docker compose runtime for container services."""
