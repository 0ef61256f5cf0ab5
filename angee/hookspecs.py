"""The plugin contract: every extension point of Angee, as pluggy hook specifications.

A plugin is a module (or object) with functions marked ``@hookimpl`` named after these specs.
Bundled plugins and the kernel's built-ins use exactly these hooks; a third party ships
``[project.entry-points.angee] x = "angee_plugin_x"`` and ``pip install`` is all it takes.

Provider hooks return lists; the kernel collects every plugin's answer. Event hooks are
fire-and-forget notifications: their return values are ignored and their errors are logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click

    from angee.contracts import Runtime, SecretsBackendProvider, SourceKind, TemplateKind

PROJECT = "angee"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def angee_source_kinds() -> list[SourceKind]:
    """Return source kinds (``local``, ``git``, ...), each a :class:`angee.contracts.SourceKind`."""


@hookspec
def angee_runtimes() -> list[Runtime]:
    """Return runtime backends, each a :class:`angee.contracts.Runtime`.

    A backend declares which manifest ``runtime`` it serves (``container`` or ``local``).
    """


@hookspec
def angee_secrets_backends() -> list[SecretsBackendProvider]:
    """Return secrets backends by ``secrets_backend.type`` (``env-file``, ``openbao``, ...)."""


@hookspec
def angee_template_kinds() -> list[TemplateKind]:
    """Return template kinds (``stack``, ``workspace``, ``service``, ``project``)."""


@hookspec
def angee_cli_commands() -> list[click.Command]:
    """Return click commands or groups to add to the ``angee`` CLI (top level)."""


@hookspec
def angee_operator_blueprints() -> list[Any]:
    """Return Flask blueprints the operator mounts (import flask inside the implementation)."""


@hookspec
def angee_graphql_extensions() -> list[Any]:
    """Return GraphQL contributions: objects with optional ``query``/``mutation``/``subscription``
    strawberry types whose fields the operator merges into its schema."""


@hookspec
def angee_stack_prepared(platform: Any, compiled: Any) -> None:
    """Notification: runtime files of ``platform``'s stack were compiled and written."""


@hookspec
def angee_workspace_created(platform: Any, workspace: Any) -> None:
    """Notification: a workspace was created (``workspace`` is its WorkspaceRef)."""


@hookspec
def angee_workspace_destroyed(platform: Any, name: str) -> None:
    """Notification: a workspace was destroyed."""
