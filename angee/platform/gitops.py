"""The GitOps topology (spec templates-workspaces-git §6, operator-and-cli §1.2/§1.3).

One read-only picture of the stack's git: every declared source, every workspace with its full status,
one link per workspace slot (``<workspace>:<slot>``) and summary counters. Recomputed per read; the cost
is about one ``git status`` per checkout: the sources and all workspace slots are inspected in parallel
batches that run at the same time. :meth:`GitOpsOps.topology_hash` is the subscription poller's change
detector: the SHA-256 of the canonical JSON of the topology without commits.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import TYPE_CHECKING, Any

from angee.api.sources import SourceState
from angee.api.workspaces import GitOpsLink, GitOpsSummary, GitOpsTopology, WorkspaceStatus
from angee.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api import StackStatus
    from angee.manifest.model import Manifest
    from angee.plugins import PluginRegistry

MAX_COMMITS = 1000
UNPUSHED_STATES = ("dirty", "ahead", "diverged", "branch-mismatch")
COUNTED_STATES = {
    "ready": "clean",
    "clean": "clean",
    "dirty": "dirty",
    "ahead": "ahead",
    "behind": "behind",
    "diverged": "diverged",
    "branch-mismatch": "branch_mismatch",
    "missing": "missing",
    "error": "error",
}


def commit_limit(with_commits: Any) -> int:
    """``with_commits`` as a count: ``None`` → 0, negative → InvalidInput (field ``withCommits``), clamped
    to 1000."""
    if with_commits is None or with_commits == "":
        return 0
    try:
        count = int(with_commits)
    except (TypeError, ValueError):
        raise InvalidInput(
            "withCommits", "must be an integer", message="with_commits must be an integer"
        ) from None
    if count < 0:
        raise InvalidInput("withCommits", "must be non-negative")
    return min(count, MAX_COMMITS)


def topology_links(workspaces: list[WorkspaceStatus]) -> list[GitOpsLink]:
    """One link per slot, in workspace then slot order, copied from the slot status."""
    links: list[GitOpsLink] = []
    for ws in workspaces:
        for s in ws.sources:
            links.append(
                GitOpsLink(
                    id=f"{ws.name}:{s.slot}",
                    source=s.source,
                    workspace=ws.name,
                    slot=s.slot,
                    kind=s.kind,
                    mode=s.mode,
                    branch=s.branch,
                    ref=s.ref,
                    path=s.path,
                    exists=s.exists,
                    state=s.state,
                    current_ref=s.current_ref,
                    dirty=s.dirty,
                    upstream=s.upstream,
                    ahead=s.ahead,
                    behind=s.behind,
                    pushed=s.pushed,
                    unpushed_reason=s.unpushed_reason,
                    error=s.error,
                )
            )
    return links


def topology_summary(
    sources: list[SourceState], workspaces: list[WorkspaceStatus], links: list[GitOpsLink]
) -> GitOpsSummary:
    """The counters: each source and link bumps its state's counter (``ready`` counts as ``clean``);
    ``worktrees`` = git worktree links; ``unpushed`` = entries not pushed in a dirty/ahead/diverged/
    branch-mismatch state."""
    summary = GitOpsSummary(sources=len(sources), workspaces=len(workspaces))
    for entry in [*sources, *links]:
        counter = COUNTED_STATES.get(entry.state)
        if counter:
            setattr(summary, counter, getattr(summary, counter) + 1)
        if not entry.pushed and entry.state in UNPUSHED_STATES:
            summary.unpushed += 1
    summary.worktrees = sum(
        1 for link in links if link.kind == "git" and (link.mode or "worktree") == "worktree"
    )
    return summary


def canonical_json(value: Any) -> str:
    """Canonical JSON of a wire value: sorted keys, compact separators, UTF-8 text."""
    from angee.api import to_wire

    return json.dumps(to_wire(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class GitOpsOps:
    """The GitOps topology of one root."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase and SourceOps

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

        def _source_states(self, manifest: Manifest, with_commits: int = 0) -> list[SourceState]: ...

        def _inner_stack_status(self, inner_root: str) -> StackStatus: ...  # WorkspaceOps

    def gitops_topology(self, with_commits: int = 0) -> GitOpsTopology:
        """GitOpsTopology: sources (with up to ``with_commits`` commits each), workspaces (full status),
        links and summary. Read-only; a failing source is an entry with ``state: error``."""
        from angee.workspaces.status import workspace_statuses

        limit = commit_limit(with_commits)
        manifest = self.load()
        self.plugins.providers("source_kinds")  # discover providers once, before worker threads
        sources: list[SourceState] = []
        failure: list[BaseException] = []

        def read_sources() -> None:
            try:
                sources.extend(self._source_states(manifest, limit))
            except BaseException as err:  # re-raised in the caller's thread
                failure.append(err)

        worker = threading.Thread(target=read_sources, name="angee-topology-sources", daemon=True)
        worker.start()
        try:
            workspaces = workspace_statuses(
                self.root, manifest, sorted(manifest.workspaces), self.plugins, self._inner_stack_status
            )
        finally:
            worker.join()
        if failure:
            raise failure[0]
        links = topology_links(workspaces)
        return GitOpsTopology(
            root=self.root,
            name=manifest.name,
            sources=sources,
            workspaces=workspaces,
            links=links,
            summary=topology_summary(sources, workspaces, links),
        )

    def topology_hash(self) -> str:
        """SHA-256 hex of the canonical JSON of the topology without commits: equal hashes mean nothing a
        topology subscriber sees has changed."""
        text = canonical_json(self.gitops_topology(0))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
