"""Services created from service templates (spec templates-workspaces-git §8).

A service template renders one layer into ``ROOT/services/<name>/``: assets (reconciled like any template
tree, state in ``ROOT/run/template-state/services/<name>.json``) plus ``service.yaml``, a handler document
that is never installed: its single ``services.<name>`` entry goes into ``angee.yaml`` and the rendered
text is kept in the state as the baseline of later 3-way merges. Creates and updates write assets,
answers, manifest and state through one rollback journal under the root lock, then regenerate the
runtime files. The field-based ``service_destroy`` calls :meth:`ServiceTemplateOps.destroy_service_assets`.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from typing import TYPE_CHECKING, Any

from angee.api import ServiceState
from angee.api.template_updates import ServiceTemplateUpdateResult
from angee.api.templates import TemplateChange
from angee.errors import AngeeError, Conflict, InvalidInput, ManifestError, NotFound

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api import MutationResult, StackStatus
    from angee.compile import CompiledStack
    from angee.manifest.model import Manifest, Service
    from angee.templates.meta import TemplateMeta
    from angee.templates.render import PreparedRender, RenderPlan
    from angee.templates.resolve import ResolvedTemplate

SERVICE_DOCUMENT = "service.yaml"
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_NAME_PATTERN = "agent-${workspace.name}"
INJECTED_NAMES = ("service_name", "workspace_name", "workspace_path")
IGNORED_DOCUMENT_KEYS = ("version", "kind", "name")


def service_dir(root: str, name: str) -> str:
    """``ROOT/services/<name>``: the render target and build context of a template service."""
    return os.path.join(root, "services", name)


def service_state_path(root: str, name: str) -> str:
    """The render state of a template service."""
    return os.path.join(root, "run", "template-state", "services", f"{name}.json")


def ensure_pools(ensure: dict[str, Any]) -> list[str]:
    """The port pools a service template's ``ensure`` names (``operator.port_pool.<pool>[…]`` keys)."""
    pools: set[str] = set()
    for key, value in ensure.items():
        parts = str(key).split(".")
        if parts[:2] != ["operator", "port_pool"]:
            continue
        if len(parts) > 2:
            pools.add(parts[2])
        elif isinstance(value, dict):
            pools.update(str(p) for p in value)
    return sorted(pools)


def _check_name(name: str) -> str:
    if not SERVICE_NAME.fullmatch(name):
        raise InvalidInput("name", f'service name "{name}" must match ^[a-z0-9][a-z0-9_-]{{0,62}}$')
    return name


def resolve_service_name(
    meta: TemplateMeta, workspace: str, inputs: dict[str, str], given: str, manifest: Manifest, root: str
) -> str:
    """``given``, else ``name_pattern`` → ``instance_naming.pattern`` → ``agent-${workspace.name}``
    substituted (``${name}`` = ``${workspace.name}`` = the workspace), lowercased and trimmed."""
    from angee.substitution import substitute, template_context

    if given.strip():
        return _check_name(given.strip())
    pattern = meta.name_pattern or meta.instance_naming.pattern or DEFAULT_NAME_PATTERN
    ctx = template_context(
        workspace,
        inputs,
        workspace_name=workspace,
        workspace_path=os.path.join(root, "workspaces", workspace),
        manifest=manifest,
        root=root,
    )
    return _check_name(substitute(pattern, ctx, where="_angee.name_pattern").lower().strip())


