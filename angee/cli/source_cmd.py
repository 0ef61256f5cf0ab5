"""``angee source``: list, inspect, fetch, pull, push and diff sources (operator-and-cli §6.3, rows §6.4).

Thin adapters over the Platform's source methods. Clone progress (first fetch/pull) goes to stderr (the
Platform's default progress sink), so ``--json`` stdout stays clean.
"""

from __future__ import annotations

from typing import Any

import click

from angee.cli.context import AliasGroup, emit, get_platform


def state_row(state: Any) -> str:
    """``name\\tkind\\t(ready|missing)\\tpath``."""
    return f"{state.name}\t{state.kind}\t{'ready' if state.exists else 'missing'}\t{state.path}"


def diff_text(files: list[Any]) -> str:
    """Per file ``--- <old>`` / ``+++ <new or old>``; per hunk ``@@ -a,b +c,d @@ <header>`` then its body."""
    out: list[str] = []
    for f in files:
        out.append(f"--- {f.old_path}\n+++ {f.new_path or f.old_path}\n")
        for h in f.hunks:
            header = f" {h.header}" if h.header else ""
            out.append(f"@@ -{h.old_start},{h.old_lines} +{h.new_start},{h.new_lines} @@{header}\n")
            out.append(h.body)
    return "".join(out)


@click.group("source", cls=AliasGroup)
def source() -> None:
    """Inspect and update the stack's sources (git clones and local directories)."""


@source.command("list")
@click.pass_context
def source_list(ctx: click.Context) -> None:
    """List declared sources: name, kind, ready/missing, path."""
    states = get_platform(ctx).sources_list()
    emit(ctx, states, lambda: "\n".join(state_row(s) for s in states))


@source.command("status")
@click.argument("name")
@click.pass_context
def source_status(ctx: click.Context, name: str) -> None:
    """Show one source's state."""
    state = get_platform(ctx).source_status(name)
    emit(ctx, state, lambda: state_row(state))


@source.command("fetch")
@click.argument("name")
@click.pass_context
def source_fetch(ctx: click.Context, name: str) -> None:
    """Clone the source on first use, else fetch all its remotes."""
    state = get_platform(ctx).source_fetch(name)
    emit(ctx, state, lambda: state_row(state))


@source.command("pull")
@click.argument("name")
@click.pass_context
def source_pull(ctx: click.Context, name: str) -> None:
    """Fetch, then fast-forward the source's branch (git sources only)."""
    state = get_platform(ctx).source_pull(name)
    emit(ctx, state, lambda: state_row(state))


@source.command("push")
@click.argument("name")
@click.option("--ref", default="", help="Push this ref to the push remote instead of the current branch.")
@click.pass_context
def source_push(ctx: click.Context, name: str, ref: str) -> None:
    """Push the source's clone (refused while it has uncommitted changes)."""
    state = get_platform(ctx).source_push(name, ref=ref)
    emit(ctx, state, lambda: f"{state.name}\t{state.kind}\tready\t{state.path}")


@source.command("diff")
@click.argument("name")
@click.option("--ref", default="", help="Diff HEAD against this ref (default: working tree against HEAD).")
@click.pass_context
def source_diff(ctx: click.Context, name: str, ref: str) -> None:
    """Show the source's changes (git sources only; untracked files never appear)."""
    files = get_platform(ctx).source_diff(name, ref=ref)
    emit(ctx, files, lambda: diff_text(files))
