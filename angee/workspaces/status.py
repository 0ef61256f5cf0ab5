"""Workspace status derivation (spec templates-workspaces-git §5.6): per-slot state, the workspace state
precedence, expiry, and which services/jobs reference the workspace.

Git slots are inspected through the git source-kind plugin (``provider.checkout.slot_states``): one
``git status --porcelain=v2`` per checkout, many checkouts in parallel. :func:`slot_statuses` takes the
slots of any number of workspaces at once, so the topology inspects every checkout in one batch.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from angee.api import StackStatus
from angee.api.workspaces import (
    WorkspaceMountRef,
    WorkspacePersistPath,
    WorkspaceSourceStatus,
    WorkspaceStatus,
)
from angee.errors import AngeeError, InvalidInput
from angee.manifest.model import Manifest, Workspace, WorkspaceSource
from angee.workspaces.plan import workspace_dir
from angee.workspaces.slots import clean_subpath

SlotEntry = tuple[str, str, WorkspaceSource]  # (workspace dir, slot name, recorded slot)


def git_provider(plugins: Any) -> Any:
    """The git source-kind provider (the only way the kernel reaches git)."""
    return plugins.provider("source_kinds", "git", "source kind")


def slot_mode(rec: WorkspaceSource) -> str:
    """The recorded mode; a legacy git slot without one is a worktree."""
    return rec.mode or "worktree"


def slot_base_ref(rec: WorkspaceSource, manifest: Manifest) -> str:
    """The base a git slot compares with when it has no upstream: slot ``ref``, else ``default_ref``."""
    source = manifest.sources.get(rec.source)
    return rec.ref or (source.default_ref if source is not None else "")


def slot_statuses(
    root: str, manifest: Manifest, entries: Sequence[SlotEntry], plugins: Any
) -> list[WorkspaceSourceStatus]:
    """The status of every slot in ``entries`` (in order); the first matching row of the §5.6 table wins.

    Non-git rows are decided here; all git checkouts are handed to the plugin in one parallel batch.
    """
    out: list[WorkspaceSourceStatus] = []
    pending: list[tuple[int, Any]] = []  # (index in out, StateRequest)
    provider: Any = None
    provider_error = ""
    for ws_dir, slot, rec in entries:
        status = _pre_git(ws_dir, slot, rec, manifest)
        out.append(status)
        if status.state != "git":
            continue
        if provider is None and not provider_error:
            try:
                provider = git_provider(plugins)
            except AngeeError as err:
                provider_error = str(err)
        if provider_error:
            _error(status, provider_error)
            continue
        ops = provider.checkout
        expected = rec.branch if slot_mode(rec) == "worktree" else ""
        request = ops.StateRequest(
            path=status.path,
            name=rec.source,
            kind="git",
            slot=slot,
            ref=rec.ref,
            branch=rec.branch,
            base_ref=slot_base_ref(rec, manifest),
            expected_branch=expected,
            resolve_base=True,
        )
        pending.append((len(out) - 1, request))
    if pending:
        states = provider.checkout.slot_states([req for _, req in pending], error_pushed=False)
        for (index, _), state in zip(pending, states, strict=True):
            _apply(out[index], state)
    return out


def _pre_git(ws_dir: str, slot: str, rec: WorkspaceSource, manifest: Manifest) -> WorkspaceSourceStatus:
    """The rows of §5.6 decided without git; a slot that still needs git gets the marker state ``git``."""
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
    status.state = "ready" if source.kind != "git" else "git"
    return status


def _apply(status: WorkspaceSourceStatus, state: Any) -> None:
    """Copy the plugin's SourceState of a git slot into its WorkspaceSourceStatus."""
    status.exists = state.exists
    status.state = state.state
    status.current_ref = state.current_ref
    status.dirty = bool(state.dirty)
    status.upstream = state.upstream
    status.ahead = state.ahead
    status.behind = state.behind
    status.pushed = state.pushed
    status.unpushed_reason = state.unpushed_reason
    status.error = state.error


def _error(status: WorkspaceSourceStatus, message: str, reason: bool = False) -> WorkspaceSourceStatus:
    status.state = "error"
    status.pushed = False
    status.error = message
    if reason:
        status.unpushed_reason = message
    return status


