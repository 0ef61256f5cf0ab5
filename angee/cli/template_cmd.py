"""``angee template list|ls|get``: template introspection (operator-and-cli §6.3, text rows §6.4)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from angee.cli.context import AliasGroup, bool_text, emit, get_platform

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api.templates import TemplateDescriptor


def list_text(descriptors: list[TemplateDescriptor]) -> str:
    """``ref\\tkind\\tpath`` per template."""
    return "\n".join(f"{d.ref}\t{d.kind}\t{d.path}" for d in descriptors)


def get_text(d: TemplateDescriptor) -> str:
    """``ref``, ``kind``, ``name``, ``path`` rows, then ``input.<n>\\trequired=<b> type=<t> default="<d>"``."""
    rows = [f"ref\t{d.ref}", f"kind\t{d.kind}", f"name\t{d.name}", f"path\t{d.path}"]
    for i in d.inputs:
        default = json.dumps(i.default or "", ensure_ascii=False)
        rows.append(f"input.{i.name}\trequired={bool_text(i.required)} type={i.type} default={default}")
    return "\n".join(rows)


@click.group("template", cls=AliasGroup)
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
