"""Workspace operations of the Platform (spec templates-workspaces-git §5, operator-and-cli §1.2).

A workspace is a file primitive: a directory ``ROOT/workspaces/<name>`` rendered from a workspace template
(plus its chained inner stack), its source slots, and a record in ``angee.yaml`` with its port leases.
Workspaces never start or stop services.

Create holds the root lock from the manifest read to the final save and journals every side effect
(:mod:`angee.workspaces.journal`): any failure — or a killed process, recovered by the next create or
destroy of that name — undoes what the attempt created and leaves ``angee.yaml`` unchanged.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from angee.api import MutationResult, WorkspaceRef
from angee.api.workspaces import (
    WorkspaceCreatePreflight,
    WorkspaceStatus,
)
from angee.errors import Conflict, InvalidInput, NotFound
from angee.lock import root_lock
from angee.platform.stack import workspace_ref
from angee.workspaces.plan import INJECTED_NAMES, INJECTED_PREFIXES, state_path, workspace_dir

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest, Workspace
    from angee.plugins import PluginRegistry


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def _empty_stack(root: str) -> Manifest:
    """The manifest a create starts from when the root has none (§5.2 step 2)."""
    from angee.manifest.model import Manifest

    base = os.path.basename(os.path.normpath(root))
    if base == ".angee":
        base = os.path.basename(os.path.dirname(os.path.normpath(root)))
    return Manifest(name=base or "workspace")


def _replace_manifest(target: Manifest, source: Manifest) -> None:
    for f in dataclasses.fields(source):
        setattr(target, f.name, getattr(source, f.name))


class WorkspaceOps:
    """Workspace operations of one root."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

        def has_manifest(self) -> bool: ...

        def mutate(self, change: Any, *, create: Manifest | None = None) -> Any: ...

    # ------------------------------------------------------------------ helpers

    def _host_manifest(self) -> Manifest:
        """``angee.yaml``, or an empty stack named after the root when there is none."""
        return self.load() if self.has_manifest() else _empty_stack(self.root)

    @staticmethod
    def _record(manifest: Manifest, name: str) -> Workspace:
        ws = manifest.workspaces.get(name)
        if ws is None:
            raise NotFound("workspace", name)
        return ws

    def _ref(self, name: str, ws: Workspace) -> WorkspaceRef:
        return workspace_ref(self.root, name, ws)

    def _resolve(self, template: str) -> Any:
        from angee.templates import resolve_template

        return resolve_template(self.root, template, "workspace", cwd=_cwd())

    def _save(self, manifest: Manifest) -> None:
        """Write the working manifest (we hold the root lock, so the file cannot have changed meanwhile)."""
        self.mutate(lambda current: _replace_manifest(current, manifest), create=manifest)

    # ------------------------------------------------------------------ list / get

    def workspaces_list(self) -> list[WorkspaceRef]:
        """Every workspace as a WorkspaceRef, sorted by name."""
        manifest = self.load()
        return [self._ref(name, manifest.workspaces[name]) for name in sorted(manifest.workspaces)]


    def workspace_get(self, name: str) -> WorkspaceRef:
        """One workspace (NotFound(workspace) when unknown)."""
        manifest = self.load()
        return self._ref(name, self._record(manifest, name))

    # ------------------------------------------------------------------ preflight

    def workspace_create_preflight(
        self,
        template: str,
        name: str | None = None,
        inputs: Mapping[str, str] | None = None,
        ttl: str | None = None,
    ) -> WorkspaceCreatePreflight:
        """What a create would use and what is missing or invalid; touches nothing on disk (§5.4)."""
        from angee.workspaces.preflight import preflight

        template = (template or "").strip()
        if not template:
            raise InvalidInput("template", "template is required")
        resolved = self._resolve(template)
        return preflight(resolved, template, self._host_manifest(), name, inputs, ttl)


    # ------------------------------------------------------------------ create

    def workspace_create(
        self,
        template: str,
        name: str | None = None,
        inputs: Mapping[str, str] | None = None,
        ttl: str | None = None,
        sync: bool = False,
    ) -> WorkspaceRef:
        """Render a workspace from its template: record, port leases, slots, files (§5.2). ``sync`` recovers
        worktree slots left registered by an earlier workspace of the same name."""
        from angee.ports import allocate_all
        from angee.templates import (
            apply_ensure,
            check_caller_inputs,
            flow_inputs,
            reject_injected,
            require_inputs,
        )
        from angee.workspaces.durations import parse_ttl
        from angee.workspaces.journal import CreateJournal, pause_point
        from angee.workspaces.naming import resolve_workspace_name

        template = (template or "").strip()
        if not template:
            raise InvalidInput("template", "template is required")
        ttl_text = (ttl or "").strip()
        ttl_delta = parse_ttl(ttl_text) if ttl_text else None
        caller = check_caller_inputs(inputs)
        reject_injected(caller, INJECTED_NAMES, INJECTED_PREFIXES)
        with root_lock(self.root):
            manifest = self._host_manifest()
            resolved = self._resolve(template)
            meta = resolved.meta
            apply_ensure(manifest, meta.ensure)
            recorded = flow_inputs(meta, caller=caller)
            require_inputs(meta, recorded)
            ws_name = resolve_workspace_name(
                name,
                recorded,
                pattern=meta.instance_naming.pattern,
                fallback=meta.instance_naming.fallback,
                max_length=meta.instance_naming.max_length,
            )
            if ws_name in manifest.workspaces:
                raise Conflict("workspace", ws_name, "already exists")
            stale = CreateJournal.load(self.root, ws_name)
            if stale is not None:  # a dead attempt (we hold the lock): undo its leftovers first
                stale.rollback()
            allocations = allocate_all(manifest, f"workspace/{ws_name}/")
            pause_point("ports", self.root)
            journal = CreateJournal(self.root, ws_name)
            try:
                record = self._materialize(manifest, resolved, ws_name, recorded, allocations, journal, sync)
                record.ttl = ttl_text
                if ttl_delta is not None:
                    record.ttl_expires_at = datetime.now(UTC) + ttl_delta
                manifest.workspaces[ws_name] = record
                pause_point("render", self.root)
                self._save(manifest)
            except BaseException:
                journal.rollback()
                raise
            journal.discard()
        ref = self._ref(ws_name, record)
        self.plugins.notify("angee_workspace_created", platform=self, workspace=ref)
        return ref

    def _materialize(
        self,
        manifest: Manifest,
        resolved: Any,
        name: str,
        recorded: dict[str, str],
        allocations: dict[str, int],
        journal: Any,
        sync: bool,
    ) -> Workspace:
        """Steps 8–9 of §5.2 (dir, slots, render, persist dirs), journaled; returns the new record."""
        from angee.manifest.model import Workspace, WorkspaceResolved
        from angee.workspaces.journal import pause_point
        from angee.workspaces.plan import build_workspace_plan
        from angee.workspaces.render import render_create
        from angee.workspaces.slots import SlotMaterializer, resolve_slots

        ws_dir = workspace_dir(self.root, name)
        if os.path.lexists(ws_dir) and not os.path.isdir(ws_dir):
            raise Conflict("workspace", name, f"{ws_dir} exists and is not a directory")
        if not os.path.isdir(ws_dir):
            journal.record("dir", ws_dir)
            os.makedirs(ws_dir, mode=0o755)
        plans = resolve_slots(resolved.meta.sources, manifest, name, recorded, allocations)
        done = SlotMaterializer(self.root, ws_dir, self.plugins, journal, sync=sync).materialize_all(plans)
        for plan in done:
            if plan.added:
                manifest.sources.setdefault(plan.source_name, plan.source)
        pause_point("slots", self.root)
        slots = {plan.slot: plan.record() for plan in sorted(done, key=lambda p: p.slot)}
        wplan = build_workspace_plan(self.root, name, resolved, recorded, allocations, slots, manifest)
        render_create(wplan.plan, journal)
        for persist in wplan.persist_paths.values():
            path = os.path.join(ws_dir, persist.subpath)
            if not os.path.isdir(path):
                journal.record("dir", path)
                os.makedirs(path, mode=0o755, exist_ok=True)
        return Workspace(
            template=resolved.ref,
            inputs=dict(sorted(recorded.items())),
            sources=slots,
            resolved=WorkspaceResolved(
                chain=wplan.chain,
                chain_root=wplan.chain_root,
                allocations=dict(sorted(allocations.items())),
                persist_paths=dict(wplan.persist_paths),
            ),
        )

    # ------------------------------------------------------------------ update

    def workspace_update(
        self,
        name: str,
        inputs: Mapping[str, str] | None = None,
        ttl: str | None = None,
        overwrite: bool = False,
    ) -> WorkspaceRef:
        """Re-render a workspace with merged inputs (immutable inputs refused) and optionally reset its TTL
        (§5.5). Local edits that collide with the template are a Conflict unless ``overwrite``."""
        from angee.templates import (
            apply_ensure,
            check_caller_inputs,
            check_immutable,
            flow_inputs,
            reject_injected,
            require_inputs,
        )
        from angee.workspaces.durations import parse_ttl
        from angee.workspaces.plan import build_workspace_plan
        from angee.workspaces.render import render_update

        ttl_text = (ttl or "").strip()
        ttl_delta = parse_ttl(ttl_text) if ttl_text else None
        caller = check_caller_inputs(inputs)
        reject_injected(caller, INJECTED_NAMES, INJECTED_PREFIXES)
        with root_lock(self.root):
            manifest = self.load()
            ws = self._record(manifest, name)
            resolved = self._resolve(ws.template)
            meta = resolved.meta
            apply_ensure(manifest, meta.ensure)
            new_inputs = flow_inputs(meta, recorded=ws.inputs, caller=caller)
            check_immutable(meta, ws.inputs, new_inputs)
            require_inputs(meta, new_inputs)
            allocations = dict(ws.resolved.allocations)
            wplan = build_workspace_plan(
                self.root, name, resolved, new_inputs, allocations, ws.sources, manifest
            )
            render_update(name, wplan.plan, overwrite)
            ws_dir = workspace_dir(self.root, name)
            for persist in wplan.persist_paths.values():
                os.makedirs(os.path.join(ws_dir, persist.subpath), mode=0o755, exist_ok=True)
            ws.inputs = dict(sorted(new_inputs.items()))
            ws.template = resolved.ref
            ws.resolved.chain = wplan.chain
            ws.resolved.chain_root = wplan.chain_root
            ws.resolved.persist_paths = dict(wplan.persist_paths)
            if ttl_delta is not None:
                ws.ttl = ttl_text
                ws.ttl_expires_at = datetime.now(UTC) + ttl_delta
            self._save(manifest)
        return self._ref(name, ws)

    # ------------------------------------------------------------------ status / logs

    def workspace_status(self, name: str) -> WorkspaceStatus:
        """The detailed state of a workspace: directory, slots, expiry, references, inner stack (§5.6)."""
        from angee.workspaces.status import workspace_statuses

        manifest = self.load()
        self._record(manifest, name)
        return workspace_statuses(self.root, manifest, [name], self.plugins, self._inner_stack_status)[0]

    def _inner_stack_status(self, inner_root: str) -> Any:
        """The status of a workspace's inner stack, read as a stack of its own."""
        return type(self)(inner_root, self.plugins).stack_status()  # type: ignore[call-arg]

    def workspace_logs(self, name: str, follow: bool = False, limit: int = 0) -> Iterator[str]:
        """The inner stack's log lines (``limit`` = last N per service); empty without an inner stack."""
        manifest = self.load()
        ws = self._record(manifest, name)
        if not ws.resolved.chain_root:
            return iter(())
        inner_root = os.path.normpath(os.path.join(workspace_dir(self.root, name), ws.resolved.chain_root))
        inner = type(self)(inner_root, self.plugins)  # type: ignore[call-arg]
        if not inner.has_manifest():
            return iter(())
        logs = getattr(inner, "stack_logs", None)
        if logs is None:
            return iter(())
        return logs(follow=follow, tail=max(int(limit or 0), 0))

    # ------------------------------------------------------------------ destroy

    def workspace_destroy(self, name: str, purge: bool = False, force: bool = False) -> MutationResult:
        """Remove a workspace record and its port leases; ``purge`` also deregisters its worktrees and deletes
        its directory (never following symlinks). Unless ``force``, unpushed git work or a live lease refuse
        (§5.9). Also recovers the leftovers of an interrupted create of ``name``."""
        from angee.ports import release
        from angee.workspaces.journal import CreateJournal

        with root_lock(self.root):
            journal = CreateJournal.load(self.root, name)
            if not self.has_manifest():
                if journal is None:
                    raise NotFound("stack", message="stack not found")
                journal.rollback()
                return MutationResult(status="destroyed", name=name)
            manifest = self.load()
            ws = manifest.workspaces.get(name)
            if ws is None:
                if journal is None:
                    raise NotFound("workspace", name)
                journal.rollback()  # an interrupted create: undo what it made
                return MutationResult(status="destroyed", name=name)
            if journal is not None:
                journal.discard()  # committed: the record was saved
            if not force:
                self._check_destroy(manifest, name, ws)
            if purge:
                self._purge(manifest, name, ws)

            def drop(current: Manifest) -> None:
                current.workspaces.pop(name, None)
                release(current, f"workspace/{name}/")

            self.mutate(drop)
        self.plugins.notify("angee_workspace_destroyed", platform=self, name=name)
        return MutationResult(status="destroyed", name=name)

    def _check_destroy(self, manifest: Manifest, name: str, ws: Workspace) -> None:
        from angee.workspaces.status import lease_is_live, slot_status

        ws_dir = workspace_dir(self.root, name)
        unpushed: list[str] = []
        for slot in sorted(ws.sources):
            st = slot_status(self.root, ws_dir, slot, ws.sources[slot], manifest, self.plugins)
            if st.kind != "git" or not st.exists:
                continue
            if st.state == "branch-mismatch":
                raise Conflict(
                    "workspace-source",
                    name,
                    "branch mismatch",
                    message=f'workspace "{name}" source "{slot}" has branch mismatch: {st.unpushed_reason}',
                )
            if st.state in ("dirty", "ahead", "diverged"):
                unpushed.append(f"{slot} ({st.unpushed_reason})")
        if unpushed:
            raise Conflict(
                "workspace",
                name,
                "unpushed git sources",
                message=f'workspace "{name}" has git sources that have not been pushed: {", ".join(unpushed)}',
            )
        if ws.lease.owner and ws.lease.owner != "pool" and lease_is_live(ws):
            from angee.platform.stack import rfc3339

            until = rfc3339(ws.lease.expires_at)
            raise Conflict(
                "workspace-lease",
                name,
                "leased",
                message=f'workspace "{name}" is leased by {ws.lease.owner}'
                + (f" until {until}" if until else ""),
            )

    def _purge(self, manifest: Manifest, name: str, ws: Workspace) -> None:
        from angee.errors import RuntimeFailure
        from angee.workspaces.journal import remove_tree
        from angee.workspaces.slots import deregister_worktrees, warn

        ws_dir = workspace_dir(self.root, name)
        for problem in deregister_worktrees(self.root, ws_dir, manifest, ws.sources, self.plugins):
            warn(f"workspace {name}: {problem}")
        try:
            remove_tree(ws_dir)
            state = state_path(self.root, name)
            if os.path.lexists(state):
                os.unlink(state)
        except OSError as err:
            raise RuntimeFailure(f"cannot delete workspace {name} at {ws_dir}: {err.strerror}") from err
