"""Workspace source slots (spec templates-workspaces-git §5.3): resolve the template's slot specs against
the stack's sources and materialise them under the workspace dir.

Local sources are *mounted*: a relative symlink ``D → relpath(source, dirname(D))``. Git sources become a
``worktree`` of the source's cache (default) or a ``clone``; every git call goes through the git source-kind
plugin (``provider.checkout``: ``worktree_add``, ``worktree_registered``, ``clone``, ...).
"""

from __future__ import annotations

import os
import posixpath
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from angee.errors import AngeeError, Conflict, InvalidInput
from angee.manifest.model import Manifest, Source, WorkspaceSource
from angee.workspaces.journal import CreateJournal

SPEC_FIELDS = (
    "source",
    "kind",
    "repo",
    "url",
    "path",
    "default_ref",
    "cache_path",
    "mode",
    "branch",
    "ref",
    "subpath",
)
MODES = {"git": ("worktree", "clone"), "local": ("mount",)}


@dataclass
class SlotPlan:
    """One slot after substitution: the source it uses (declared, or built from the spec and to be added
    to the stack when ``added``) and the resolved mode/branch/ref/subpath that get recorded."""

    slot: str
    source_name: str
    source: Source
    mode: str
    branch: str
    ref: str
    subpath: str
    optional: bool = False
    added: bool = False

    @property
    def kind(self) -> str:
        return self.source.kind

    def record(self) -> WorkspaceSource:
        """The recorded slot: resolved values (a git slot's ``ref`` is its base: slot ref else default_ref)."""
        ref = self.ref or (self.source.default_ref if self.kind == "git" else "")
        return WorkspaceSource(
            source=self.source_name, mode=self.mode, branch=self.branch, ref=ref, subpath=self.subpath
        )


def warn(message: str) -> None:
    print(f"angee: warning: {message}", file=sys.stderr)


def clean_subpath(value: str) -> str:
    """A slot subpath cleaned and kept inside the workspace (``.`` = the workspace root)."""
    normal = posixpath.normpath(value.replace("\\", "/")) if value else ""
    if not value or posixpath.isabs(normal) or normal == ".." or normal.startswith("../"):
        raise InvalidInput("subpath", f'"{value}" escapes the workspace root')
    return normal


def check_git_name(field: str, value: str) -> None:
    """Source names, branches and refs reach git (or git paths): a value beginning with ``-`` or holding
    ``..``, spaces or control characters is refused before any git call (InvalidInput naming ``field``)."""
    if value:
        from angee.platform.sources import refuse_unsafe

        refuse_unsafe(field, value)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "1", "on", "y")


def _substituted_spec(slot: str, spec: Any, ctx: Any) -> tuple[dict[str, str], bool]:
    from angee.substitution import SubstitutionError, substitute
    from angee.templates.meta import stringify

    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise InvalidInput(f"sources.{slot}", f'workspace source "{slot}" must be a mapping')
    out: dict[str, str] = {}
    for key in SPEC_FIELDS:
        value = spec.get(key)
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            raise InvalidInput(f"sources.{slot}.{key}", f'workspace source "{slot}" {key} must be a string')
        try:
            out[key] = substitute(stringify(value), ctx, where=f"_angee.sources.{slot}.{key}").strip()
        except SubstitutionError as err:
            raise InvalidInput(f"sources.{slot}.{key}", err.reason, message=str(err)) from None
    optional = spec.get("optional")
    if isinstance(optional, str):
        try:
            optional = substitute(optional, ctx, where=f"_angee.sources.{slot}.optional")
        except SubstitutionError as err:
            raise InvalidInput(f"sources.{slot}.optional", err.reason, message=str(err)) from None
    return out, _truthy(optional) if optional is not None else False


