"""OpenBao connection settings from ``secrets_backend`` and the environment (spec manifest-and-runtime §7.4).

Pure and import-cheap: no network, no hvac. The token is kept out of ``repr`` so it never reaches a log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from angee.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from angee.manifest.model import SecretsBackend as SecretsBackendConfig

DEFAULT_MOUNT = "secret"
DEFAULT_PATH = "angee"
DEFAULT_TIMEOUT = 10.0
ADDRESS_ENV = "OPENBAO_ADDR"
TOKEN_ENV = "OPENBAO_TOKEN"

_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class OpenBaoSettings:
    """Where and how to talk to OpenBao: ``address`` has no trailing ``/``; ``mount``/``path`` no edge ``/``."""

    address: str
    token: str = field(default="", repr=False)
    mount: str = DEFAULT_MOUNT
    path: str = DEFAULT_PATH
    timeout: float = DEFAULT_TIMEOUT

    def secret_path(self, name: str = "") -> str:
        """The KV path of secret ``name`` under the configured sub-path (``angee/db``), or the sub-path itself."""
        return "/".join(part for part in (self.path, name) if part)

    def logical_path(self, name: str = "") -> str:
        """``<mount>/<path>/<name>`` as a user thinks of it (``secret/angee/db``), for messages."""
        return "/".join(part for part in (self.mount, self.path, name) if part)


def expand_env(text: str, what: str, environ: Mapping[str, str]) -> str:
    """Replace every ``${VAR}`` in ``text``; an unset variable is an ``InvalidInput`` naming it and ``what``."""

    def substitute(match: re.Match[str]) -> str:
        var = match.group(1)
        if var not in environ:
            raise InvalidInput(
                f"secrets_backend.{what}",
                f'environment variable "{var}" is not set',
                message=f'openbao {what}: environment variable "{var}" is not set',
            )
        return environ[var]

    return _VAR_RE.sub(substitute, text)


def normalize_address(address: str) -> str:
    """``address`` trimmed of blanks and trailing ``/``; it must be an ``http://`` or ``https://`` URL."""
    address = address.strip().rstrip("/")
    if not address:
        raise InvalidInput(
            "secrets_backend.address", "openbao address is required", message="openbao address is required"
        )
    if not re.match(r"https?://[^/\s]+", address, flags=re.IGNORECASE):
        raise InvalidInput(
            "secrets_backend.address",
            "openbao address must start with http:// or https://",
            message=f'openbao address "{address}" must start with http:// or https://',
        )
    return address


def resolve_settings(
    config: SecretsBackendConfig | None, environ: Mapping[str, str] | None = None
) -> OpenBaoSettings:
    """Settings from ``config`` (address, token, mount, path), falling back to ``OPENBAO_ADDR``/``OPENBAO_TOKEN``.

    Raises ``InvalidInput`` (``openbao address is required``, a bad URL, an unset ``${VAR}``).
    """
    env = os.environ if environ is None else environ
    address = (getattr(config, "address", "") or "") or env.get(ADDRESS_ENV, "")
    token = (getattr(config, "token", "") or "") or env.get(TOKEN_ENV, "")
    mount = (getattr(config, "mount", "") or "").strip().strip("/") or DEFAULT_MOUNT
    raw_path = getattr(config, "path", "") or ""
    path = raw_path.strip().strip("/") if raw_path else DEFAULT_PATH
    return OpenBaoSettings(
        address=normalize_address(expand_env(address, "address", env)),
        token=expand_env(token, "token", env).strip(),
        mount=mount,
        path=path,
    )
