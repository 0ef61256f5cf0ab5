"""Angee bundled plugin: OpenBao (KV v2) secrets backend on hvac."""
