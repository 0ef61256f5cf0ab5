"""``angee workspace`` (alias ``ws``): create, preflight, update, list, get, status, logs and destroy
workspaces (operator-and-cli §6.3, text rows §6.4). Thin adapters over the Platform's workspace methods."""

from __future__ import annotations

from typing import Any

import click

from angee.cli.context import AliasGroup, bool_text, emit, enclosing_workspace, get_platform, parse_kv


def _ref_row(ref: Any) -> str:
    return f"{ref.name}\t{ref.template}\t{ref.path}"


def _slot_detail(slot: Any) -> str:
    detail = slot.state or ("dirty" if slot.dirty else "clean")
    if slot.unpushed_reason:
        detail += f" {slot.unpushed_reason}"
    elif slot.error:
        detail += f" {slot.error}"
    if slot.upstream:
        detail += f" upstream={slot.upstream}"
    if slot.ahead or slot.behind:
        detail += f" ahead={slot.ahead} behind={slot.behind}"
    return detail


def status_text(status: Any) -> str:
    """The ``workspace status`` rows of §6.4."""
    rows = [f"workspace\t{status.name}\t{status.state}"]
    if status.error:
        rows.append(f"error\t{status.error}")
    for key in (
        "path",
        "template",
        "chain_root",
        "ttl",
        "ttl_expires_at",
        "process_compose_port",
        "playwright_mcp_name",
        "playwright_mcp_url",
    ):
        value = getattr(status, key)
        if value:
            rows.append(f"{key}\t{value}")
    if status.sources:
        rows.append("sources")
        for s in status.sources:
            ref = s.current_ref or s.ref
            rows.append(f"  {s.slot}\t{s.source}\t{s.kind}\t{s.mode}\t{ref}\t{_slot_detail(s)}\t{s.path}")
    if status.mounted_by:
        rows.append("mounted_by")
        rows.extend(f"  {m.kind}\t{m.name}\t{m.field}\t{m.value}" for m in status.mounted_by)
    if status.inner_stack is not None:
        inner = status.inner_stack
        rows.append(
            f"inner_stack\t{inner.name}\tservices={len(inner.services)}\tjobs={len(inner.jobs)}"
            f"\tworkspaces={len(inner.workspaces)}"
        )
    if status.inner_error:
        rows.append(f"inner_error\t{status.inner_error}")
    return "\n".join(rows)


def preflight_text(result: Any) -> str:
    """The ``workspace preflight`` rows of §6.4."""
    rows = [
        f"ok\t{bool_text(result.ok)}",
        f"template\t{result.template}",
        f"resolved_template\t{result.resolved_template}",
    ]
    rows.extend(f"missing\t{name}" for name in sorted(result.missing_required))
    rows.extend(f"invalid\t{f.field}\t{f.reason}" for f in result.invalid_inputs)
    return "\n".join(rows)


def _input_option(func: Any) -> Any:
    return click.option("--input", "inputs", multiple=True, metavar="K=V", help="Template input (repeat).")(
        func
    )


@click.group("workspace", cls=AliasGroup)
def workspace() -> None:
    """Manage workspaces (rendered trees with source slots; they never start services)."""


@workspace.command("create")
@click.argument("name", required=False, default="")
@click.option("--template", "-t", required=True, help="Workspace template ref.")
@_input_option
@click.option("--ttl", default="", help="Time to live, e.g. 4h or 90m.")
@click.option("--sync", is_flag=True, help="Recover slot worktrees left registered by an earlier workspace.")
@click.pass_context
def create(
    ctx: click.Context, name: str, template: str, inputs: tuple[str, ...], ttl: str, sync: bool
) -> None:
    """Create a workspace from a template (name from the template's naming rule when omitted)."""
    ref = get_platform(ctx).workspace_create(
        template, name=name or None, inputs=parse_kv(inputs), ttl=ttl or None, sync=sync
    )
    emit(ctx, ref, f"workspace {ref.name} created at {ref.path}")


