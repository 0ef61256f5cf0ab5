"""``angee workspace git|push|sync-base`` and ``angee workspace source <op> <ws> <slot>`` (operator-and-cli
§6.3, text rows §6.4). Thin adapters over the Platform's workspace git methods; attached to the
``workspace`` group by :mod:`angee.cli.workspace_cmd`."""

from __future__ import annotations

from typing import Any

import click

from angee.cli.context import bool_text, emit, enclosing_workspace, get_platform


def _ref(state: Any) -> str:
    return state.current_ref or state.ref


def git_row(state: Any) -> str:
    """``slot\\tref\\tstate[ <unpushed_reason>]\\tpath`` (an empty state reads clean/dirty)."""
    detail = state.state or ("dirty" if state.dirty else "clean")
    if state.unpushed_reason:
        detail += f" {state.unpushed_reason}"
    return f"{state.slot}\t{_ref(state)}\t{detail}\t{state.path}"


def push_row(state: Any) -> str:
    """``slot\\tref\\tpath``."""
    return f"{state.slot}\t{_ref(state)}\t{state.path}"


def sync_row(state: Any) -> str:
    """``slot\\tref\\tstate\\tpath``."""
    return (
        f"{state.slot}\t{_ref(state)}\t{state.state or ('dirty' if state.dirty else 'clean')}\t{state.path}"
    )


def slot_row(workspace: str, status: Any) -> str:
    """The ``workspace source fetch/pull`` row."""
    return (
        f"workspace={workspace} slot={status.slot} state={status.state} branch={status.branch} "
        f"ahead={status.ahead} behind={status.behind} dirty={bool_text(status.dirty)}"
    )


def slot_push_row(workspace: str, status: Any) -> str:
    """The ``workspace source push`` row."""
    return f"workspace={workspace} slot={status.slot} pushed={bool_text(status.pushed)} state={status.state}"


def op_result_text(result: Any) -> str:
    """``ok=<bool> conflicted=<bool>``, one ``conflict\\t<path>`` row per file, then git's message."""
    rows = [f"ok={bool_text(result.ok)} conflicted={bool_text(result.conflicted)}"]
    rows.extend(f"conflict\t{path}" for path in result.conflict_files)
    if result.message:
        rows.append(result.message)
    return "\n".join(rows)


@click.command("git")
@click.argument("name")
@click.pass_context
def git_cmd(ctx: click.Context, name: str) -> None:
    """Git state of every slot of a workspace."""
    states = get_platform(ctx).workspace_git(name)
    emit(ctx, states, lambda: "\n".join(git_row(s) for s in states))


@click.command("push")
@click.argument("name")
@click.option("--ref", default="", help="Push this ref to each slot's push remote.")
@click.pass_context
def push_cmd(ctx: click.Context, name: str, ref: str) -> None:
    """Push every git slot (refused while one is dirty or off its workspace branch)."""
    states = get_platform(ctx).workspace_push(name, ref=ref)
    emit(ctx, states, lambda: "\n".join(push_row(s) for s in states))


@click.command("sync-base")
@click.argument("name", required=False, default="")
@click.option("--merge", "use_merge", is_flag=True, help="Merge the base into each slot (default).")
@click.option("--rebase", "use_rebase", is_flag=True, help="Rebase each slot onto its base.")
@click.pass_context
def sync_base_cmd(ctx: click.Context, name: str, use_merge: bool, use_rebase: bool) -> None:
    """Bring each worktree slot's base ref into its branch, without switching branch."""
    if use_merge and use_rebase:
        raise click.UsageError("choose only one of --merge or --rebase", ctx=ctx)
    platform, ws_name = enclosing_workspace(ctx, "sync-base", name or None)
    states = platform.workspace_sync_base(ws_name, method="rebase" if use_rebase else "merge")
    emit(ctx, states, lambda: "\n".join(sync_row(s) for s in states))


