"""The part of :class:`angee.platform.Platform` every operation module builds on."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from angee.errors import NotFound
from angee.manifest.model import Manifest
from angee.plugins import PluginRegistry, registry
from angee.root import manifest_path

T = TypeVar("T")


class PlatformBase:
    """State shared by the operation mixins: the stack root and the plugin registry."""

    def __init__(self, root: str, plugins: PluginRegistry | None = None) -> None:
        self.root = os.path.abspath(root)
        self._plugins = plugins

    @property
    def plugins(self) -> PluginRegistry:
        if self._plugins is None:
            self._plugins = registry()
        return self._plugins

    @property
    def manifest_path(self) -> str:
        return manifest_path(self.root)

    def has_manifest(self) -> bool:
        return os.path.isfile(self.manifest_path)

    def load(self) -> Manifest:
        """Read and validate ``angee.yaml`` (no lock: reads never lock). Absent → NotFound(stack)."""
        from angee.manifest import load_manifest

        if not self.has_manifest():
            raise NotFound("stack", message="stack not found")
        return load_manifest(self.manifest_path)

    def mutate(self, change: Callable[[Manifest], T], *, create: Manifest | None = None) -> T:
        """The one writer: lock, re-read, ``change(manifest)``, validate, atomic replace.

        ``create`` is the manifest to start from when none exists yet (else NotFound(stack)).
        A failing ``change`` or validation leaves ``angee.yaml`` untouched.
        """
        from angee.manifest.store import mutate_manifest

        return mutate_manifest(self.root, change, create=create)
