"""``angee workspace lease|release|acquire|pool|reap``: the ephemeral workspace tier on the CLI
(templates-workspaces-git §11.6). Thin adapters over the Platform's lease and pool methods; they work the
same against a local root and, with ``--operator``, against a remote operator."""

from __future__ import annotations

from typing import Any

import click

from angee.cli.context import emit, get_platform


def _lease_text(lease: Any) -> str:
    until = f" until {lease.expires_at}" if getattr(lease, "expires_at", "") else ""
    name = getattr(lease, "workspace", "")
    return f"workspace {name} leased to {lease.owner}{until}" if name else f"leased to {lease.owner}{until}"


def pools_text(pools: list[Any]) -> str:
    """One row per pool (name, template, size and counts per state), then its members indented."""
    rows: list[str] = []
    for p in pools:
        rows.append(
            f"{p.name}\t{p.template}\tsize={p.size}\tready={p.ready}\tleased={p.leased}"
            f"\tprovisioning={p.provisioning}\trecycling={p.recycling}\tfailed={p.failed}"
        )
        for m in p.members:
            held = f"\t{m.owner}\t{m.expires_at}" if m.owner else ""
            rows.append(f"  {m.name}\t{m.state}{held}")
    return "\n".join(rows)


DRY_RUN_ACTIONS = {
    "destroyed": "would destroy",
    "recycled": "would recycle",
    "kept": "would keep",
    "skipped": "would skip",
}


def reap_text(rows: list[Any], dry_run: bool) -> str:
    """One row per expired workspace: name, action (``would <verb>`` in a dry run), reason."""
    if not rows:
        return "no expired workspaces"
    actions = DRY_RUN_ACTIONS if dry_run else {}
    return "\n".join(f"{r.name}\t{actions.get(r.action, r.action)}\t{r.reason}".rstrip("\t") for r in rows)


@click.command("lease")
@click.argument("name")
@click.option("--owner", required=True, help="Who holds the lease (an opaque actor string).")
@click.option("--ttl", default="", help="Lease duration (default 1h, at most 24h); renews when already held.")
@click.pass_context
def lease(ctx: click.Context, name: str, owner: str, ttl: str) -> None:
    """Acquire or renew a workspace's lease (another live holder → conflict)."""
    result = get_platform(ctx).workspace_lease(name, owner, ttl=ttl)
    emit(ctx, result, lambda: _lease_text(result))


@click.command("release")
@click.argument("name")
@click.option("--owner", required=True, help="The lease holder releasing it.")
@click.option("--discard", is_flag=True, help="Recycle a pool member even if it holds unpushed work.")
@click.pass_context
def release(ctx: click.Context, name: str, owner: str, discard: bool) -> None:
    """Release a lease; a pool member goes back to its pool (recycled)."""
    result = get_platform(ctx).workspace_release(name, owner, discard=discard)
    emit(ctx, result, f"workspace {name} {result.status}")


@click.command("acquire")
@click.argument("pool")
@click.option("--owner", required=True, help="Who takes the workspace (an opaque actor string).")
@click.option("--ttl", default="", help="Lease duration (default: the pool's ttl, else 1h; at most 24h).")
@click.pass_context
def acquire(ctx: click.Context, pool: str, owner: str, ttl: str) -> None:
    """Take a ready workspace from a pool (a cold create when none is ready)."""
    result = get_platform(ctx).workspace_pool_acquire(pool, owner, ttl=ttl)
    ref = getattr(result, "workspace", result)  # the remote client returns the WorkspaceRef itself
    warm = getattr(result, "warm", None)
    how = "" if warm is None else (" (warm)" if warm else " (cold create)")
    emit(ctx, ref, f"workspace {ref.name} acquired from pool {pool}{how} at {ref.path}")


@click.command("pool")
@click.pass_context
def pool(ctx: click.Context) -> None:
    """List workspace pools with their members and states."""
    pools = get_platform(ctx).workspace_pools()
    emit(ctx, pools, lambda: pools_text(pools))


@click.command("reap")
@click.option("--dry-run", is_flag=True, help="Only report what a sweep would do.")
@click.pass_context
def reap(ctx: click.Context, dry_run: bool) -> None:
    """Sweep expired workspaces now: destroy or recycle the safe ones, keep (and report) the rest."""
    rows = get_platform(ctx).workspace_reap(dry_run=dry_run)
    emit(ctx, rows, lambda: reap_text(rows, dry_run))


POOL_COMMANDS = (lease, release, acquire, pool, reap)
