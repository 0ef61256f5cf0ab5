"""Built-in plugin: the ``env-file`` secrets backend (spec manifest-and-runtime §7.2), the default.

Secret ``N`` is stored as ``ANGEE_SECRET_<N>`` in one env file (``secrets_backend.path``, default
``.env`` under the root), which is therefore also the env file the runtimes read.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from angee.contracts import SecretsBackend, SecretsBackendProvider
from angee.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from angee.manifest.model import SecretsBackend as SecretsBackendConfig

DEFAULT_PATH = ".env"


class EnvFileBackend(SecretsBackend):
    """Secrets as ``ANGEE_SECRET_<N>=<value>`` lines of one env file (mode 0600, rewritten sorted)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        from angee.secrets.envfile import read_env_file

        return read_env_file(self.path)

    def _write(self, entries: dict[str, str]) -> None:
        from angee.secrets.envfile import write_env_file

        write_env_file(self.path, entries)

    @staticmethod
    def _key(name: str) -> str:
        from angee.secrets.names import secret_env_var

        return secret_env_var(name)

    def get(self, name: str) -> str | None:
        """The stored value of ``name`` (``None`` when absent or empty)."""
        return self._read().get(self._key(name)) or None

    def set(self, name: str, value: str) -> None:
        """Store ``value``; every other line of the file is kept (comments are not)."""
        entries = self._read()
        entries[self._key(name)] = value
        self._write(entries)

    def delete(self, name: str) -> None:
        """Remove ``name``'s line; absent (or no file) is not an error and leaves the file untouched."""
        entries = self._read()
        if entries.pop(self._key(name), None) is not None:
            self._write(entries)

    def list(self) -> list[str]:
        """Every key in the file (env var names such as ``ANGEE_SECRET_X``), sorted."""
        return sorted(self._read())

    def runtime_env_file(self) -> str:
        """The backend's own file: compose reads it with ``--env-file``, local engines get its entries."""
        return self.path

    def check(self) -> tuple[str, str]:
        """Doctor: the file is readable and every line parses (a missing file is fine)."""
        from angee.errors import AngeeError

        try:
            count = len(self._read())
        except AngeeError as exc:
            return ("error", str(exc))
        if not os.path.exists(self.path):
            return ("ok", f"{self.path} (absent; created on first secret)")
        return ("ok", f"{self.path} ({count} entries)")


class EnvFileBackendProvider(SecretsBackendProvider):
    """Secrets in an env file under the stack root (default ``.env``)."""

    name = "env-file"

    def open(self, root: str, config: SecretsBackendConfig) -> SecretsBackend:
        """Open the file ``config.path`` (default ``.env``), relative to ``root`` unless absolute."""
        path = (getattr(config, "path", "") if config is not None else "") or DEFAULT_PATH
        return EnvFileBackend(os.path.normpath(os.path.join(root, path)))


@hookimpl
def angee_secrets_backends() -> list[SecretsBackendProvider]:
    """Register the ``env-file`` backend."""
    return [EnvFileBackendProvider()]
