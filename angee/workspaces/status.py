"""Workspace status derivation (spec templates-workspaces-git §5.6): per-slot state, the workspace state
precedence, expiry, and which services/jobs reference the workspace."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any

from angee.api.workspaces import WorkspaceMountRef, WorkspaceSourceStatus
from angee.errors import AngeeError, InvalidInput
from angee.manifest.model import Manifest, Workspace, WorkspaceSource
from angee.workspaces.gitcmd import slot_git
from angee.workspaces.slots import clean_subpath


def _plural(n: int) -> str:
    return "commit" if n == 1 else "commits"


def slot_status(
    root: str, ws_dir: str, slot: str, rec: WorkspaceSource, manifest: Manifest, plugins: Any
) -> WorkspaceSourceStatus:
    """The status of one slot; the first matching row of the §5.6 table wins."""
    source = manifest.sources.get(rec.source)
    status = WorkspaceSourceStatus(
        slot=slot,
        source=rec.source,
        kind=source.kind if source is not None else "",
        mode=rec.mode,
        branch=rec.branch,
        ref=rec.ref,
        subpath=rec.subpath,
        path=os.path.join(ws_dir, rec.subpath or slot),
    )
    try:
        subpath = clean_subpath(rec.subpath or slot)
    except InvalidInput as err:
        return _error(status, err.reason)
    status.path = os.path.normpath(os.path.join(ws_dir, subpath))
    if source is None:
        return _error(status, f'source "{rec.source}" is not declared', reason=True)
    try:
        os.stat(status.path)
    except FileNotFoundError:
        status.state = "missing"
        return status
    except OSError as err:
        return _error(status, f"{status.path}: {err.strerror}")
    status.exists = True
    if source.kind != "git":
        status.state = "ready"
        return status
    try:
        _git_state(status, rec, source.default_ref, plugins)
    except AngeeError as err:
        return _error(status, str(err))
    return status


def _error(status: WorkspaceSourceStatus, message: str, reason: bool = False) -> WorkspaceSourceStatus:
    status.state = "error"
    status.pushed = False
    status.error = message
    if reason:
        status.unpushed_reason = message
    return status


def _git_state(status: WorkspaceSourceStatus, rec: WorkspaceSource, default_ref: str, plugins: Any) -> None:
    try:
        provider = plugins.provider("source_kinds", "git", "source kind")
    except AngeeError:
        provider = None
    git = slot_git(provider)
    path = status.path
    status.current_ref = git.current_ref(path)
    if (rec.mode or "worktree") == "worktree" and rec.branch and status.current_ref != rec.branch:
        status.state = "branch-mismatch"
        status.pushed = False
        status.unpushed_reason = (
            f'current branch/ref "{status.current_ref}", expected workspace branch "{rec.branch}"'
        )
        return
    if git.is_dirty(path):
        status.state = "dirty"
        status.dirty = True
        status.pushed = False
        status.unpushed_reason = "uncommitted changes"
        return
    status.upstream = git.upstream(path)
    base = status.upstream or rec.ref or default_ref
    if not base:
        status.state = "clean"
        return
    ahead, behind = git.ahead_behind(path, base)
    status.ahead, status.behind = ahead, behind
    if ahead and behind:
        status.state = "diverged"
    elif ahead:
        status.state = "ahead"
    elif behind:
        status.state = "behind"
    else:
        status.state = "clean"
    if ahead:
        status.pushed = False
        if status.upstream:
            status.unpushed_reason = f"{ahead} {_plural(ahead)} ahead of {base}"
        else:
            status.unpushed_reason = f"{ahead} {_plural(ahead)} ahead of base ref {base} with no upstream"


def workspace_deadline(ws: Workspace) -> datetime | None:
    """The later of ``ttl_expires_at`` and a non-pool lease's ``expires_at`` (§11.3); ``None`` = never."""
    candidates = [ws.ttl_expires_at]
    if ws.lease.owner and ws.lease.owner != "pool":
        candidates.append(ws.lease.expires_at)
    times = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in candidates if t is not None]
    return max(times) if times else None


def is_expired(ws: Workspace, now: datetime | None = None) -> bool:
    deadline = workspace_deadline(ws)
    return deadline is not None and deadline <= (now or datetime.now(UTC))


def lease_is_live(ws: Workspace, now: datetime | None = None) -> bool:
    """A lease held by ``pool`` or not yet expired (§11.1)."""
    if not ws.lease.owner:
        return False
    if ws.lease.owner == "pool":
        return True
    expires = ws.lease.expires_at
    if expires is None:
        return True
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return expires > (now or datetime.now(UTC))


def workspace_state(dir_state: str, expired: bool, slots: list[WorkspaceSourceStatus]) -> str:
    """``ready``/``missing``/``error`` from the directory, then ``expired``, then ``discrepancy`` (later wins)."""
    state = dir_state
    if expired:
        state = "expired"
    if any(s.state == "branch-mismatch" for s in slots):
        state = "discrepancy"
    return state


def mounted_by(manifest: Manifest, name: str) -> list[WorkspaceMountRef]:
    """Services then jobs (each sorted) whose mounts, workdir or env reference workspace ``name``."""
    uri = re.compile(r"workspace://" + re.escape(name) + r"(?=$|[/:])")
    expr = re.compile(r"\$\{\s*workspace\." + re.escape(name) + r"(?=[.}\s|])")
    found: list[WorkspaceMountRef] = []
    for kind, table in (("service", manifest.services), ("job", manifest.jobs)):
        for entry_name in sorted(table):
            entry = table[entry_name]
            for mount in entry.mounts:
                if uri.match(str(mount)):
                    found.append(WorkspaceMountRef(kind, entry_name, "mounts", str(mount)))
            if entry.workdir and uri.match(entry.workdir):
                found.append(WorkspaceMountRef(kind, entry_name, "workdir", entry.workdir))
            for key in sorted(entry.env):
                value = entry.env[key]
                if uri.search(value) or expr.search(value):
                    found.append(WorkspaceMountRef(kind, entry_name, f"env.{key}", value))
    return found
