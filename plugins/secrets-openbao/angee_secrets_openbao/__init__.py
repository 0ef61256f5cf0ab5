"""Angee bundled plugin: OpenBao (KV v2) secrets backend on hvac.

Import-cheap on purpose: the CLI imports every plugin at start-up, so hvac/requests and the backend
module load only when a stack actually opens an ``openbao`` secrets backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from angee.contracts import SecretsBackend, SecretsBackendProvider
from angee.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from angee.manifest.model import SecretsBackend as SecretsBackendConfig

__all__ = ["OpenBaoBackend", "OpenBaoProvider", "OpenBaoSettings", "health", "resolve_settings"]

_LAZY = {
    "OpenBaoBackend": "angee_secrets_openbao.backend",
    "OpenBaoSettings": "angee_secrets_openbao.settings",
    "resolve_settings": "angee_secrets_openbao.settings",
    "health": "angee_secrets_openbao.probe",
}


class OpenBaoProvider(SecretsBackendProvider):
    """Secrets in an OpenBao KV v2 mount (address, token, mount, path from secrets_backend)."""

    name = "openbao"

    def open(self, root: str, config: SecretsBackendConfig) -> SecretsBackend:
        """Resolve the settings (``InvalidInput`` when the address is missing) and open the backend; no I/O."""
        from angee_secrets_openbao.backend import OpenBaoBackend
        from angee_secrets_openbao.settings import resolve_settings

        return OpenBaoBackend(root, resolve_settings(config))


@hookimpl
def angee_secrets_backends() -> list[SecretsBackendProvider]:
    """Register the ``openbao`` secrets backend."""
    return [OpenBaoProvider()]


def __getattr__(name: str) -> Any:
    """Lazy public names, so ``import angee_secrets_openbao`` stays cheap."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