def resolve_slots(
    specs: Mapping[str, Any],
    manifest: Manifest,
    workspace: str,
    inputs: Mapping[str, str],
    allocations: Mapping[str, int],
) -> list[SlotPlan]:
    """The slots of a workspace template, substituted and checked, root slot first then sorted.

    A source missing from the stack is built from the spec (``repo`` → git, ``path`` → local) and marked
    ``added``; neither and not ``optional`` → InvalidInput; optional → skipped with a warning.
    """
    from angee.substitution import template_context

    ctx = template_context(workspace, inputs, allocations=allocations)
    plans: list[SlotPlan] = []
    for slot in sorted(specs):
        spec, optional = _substituted_spec(slot, specs[slot], ctx)
        source_name = spec.get("source") or slot
        check_git_name(f"sources.{slot}.source", source_name)
        source = manifest.sources.get(source_name)
        added = False
        if source is None:
            kind = spec.get("kind") or (
                "git" if spec.get("repo") or spec.get("url") else "local" if spec.get("path") else ""
            )
            if (
                not kind
                or (kind == "git" and not (spec.get("repo") or spec.get("url")))
                or (kind == "local" and not spec.get("path"))
            ):
                if optional:
                    warn(
                        f'workspace {workspace}: skipping optional source "{slot}": source "{source_name}" is not declared'
                    )
                    continue
                raise InvalidInput(
                    f"sources.{slot}",
                    f'workspace source "{slot}" references undeclared source "{source_name}"',
                )
            source = Source(
                kind=kind,
                repo=spec.get("repo", ""),
                url=spec.get("url", ""),
                path=spec.get("path", "") if kind == "local" else "",
                default_ref=spec.get("default_ref", ""),
                cache_path=spec.get("cache_path", ""),
            )
            added = True
        if source.kind not in MODES:
            raise InvalidInput(
                f"sources.{slot}", f'workspace source "{slot}" has unsupported kind "{source.kind}"'
            )
        mode = spec.get("mode") or MODES[source.kind][0]
        if mode not in MODES[source.kind]:
            allowed = " or ".join(MODES[source.kind])
            raise InvalidInput(
                f"sources.{slot}.mode",
                f'workspace source "{slot}": mode "{mode}" is not valid for a {source.kind} source (want {allowed})',
            )
        subpath = clean_subpath(spec.get("subpath") or slot)
        if subpath == "." and source.kind != "git":
            raise InvalidInput(
                f"sources.{slot}.subpath",
                f'workspace source "{slot}": only a git source can be the workspace root',
            )
        branch = spec.get("branch", "")
        if mode == "worktree" and not branch:
            branch = f"workspace/{workspace}"
        for key, value in (
            ("branch", branch),
            ("ref", spec.get("ref", "")),
            ("default_ref", source.default_ref),
        ):
            check_git_name(f"sources.{slot}.{key}", value)
        plans.append(
            SlotPlan(slot, source_name, source, mode, branch, spec.get("ref", ""), subpath, optional, added)
        )
    roots = [p for p in plans if p.subpath == "."]
    if len(roots) > 1:
        raise InvalidInput(
            "sources",
            f"only one workspace source may use the workspace root (got {', '.join(p.slot for p in roots)})",
        )
    return roots + [p for p in plans if p.subpath != "."]


# --------------------------------------------------------------------------- materialisation


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def _dest_state(dest: str) -> str:
    """``missing``, ``empty`` (an empty real dir) or ``full`` (anything else)."""
    if not os.path.lexists(dest):
        return "missing"
    if os.path.isdir(dest) and not os.path.islink(dest) and not os.listdir(dest):
        return "empty"
    return "full"


def _occupied(dest: str, slot: str) -> Conflict:
    return Conflict(
        "workspace-source",
        slot,
        "destination not empty",
        message=f"workspace source destination {dest} already exists and is not empty",
    )