@click.group("source")
def source_group() -> None:
    """Git operations on one slot of a workspace."""


def _slot_args(func: Any) -> Any:
    func = click.argument("slot")(func)
    return click.argument("workspace")(func)


@source_group.command("fetch")
@_slot_args
@click.pass_context
def source_fetch(ctx: click.Context, workspace: str, slot: str) -> None:
    """Fetch all remotes of the slot."""
    status = get_platform(ctx).workspace_source_fetch(workspace, slot)
    emit(ctx, status, lambda: slot_row(workspace, status))


@source_group.command("pull")
@_slot_args
@click.pass_context
def source_pull(ctx: click.Context, workspace: str, slot: str) -> None:
    """Fast-forward the slot from its tracking branch."""
    status = get_platform(ctx).workspace_source_pull(workspace, slot)
    emit(ctx, status, lambda: slot_row(workspace, status))


@source_group.command("push")
@_slot_args
@click.option("--ref", default="", help="Push this ref to the push remote.")
@click.pass_context
def source_push(ctx: click.Context, workspace: str, slot: str, ref: str) -> None:
    """Push the slot (refused while dirty or off its workspace branch)."""
    status = get_platform(ctx).workspace_source_push(workspace, slot, ref=ref)
    emit(ctx, status, lambda: slot_push_row(workspace, status))


@source_group.command("diff")
@_slot_args
@click.option("--ref", default="", help="Diff HEAD against this ref (default: working tree against HEAD).")
@click.pass_context
def source_diff(ctx: click.Context, workspace: str, slot: str, ref: str) -> None:
    """Show the slot's changes (untracked files never appear)."""
    from angee.cli.source_cmd import diff_text

    files = get_platform(ctx).workspace_source_diff(workspace, slot, ref=ref)
    emit(ctx, files, lambda: diff_text(files))


def _ref_op(verb: str, method: str, help_text: str) -> click.Command:
    @click.command(verb, help=help_text)
    @_slot_args
    @click.argument("ref")
    @click.pass_context
    def command(ctx: click.Context, workspace: str, slot: str, ref: str) -> None:
        result = getattr(get_platform(ctx), method)(workspace, slot, ref)
        emit(ctx, result, lambda: op_result_text(result))

    return command


def _plain_op(verb: str, method: str, help_text: str) -> click.Command:
    @click.command(verb, help=help_text)
    @_slot_args
    @click.pass_context
    def command(ctx: click.Context, workspace: str, slot: str) -> None:
        result = getattr(get_platform(ctx), method)(workspace, slot)
        emit(ctx, result, lambda: op_result_text(result))

    return command


for _command in (
    _ref_op(
        "merge", "workspace_source_merge", "Merge REF into the slot (a conflict is reported, not an error)."
    ),
    _ref_op("rebase", "workspace_source_rebase", "Rebase the slot onto REF (a conflict is reported)."),
    _plain_op("merge-abort", "workspace_source_merge_abort", "Abort the slot's merge in progress."),
    _plain_op("rebase-abort", "workspace_source_rebase_abort", "Abort the slot's rebase in progress."),
    _plain_op(
        "rebase-continue",
        "workspace_source_rebase_continue",
        "Continue the slot's rebase (never opens an editor).",
    ),
):
    source_group.add_command(_command)


@source_group.command("publish")
@_slot_args
@click.option("--remote", default="origin", show_default=True, help="Remote to publish to.")
@click.option("--branch", default="", help="Branch to publish (default: the slot's workspace branch).")
@click.pass_context
def source_publish(ctx: click.Context, workspace: str, slot: str, remote: str, branch: str) -> None:
    """Push the slot's branch and set it as upstream."""
    result = get_platform(ctx).workspace_source_publish(workspace, slot, remote=remote, branch=branch)
    emit(ctx, result, lambda: op_result_text(result))


COMMANDS = (git_cmd, push_cmd, sync_base_cmd, source_group)
