"""``angee service create --template …`` and ``angee service update <name> --template …`` (operator-and-cli
§6.3/§6.4, templates-workspaces-git §8).

``create`` and ``update`` are ready to attach to the ``service`` group (``update`` keeps the field flags of
the plain update and adds ``--template [--input K=V…] [--dry-run] [--overwrite]``, exclusive with the field
flags). :func:`run_template_update` is the ``--template`` half on its own for a group that keeps its own
``update`` command. Text: ``service <n> created (runtime=<r> status=<s>)``; a template update prints one
line per change/conflict (as ``stack update --template``), then ``dry run: nothing written`` or
``service <n> updated``; conflicts on a real run are listed, then the command fails (exit 1).
"""

from __future__ import annotations

from typing import Any

import click

from angee.cli.context import emit, get_platform, is_json, parse_kv
from angee.cli.stack_update_cmd import change_lines

#: Field-flag parameter → the flag as typed (``service update`` field flags, see ``service_cmd``).
FIELD_FLAGS = {
    "runtime": "--runtime",
    "image": "--image",
    "command": "--command",
    "env": "--env",
    "mounts": "--mount",
    "ports": "--port",
    "workdir": "--workdir",
}


@click.command("create")
@click.option("--template", required=True, help="Service template ref.")
@click.option("--workspace", required=True, help="Workspace the service belongs to.")
@click.option("--input", "inputs", multiple=True, metavar="K=V", help="Template input (repeat).")
@click.option("--name", default="", help="Service name (default: from the template's name pattern).")
@click.option("--start", is_flag=True, help="Start it once created.")
@click.pass_context
def create(
    ctx: click.Context, template: str, workspace: str, inputs: tuple[str, ...], name: str, start: bool
) -> None:
    """Create a service from a service template inside a workspace."""
    result = get_platform(ctx).service_create(
        template=template, workspace=workspace, inputs=parse_kv(inputs), name=name or None, start=start
    )
    emit(ctx, result, f"service {result.name} created (runtime={result.runtime} status={result.status})")


def template_update_text(result: Any, dry_run: bool) -> str:
    """Change and conflict lines, then ``dry run: nothing written`` / ``service <n> updated``."""
    lines = change_lines(result.changes, result.conflicts)
    lines.append("dry run: nothing written" if dry_run else f"service {result.name} updated")
    return "\n".join(lines)


def run_template_update(
    ctx: click.Context, name: str, inputs: tuple[str, ...] | dict[str, str], dry_run: bool, overwrite: bool
) -> None:
    """``service update <name> --template``: call ``service_update_from_template`` and print its result."""
    from angee.errors import Conflict

    values = inputs if isinstance(inputs, dict) else parse_kv(inputs)
    try:
        result = get_platform(ctx).service_update_from_template(
            name, inputs=values, dry_run=dry_run, overwrite=overwrite
        )
    except Conflict as err:
        if err.kind == "service-template" and err.conflicts and not is_json(ctx):
            click.echo("\n".join(change_lines([], err.conflicts)))
        raise
    emit(ctx, result, lambda: template_update_text(result, dry_run))


def template_update_options(func: Any) -> Any:
    """``--template``, ``--input K=V`` (repeat), ``--dry-run``, ``--overwrite`` for ``service update``."""
    options = [
        click.option(
            "--template", "from_template", is_flag=True, help="Re-render it from its service template."
        ),
        click.option(
            "--input", "inputs", multiple=True, metavar="K=V", help="With --template: input (repeat)."
        ),
        click.option("--dry-run", is_flag=True, help="With --template: report the changes, write nothing."),
        click.option("--overwrite", is_flag=True, help="With --template: resolve conflicts to the template."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def check_template_flags(ctx: click.Context, values: dict[str, Any]) -> bool:
    """Whether this is a ``--template`` update; template flags without it, or field flags with it, are
    usage errors."""
    from_template = bool(values.get("from_template"))
    given_fields = [f for f in FIELD_FLAGS if values.get(f)]
    if from_template and given_fields:
        raise click.UsageError(f"--template cannot be combined with {FIELD_FLAGS[given_fields[0]]}", ctx)
    if not from_template:
        for key, flag in (("inputs", "--input"), ("dry_run", "--dry-run"), ("overwrite", "--overwrite")):
            if values.get(key):
                raise click.UsageError(f"{flag} only applies with --template", ctx)
    return from_template


def _field_options(func: Any) -> Any:
    from angee.cli.service_cmd import field_options

    return field_options(func)


@click.command("update")
@click.argument("name")
@_field_options
@template_update_options
@click.pass_context
def update(ctx: click.Context, name: str, **values: Any) -> None:
    """Change a service: only the flags given change (--template: re-render it from its service template)."""
    if check_template_flags(ctx, values):
        run_template_update(
            ctx, name, values.get("inputs") or (), bool(values.get("dry_run")), bool(values.get("overwrite"))
        )
        return
    from angee.cli.service_cmd import init_request

    result = get_platform(ctx).service_update(name, init_request(name, values, partial=True))
    emit(ctx, result, f"service {result.name} updated")


__all__ = [
    "check_template_flags",
    "create",
    "run_template_update",
    "template_update_options",
    "template_update_text",
    "update",
]
