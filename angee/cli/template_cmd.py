"""``angee template list|ls|get``: template introspection (operator-and-cli §6.3, text rows §6.4)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from angee.cli.context import emit, get_platform

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api.templates import TemplateDescriptor

ALIASES = {"ls": "list"}


class TemplateGroup(click.Group):
    """A click group that also answers to the hidden aliases in :data:`ALIASES`."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        _, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else None), cmd, rest


def _bool(value: bool) -> str:
    return "true" if value else "false"


def list_text(descriptors: list[TemplateDescriptor]) -> str:
    """``ref\\tkind\\tpath`` per template."""
    return "\n".join(f"{d.ref}\t{d.kind}\t{d.path}" for d in descriptors)


def get_text(d: TemplateDescriptor) -> str:
    """``ref``, ``kind``, ``name``, ``path`` rows, then ``input.<n>\\trequired=<b> type=<t> default="<d>"``."""
    rows = [f"ref\t{d.ref}", f"kind\t{d.kind}", f"name\t{d.name}", f"path\t{d.path}"]
    for i in d.inputs:
        default = json.dumps(i.default or "", ensure_ascii=False)
        rows.append(f"input.{i.name}\trequired={_bool(i.required)} type={i.type} default={default}")
    return "\n".join(rows)


@click.group("template", cls=TemplateGroup)
def template() -> None:
    """Inspect the stack's templates (stacks, workspaces, services, projects)."""


@template.command("list")
@click.pass_context
def template_list(ctx: click.Context) -> None:
    """List templates under .templates/ and templates/: ref, kind, path."""
    descriptors = get_platform(ctx).templates_list()
    emit(ctx, descriptors, lambda: list_text(descriptors))


@template.command("get")
@click.argument("ref")
@click.pass_context
def template_get(ctx: click.Context, ref: str) -> None:
    """Describe one template (e.g. stacks/dev) with its inputs."""
    descriptor = get_platform(ctx).template_get(ref)
    emit(ctx, descriptor, lambda: get_text(descriptor))
