"""``stack update --template``: re-render the stack template and merge it into ``angee.yaml`` (spec §7.3).

Under the root lock: locate the answers file (its directory is the render target), resolve the recorded
template, rebuild the inputs from the answers (answered ``type: path`` values verbatim; a workspace inner
stack takes its ``alloc`` chain inputs from the host record), render the stack plan, reconcile files
(update mode) and merge each stack document 3-way (base = the stored render, ours = the file, theirs =
the new render) with the section rules of :mod:`angee.templates.merge`. A dry run stops before writing;
conflicts without ``overwrite`` raise Conflict(kind ``stack-template``) and write nothing. Otherwise the
files, answers, changed documents and the state are written through one rollback journal, then the
runtime files are regenerated (``stack_prepare``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from angee.api import to_wire
from angee.api.template_updates import StackTemplateUpdateResult
from angee.api.templates import TemplateChange, TemplateConflict
from angee.errors import Conflict, InvalidInput, ManifestError, NotFound
from angee.platform.templates import STACK_STATE_FILE

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.compile import CompiledStack
    from angee.manifest.model import Manifest, Workspace
    from angee.templates.resolve import ResolvedTemplate

MANIFEST = "angee.yaml"
_ALLOC_REF = re.compile(r"\$\{\s*alloc\.")


def _rel(path: str, start: str) -> str:
    return os.path.relpath(path, start).replace(os.sep, "/")


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


# --------------------------------------------------------------------------- one stack document


@dataclass
class DocumentMerge:
    """The merge of one stack document: ``text`` is the canonical merged text (``None`` = stays absent),
    ``write`` whether its canonical bytes differ from the current file's."""

    rel: str
    text: str | None = None
    write: bool = False
    changes: list[TemplateChange] = field(default_factory=list)
    conflicts: list[TemplateConflict] = field(default_factory=list)
    diff: str = ""
    manifest: Manifest | None = None


def _parse(text: str, file: str, *, rendered: bool) -> Manifest:
    """A manifest with defaults applied; a rendered one must also validate (the template's fault)."""
    from angee.manifest.load import parse_manifest
    from angee.manifest.validate import validate_manifest
    from angee.templates.meta import template_error

    try:
        manifest = parse_manifest(text, file=file)
    except ManifestError as err:
        if rendered:
            raise template_error(f"rendered {err}") from None
        raise
    if rendered:
        issues = validate_manifest(manifest)
        if issues:
            raise InvalidInput(issues[0].path, f"rendered {file}: {issues[0].message}")
    return manifest


def _data(manifest: Manifest) -> dict[str, Any]:
    from angee.manifest.emit import to_data

    return to_data(manifest)


def merge_stack_document(
    rel: str,
    base_text: str | None,
    ours_text: str | None,
    theirs_text: str,
    *,
    prefix: str = MANIFEST,
    overwrite: bool = False,
    inner_stack: bool = False,
    template: ResolvedTemplate | None = None,
) -> DocumentMerge:
    """Merge one rendered stack document into its current file (§7.3 steps 5–6; shared with workspace
    updates). ``template`` (the stack's own manifest only) contributes its ``ensure`` and fills an unset
    ``template.active``. Conflicts are reported with ``<prefix>#<path>`` paths unless ``overwrite``."""
    from angee.manifest.emit import dump_manifest, dump_yaml
    from angee.manifest.validate import validate_manifest
    from angee.templates.ensure import apply_ensure
    from angee.templates.merge import (
        ABSENT,
        ThreeWayMerge,
        manifest_changes,
        merge_manifest_data,
        unified_diff,
    )

    theirs = _parse(theirs_text, f"{rel} (rendered)", rendered=True)
    base = None
    if base_text is not None:
        try:
            base = _parse(base_text, f"{rel} (last render)", rendered=False)
        except ManifestError:
            base = None  # an unreadable stored render counts as no render (legacy)
    out = DocumentMerge(rel)
    if ours_text is None:  # the document is not on disk: add it, or respect a local deletion
        run = ThreeWayMerge(overwrite=overwrite)
        merged = run.atomic(ABSENT if base is None else _data(base), ABSENT, _data(theirs), ())
        out.conflicts = [
            TemplateConflict(rel, c.reason, c.to_wire().base, c.to_wire().ours, c.to_wire().theirs)
            for c in run.conflicts
            if not overwrite
        ]
        if merged is not ABSENT:
            out.text, out.write, out.manifest = dump_manifest(theirs), True, theirs
            out.changes = [TemplateChange(rel, "add")]
        return out
    ours = _parse(ours_text, os.path.basename(rel) if prefix == MANIFEST else rel, rendered=False)
    ours_data = _data(ours)
    merge = merge_manifest_data(
        None if base is None else _data(base),
        ours_data,
        _data(theirs),
        overwrite=overwrite,
        inner_stack=inner_stack,
    )
    merged = _parse(dump_yaml(merge.data), f"{rel} (merged)", rendered=False)
    issues = validate_manifest(merged)
    if issues:
        raise InvalidInput(issues[0].path, f"merged {rel}: {issues[0].message}")
    if template is not None:
        apply_ensure(merged, template.meta.ensure)
        if not merged.template.active:
            merged.template.active = template.ref
    out.manifest = merged
    out.text = dump_manifest(merged)
    out.write = out.text != dump_manifest(ours)
    out.changes = manifest_changes(ours_data, _data(merged), prefix) if out.write else []
    out.conflicts = [] if overwrite else [c.to_wire(prefix) for c in merge.conflicts]
    out.diff = unified_diff(ours_text, out.text, MANIFEST if prefix == MANIFEST else rel) if out.write else ""
    return out