@workspace.command("preflight")
@click.option("--template", "-t", required=True, help="Workspace template ref.")
@click.option("--name", default="", help="Workspace name to check.")
@_input_option
@click.option("--ttl", default="", help="Time to live to check.")
@click.pass_context
def preflight(ctx: click.Context, template: str, name: str, inputs: tuple[str, ...], ttl: str) -> None:
    """Check a create request without touching anything."""
    result = get_platform(ctx).workspace_create_preflight(
        template, name=name or None, inputs=parse_kv(inputs), ttl=ttl or None
    )
    emit(ctx, result, lambda: preflight_text(result))


@workspace.command("update")
@click.argument("name")
@_input_option
@click.option("--ttl", default="", help="New time to live (resets the expiry).")
@click.option("--overwrite", is_flag=True, help="Replace local edits that conflict with the template.")
@click.pass_context
def update(ctx: click.Context, name: str, inputs: tuple[str, ...], ttl: str, overwrite: bool) -> None:
    """Re-render a workspace from its template with changed inputs or TTL."""
    ref = get_platform(ctx).workspace_update(
        name, inputs=parse_kv(inputs), ttl=ttl or None, overwrite=overwrite
    )
    emit(ctx, ref, f"workspace {ref.name} updated")


@workspace.command("list")
@click.pass_context
def list_workspaces(ctx: click.Context) -> None:
    """List workspaces: name, template, path."""
    refs = get_platform(ctx).workspaces_list()
    emit(ctx, refs, lambda: "\n".join(_ref_row(r) for r in refs))


@workspace.command("get")
@click.argument("name")
@click.pass_context
def get(ctx: click.Context, name: str) -> None:
    """Show one workspace: name, template, path."""
    ref = get_platform(ctx).workspace_get(name)
    emit(ctx, ref, lambda: _ref_row(ref))


@workspace.command("status")
@click.argument("name", required=False, default="")
@click.pass_context
def status(ctx: click.Context, name: str) -> None:
    """Detailed state (the enclosing workspace when run inside ANGEE_ROOT/workspaces/<name>)."""
    platform, ws_name = enclosing_workspace(ctx, "status", name or None)
    result = platform.workspace_status(ws_name)
    emit(ctx, result, lambda: status_text(result))


@workspace.command("logs")
@click.argument("name", required=False, default="")
@click.option("--follow", "-f", is_flag=True, help="Keep streaming.")
@click.pass_context
def logs(ctx: click.Context, name: str, follow: bool) -> None:
    """Logs of the workspace's inner stack (nothing when it has none)."""
    platform, ws_name = enclosing_workspace(ctx, "logs", name or None)
    lines = platform.workspace_logs(ws_name, follow=follow)
    try:
        for line in lines:
            click.echo(line, nl=not line.endswith("\n"))
    finally:
        close = getattr(lines, "close", None)
        if callable(close):
            close()


@workspace.command("destroy")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also delete the directory and deregister its worktrees.")
@click.option("--force", is_flag=True, help="Skip the unpushed-work and lease checks.")
@click.pass_context
def destroy(ctx: click.Context, name: str, purge: bool, force: bool) -> None:
    """Remove a workspace record and its port leases."""
    result = get_platform(ctx).workspace_destroy(name, purge=purge, force=force)
    emit(ctx, result, f"workspace {name} destroyed")


from angee.cli.workspace_pool_cmd import POOL_COMMANDS  # noqa: E402 - the ephemeral tier (§11.6)

for _command in POOL_COMMANDS:
    workspace.add_command(_command)


# Git commands (git, push, sync-base, source <op>) live in their own module.
from angee.cli.workspace_git_cmd import COMMANDS as _GIT_COMMANDS  # noqa: E402

for _command in _GIT_COMMANDS:
    workspace.add_command(_command)
