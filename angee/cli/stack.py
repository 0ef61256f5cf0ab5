"""``angee status`` / ``angee stack …``: stack-level commands (operator-and-cli §6.3, text §6.4).

Thin adapters: each calls one Platform method and renders its result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from angee.cli.context import emit, get_platform

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api import StackStatus


def status_text(result: StackStatus) -> str:
    """``<name>\\nroot: <root>\\nservices: N\\njobs: N\\nworkspaces: N`` (spec §6.4)."""
    return (
        f"{result.name}\nroot: {result.root}\nservices: {len(result.services)}\n"
        f"jobs: {len(result.jobs)}\nworkspaces: {len(result.workspaces)}"
    )


@click.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the stack: name, root and counts of services, jobs and workspaces."""
    result = get_platform(ctx).stack_status()
    emit(ctx, result, lambda: status_text(result))
