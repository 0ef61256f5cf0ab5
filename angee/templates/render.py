"""Render plans (spec §3.7, §3.8): layers rendered into one scratch tree, then reconciled and applied.

A :class:`RenderPlan` is a target dir plus ordered :class:`Layer` s; each layer renders from a private
snapshot into ``<scratch>/<dest_root>`` (later layers overwrite). Angee writes each layer's answers
file. A layer whose tree has ``angee.yaml[.jinja]`` emits a *stack document* at
``<dest>/<ANGEE_ROOT or .>/angee.yaml``: it is taken out of the scratch tree and returned in
``documents`` — never installed here; the caller merges/writes it (directly, or through
``write_documents`` so the write joins the rollback journal).

Typical use::

    plan = RenderPlan(target=root, layers=[Layer("stack", resolved, ".", inputs)], state_path=...)
    result = render(plan, mode="update", dry_run=True)          # changes, conflicts, documents
    result = render(plan, mode="update", conflict_kind="stack-template")
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from angee.api.templates import TemplateChange, TemplateConflict
from angee.errors import Conflict, RuntimeFailure
from angee.templates.meta import template_error
from angee.templates.reconcile import (
    Entry,
    Fingerprint,
    Journal,
    TemplateState,
    changes_of,
    check_parents,
    fingerprint,
    load_state,
    plan_entries,
)
from angee.templates.resolve import ResolvedTemplate

ANSWERS_HEADER = "# Template answers written by Angee: machine-owned, rewritten on every render.\n"
STACK_DOCUMENT = "angee.yaml"


@dataclass
class Layer:
    """One template rendered into ``dest_root`` (relative to the plan target; ``"."`` = the target)
    with its final string ``inputs`` (the §3.4 flow already applied)."""

    name: str
    template: ResolvedTemplate
    dest_root: str
    inputs: dict[str, str]


@dataclass
class RenderPlan:
    """What to render where: ``state_path`` is the plan's state file; ``protected_paths`` (persist roots,
    relative to ``target``) are never reconciled; ``local_slot_links`` maps a declared local-source slot
    link (relative path) to the source dir it must resolve to."""

    target: str
    layers: list[Layer]
    state_path: str
    protected_paths: list[str] = field(default_factory=list)
    local_slot_links: dict[str, str] = field(default_factory=dict)


@dataclass
class RenderResult:
    """``changes`` and ``conflicts`` sorted by path; ``documents`` = relpath → rendered stack document;
    ``previous_documents`` = the documents of the last applied render (the 3-way base)."""

    changes: list[TemplateChange] = field(default_factory=list)
    conflicts: list[TemplateConflict] = field(default_factory=list)
    documents: dict[str, str] = field(default_factory=dict)
    previous_documents: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether anything other than an ``adopt`` would change."""
        return any(c.kind != "adopt" for c in self.changes)


def _rel(path: str) -> str:
    """A plan-relative path, slash separated, ``.`` segments dropped."""
    normal = os.path.normpath(path).replace(os.sep, "/")
    return "" if normal == "." else normal


def _under(path: str, roots: list[str]) -> bool:
    return any(root and (path == root or path.startswith(root + "/")) for root in roots)


def answers_text(ref: str, inputs: dict[str, str]) -> str:
    """An Angee answers file: header, ``_src_path`` (the recorded ref), then every input sorted, as strings."""
    from angee.manifest.emit import dump_yaml

    data: dict[str, str] = {"_src_path": ref}
    data.update({k: str(inputs[k]) for k in sorted(inputs)})
    return ANSWERS_HEADER + dump_yaml(data)


