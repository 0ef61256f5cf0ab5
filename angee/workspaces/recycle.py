"""Recycling a pool member's git slots back to their base (spec templates-workspaces-git §11.4).

Per git slot, in order: abort a half-done merge/rebase (errors ignored), ``git fetch --all --prune``, the
sync ref of §5.7, ``git reset --hard``, ``git switch --detach <sync>``, ``git branch -D <branch>``,
``git switch --no-track -c <branch> <sync>``, then ``git clean -fd`` excluding the persist paths and the
other slots inside this one. A single ``-f`` keeps nested worktrees, and ignored files (``node_modules``,
``.venv``) are never cleaned, so the caches the first build paid for survive. Nothing is pushed and no
remote branch is touched; the detached HEAD exists only between two commands, never at rest.
"""

from __future__ import annotations

import os
import posixpath
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from angee.errors import AngeeError, RuntimeFailure
from angee.manifest.model import Manifest, Workspace


@dataclass(frozen=True)
class SlotReset:
    """One git slot to reset: where it is, the branch it must end on (``""`` = stay on the current one,
    clone slots without a branch), its base ref, and the paths (relative to it) ``git clean`` must keep."""

    workspace: str
    slot: str
    path: str
    branch: str
    base: str
    keep: tuple[str, ...] = ()


def _warn(message: str) -> None:
    print(f"angee: warning: {message}", file=sys.stderr, flush=True)


def _inside(path: str, parent: str) -> str:
    """``path`` relative to ``parent`` (posix form) when strictly inside it, else ``""``."""
    rel = os.path.relpath(path, parent)
    if rel == "." or rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return ""
    return rel.replace(os.sep, "/")


def clean_excludes(slot_path: str, protected: Iterable[str]) -> list[str]:
    """``git clean -e`` patterns (anchored at the slot root, sorted) for the protected absolute paths
    that lie inside ``slot_path``."""
    out = set()
    for path in protected:
        rel = _inside(os.path.normpath(path), os.path.normpath(slot_path))
        if rel:
            out.add("/" + posixpath.normpath(rel))
    return sorted(out)


def plan_resets(root: str, name: str, ws: Workspace, manifest: Manifest) -> list[SlotReset]:
    """The git slots of workspace ``name`` that exist on disk, each with its clean exclusions: every persist
    path and every other slot path inside it. Slots without a base ref → RuntimeFailure."""
    from angee.workspaces.plan import workspace_dir
    from angee.workspaces.slots import clean_subpath

    ws_dir = workspace_dir(root, name)
    paths: dict[str, str] = {}
    for slot, rec in ws.sources.items():
        try:
            paths[slot] = os.path.normpath(os.path.join(ws_dir, clean_subpath(rec.subpath or slot)))
        except AngeeError:
            continue
    persist = [
        os.path.normpath(os.path.join(ws_dir, p.subpath))
        for p in ws.resolved.persist_paths.values()
        if p.subpath
    ]
    if ws.resolved.chain_root:  # the inner stack (its manifest, run state and data) is re-rendered, not wiped
        persist.append(os.path.normpath(os.path.join(ws_dir, ws.resolved.chain_root)))
    resets: list[SlotReset] = []
    for slot in sorted(paths):
        rec = ws.sources[slot]
        source = manifest.sources.get(rec.source)
        path = paths[slot]
        if source is None or source.kind != "git" or not os.path.isdir(path):
            continue
        base = rec.ref or source.default_ref
        if not base:
            raise RuntimeFailure(f'workspace "{name}" source "{slot}" has no base ref')
        others = [p for s, p in paths.items() if s != slot]
        keep = tuple(clean_excludes(path, [*persist, *others]))
        resets.append(SlotReset(name, slot, path, rec.branch, base, keep))
    return resets


def reset_slot(checkout: Any, reset: SlotReset, warn: Callable[[str], None] = _warn) -> str:
    """Run the §11.4 git steps on one slot; returns the sync ref it was reset to. A failed fetch is a
    warning (the slot resets to the last fetched base); any other git failure raises."""
    path = reset.path
    git = checkout.git
    git(["merge", "--abort"], path, check=False)
    git(["rebase", "--abort"], path, check=False)
    try:
        checkout.fetch_all(path)
    except AngeeError as err:
        warn(
            f'workspace {reset.workspace}: source "{reset.slot}": fetch failed, resetting to local refs: {err}'
        )
    sync = checkout.resolve_sync_ref(path, reset.base)
    git(["reset", "--hard"], path)
    if reset.branch:
        checkout.check_git_arg("branch", reset.branch)
        git(["switch", "--detach", sync], path)
        if checkout.branch_exists(path, reset.branch):
            git(["branch", "-D", reset.branch], path)
        git(["switch", "--no-track", "-c", reset.branch, sync], path)
    else:
        git(["reset", "--hard", sync], path)
    args = ["clean", "-fd"]
    for pattern in reset.keep:
        args += ["-e", pattern]
    git(args, path)
    return sync


def reset_workspace_slots(
    root: str, name: str, ws: Workspace, manifest: Manifest, plugins: Any, warn: Callable[[str], None] = _warn
) -> list[str]:
    """Reset every git slot of a workspace (the workspace-root slot first, then by slot name); returns the
    slots reset. Needs the git source kind when there is any git slot."""
    resets = plan_resets(root, name, ws, manifest)
    if not resets:
        return []
    checkout = plugins.provider("source_kinds", "git", "source kind").checkout
    ws_dir = os.path.normpath(os.path.join(root, "workspaces", name))
    resets.sort(key=lambda r: (r.path != ws_dir, r.slot))
    for reset in resets:
        reset_slot(checkout, reset, warn)
    return [r.slot for r in resets]
