"""Template operations of the Platform: introspection and ``stackInit`` (spec §2.3, §7.1, §10).

``stack_init`` renders a stack template in create mode into ``target`` (``path`` relative to the root,
default the root); the prepared stack root is ``target/ANGEE_ROOT`` when that input is set. Init into an
existing, non-empty root needs ``force`` and holds that root's lock while rendering and writing.
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING

from angee.api.templates import StackInitResult, TemplateDescriptor
from angee.errors import Conflict, InvalidInput

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest
    from angee.plugins import PluginRegistry
    from angee.templates.resolve import ResolvedTemplate

STATE_DIR = os.path.join("run", "template-state")
STACK_STATE_FILE = os.path.join(STATE_DIR, "stack.json")


def _non_empty(path: str) -> bool:
    if not os.path.lexists(path):
        return False
    if not os.path.isdir(path):
        return True
    return bool(os.listdir(path))


class TemplateOps:
    """``templates``, ``template(ref)`` and ``stackInit``."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase

        @property
        def plugins(self) -> PluginRegistry: ...

    def templates_list(self) -> list[TemplateDescriptor]:
        """Every template under ``ROOT/.templates`` and ``ROOT/templates``, sorted by ref."""
        from angee.templates.introspect import list_templates

        return list_templates(self.root)

    def template_get(self, ref: str) -> TemplateDescriptor:
        """One template descriptor (kind from the ref's first segment; remote refs allowed)."""
        from angee.templates.introspect import get_template

        return get_template(self.root, ref, cwd=os.getcwd())

    def stack_init(
        self,
        template: str,
        path: str | None = None,
        inputs: dict[str, str] | None = None,
        force: bool = False,
    ) -> StackInitResult:
        """Render a stack template (create mode) and install its ``angee.yaml``; returns the prepared root."""
        from angee.lock import root_lock
        from angee.templates.inputs import check_caller_inputs, flow_inputs, require_inputs
        from angee.templates.resolve import resolve_template

        caller = check_caller_inputs(inputs)
        target = os.path.normpath(os.path.join(self.root, path)) if path else self.root
        resolved = resolve_template(self.root, template, "stack", cwd=os.getcwd())
        values = flow_inputs(resolved.meta, caller=caller)
        require_inputs(resolved.meta, values)
        angee_root = values.get("ANGEE_ROOT", "")
        prepared_root = os.path.normpath(os.path.join(target, angee_root)) if angee_root else target
        existing = _non_empty(prepared_root)
        if existing and not force:
            raise Conflict(
                "stack-root",
                prepared_root,
                "already exists and is non-empty; use --force to overwrite or `angee stack update` to update",
            )
        with root_lock(prepared_root) if existing else nullcontext():
            manifest = self._render_stack(template, resolved, values, target, prepared_root)
        self._materialize_new_sources(prepared_root, manifest)
        return StackInitResult(template=template.strip(), root=prepared_root)

    def _render_stack(
        self,
        template: str,
        resolved: ResolvedTemplate,
        values: dict[str, str],
        target: str,
        prepared_root: str,
    ) -> Manifest:
        from angee.templates.chains import stack_plan
        from angee.templates.meta import template_error
        from angee.templates.render import prepare_render

        plan = stack_plan(
            resolved,
            values,
            root=self.root,
            target=target,
            state_path=os.path.join(prepared_root, STACK_STATE_FILE),
            cwd=os.getcwd(),
        )
        manifest_rel = os.path.relpath(os.path.join(prepared_root, "angee.yaml"), target).replace(os.sep, "/")
        with prepare_render(plan, mode="create") as prepared:
            documents = prepared.documents
            if manifest_rel not in documents:
                raise template_error(f'stack template "{template}" rendered no angee.yaml')
            outputs: dict[str, bytes] = {}
            main = None
            for rel, text in sorted(documents.items()):
                manifest = _installed_manifest(rel, text, resolved if rel == manifest_rel else None)
                outputs[os.path.join(target, rel)] = _dump(manifest)
                if rel == manifest_rel:
                    main = manifest
            prepared.apply("stack-root", extra_files=outputs)
        assert main is not None
        return main

    def _materialize_new_sources(self, prepared_root: str, manifest: Manifest) -> None:
        """Make every declared source present on disk through its source kind plugin (§4)."""
        for name in sorted(manifest.sources):
            source = manifest.sources[name]
            try:
                kind = self.plugins.provider("source_kinds", source.kind, "source kind")
            except InvalidInput as err:
                raise InvalidInput(f"sources.{name}.kind", err.reason) from None
            kind.materialize(prepared_root, name, source, lambda line: print(line, file=sys.stderr))


def _installed_manifest(rel: str, text: str, resolved: ResolvedTemplate | None) -> Manifest:
    """Parse and validate a rendered stack document; for the stack's own manifest also apply the
    template's ``ensure`` and record ``template.active`` / ``template.answers_file`` when unset."""
    from angee.errors import ManifestError
    from angee.manifest.load import parse_manifest
    from angee.manifest.validate import validate_manifest
    from angee.templates.ensure import apply_ensure
    from angee.templates.meta import DEFAULT_ANSWERS_FILE, template_error

    try:
        manifest = parse_manifest(text, file=f"{rel} (rendered)")
    except ManifestError as err:
        raise template_error(f"rendered {err}") from None
    issues = validate_manifest(manifest)
    if issues:
        raise InvalidInput(issues[0].path, f"rendered {rel}: {issues[0].message}")
    if resolved is not None:
        apply_ensure(manifest, resolved.meta.ensure)
        if not manifest.template.active:
            manifest.template.active = resolved.ref
        if not manifest.template.answers_file and resolved.meta.answers_file != DEFAULT_ANSWERS_FILE:
            manifest.template.answers_file = resolved.meta.answers_file
    return manifest


def _dump(manifest: Manifest) -> bytes:
    from angee.manifest.emit import dump_manifest

    return dump_manifest(manifest).encode("utf-8")