def read_answers(path: str) -> tuple[str, dict[str, str]]:
    """``(_src_path, inputs)`` of an answers file; scalars stringified, other ``_`` keys ignored."""
    import yaml

    from angee.errors import InvalidInput
    from angee.templates.meta import stringify

    try:
        with open(path, "rb") as fh:
            data = yaml.safe_load(fh) or {}
    except OSError as err:
        raise InvalidInput("answers_file", f"{path}: cannot read: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise InvalidInput("answers_file", f"{path}: invalid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(data, dict):
        raise InvalidInput("answers_file", f"{path}: must be a mapping")
    src = data.get("_src_path")
    inputs = {str(k): stringify(v) for k, v in data.items() if not str(k).startswith("_")}
    return ("" if src is None else str(src)), inputs


def _has_stack_document(copy_root: str) -> bool:
    for _current, _dirs, files in os.walk(copy_root):
        if STACK_DOCUMENT in files or f"{STACK_DOCUMENT}.jinja" in files:
            return True
    return False


def _scan(scratch: str) -> tuple[dict[str, Fingerprint], list[str]]:
    """Files and symlinks of the scratch tree (by relpath) and its directories."""
    files: dict[str, Fingerprint] = {}
    dirs: list[str] = []
    for current, dirnames, filenames in os.walk(scratch):
        for name in sorted(dirnames + filenames):
            full = os.path.join(current, name)
            rel = _rel(os.path.relpath(full, scratch))
            fp = fingerprint(full)
            if fp is None:
                continue
            if fp.kind == "dir":
                dirs.append(rel)
            else:
                files[rel] = fp
    return files, sorted(dirs)


class PreparedRender:
    """A rendered, fingerprinted plan waiting to be applied (holds the scratch tree until closed)."""

    def __init__(self, plan: RenderPlan, mode: str, overwrite: bool, cancel: threading.Event | None) -> None:
        self.plan = plan
        self.target = os.path.abspath(plan.target)
        self.mode = mode
        self.overwrite = overwrite or mode == "create"
        self.cancel = cancel
        self._holder = tempfile.mkdtemp(prefix="angee-render-")
        self.scratch = os.path.join(self._holder, "scratch")
        os.mkdir(self.scratch)
        self.answers: dict[str, bytes] = {}
        self.documents: dict[str, str] = {}
        self.entries: list[Entry] = []
        self.conflicts: list[TemplateConflict] = []
        self.scratch_dirs: list[str] = []
        self.new_files: dict[str, Fingerprint] = {}
        self.previous = TemplateState()
        self.kind = "template"

    # ------------------------------------------------------------------ phase 1: render + plan

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise RuntimeFailure("template render cancelled")

    def render_layers(self) -> None:
        try:
            from angee.templates.copier_ext import render_snapshot
        except ImportError as err:
            raise RuntimeFailure(
                f"rendering templates needs Copier ({err}); pip install 'angee[templates]'"
            ) from None
        from angee.templates.snapshot import make_snapshot

        for layer in self.plan.layers:
            self._check_cancel()
            meta = layer.template.meta
            if meta.jinja_extensions:
                raise template_error(
                    f'template "{layer.template.ref}": _jinja_extensions are not allowed (unsafe)'
                )
            dest_rel = _rel(layer.dest_root)
            dest = os.path.join(self.scratch, dest_rel) if dest_rel else self.scratch
            with make_snapshot(layer.template) as snap:
                render_snapshot(
                    ref=layer.template.ref,
                    template_dir=snap.template_dir,
                    snapshot_root=snap.root,
                    subdirectory=meta.subdirectory,
                    dest=dest,
                    data=layer.inputs,
                )
                emits_document = _has_stack_document(
                    os.path.join(snap.template_dir, meta.subdirectory or ".")
                )
            if emits_document:
                angee_root = layer.inputs.get("ANGEE_ROOT") or "."
                doc_rel = _rel(os.path.join(dest_rel or ".", angee_root, STACK_DOCUMENT))
                doc_path = os.path.join(self.scratch, doc_rel)
                if os.path.isfile(doc_path) and not os.path.islink(doc_path):
                    with open(doc_path, encoding="utf-8") as fh:
                        self.documents[doc_rel] = fh.read()
                    os.unlink(doc_path)
            answers_rel = _rel(os.path.join(dest_rel or ".", meta.answers_file))
            self.answers[answers_rel] = answers_text(layer.template.ref, layer.inputs).encode("utf-8")
            answers_path = os.path.join(self.scratch, answers_rel)
            if os.path.lexists(answers_path) and not os.path.isdir(answers_path):
                os.unlink(answers_path)  # a template-shipped answers file: Angee's wins

    def _excluded(self, path: str) -> bool:
        state_rel = _rel(os.path.relpath(os.path.abspath(self.plan.state_path), self.target))
        return (
            path in self.answers
            or path in self.documents
            or path == state_rel
            or state_rel.startswith(path + "/")
            or _under(path, [_rel(p) for p in self.plan.protected_paths])
        )

    def plan_changes(self) -> None:
        if self.mode == "update":
            self.previous = load_state(self.plan.state_path) or TemplateState()
        files, dirs = _scan(self.scratch)
        self.new_files = {p: fp for p, fp in files.items() if not self._excluded(p)}
        self.scratch_dirs = [d for d in dirs if not self._excluded(d)]
        old = {p: fp for p, fp in self.previous.files.items() if not self._excluded(p)}
        self.entries, self.conflicts = plan_entries(
            old, self.new_files, lambda p: fingerprint(os.path.join(self.target, p)), overwrite=self.overwrite
        )

    def result(self) -> RenderResult:
        return RenderResult(
            changes=changes_of(self.entries),
            conflicts=list(self.conflicts),
            documents=dict(sorted(self.documents.items())),
            previous_documents=dict(self.previous.documents),
        )

    # ------------------------------------------------------------------ phase 2: apply

    def _verify(self, kind: str) -> None:
        """Re-check live fingerprints and parent components right before writing."""
        for entry in self.entries:
            if entry.action == "keep":
                continue
            check_parents(self.target, entry.path, self.plan.local_slot_links, kind)
            if fingerprint(os.path.join(self.target, entry.path)) != entry.cur:
                raise Conflict(kind, entry.path, f"{entry.path} changed while the template was rendering")
            if entry.cur is not None and entry.cur.kind == "dir":
                full = os.path.join(self.target, entry.path)
                if os.listdir(full):
                    raise Conflict(kind, entry.path, f"cannot replace the non-empty directory {entry.path}")

    def _apply_entries(self, journal: Journal) -> None:
        for rel in self.scratch_dirs:
            full = os.path.join(self.target, rel)
            if not os.path.lexists(full):
                check_parents(self.target, rel + "/x", self.plan.local_slot_links, self.kind)
                journal.mkdirs(full, os.sep)
        for entry in self.entries:
            full = os.path.join(self.target, entry.path)
            if entry.action in ("keep", "adopt"):
                continue
            if entry.action == "delete":
                journal.delete(full)
                continue
            journal.mkdirs(os.path.dirname(full), os.sep)
            source = os.path.join(self.scratch, entry.path)
            assert entry.new is not None
            if entry.new.kind == "symlink":
                journal.write_symlink(full, entry.new.link)
            else:
                journal.write_file(full, source, entry.new.mode)

    def _prune_emptied_dirs(self) -> None:
        """After a successful apply (backups gone): remove directories emptied by deletions, bottom-up;
        never the target, a persist root or a dir holding one, a dir the template renders, or a link."""
        for entry in self.entries:
            if entry.action == "delete":
                self._prune(os.path.dirname(os.path.join(self.target, entry.path)))

    def _prune(self, directory: str) -> None:
        protected = [_rel(p) for p in self.plan.protected_paths]
        keep = set(self.scratch_dirs)
        while directory != self.target and directory.startswith(self.target + os.sep):
            rel = _rel(os.path.relpath(directory, self.target))
            if rel in keep or _under(rel, protected) or any(p.startswith(rel + "/") for p in protected):
                return
            if os.path.islink(directory) or not os.path.isdir(directory) or os.listdir(directory):
                return
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def _apply_answers(self, journal: Journal) -> None:
        for rel, data in sorted(self.answers.items()):
            full = os.path.join(self.target, rel)
            try:
                with open(full, "rb") as fh:
                    if fh.read() == data and not os.path.islink(full):
                        continue
            except OSError:
                pass
            check_parents(self.target, rel, self.plan.local_slot_links, self.kind)
            journal.mkdirs(os.path.dirname(full), os.sep)
            journal.write_bytes(full, data, 0o644)

    def state(self) -> TemplateState:
        layers = [
            {
                "name": layer.name,
                "template": layer.template.ref,
                "dest_root": layer.dest_root or ".",
                "answers_file": layer.template.meta.answers_file,
            }
            for layer in self.plan.layers
        ]
        return TemplateState(
            layers=layers,
            files=dict(self.new_files),
            documents=dict(self.documents),
            protected_paths=[_rel(p) for p in self.plan.protected_paths],
        )

    def apply(
        self,
        conflict_kind: str = "template",
        write_documents: Callable[[dict[str, str]], None] | None = None,
        extra_files: dict[str, bytes] | None = None,
    ) -> RenderResult:
        """Steps 3–5 of §3.8: refuse on conflicts, re-verify, write entries and answers with a rollback
        journal, then the handler outputs (``write_documents`` is called with the documents; ``extra_files``
        = absolute path → bytes written through the journal), then the state file. Any failure rolls the
        journal back."""
        result = self.result()
        if self.conflicts and not self.overwrite:
            listed = ", ".join(f"{c.path} ({c.reason})" for c in self.conflicts)
            raise Conflict(
                conflict_kind,
                reason=f"{len(self.conflicts)} path(s) differ from the template: {listed}; use overwrite to replace them",
                conflicts=[{"path": c.path, "reason": c.reason} for c in self.conflicts],
            )
        self._check_cancel()
        self.kind = conflict_kind
        self._verify(conflict_kind)
        journal = Journal()
        try:
            self._apply_entries(journal)
            self._apply_answers(journal)
            if write_documents is not None:
                write_documents(dict(self.documents))
            state_path = os.path.abspath(self.plan.state_path)
            data = self.state().to_json().encode("utf-8")
            for path in sorted(extra_files or {}):
                journal.mkdirs(os.path.dirname(path), os.sep)
                journal.write_bytes(path, (extra_files or {})[path], 0o644)
            if _read(state_path) != data:
                journal.mkdirs(os.path.dirname(state_path), os.sep)
                journal.write_bytes(state_path, data, 0o644)
        except BaseException:
            journal.rollback()
            raise
        journal.commit()
        self._prune_emptied_dirs()
        return result

    def close(self) -> None:
        shutil.rmtree(self._holder, ignore_errors=True)

    def __enter__(self) -> PreparedRender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def prepare_render(
    plan: RenderPlan,
    *,
    mode: Literal["create", "update"],
    overwrite: bool = False,
    cancel: threading.Event | None = None,
) -> PreparedRender:
    """Phase 1 of §3.8 (no mutation): render every layer into scratch, read the state (update mode),
    fingerprint and plan. Close the returned object (``with``) when done."""
    prepared = PreparedRender(plan, mode, overwrite, cancel)
    try:
        prepared.render_layers()
        prepared.plan_changes()
    except BaseException:
        prepared.close()
        raise
    return prepared


def render(
    plan: RenderPlan,
    *,
    mode: Literal["create", "update"],
    overwrite: bool = False,
    dry_run: bool = False,
    conflict_kind: str = "template",
    cancel: threading.Event | None = None,
    write_documents: Callable[[dict[str, str]], None] | None = None,
) -> RenderResult:
    """Render ``plan`` and reconcile it with the live tree. ``create`` mode acts as overwrite and ignores
    any earlier state. ``dry_run`` returns the changes/conflicts/documents without writing anything;
    conflicts without overwrite raise Conflict(``conflict_kind``) with the list and write nothing."""
    with prepare_render(plan, mode=mode, overwrite=overwrite, cancel=cancel) as prepared:
        if dry_run:
            return prepared.result()
        return prepared.apply(conflict_kind, write_documents)
