"""Workspace routes: CRUD, status, logs, git, push, sync-base, pool/lease, and per-slot git operations."""

from __future__ import annotations

from flask import Response

from angee.operator.rest import arg, call, flag, read_body, reply, route
from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import schemas as s
from angee.operator.rest.stack import stream

bp = make_blueprint("workspaces", "Workspaces and their source slots")


@route(bp, "workspaceList", response=s.WorkspaceRef(), many=True)
def workspace_list() -> Response:
    """Every workspace, by name."""
    return reply(call("workspaceList"))


@route(bp, "workspaceCreate", body=s.WorkspaceCreateBody(), response=s.WorkspaceRef())
def workspace_create() -> Response:
    """Render a workspace from its template (never starts services)."""
    body = read_body(s.WorkspaceCreateBody())
    template = body.pop("template")
    return reply(call("workspaceCreate", template, **body), 201)


@route(bp, "workspacePreflight", body=s.WorkspaceCreateBody())
def workspace_preflight() -> Response:
    """Side-effect-free check of a workspace create request (200 also when ``ok`` is false)."""
    body = read_body(s.WorkspaceCreateBody())
    template = body.pop("template")
    body.pop("sync", None)
    return reply(call("workspacePreflight", template, **body))


@route(bp, "workspaceGet", response=s.WorkspaceRef())
def workspace_get(name: str) -> Response:
    """One workspace."""
    return reply(call("workspaceGet", name))


@route(bp, "workspaceUpdate", body=s.WorkspaceUpdateBody(), response=s.WorkspaceRef())
def workspace_update(name: str) -> Response:
    """Change inputs/TTL and re-render the workspace templates."""
    body = read_body(s.WorkspaceUpdateBody())
    return reply(call("workspaceUpdate", name, **body))


@route(bp, "workspaceStatus")
def workspace_status(name: str) -> Response:
    """Detailed state: slots, chain, ports, TTL, inner stack."""
    return reply(call("workspaceStatus", name))


@route(bp, "workspaceLogs", query=s.FollowQuery())
def workspace_logs(name: str) -> Response:
    """Logs of the workspace's inner stack (empty without one); ``?follow=true`` streams."""
    return stream(call("workspaceLogs", name, follow=flag("follow")))


@route(bp, "workspaceDestroy", query=s.WorkspaceDestroyQuery(), response=s.MutationResult())
def workspace_destroy(name: str) -> Response:
    """Remove a workspace and release its port leases."""
    return reply(call("workspaceDestroy", name, purge=flag("purge"), force=flag("force")))


@route(bp, "workspaceGit")
def workspace_git(name: str) -> Response:
    """One SourceState per slot."""
    return reply(call("workspaceGit", name))


@route(bp, "workspacePush", body=s.RefBody())
def workspace_push(name: str) -> Response:
    """Push every git slot (409 when one is dirty or off its branch)."""
    body = read_body(s.RefBody())
    return reply(call("workspacePush", name, ref=body.get("ref", "")))


@route(bp, "workspaceSyncBase", body=s.SyncBaseBody())
def workspace_sync_base(name: str) -> Response:
    """Merge or rebase every slot onto its base (never switches branch)."""
    body = read_body(s.SyncBaseBody())
    return reply(call("workspaceSyncBase", name, method=body.get("method", "")))


# --------------------------------------------------------------------------- pool and leases


@route(bp, "workspaceLease", body=s.LeaseBody())
def workspace_lease(name: str) -> Response:
    """Lease a workspace to an owner."""
    body = read_body(s.LeaseBody())
    return reply(call("workspaceLease", name, body["owner"], ttl=body.get("ttl", "")))


@route(bp, "workspaceRelease", query=s.ReleaseQuery(), response=s.MutationResult())
def workspace_release(name: str) -> Response:
    """Release a lease (``?discard=true`` destroys or recycles the workspace)."""
    result = call("workspaceRelease", name, arg("owner"), discard=flag("discard"))
    return reply(result, 202 if getattr(result, "status", "") == "recycling" else 200)