def slot_status(
    root: str, ws_dir: str, slot: str, rec: WorkspaceSource, manifest: Manifest, plugins: Any
) -> WorkspaceSourceStatus:
    """The status of one slot (see :func:`slot_statuses`)."""
    return slot_statuses(root, manifest, [(ws_dir, slot, rec)], plugins)[0]


def workspace_slot_entries(ws_dir: str, ws: Workspace) -> list[SlotEntry]:
    """The slots of one workspace in slot order, as :func:`slot_statuses` entries."""
    return [(ws_dir, slot, ws.sources[slot]) for slot in sorted(ws.sources)]


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
    """``ready``/``missing``/``error`` from the directory, then ``expired``, then ``discrepancy``
    (later rows win)."""
    state = dir_state
    if expired:
        state = "expired"
    if any(s.state == "branch-mismatch" for s in slots):
        state = "discrepancy"
    return state


def directory_state(ws_dir: str) -> tuple[str, bool, str]:
    """``(state, exists, error)`` of a workspace directory: ``ready``, ``missing`` or ``error``."""
    try:
        st = os.stat(ws_dir)
    except FileNotFoundError:
        return "missing", False, ""
    except OSError as err:
        return "error", False, f"{ws_dir}: {err.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return "error", False, f"{ws_dir} is not a directory"
    return "ready", True, ""


def build_workspace_status(
    root: str,
    name: str,
    ws: Workspace,
    manifest: Manifest,
    slots: list[WorkspaceSourceStatus],
    inner_status: Callable[[str], StackStatus] | None = None,
) -> WorkspaceStatus:
    """A WorkspaceStatus from a record and its (already inspected) slots (§5.6).

    ``inner_status(inner_root)`` gives the inner stack's status when the workspace has a ``chain_root``;
    its error text goes to ``inner_error``.
    """
    from angee.platform.stack import workspace_ref

    ref = workspace_ref(root, name, ws)
    dir_state, exists, error = directory_state(workspace_dir(root, name))
    expired = is_expired(ws)
    status = WorkspaceStatus(
        name=name,
        path=ref.path,
        exists=exists,
        state=workspace_state(dir_state, expired, slots),
        error=error,
        template=ws.template,
        inputs=dict(sorted(ws.inputs.items())),
        sources=slots,
        chain=list(ws.resolved.chain),
        chain_root=ws.resolved.chain_root,
        allocations=ref.allocations,
        process_compose_port=ref.process_compose_port,
        playwright_mcp_name=ref.playwright_mcp_name,
        playwright_mcp_url=ref.playwright_mcp_url,
        persist_paths={
            k: WorkspacePersistPath(p.subpath, p.scope) for k, p in sorted(ws.resolved.persist_paths.items())
        },
        ttl=ref.ttl,
        ttl_expires_at=ref.ttl_expires_at,
        expired=expired,
        mounted_by=mounted_by(manifest, name),
        lease=ref.lease,
        pool=ws.pool,
        pool_state=ws.pool_state,
        reap_blocked_reason=ws.reap_blocked.reason,
    )
    if ws.resolved.chain_root and inner_status is not None:
        inner_root = os.path.normpath(os.path.join(workspace_dir(root, name), ws.resolved.chain_root))
        try:
            status.inner_stack = inner_status(inner_root)
        except AngeeError as err:
            status.inner_error = f"{inner_root}: {err}"
    return status


def workspace_statuses(
    root: str,
    manifest: Manifest,
    names: Sequence[str],
    plugins: Any,
    inner_status: Callable[[str], StackStatus] | None = None,
) -> list[WorkspaceStatus]:
    """The statuses of several workspaces (in ``names`` order) with all their git slots inspected in one
    parallel batch (the topology's path; cost ≈ one ``git status`` per checkout)."""
    entries: list[SlotEntry] = []
    spans: list[tuple[int, int]] = []
    for name in names:
        ws_dir = workspace_dir(root, name)
        mine = workspace_slot_entries(ws_dir, manifest.workspaces[name])
        spans.append((len(entries), len(entries) + len(mine)))
        entries.extend(mine)
    slots = slot_statuses(root, manifest, entries, plugins)
    return [
        build_workspace_status(root, name, manifest.workspaces[name], manifest, slots[a:b], inner_status)
        for name, (a, b) in zip(names, spans, strict=True)
    ]


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
