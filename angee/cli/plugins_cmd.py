"""``angee plugins``: every installed plugin, its version and what it provides, broken ones included."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from angee.api import PluginInfo
from angee.cli.context import emit

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.plugins import PluginRegistry

# Every category appears in ``provides`` (``[]`` when empty), in this order.
PROVIDES_ORDER = ("source_kinds", "runtimes", "secrets_backends", "template_kinds", "cli_commands")


def plugin_infos(registry: PluginRegistry | None = None) -> list[PluginInfo]:
    """Loaded plugins (builtins first, then by name) followed by the ones that failed, with their error.

    A plugin whose module loaded but whose hook raised is listed once, with ``error`` set.
    """
    from angee import plugins as plugin_registry

    reg = registry if registry is not None else plugin_registry.registry()
    loaded = reg.describe()
    errors: dict[str, list[str]] = {}
    failed_dist: dict[str, str] = {}
    for failure in reg.failures:
        msgs = errors.setdefault(failure.name, [])
        if failure.error not in msgs:  # hooks called more than once report the same failure again
            msgs.append(failure.error)
        if failure.distribution:
            failed_dist.setdefault(failure.name, failure.distribution)

    infos: list[PluginInfo] = []
    for p in loaded:
        provides = {cat: list(p.provides.get(cat, [])) for cat in PROVIDES_ORDER}
        error = "; ".join(errors.pop(p.name, []))
        infos.append(PluginInfo(p.name, p.version, p.distribution, p.builtin, p.module, provides, error))

    entry_modules = _entry_point_modules() if errors else {}
    for name, msgs in errors.items():
        builtin = name in plugin_registry.BUILTINS
        dist = "angee" if builtin else failed_dist.get(name, "")
        module = plugin_registry.BUILTINS.get(name) or entry_modules.get(name, "")
        infos.append(
            PluginInfo(
                name=name,
                version=_dist_version(dist),
                distribution=dist,
                builtin=builtin,
                module=module,
                provides={cat: [] for cat in PROVIDES_ORDER},
                error="; ".join(msgs),
            )
        )
    return infos


def _entry_point_modules() -> dict[str, str]:
    from importlib.metadata import entry_points

    from angee.hookspecs import PROJECT

    return {ep.name: ep.value for ep in entry_points(group=PROJECT)}


def _dist_version(dist: str) -> str:
    if not dist:
        return ""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return ""


def provides_summary(info: PluginInfo) -> str:
    """``source_kinds=git runtimes=compose`` (non-empty categories only), ``-`` when nothing."""
    parts = [f"{cat}={','.join(names)}" for cat, names in info.provides.items() if names]
    return " ".join(parts) or "-"


def render_plugins(infos: list[PluginInfo]) -> str:
    """Text form: ``name<TAB>version<TAB>provides`` per plugin, ``name<TAB>-<TAB>error: …`` when broken."""
    lines = []
    for info in infos:
        if info.error and not any(info.provides.values()):
            lines.append(f"{info.name}\t-\terror: {info.error}")
            continue
        line = f"{info.name}\t{info.version or '-'}\t{provides_summary(info)}"
        if info.error:
            line += f" (error: {info.error})"
        lines.append(line)
    return "\n".join(lines)


@click.command("plugins")
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List installed plugins: version, distribution and what each provides (broken ones with their error)."""
    infos = plugin_infos()
    emit(ctx, infos, render_plugins(infos))