# --------------------------------------------------------------------------- locating the render


def locate_answers(root: str, manifest: Manifest) -> str:
    """Step 1: ``ROOT/<f>``, else ``parent(ROOT)/<f>`` when its ``ANGEE_ROOT`` is ROOT's basename."""
    from angee.templates.meta import DEFAULT_ANSWERS_FILE
    from angee.templates.render import read_answers

    name = manifest.template.answers_file or DEFAULT_ANSWERS_FILE
    own = os.path.normpath(os.path.join(root, name))
    if os.path.isfile(own):
        return own
    parent = os.path.normpath(os.path.join(os.path.dirname(root), name))
    if os.path.isfile(parent):
        _, answers = read_answers(parent)
        if os.path.normpath(answers.get("ANGEE_ROOT") or ".") == os.path.basename(root):
            return parent
    message = (
        f'missing answers file "{name}"; re-create the stack with `angee stack init --force` '
        "before `stack update --template`"
    )
    raise InvalidInput("answers_file", message, message=message)


@dataclass
class InnerStack:
    """ROOT is ``<host>/workspaces/<name>/<chain_root>`` of a host record with allocations."""

    host_root: str
    name: str
    workspace_dir: str
    record: Workspace


def find_inner_stack(root: str) -> InnerStack | None:
    """The workspace whose inner stack ROOT is (§7.3 step 3), if any. An unreadable host manifest is an
    error (its allocations are authoritative for the inner stack's ports)."""
    from angee.manifest.load import load_manifest

    current = root
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return None
        host = os.path.dirname(parent)
        if os.path.basename(parent) == "workspaces" and os.path.isfile(os.path.join(host, MANIFEST)):
            break
        current = parent
    record = load_manifest(os.path.join(host, MANIFEST)).workspaces.get(os.path.basename(current))
    if record is None or not record.resolved.chain_root or not record.resolved.allocations:
        return None
    if os.path.normpath(record.resolved.chain_root) != os.path.normpath(os.path.relpath(root, current)):
        return None
    return InnerStack(host, os.path.basename(current), current, record)


def inner_alloc_inputs(inner: InnerStack, cwd: str | None) -> dict[str, str]:
    """The workspace template's chain inputs that reference ``${alloc.…}``, re-resolved against the host
    record (the host owns the inner stack's ports)."""
    from angee.substitution import substitute, template_context
    from angee.templates.resolve import resolve_template

    record = inner.record
    resolved = resolve_template(inner.host_root, record.template, "workspace", cwd=cwd)
    allocations = dict(record.resolved.allocations)
    inputs = dict(record.inputs)
    inputs["workspace_name"] = inner.name
    inputs.update({f"alloc_{pool}": str(port) for pool, port in sorted(allocations.items())})
    ctx = template_context(inner.name, inputs, allocations=allocations, workspace_path=inner.workspace_dir)
    out: dict[str, str] = {}
    for i, entry in enumerate(resolved.meta.chain):
        for key in sorted(entry.inputs):
            value = entry.inputs[key]
            if _ALLOC_REF.search(value):
                out[key] = substitute(value, ctx, where=f"_angee.chain[{i}].inputs.{key}")
    return out


def _inner_base(inner: InnerStack, root: str) -> str | None:
    """The inner manifest as the host's last workspace render left it (base when ROOT has no own state)."""
    from angee.templates.reconcile import load_state

    path = os.path.join(inner.host_root, "run", "template-state", "workspaces", f"{inner.name}.json")
    state = load_state(path)
    if state is None:
        return None
    return state.documents.get(_rel(os.path.join(root, MANIFEST), inner.workspace_dir))


def conflict_error(kind: str, name: str, conflicts: list[TemplateConflict]) -> Conflict:
    """Conflict(``kind``) listing every conflicting path; ``conflicts`` carries the structured list."""
    listed = ", ".join(f"{c.path} ({c.reason})" for c in conflicts)
    reason = (
        f"{len(conflicts)} conflict(s) with the template: {listed}; "
        "use --overwrite to apply the template's values"
    )
    return Conflict(kind, name, reason, conflicts=[to_wire(c) for c in conflicts])


