"""Example third-party Angee plugin: ``angee hello`` and the ``example-memory`` secrets backend.

Everything a plugin needs is here: ``@hookimpl`` functions named after the specs in
``angee.hookspecs`` and one ``[project.entry-points.angee]`` line in pyproject.toml.
"""

from __future__ import annotations

from typing import Any

import click

from angee.contracts import SecretsBackend, SecretsBackendProvider
from angee.hookspecs import hookimpl

DISTRIBUTION = "angee-plugin-example"


@click.command("hello")
@click.argument("name", default="world")
def hello(name: str) -> None:
    """Greet NAME from the example plugin."""
    click.echo(f"hello from {DISTRIBUTION}, {name}")


class MemorySecrets(SecretsBackend):
    """Secret values kept in a dict: gone when the process exits (for show)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)

    def list(self) -> list[str]:
        return sorted(self.values)


class MemorySecretsProvider(SecretsBackendProvider):
    """In-memory secrets backend, one store per stack root (example plugin)."""

    name = "example-memory"

    def __init__(self) -> None:
        self._stores: dict[str, MemorySecrets] = {}

    def open(self, root: str, config: Any) -> SecretsBackend:
        return self._stores.setdefault(root, MemorySecrets())


@hookimpl
def angee_cli_commands() -> list[click.Command]:
    """Adds ``angee hello``."""
    return [hello]


@hookimpl
def angee_secrets_backends() -> list[SecretsBackendProvider]:
    """Adds the ``example-memory`` secrets backend type."""
    return [MemorySecretsProvider()]
