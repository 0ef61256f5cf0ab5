"""Angee bundled plugin: docker compose runtime for container services.

Registers the ``compose`` backend for ``runtime: container`` (spec manifest-and-runtime §5.8).
Imports stay cheap (stdlib + kernel): the CLI imports every plugin at start-up.
"""

from __future__ import annotations

from angee.contracts import Runtime
from angee.hookspecs import hookimpl
from angee_runtime_compose.compose import ComposeRuntime

__all__ = ["ComposeRuntime", "angee_runtimes"]


@hookimpl
def angee_runtimes() -> list[Runtime]:
    """The ``compose`` runtime backend."""
    return [ComposeRuntime()]
