"""Git operations on workspaces (spec templates-workspaces-git §5.7, §5.8; operator-and-cli §1.2).

Whole-workspace operations (``git``, ``push``, ``sync-base``) first refuse any worktree slot that is off
its workspace branch (a typed 409); they never switch branches. Per-slot operations (fetch, pull, push,
diff, merge, rebase, the aborts, continue, publish) act on one slot's checkout; convergence operations
return a :class:`GitOpResult` in which a conflict is a result (``conflicted: true`` with the files), not
an error. All git work goes through the git source-kind plugin (``provider.checkout``); names, refs and
branches are validated before any git process starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from angee.api.sources import DiffFile, GitOpResult, SourceState
from angee.api.workspaces import WorkspaceSourceStatus
from angee.errors import Conflict, InvalidInput, NotFound
from angee.platform.sources import refuse_unsafe

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest, Source, Workspace, WorkspaceSource
    from angee.plugins import PluginRegistry

CONFLICT_KIND = "workspace-source"


@dataclass
class SlotTarget:
    """One resolved slot of a per-slot operation: its record, source, checkout path and git operations."""

    workspace: str
    slot: str
    rec: WorkspaceSource
    source: Source
    path: str
    ops: Any  # the plugin's checkout module


def source_state_of(status: WorkspaceSourceStatus) -> SourceState:
    """A slot status as the SourceState of the whole-workspace operations (``name`` = source,
    ``ref`` = slot ref)."""
    return SourceState(
        name=status.source,
        slot=status.slot,
        kind=status.kind,
        path=status.path,
        exists=status.exists,
        state=status.state,
        branch=status.branch,
        ref=status.ref,
        current_ref=status.current_ref,
        dirty=status.dirty,
        upstream=status.upstream,
        ahead=status.ahead,
        behind=status.behind,
        pushed=status.pushed,
        unpushed_reason=status.unpushed_reason,
        error=status.error,
    )


def branch_mismatch(workspace: str, status: WorkspaceSourceStatus) -> Conflict:
    """Conflict ``workspace "<w>" source "<s>" has branch mismatch: …`` (409, kind ``workspace-source``)."""
    return Conflict(
        CONFLICT_KIND,
        status.slot,
        "branch mismatch",
        message=f'workspace "{workspace}" source "{status.slot}" has branch mismatch: '
        + status.unpushed_reason,
    )


def uncommitted(workspace: str, slot: str) -> Conflict:
    """Conflict ``workspace "<w>" source "<s>" has uncommitted changes`` (409, kind ``workspace-source``)."""
    return Conflict(
        CONFLICT_KIND,
        slot,
        "uncommitted changes",
        message=f'workspace "{workspace}" source "{slot}" has uncommitted changes',
    )


def _check_names(workspace: str, slot: str, rec: WorkspaceSource, source: Source) -> None:
    """The recorded source name, branch and refs are git arguments: refuse unsafe values up front."""
    for field, value in (
        ("source", rec.source),
        ("branch", rec.branch),
        ("ref", rec.ref),
        ("default_ref", source.default_ref),
    ):
        if value:
            refuse_unsafe(f"workspaces.{workspace}.sources.{slot}.{field}", value)


class WorkspaceGitOps:
    """Whole-workspace and per-slot git operations of one root."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

    # ------------------------------------------------------------------ helpers

    def _git_checkout(self) -> Any:
        """The git plugin's path-level operations (``provider.checkout``)."""
        from angee.workspaces.status import git_provider

        return git_provider(self.plugins).checkout

    def _workspace_record(self, name: str) -> tuple[Manifest, Workspace]:
        if not name:
            raise InvalidInput("name", "a workspace name is required")
        manifest = self.load()
        ws = manifest.workspaces.get(name)
        if ws is None:
            raise NotFound("workspace", name)
        return manifest, ws

    def _slot_list(self, manifest: Manifest, name: str, ws: Workspace) -> list[WorkspaceSourceStatus]:
        from angee.workspaces.plan import workspace_dir
        from angee.workspaces.status import slot_statuses, workspace_slot_entries

        return slot_statuses(
            self.root, manifest, workspace_slot_entries(workspace_dir(self.root, name), ws), self.plugins
        )

    def _checked_slots(self, name: str) -> tuple[Manifest, Workspace, list[WorkspaceSourceStatus]]:
        """The workspace's slot statuses after the §5.7 branch check (a mismatch → 409)."""
        manifest, ws = self._workspace_record(name)
        statuses = self._slot_list(manifest, name, ws)
        for status in statuses:
            if status.state == "branch-mismatch":
                raise branch_mismatch(name, status)
        return manifest, ws, statuses

    def _restatus(self, manifest: Manifest, name: str, ws: Workspace, slots: list[str]) -> list[SourceState]:
        wanted = set(slots)
        return [source_state_of(s) for s in self._slot_list(manifest, name, ws) if s.slot in wanted]

    def _slot_target(self, workspace: str, slot: str, verb: str) -> SlotTarget:
        """Resolve ``workspace``/``slot`` for a per-slot op: 404s for an unknown workspace, slot or source;
        InvalidInput for a non-git slot or unsafe recorded names; Conflict when the checkout is missing."""
        from angee.workspaces.plan import workspace_dir
        from angee.workspaces.slots import clean_subpath

        manifest, ws = self._workspace_record(workspace)
        if not slot:
            raise InvalidInput("slot", "a workspace source slot is required")
        rec = ws.sources.get(slot)
        if rec is None:
            raise NotFound("workspace-source", slot)
        source = manifest.sources.get(rec.source)
        if source is None:
            raise NotFound("source", rec.source)
        if source.kind != "git":
            reason = f'workspace source "{slot}" is a {source.kind} source: only git sources can be {verb}'
            raise InvalidInput("slot", reason, message=reason)
        _check_names(workspace, slot, rec, source)
        ws_dir = workspace_dir(self.root, workspace)
        path = os.path.normpath(os.path.join(ws_dir, clean_subpath(rec.subpath or slot)))
        if not os.path.isdir(path):
            raise Conflict(
                CONFLICT_KIND,
                slot,
                "missing",
                message=f'workspace "{workspace}" source "{slot}" is missing at {path}',
            )
        return SlotTarget(workspace, slot, rec, source, path, self._git_checkout())

    def _target_status(self, target: SlotTarget) -> WorkspaceSourceStatus:
        from angee.workspaces.plan import workspace_dir
        from angee.workspaces.status import slot_status

        return slot_status(
            self.root,
            workspace_dir(self.root, target.workspace),
            target.slot,
            target.rec,
            self.load(),
            self.plugins,
        )

    def _ready_to_change(self, target: SlotTarget) -> None:
        """Pull/push precondition: on the workspace branch and without uncommitted changes."""
        status = self._target_status(target)
        if status.state == "branch-mismatch":
            raise branch_mismatch(target.workspace, status)
        if status.state == "dirty":
            raise uncommitted(target.workspace, target.slot)

    def _converge(
        self, workspace: str, slot: str, verb: str, run: Callable[[SlotTarget], GitOpResult]
    ) -> GitOpResult:
        target = self._slot_target(workspace, slot, verb)
        result = run(target)
        result.source = self._target_status(target)
        return result

    # ------------------------------------------------------------------ whole workspace (§5.7)

    def workspace_git(self, name: str) -> list[SourceState]:
        """WorkspaceGit: one SourceState per slot (``name`` = source, ``ref`` = slot ref); an undeclared
        source is that slot's ``error``; a worktree slot off its branch → 409."""
        _, _, statuses = self._checked_slots(name)
        return [source_state_of(s) for s in statuses]

    def workspace_push(self, name: str, ref: str = "") -> list[SourceState]:
        """WorkspacePush: push every existing git slot (worktree or clone). No ``ref``: an upstream → ``git
        push``, else the slot branch → ``git push -u <pushRemote> <branch>``, else ``git push``; ``ref`` →
        ``git push <pushRemote> <ref>``. A dirty slot or a branch mismatch → 409 before anything is
        pushed."""
        if ref:
            refuse_unsafe("ref", ref)
        manifest, ws, statuses = self._checked_slots(name)
        targets = [s for s in statuses if s.kind == "git" and s.exists]
        for status in targets:
            _check_names(name, status.slot, ws.sources[status.slot], manifest.sources[status.source])
            if status.state == "dirty":
                raise uncommitted(name, status.slot)
        ops = self._git_checkout() if targets else None
        for status in targets:
            ops.push(status.path, ref, branch=ws.sources[status.slot].branch)
        return self._restatus(manifest, name, ws, [s.slot for s in targets])

    def workspace_sync_base(self, name: str, method: str = "") -> list[SourceState]:
        """WorkspaceSyncBase: bring each existing worktree slot's base (slot ref or default_ref) into its
        branch by merge (default) or rebase, after ``git fetch --all --prune``; never switches branch.
        Refuses (before any change) a bad method (400), a dirty slot or branch mismatch (409), a slot
        without base (400). A conflicting slot stops the run and is left conflicted: 409 naming the files."""
        from angee.workspaces.status import slot_base_ref, slot_mode

        ops = self._git_checkout()
        how = ops.sync_method(method)
        manifest, ws, statuses = self._checked_slots(name)
        targets: list[tuple[WorkspaceSourceStatus, str]] = []
        for status in statuses:
            rec = ws.sources[status.slot]
            if status.kind != "git" or not status.exists or slot_mode(rec) != "worktree":
                continue
            _check_names(name, status.slot, rec, manifest.sources[status.source])
            if status.state == "dirty":
                raise uncommitted(name, status.slot)
            base = slot_base_ref(rec, manifest)
            if not base:
                message = f'workspace "{name}" source "{status.slot}" has no base ref'
                raise InvalidInput(f"sources.{status.slot}.ref", "has no base ref", message=message)
            targets.append((status, base))
        for status, base in targets:
            result = ops.sync_base(status.path, base, how, slot=status.slot)
            if result.conflicted:
                files = ", ".join(result.conflict_files)
                raise Conflict(
                    CONFLICT_KIND,
                    status.slot,
                    "conflicted",
                    message=f'workspace "{name}" source "{status.slot}" sync-base {how} conflicted: {files}',
                    conflicts=[{"slot": status.slot, "conflict_files": list(result.conflict_files)}],
                )
        return self._restatus(manifest, name, ws, [s.slot for s, _ in targets])

    # ------------------------------------------------------------------ one slot (§5.8)

    def workspace_source_fetch(self, workspace: str, slot: str) -> WorkspaceSourceStatus:
        """WorkspaceSourceFetch: ``git fetch --all --prune`` in the slot; its status."""
        target = self._slot_target(workspace, slot, "fetched")
        target.ops.fetch_all(target.path)
        return self._target_status(target)

    def workspace_source_pull(self, workspace: str, slot: str) -> WorkspaceSourceStatus:
        """WorkspaceSourcePull: branch check, dirty → 409, ``git pull --ff-only``; its status."""
        target = self._slot_target(workspace, slot, "pulled")
        self._ready_to_change(target)
        target.ops.pull_ff_only(target.path)
        return self._target_status(target)

    def workspace_source_push(self, workspace: str, slot: str, ref: str = "") -> WorkspaceSourceStatus:
        """WorkspaceSourcePush: branch check, dirty → 409, then the §5.7 push rules; its status."""
        if ref:
            refuse_unsafe("ref", ref)
        target = self._slot_target(workspace, slot, "pushed")
        self._ready_to_change(target)
        target.ops.push(target.path, ref, branch=target.rec.branch)
        return self._target_status(target)

    def workspace_source_diff(self, workspace: str, slot: str, ref: str = "") -> list[DiffFile]:
        """WorkspaceSourceDiff: working tree (staged included) vs HEAD, or HEAD vs ``ref``."""
        if ref:
            refuse_unsafe("ref", ref)
        target = self._slot_target(workspace, slot, "diffed")
        return list(target.ops.diff(target.path, ref))

    def workspace_source_merge(self, workspace: str, slot: str, ref: str) -> GitOpResult:
        """WorkspaceSourceMerge: ``git merge --no-ff --no-edit <ref>``; a conflict is ``conflicted: true``."""
        ref = _required_ref(ref)
        return self._converge(workspace, slot, "merged", lambda t: t.ops.merge(t.path, ref, slot=slot))

    def workspace_source_rebase(self, workspace: str, slot: str, ref: str) -> GitOpResult:
        """WorkspaceSourceRebase: ``git rebase <ref>``; a conflict is ``conflicted: true``."""
        ref = _required_ref(ref)
        return self._converge(workspace, slot, "rebased", lambda t: t.ops.rebase(t.path, ref, slot=slot))

    def workspace_source_merge_abort(self, workspace: str, slot: str) -> GitOpResult:
        """WorkspaceSourceMergeAbort: ``git merge --abort``."""
        return self._converge(workspace, slot, "merged", lambda t: t.ops.merge_abort(t.path, slot=slot))

    def workspace_source_rebase_abort(self, workspace: str, slot: str) -> GitOpResult:
        """WorkspaceSourceRebaseAbort: ``git rebase --abort``."""
        return self._converge(workspace, slot, "rebased", lambda t: t.ops.rebase_abort(t.path, slot=slot))

    def workspace_source_rebase_continue(self, workspace: str, slot: str) -> GitOpResult:
        """WorkspaceSourceRebaseContinue: ``git -c core.editor=true rebase --continue`` (never an editor)."""
        return self._converge(workspace, slot, "rebased", lambda t: t.ops.rebase_continue(t.path, slot=slot))

    def workspace_source_publish(
        self, workspace: str, slot: str, remote: str = "", branch: str = ""
    ) -> GitOpResult:
        """WorkspaceSourcePublish: ``git push --set-upstream <remote> <branch>``; remote defaults to
        ``origin``, branch to the slot's branch, else the checked-out one (detached → 400 field
        ``branch``)."""
        remote = (remote or "").strip() or "origin"
        refuse_unsafe("remote", remote)
        if branch:
            refuse_unsafe("branch", branch)

        def run(target: SlotTarget) -> GitOpResult:
            return target.ops.publish(target.path, remote, branch or target.rec.branch, slot=slot)

        return self._converge(workspace, slot, "published", run)


def _required_ref(ref: str) -> str:
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInput("ref", "is required")
    refuse_unsafe("ref", ref)
    return ref
