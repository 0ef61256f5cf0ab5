"""Loads the kernel's built-in plugins and every installed entry point of group ``angee``.

A plugin that fails to import or whose hook raises is recorded in :attr:`PluginRegistry.failures`
and reported by ``angee plugins`` / ``angee doctor``; it never stops Angee from starting.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Any

import pluggy

from angee import __version__, hookspecs
from angee.errors import InvalidInput

BUILTINS: dict[str, str] = {
    "local": "angee.builtin.local_source",
    "env-file": "angee.builtin.env_file",
    "templates": "angee.builtin.template_kinds",
}

PROVIDER_HOOKS = {
    "source_kinds": "angee_source_kinds",
    "runtimes": "angee_runtimes",
    "secrets_backends": "angee_secrets_backends",
    "template_kinds": "angee_template_kinds",
}


@dataclass
class PluginFailure:
    """A plugin that could not be loaded or whose hook raised."""

    name: str
    error: str
    distribution: str = ""


@dataclass
class LoadedPlugin:
    name: str
    module: str
    version: str
    distribution: str
    builtin: bool
    provides: dict[str, list[str]] = field(default_factory=dict)


class PluginRegistry:
    """The pluggy manager plus per-plugin bookkeeping (versions, what each provides, failures)."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        self.failures: list[PluginFailure] = []
        self._providers: dict[str, dict[str, Any]] | None = None
        self._owner: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------ loading

    def load(self, entry_points: bool = True) -> PluginRegistry:
        for name, module in BUILTINS.items():
            self._register_module(name, module, version=__version__, distribution="angee", builtin=True)
        if entry_points:
            self._load_entry_points()
        return self

    def _register_module(self, name: str, module: str, *, version: str, distribution: str, builtin: bool) -> None:
        try:
            obj = importlib.import_module(module)
            self.pm.register(obj, name=name)
        except Exception as exc:  # a broken third-party plugin is reported, not fatal
            self.failures.append(PluginFailure(name, f"{type(exc).__name__}: {exc}", distribution))
            return
        self.plugins[name] = LoadedPlugin(name, module, version, distribution, builtin)

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        for ep in sorted(entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
            if ep.name in self.plugins or ep.value in BUILTINS.values():
                continue
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else ""
            version = dist.version if dist is not None else ""
            try:
                obj = ep.load()
                self.pm.register(obj, name=ep.name)
            except Exception as exc:
                self.failures.append(PluginFailure(ep.name, f"{type(exc).__name__}: {exc}", dist_name))
                continue
            self.plugins[ep.name] = LoadedPlugin(ep.name, ep.value, version, dist_name, False)

    # ------------------------------------------------------------------ calling

    def call_each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of ``hook_name`` separately: ``[(plugin name, result)]``.

        Per-implementation calls give attribution and isolate a raising plugin.
        """
        hook = getattr(self.pm.hook, hook_name)
        results: list[tuple[str, Any]] = []
        for impl in hook.get_hookimpls():  # registration order
            try:
                args = [kwargs[a] for a in impl.argnames]
                results.append((impl.plugin_name, impl.function(*args)))
            except Exception as exc:
                self.failures.append(PluginFailure(impl.plugin_name, f"{hook_name}: {type(exc).__name__}: {exc}"))
        return results

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Fire an event hook; a raising listener is reported on stderr, never fatal."""
        before = len(self.failures)
        self.call_each(hook_name, **kwargs)
        for failure in self.failures[before:]:
            print(f"angee: plugin {failure.name}: {failure.error}", file=sys.stderr)

    def providers(self, category: str) -> dict[str, Any]:
        """Providers of one category (``source_kinds``, ``runtimes``, ...) by name; first plugin wins."""
        if self._providers is None:
            self._providers = {}
            for cat, hook_name in PROVIDER_HOOKS.items():
                found: dict[str, Any] = {}
                for plugin, items in self.call_each(hook_name):
                    for item in items or []:
                        if item.name in found:
                            continue
                        found[item.name] = item
                        self._owner[(cat, item.name)] = plugin
                        self.plugins[plugin].provides.setdefault(cat, []).append(item.name)
                self._providers[cat] = found
        return self._providers[category]

    def provider(self, category: str, name: str, what: str) -> Any:
        """One provider by name, or ``InvalidInput`` naming the known ones."""
        found = self.providers(category)
        if name not in found:
            known = ", ".join(sorted(found)) or "none"
            raise InvalidInput(what, f'no plugin provides {what} "{name}" (installed: {known})')
        return found[name]

    def cli_commands(self) -> list[tuple[str, Any]]:
        """``[(plugin name, click command)]`` contributed through ``angee_cli_commands``."""
        out: list[tuple[str, Any]] = []
        for plugin, commands in self.call_each("angee_cli_commands"):
            for cmd in commands or []:
                out.append((plugin, cmd))
                self.plugins[plugin].provides.setdefault("cli_commands", [])
                if cmd.name not in self.plugins[plugin].provides["cli_commands"]:
                    self.plugins[plugin].provides["cli_commands"].append(cmd.name)
        return out

    def describe(self) -> list[LoadedPlugin]:
        """Every loaded plugin with what it provides (forces provider discovery)."""
        for cat in PROVIDER_HOOKS:
            self.providers(cat)
        self.cli_commands()
        return sorted(self.plugins.values(), key=lambda p: (not p.builtin, p.name))


_REGISTRY: PluginRegistry | None = None


def registry() -> PluginRegistry:
    """The process-wide plugin registry, loaded on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = PluginRegistry().load()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the loaded plugins (tests that install plugins at run time)."""
    global _REGISTRY
    _REGISTRY = None
