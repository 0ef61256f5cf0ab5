"""``angee gitops topology [--with-commits N]`` (operator-and-cli §6.3, text row §6.4): a thin adapter over
``Platform.gitops_topology``."""

from __future__ import annotations

from typing import Any

import click

from angee.cli.context import emit, get_platform


def topology_text(topology: Any) -> str:
    """``stack=<n> sources=N workspaces=N clean=N dirty=N ahead=N behind=N diverged=N``."""
    s = topology.summary
    return (
        f"stack={topology.name} sources={s.sources} workspaces={s.workspaces} clean={s.clean} "
        f"dirty={s.dirty} ahead={s.ahead} behind={s.behind} diverged={s.diverged}"
    )


@click.group("gitops")
def gitops() -> None:
    """The stack's git picture: sources, workspace slots and how they relate."""


@gitops.command("topology")
@click.option(
    "--with-commits",
    "with_commits",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Recent commits to include per source (max 1000).",
)
@click.pass_context
def topology(ctx: click.Context, with_commits: int) -> None:
    """Sources, workspaces, their links (``<workspace>:<slot>``) and summary counters."""
    result = get_platform(ctx).gitops_topology(with_commits=with_commits)
    emit(ctx, result, lambda: topology_text(result))
