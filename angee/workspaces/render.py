"""Rendering a workspace plan (spec templates-workspaces-git §3.8, §5.2 step 9, §5.5): create mode with the
create journal, update mode with the inner stack documents merged 3-way at file level."""

from __future__ import annotations

import os
from typing import Any

from angee.errors import Conflict, InvalidInput, ManifestError


def check_document(rel: str, text: str) -> None:
    """A rendered inner stack document must be a valid manifest (it is written as rendered)."""
    from angee.manifest.load import parse_manifest
    from angee.manifest.validate import validate_manifest

    try:
        manifest = parse_manifest(text, file=f"{rel} (rendered)")
    except ManifestError as err:
        raise InvalidInput("template", f"rendered {err}") from None
    issues = validate_manifest(manifest)
    if issues:
        raise InvalidInput(issues[0].path, f"rendered {rel}: {issues[0].message}")


def render_create(plan: Any, journal: Any) -> None:
    """Render in create mode; inner stack documents are written as rendered. Paths that do not exist yet
    are journaled first so a rollback inside a pre-existing directory removes them."""
    from angee.templates import prepare_render

    target = os.path.abspath(plan.target)
    with prepare_render(plan, mode="create") as prepared:
        for rel, text in prepared.documents.items():
            check_document(rel, text)
        documents = {
            os.path.join(target, rel): text.encode("utf-8") for rel, text in prepared.documents.items()
        }
        planned = [
            os.path.join(target, e.path) for e in prepared.entries if e.action not in ("keep", "adopt")
        ]
        planned += [os.path.join(target, rel) for rel in prepared.answers]
        planned += [*documents, os.path.abspath(plan.state_path)]
        for path in planned:
            if not os.path.lexists(path):
                journal.record("file", path)
        prepared.apply("workspace-template", extra_files=documents)


def render_update(name: str, plan: Any, overwrite: bool) -> None:
    """Reconcile the plan in update mode. Inner stack documents go through the §7.3 manifest merge (base =
    the last render, ours = the file, theirs = the new render; ports are the workspace's: theirs). Any file
    or manifest conflict → Conflict(kind ``workspace-template``) listing them, nothing written."""
    from angee.api import to_wire
    from angee.platform.stack_template import merge_stack_document
    from angee.templates import prepare_render

    target = os.path.abspath(plan.target)
    with prepare_render(plan, mode="update", overwrite=overwrite) as prepared:
        base_docs = prepared.result().previous_documents
        writes: dict[str, bytes] = {}
        conflicts: list[dict[str, Any]] = [{"path": c.path, "reason": c.reason} for c in prepared.conflicts]
        for rel, theirs in sorted(prepared.documents.items()):
            path = os.path.join(target, rel)
            try:
                with open(path, encoding="utf-8") as fh:
                    ours: str | None = fh.read()
            except (FileNotFoundError, NotADirectoryError):
                ours = None
            merged = merge_stack_document(
                rel, base_docs.get(rel), ours, theirs, prefix=rel, overwrite=overwrite, inner_stack=True
            )
            conflicts.extend(to_wire(c) for c in merged.conflicts)
            if merged.write and merged.text is not None:
                writes[path] = merged.text.encode("utf-8")
        if conflicts and not overwrite:
            conflicts.sort(key=lambda c: c["path"])
            listed = ", ".join(f"{c['path']} ({c['reason']})" for c in conflicts)
            raise Conflict(
                "workspace-template",
                name,
                f"{len(conflicts)} path(s) differ from the template: {listed}; use --overwrite to replace them",
                conflicts=conflicts,
            )
        prepared.apply("workspace-template", extra_files=writes)