def parse_service_document(text: str, name: str, file: str = SERVICE_DOCUMENT) -> Service:
    """The one service of a rendered ``service.yaml``: top-level ``services`` only (``version``/``kind``/
    ``name`` ignored), exactly one entry keyed ``name``, a build context under ``services/<name>/``."""
    import yaml

    from angee.manifest.emit import dump_yaml
    from angee.manifest.load import parse_manifest

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InvalidInput(SERVICE_DOCUMENT, f"{file}: invalid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(data, dict):
        raise InvalidInput(SERVICE_DOCUMENT, f"{file} must be a mapping with a services key")
    for key in data:
        if key != "services" and key not in IGNORED_DOCUMENT_KEYS:
            raise InvalidInput(str(key), f'{file}: top-level key "{key}" is not allowed (only services)')
    services = data.get("services")
    if not isinstance(services, dict) or len(services) != 1:
        raise InvalidInput("services", f'{file} must declare exactly one service "{name}"')
    (key,) = services
    if key != name:
        raise InvalidInput("services", f'{file} declares service "{key}", expected "{name}"')
    try:
        manifest = parse_manifest(dump_yaml({"services": services}), file=file)
    except ManifestError as err:
        raise InvalidInput(f"services.{name}", str(err)) from None
    service = manifest.services[name]
    check_build_context(name, service)
    return service


def check_build_context(name: str, service: Service) -> None:
    """``build.context`` (string or map field) must be relative and ``services/<name>`` or under it."""
    build = service.build
    context = build.get("context") if isinstance(build, dict) else build
    if context is None:
        return
    where = f"services.{name}.build" + (".context" if isinstance(build, dict) else "")
    text = str(context)
    normal = posixpath.normpath(text) if text else ""
    allowed = f"services/{name}"
    if posixpath.isabs(text) or not (normal == allowed or normal.startswith(allowed + "/")):
        raise InvalidInput(where, f'build context "{text}" must be {allowed}/ or a directory under it')


def declare_secret_refs(manifest: Manifest, service: Service) -> list[str]:
    """Declare (empty) every secret the service references in env values (sorted keys), command, ports,
    mounts and workdir that the stack does not declare yet; returns the new names."""
    from angee.manifest.model import Secret
    from angee.substitution import secret_refs

    strings = [service.env[k] for k in sorted(service.env)]
    strings += [*service.command, *service.ports, *service.mounts, service.workdir]
    added = [ref for ref in secret_refs(*strings) if ref not in manifest.secrets]
    for ref in added:
        manifest.secrets[ref] = Secret()
    return added


def take_service_document(prepared: PreparedRender, ref: str) -> str:
    """Move ``service.yaml`` out of the rendered tree into the handler documents and re-plan the files."""
    from angee.templates.meta import template_error

    path = os.path.join(prepared.scratch, SERVICE_DOCUMENT)
    if not os.path.isfile(path) or os.path.islink(path):
        raise template_error(f'service template "{ref}" rendered no {SERVICE_DOCUMENT}')
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    prepared.documents[SERVICE_DOCUMENT] = text
    prepared.plan_changes()
    return text


def _validate(manifest: Manifest) -> None:
    from angee.manifest.validate import validate_manifest

    issues = validate_manifest(manifest)
    if issues:
        raise InvalidInput(issues[0].path, issues[0].message)


class ServiceTemplateOps:
    """``serviceCreate`` and ``serviceUpdateFromTemplate``, plus the asset clean-up of a destroy."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase, PrepareOps, StackOps and RuntimeOps

        def load(self) -> Manifest: ...

        def has_manifest(self) -> bool: ...

        def stack_prepare(self) -> CompiledStack: ...

        def stack_status(self) -> StackStatus: ...

        def service_up(self, name: str) -> MutationResult: ...

    # ------------------------------------------------------------------ shared steps

    def _service_plan(self, name: str, resolved: ResolvedTemplate, inputs: dict[str, str]) -> RenderPlan:
        from angee.templates.render import Layer, RenderPlan

        return RenderPlan(
            target=service_dir(self.root, name),
            layers=[Layer("service", resolved, ".", inputs)],
            state_path=service_state_path(self.root, name),
        )

    def _injected(self, manifest: Manifest, name: str, workspace: str, meta: TemplateMeta) -> dict[str, str]:
        """Step 6 of §3.4 for a service: names, the workspace path and one port per ensured pool (an
        existing lease of ``service/<name>/<pool>`` is reused)."""
        from angee.ports import allocate

        out = {
            "service_name": name,
            "workspace_name": workspace,
            "workspace_path": os.path.join(self.root, "workspaces", workspace),
        }
        for pool in ensure_pools(meta.ensure):
            out[f"alloc_{pool}"] = str(allocate(manifest, pool, f"service/{name}/{pool}"))
        return out

    def _install_entry(self, manifest: Manifest, name: str, service: Service) -> None:
        """Put the entry into the manifest, declare its secret references, release the leases of a routed
        service and validate the result."""
        from angee.ports import release

        manifest.services[name] = service
        declare_secret_refs(manifest, service)
        if service.route is not None:
            release(manifest, f"service/{name}/")
        _validate(manifest)

    # ------------------------------------------------------------------ create (§8.1)

    def service_create(
        self,
        template: str,
        workspace: str,
        inputs: dict[str, str] | None = None,
        name: str | None = None,
        start: bool = False,
    ) -> ServiceState:
        """Render a service template for a workspace into ``services/<name>/`` and declare its service;
        regenerate the runtime files and start it when ``start``."""
        from angee.lock import root_lock
        from angee.manifest.emit import dump_manifest
        from angee.templates.ensure import apply_ensure
        from angee.templates.inputs import (
            check_caller_inputs,
            flow_inputs,
            reject_injected,
            require_inputs,
            resolve_path_inputs,
        )
        from angee.templates.render import prepare_render
        from angee.templates.resolve import resolve_template

        template, workspace = (template or "").strip(), (workspace or "").strip()
        if not template:
            raise InvalidInput("template", "template is required")
        if not workspace:
            raise InvalidInput("workspace", "workspace is required")
        caller = check_caller_inputs(inputs)
        reject_injected(caller, INJECTED_NAMES)
        if not self.has_manifest():
            raise NotFound("stack", message="stack not found")
        with root_lock(self.root):
            manifest = self.load()
            if workspace not in manifest.workspaces:
                raise NotFound("workspace", workspace)
            resolved = resolve_template(self.root, template, "service", cwd=os.getcwd())
            meta = resolved.meta
            apply_ensure(manifest, meta.ensure)
            values = flow_inputs(meta, caller=caller)
            svc = resolve_service_name(meta, workspace, values, name or "", manifest, self.root)
            if svc in manifest.services:
                raise Conflict("service", svc, "already exists")
            values.update(self._injected(manifest, svc, workspace, meta))
            require_inputs(meta, values)
            values = resolve_path_inputs(meta, values, service_dir(self.root, svc))
            with prepare_render(self._service_plan(svc, resolved, values), mode="create") as prepared:
                text = take_service_document(prepared, resolved.ref)
                service = parse_service_document(text, svc, f"{template}: {SERVICE_DOCUMENT} (rendered)")
                self._install_entry(manifest, svc, service)
                prepared.apply(
                    "service-template",
                    extra_files={
                        os.path.join(self.root, "angee.yaml"): dump_manifest(manifest).encode("utf-8")
                    },
                )
        self.stack_prepare()
        status = "declared"
        if start:
            self.service_up(svc)
            try:
                status = self.stack_status().services[svc].status
            except (AngeeError, KeyError):
                pass
        return ServiceState(name=svc, runtime=service.runtime, status=status)

    # ------------------------------------------------------------------ update from template (§8.2)

    def _service_origin(self, name: str) -> tuple[str, dict[str, str]]:
        """The template ref (the single layer of the render state, else the answers' ``_src_path``) and the
        recorded answers of a template service."""
        from angee.templates.meta import DEFAULT_ANSWERS_FILE
        from angee.templates.reconcile import load_state
        from angee.templates.render import read_answers

        state = load_state(service_state_path(self.root, name))
        layer = state.layers[0] if state is not None and len(state.layers) == 1 else {}
        answers_path = os.path.join(
            service_dir(self.root, name), layer.get("answers_file") or DEFAULT_ANSWERS_FILE
        )
        src, answers = read_answers(answers_path) if os.path.isfile(answers_path) else ("", {})
        ref = layer.get("template") or src
        if not ref:
            raise InvalidInput(
                "template",
                f'service "{name}" was not created from a template (no render state or answers file)',
            )
        return ref, answers

    def service_update_from_template(
        self, name: str, inputs: dict[str, str] | None = None, dry_run: bool = False, overwrite: bool = False
    ) -> ServiceTemplateUpdateResult:
        """Re-render a template service: assets reconcile (§3.8), the entry merges 3-way with the baseline
        ``service.yaml``; ``dry_run`` writes nothing; never renames, rebinds or restarts the service."""
        from angee.lock import root_lock
        from angee.templates.inputs import check_caller_inputs, reject_injected

        caller = check_caller_inputs(inputs)
        reject_injected(caller, INJECTED_NAMES)
        if not self.has_manifest():
            raise NotFound("stack", message="stack not found")
        with root_lock(self.root):
            result = self._rerender_service(name, caller, dry_run=dry_run, overwrite=overwrite)
        if not dry_run:
            self.stack_prepare()
        return result

    def _rerender_service(
        self, name: str, caller: dict[str, str], *, dry_run: bool, overwrite: bool
    ) -> ServiceTemplateUpdateResult:
        from angee.manifest.emit import dump_manifest, to_data
        from angee.platform.stack_template import conflict_error
        from angee.templates.ensure import apply_ensure
        from angee.templates.inputs import (
            check_immutable,
            flow_inputs,
            require_inputs,
            resolve_path_inputs,
        )
        from angee.templates.merge import ABSENT, format_path, merge_entry, value_changes
        from angee.templates.render import prepare_render
        from angee.templates.resolve import resolve_template

        manifest = self.load()
        if name not in manifest.services:
            raise NotFound("service", name)
        before = dump_manifest(manifest)
        ref, answers = self._service_origin(name)
        workspace = answers.get("workspace_name", "")
        if not workspace:
            raise InvalidInput(
                "workspace_name", f'service "{name}": its template answers record no workspace_name'
            )
        if workspace not in manifest.workspaces:
            raise NotFound("workspace", workspace)
        resolved = resolve_template(self.root, ref, "service", cwd=os.getcwd())
        meta = resolved.meta
        apply_ensure(manifest, meta.ensure)
        recorded = {
            k: v for k, v in answers.items() if k not in INJECTED_NAMES and not k.startswith("alloc_")
        }
        values = flow_inputs(meta, recorded=recorded, caller=caller)
        check_immutable(meta, recorded, values)
        values.update(self._injected(manifest, name, workspace, meta))
        require_inputs(meta, values)
        verbatim = tuple(
            k
            for k, d in meta.inputs.items()
            if d.canonical_type == "path" and k in recorded and values.get(k) == recorded[k]
        )
        values = resolve_path_inputs(meta, values, service_dir(self.root, name), verbatim=verbatim)
        plan = self._service_plan(name, resolved, values)
        with prepare_render(plan, mode="update", overwrite=overwrite) as prepared:
            base_text = prepared.previous.documents.get(SERVICE_DOCUMENT)
            theirs = parse_service_document(
                take_service_document(prepared, ref), name, f"{ref}: {SERVICE_DOCUMENT} (rendered)"
            )
            base: Any = ABSENT
            if base_text is not None:
                try:
                    base = to_data(
                        parse_service_document(base_text, name, f"{SERVICE_DOCUMENT} (last render)")
                    )
                except InvalidInput:
                    base = ABSENT  # an unreadable baseline counts as none
            ours = to_data(manifest.services[name])
            path = ("services", name)
            merged, found, adopted = merge_entry(base, ours, to_data(theirs), path, overwrite=overwrite)
            service = parse_service_document(_entry_document(name, merged), name, f"services.{name} (merged)")
            self._install_entry(manifest, name, service)
            files = prepared.result()
            changes = list(files.changes)
            if adopted:
                changes.append(TemplateChange(format_path(path), "adopt"))
            changes += [
                TemplateChange(format_path(p), kind)
                for p, kind in value_changes(ours, to_data(service), path, 1)
            ]
            conflicts = [*files.conflicts, *([] if overwrite else [c.to_wire() for c in found])]
            result = ServiceTemplateUpdateResult(
                name=name,
                service=to_data(service),
                changed=any(c.kind != "adopt" for c in changes),
                changes=sorted(changes, key=lambda c: c.path),
                conflicts=sorted(conflicts, key=lambda c: c.path),
            )
            if dry_run:
                return result
            if result.conflicts:
                raise conflict_error("service-template", name, result.conflicts)
            text = dump_manifest(manifest)
            writes = {} if text == before else {os.path.join(self.root, "angee.yaml"): text.encode("utf-8")}
            prepared.apply("service-template", extra_files=writes)
        return result

    # ------------------------------------------------------------------ destroy (§8.3)

    def destroy_service_assets(self, name: str) -> None:
        """Delete ``ROOT/services/<name>/`` (never following a symlink) and the service's render state;
        called by ``service_destroy`` after the entry is removed. Missing pieces are fine."""
        if not name or name in (".", "..") or "/" in name or os.sep in name:
            raise InvalidInput("name", f'invalid service name "{name}"')
        directory = service_dir(self.root, name)
        if os.path.islink(directory):
            os.unlink(directory)
        elif os.path.isdir(directory):
            shutil.rmtree(directory)
        try:
            os.unlink(service_state_path(self.root, name))
        except FileNotFoundError:
            pass


def _entry_document(name: str, entry: Any) -> str:
    """A ``service.yaml`` text holding one merged entry (so it is parsed and checked like a render)."""
    from angee.manifest.emit import dump_yaml

    return dump_yaml({"services": {name: entry if isinstance(entry, dict) else {}}})


__all__ = [
    "SERVICE_DOCUMENT",
    "ServiceTemplateOps",
    "check_build_context",
    "declare_secret_refs",
    "ensure_pools",
    "parse_service_document",
    "resolve_service_name",
    "service_dir",
    "service_state_path",
    "take_service_document",
]