@route(bp, "workspacePoolAcquire", body=s.LeaseBody())
def workspace_pool_acquire(pool: str) -> Response:
    """Take a ready pool member (200) or cold-create one (201)."""
    body = read_body(s.LeaseBody())
    result = call("workspacePoolAcquire", pool, body["owner"], ttl=body.get("ttl", ""))
    workspace = getattr(result, "workspace", result)
    warm = getattr(result, "warm", True)
    return reply(workspace, 200 if warm else 201)


@route(bp, "workspacePools")
def workspace_pools() -> Response:
    """Every workspace pool with its members."""
    return reply(call("workspacePools"))


@route(bp, "workspaceReap", query=s.DryRunQuery())
def workspace_reap() -> Response:
    """Destroy or recycle expired workspaces now (``?dry_run=true`` only reports)."""
    return reply(call("workspaceReap", dry_run=flag("dry_run")))


# --------------------------------------------------------------------------- source slots


@route(bp, "workspaceSourceFetch")
def workspace_source_fetch(name: str, slot: str) -> Response:
    """Fetch one slot."""
    return reply(call("workspaceSourceFetch", name, slot))


@route(bp, "workspaceSourcePull")
def workspace_source_pull(name: str, slot: str) -> Response:
    """Fast-forward one slot from its tracking ref."""
    return reply(call("workspaceSourcePull", name, slot))


@route(bp, "workspaceSourcePush", body=s.RefBody())
def workspace_source_push(name: str, slot: str) -> Response:
    """Push one slot."""
    body = read_body(s.RefBody())
    return reply(call("workspaceSourcePush", name, slot, ref=body.get("ref", "")))


@route(bp, "workspaceSourceDiff", query=s.RefQuery())
def workspace_source_diff(name: str, slot: str) -> Response:
    """Diff of one slot (working tree vs HEAD, or HEAD vs ``?ref=``)."""
    return reply(call("workspaceSourceDiff", name, slot, ref=arg("ref")))


@route(bp, "workspaceSourceMerge", body=s.RequiredRefBody())
def workspace_source_merge(name: str, slot: str) -> Response:
    """Merge ``ref`` into the slot; a conflict is ``ok: false, conflicted: true`` (200)."""
    body = read_body(s.RequiredRefBody())
    return reply(call("workspaceSourceMerge", name, slot, body["ref"]))


@route(bp, "workspaceSourceRebase", body=s.RequiredRefBody())
def workspace_source_rebase(name: str, slot: str) -> Response:
    """Rebase the slot onto ``ref``; a conflict is ``ok: false, conflicted: true`` (200)."""
    body = read_body(s.RequiredRefBody())
    return reply(call("workspaceSourceRebase", name, slot, body["ref"]))


@route(bp, "workspaceSourceMergeAbort")
def workspace_source_merge_abort(name: str, slot: str) -> Response:
    """Abort an in-progress merge."""
    return reply(call("workspaceSourceMergeAbort", name, slot))


@route(bp, "workspaceSourceRebaseAbort")
def workspace_source_rebase_abort(name: str, slot: str) -> Response:
    """Abort an in-progress rebase."""
    return reply(call("workspaceSourceRebaseAbort", name, slot))


@route(bp, "workspaceSourceRebaseContinue")
def workspace_source_rebase_continue(name: str, slot: str) -> Response:
    """Continue a rebase (never opens an editor)."""
    return reply(call("workspaceSourceRebaseContinue", name, slot))


@route(bp, "workspaceSourcePublish", body=s.PublishBody())
def workspace_source_publish(name: str, slot: str) -> Response:
    """Push the slot's branch to ``remote`` (default origin) as ``branch`` (default manifest branch)."""
    body = read_body(s.PublishBody())
    return reply(
        call(
            "workspaceSourcePublish",
            name,
            slot,
            remote=body.get("remote") or "origin",
            branch=body.get("branch", ""),
        )
    )
