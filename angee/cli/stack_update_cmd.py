"""``angee stack update [--template [--dry-run] [--overwrite] [--input K=V…]]`` (operator-and-cli §6.3/§6.4,
templates-workspaces-git §7.2/§7.3).

Plain ``stack update`` regenerates the runtime files. ``--template`` first re-renders ``angee.yaml`` from the
stack's template (local only) and prints what changed: the diff (dry run), one line per change
(``  + path`` add, ``  ~`` modify, ``  -`` delete, ``  =`` adopt, ``  ! path (reason)`` conflict), then
``dry run: nothing written`` / ``stack updated from template``. Conflicts on a real run are listed, then
the command fails (exit 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from angee.cli.context import cli_state, emit, get_platform, is_json, parse_kv

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api.template_updates import StackTemplateUpdateResult
    from angee.api.templates import TemplateChange

CHANGE_MARKS = {"add": "+", "modify": "~", "delete": "-", "adopt": "="}
UP_TO_DATE = "stack template up to date; angee.yaml unchanged"


def change_lines(changes: Iterable[TemplateChange], conflicts: Iterable[object] = ()) -> list[str]:
    """``  <mark> path`` per change and ``  ! path (reason)`` per conflict (objects or wire dicts)."""
    lines = [f"  {CHANGE_MARKS.get(c.kind, '?')} {c.path}" for c in changes]
    for conflict in conflicts:
        if isinstance(conflict, dict):
            path, reason = conflict.get("path", ""), conflict.get("reason", "")
        else:
            path, reason = getattr(conflict, "path", ""), getattr(conflict, "reason", "")
        lines.append(f"  ! {path} ({reason})")
    return lines


def update_text(result: StackTemplateUpdateResult, dry_run: bool) -> str:
    """The §7.3 text of a ``--template`` run."""
    if not result.changes and not result.conflicts:
        return UP_TO_DATE
    out = []
    if dry_run and result.manifest_diff:
        out.append(result.manifest_diff.rstrip("\n"))
    out += change_lines(result.changes, result.conflicts)
    out.append("dry run: nothing written" if dry_run else "stack updated from template")
    return "\n".join(out)


@click.command("update")
@click.option(
    "--template", "from_template", is_flag=True, help="Re-render angee.yaml from its stack template first."
)
@click.option("--dry-run", is_flag=True, help="With --template: print the diff and changes, write nothing.")
@click.option(
    "--overwrite", is_flag=True, help="With --template: resolve conflicts to the template's values."
)
@click.option(
    "--input", "inputs", multiple=True, metavar="K=V", help="With --template: template input (repeat)."
)
@click.pass_context
def update(
    ctx: click.Context, from_template: bool, dry_run: bool, overwrite: bool, inputs: tuple[str, ...]
) -> None:
    """Regenerate the runtime files (--template: re-render angee.yaml from its stack template first)."""
    if not from_template:
        if dry_run or overwrite or inputs:
            flag = "--dry-run" if dry_run else "--overwrite" if overwrite else "--input"
            raise click.UsageError(f"{flag} only applies with --template", ctx)
        emit(ctx, get_platform(ctx).stack_update(), "stack updated")
        return
    if cli_state(ctx).remote:
        from angee.errors import RuntimeFailure

        raise RuntimeFailure(
            "--template re-renders the local stack template and is not supported with --operator"
        )
    values = parse_kv(inputs)
    from angee.errors import Conflict

    try:
        result = get_platform(ctx).stack_update_from_template(
            dry_run=dry_run, overwrite=overwrite, inputs=values
        )
    except Conflict as err:
        if err.kind == "stack-template" and err.conflicts and not is_json(ctx):
            click.echo("\n".join(change_lines([], err.conflicts)))
        raise
    emit(ctx, result, lambda: update_text(result, dry_run))


__all__ = ["change_lines", "update", "update_text"]