# --------------------------------------------------------------------------- the operation


class StackTemplateOps:
    """``stackUpdateFromTemplate`` (local only: it needs the stack's answers file and template)."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase and PrepareOps

        def load(self) -> Manifest: ...

        def has_manifest(self) -> bool: ...

        def stack_prepare(self) -> CompiledStack: ...

    def stack_update_from_template(
        self, dry_run: bool = False, overwrite: bool = False, inputs: dict[str, str] | None = None
    ) -> StackTemplateUpdateResult:
        """Re-render ``angee.yaml`` (and the template's files) from the stack template, merging 3-way with
        the current stack; ``dry_run`` writes nothing; then the runtime files are regenerated."""
        from angee.lock import root_lock
        from angee.templates.inputs import check_caller_inputs

        caller = check_caller_inputs(inputs)
        if not self.has_manifest():
            raise NotFound("stack", message="stack not found")
        with root_lock(self.root):
            result = self._rerender_stack(caller, dry_run=dry_run, overwrite=overwrite)
        if not dry_run:
            self.stack_prepare()
        return result

    def _rerender_stack(
        self, caller: dict[str, str], *, dry_run: bool, overwrite: bool
    ) -> StackTemplateUpdateResult:
        from angee.templates.chains import stack_plan
        from angee.templates.inputs import check_immutable, flow_inputs, require_inputs
        from angee.templates.meta import template_error
        from angee.templates.render import prepare_render, read_answers
        from angee.templates.resolve import resolve_template

        manifest = self.load()
        answers_path = locate_answers(self.root, manifest)
        target = os.path.dirname(answers_path)
        src, answers = read_answers(answers_path)
        ref = manifest.template.active or src
        if not ref:
            raise InvalidInput(
                "template", f"the stack records no template (template.active, or _src_path in {answers_path})"
            )
        cwd = os.getcwd()
        inner = find_inner_stack(self.root)
        resolved = resolve_template(
            self.root, ref, "stack", cwd=cwd, base_dir=inner.workspace_dir if inner else None
        )
        meta = resolved.meta
        values = flow_inputs(meta, recorded=answers, caller=caller)
        if inner is not None:
            values.update(inner_alloc_inputs(inner, cwd))
        check_immutable(meta, answers, values)
        require_inputs(meta, values)
        verbatim = tuple(
            name
            for name, d in meta.inputs.items()
            if d.canonical_type == "path" and name in answers and values.get(name) == answers[name]
        )
        plan = stack_plan(
            resolved,
            values,
            root=self.root,
            target=target,
            state_path=os.path.join(self.root, STACK_STATE_FILE),
            cwd=cwd,
            verbatim=verbatim,
        )
        main_rel = _rel(os.path.join(self.root, MANIFEST), target)
        with prepare_render(plan, mode="update", overwrite=overwrite) as prepared:
            if main_rel not in prepared.documents:
                raise template_error(f'stack template "{ref}" rendered no angee.yaml')
            files = prepared.result()
            merges: list[DocumentMerge] = []
            for rel, theirs in sorted(prepared.documents.items()):
                main = rel == main_rel
                base = files.previous_documents.get(rel)
                if base is None and main and inner is not None:
                    base = _inner_base(inner, self.root)
                merges.append(
                    merge_stack_document(
                        rel,
                        base,
                        _read_text(os.path.join(target, rel)),
                        theirs,
                        prefix=MANIFEST if main else rel,
                        overwrite=overwrite,
                        inner_stack=main and inner is not None,
                        template=resolved if main else None,
                    )
                )
            changes = [*files.changes, *(c for m in merges for c in m.changes)]
            conflicts = [*files.conflicts, *(c for m in merges for c in m.conflicts)]
            result = StackTemplateUpdateResult(
                changed=any(c.kind != "adopt" for c in changes),
                changes=sorted(changes, key=lambda c: c.path),
                conflicts=sorted(conflicts, key=lambda c: c.path),
                manifest_diff=next(m.diff for m in merges if m.rel == main_rel),
            )
            if dry_run:
                return result
            if result.conflicts:
                raise conflict_error("stack-template", "", result.conflicts)
            writes = {
                os.path.join(target, m.rel): m.text.encode("utf-8")
                for m in merges
                if m.write and m.text is not None
            }
            prepared.apply("stack-template", extra_files=writes)
        return result


__all__ = [
    "DocumentMerge",
    "InnerStack",
    "StackTemplateOps",
    "conflict_error",
    "find_inner_stack",
    "inner_alloc_inputs",
    "locate_answers",
    "merge_stack_document",
]