class SlotMaterializer:
    """Materialises the slots of one workspace create, journaling each side effect."""

    def __init__(
        self, root: str, ws_dir: str, plugins: Any, journal: CreateJournal, sync: bool = False
    ) -> None:
        self.root = root
        self.ws_dir = ws_dir
        self.plugins = plugins
        self.journal = journal
        self.sync = sync

    def provider(self, kind: str) -> Any:
        return self.plugins.provider("source_kinds", kind, "source kind")

    def materialize_all(self, plans: list[SlotPlan]) -> list[SlotPlan]:
        """Materialise every slot in order; a failing optional slot is skipped with a warning. Returns the
        slots that were materialised (the ones to record)."""
        done: list[SlotPlan] = []
        for plan in plans:
            mark = len(self.journal.entries)
            try:
                self.materialize(plan)
            except AngeeError as err:
                if not plan.optional:
                    raise
                self.journal.undo_since(mark)
                warn(f'workspace {self.journal.name}: skipping optional source "{plan.slot}": {err}')
                continue
            done.append(plan)
        return done

    def destination(self, plan: SlotPlan) -> str:
        return os.path.normpath(os.path.join(self.ws_dir, plan.subpath))

    def materialize(self, plan: SlotPlan) -> None:
        dest = self.destination(plan)
        if plan.mode == "mount":
            self._mount(plan, dest)
        elif plan.mode == "worktree":
            self._worktree(plan, dest)
        else:
            self._clone(plan, dest)

    def _parents(self, dest: str) -> None:
        os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)

    def _mount(self, plan: SlotPlan, dest: str) -> None:
        target = os.path.realpath(
            self.provider(plan.kind).materialize(self.root, plan.source_name, plan.source)
        )
        if os.path.islink(dest):
            if os.path.realpath(dest) == target:
                return  # an earlier link to the same source: already mounted
            if not self.sync:
                raise _occupied(dest, plan.slot)
            os.unlink(dest)
        else:
            state = _dest_state(dest)
            if state == "full":
                raise _occupied(dest, plan.slot)
            if state == "empty":
                os.rmdir(dest)
        self._parents(dest)
        self.journal.record("link", dest)
        os.symlink(os.path.relpath(target, os.path.dirname(dest)), dest)

    def _worktree(self, plan: SlotPlan, dest: str) -> None:
        provider = self.provider(plan.kind)
        cache = os.path.realpath(provider.host_path(self.root, plan.source_name, plan.source))
        if _inside(cache, os.path.realpath(dest)):
            raise InvalidInput(
                f"sources.{plan.slot}",
                f"workspace source cache path {cache} cannot be inside destination {dest}",
            )
        cache = os.path.realpath(provider.materialize(self.root, plan.source_name, plan.source))
        git = provider.checkout
        state = _dest_state(dest)
        if git.worktree_registered(cache, dest):
            if state in ("missing", "empty"):  # stale registration: always recover
                if state == "empty":
                    os.rmdir(dest)
                git.worktree_prune(cache)
            elif self.sync:
                git.worktree_remove(cache, dest)
            else:
                raise _occupied(dest, plan.slot)
        elif state == "full":
            raise _occupied(dest, plan.slot)
        elif state == "empty":
            os.rmdir(dest)
        self._parents(dest)
        self.journal.record("worktree", dest, cache=cache)
        git.worktree_add(cache, dest, plan.branch, plan.ref or plan.source.default_ref, warn=warn)

    def _clone(self, plan: SlotPlan, dest: str) -> None:
        provider = self.provider(plan.kind)
        repo = plan.source.clone_url
        if not repo:
            raise InvalidInput(
                f"sources.{plan.source_name}.repo", f'git source "{plan.source_name}" has no repo to clone'
            )
        state = _dest_state(dest)
        if state == "full":
            raise _occupied(dest, plan.slot)
        if state == "empty":
            os.rmdir(dest)
        self._parents(dest)
        self.journal.record("clone", dest)
        provider.checkout.clone(
            repo,
            dest,
            branch=plan.ref or plan.source.default_ref,
            repo_field=f"sources.{plan.source_name}.repo",
        )


def deregister_worktrees(
    root: str, ws_dir: str, manifest: Manifest, slots: Mapping[str, WorkspaceSource], plugins: Any
) -> list[str]:
    """Purge step: remove every worktree slot of a workspace from its cache, deepest first
    (``worktree remove --force --force``, then ``prune``). Returns problems; missing caches are skipped."""
    problems: list[str] = []
    entries = []
    for slot, rec in slots.items():
        source = manifest.sources.get(rec.source)
        if source is None or source.kind != "git" or (rec.mode or "worktree") != "worktree":
            continue
        try:
            subpath = clean_subpath(rec.subpath or slot)
        except InvalidInput:
            continue
        entries.append((subpath, slot, source, rec))
    entries.sort(key=lambda e: (-len([p for p in e[0].split("/") if p not in ("", ".")]), e[0]))
    for subpath, slot, source, rec in entries:
        dest = os.path.normpath(os.path.join(ws_dir, subpath))
        try:
            provider = plugins.provider("source_kinds", "git", "source kind")
            cache = os.path.realpath(provider.host_path(root, rec.source, source))
            if not os.path.isdir(cache):
                continue
            git = provider.checkout
            if git.worktree_registered(cache, dest):
                git.worktree_remove(cache, dest)
            else:
                git.worktree_prune(cache)
        except AngeeError as err:
            problems.append(f'source "{slot}": {err}')
    return problems
