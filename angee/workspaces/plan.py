"""The render plan of one workspace (spec templates-workspaces-git §3.7, §5.2 step 9, §5.5): the workspace
template at the workspace dir, then its chain layers (the inner stack), with the injected inputs, the
persist roots protected and the declared local-source slot links allowed as write paths."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from angee.errors import InvalidInput
from angee.manifest.model import Manifest, PersistPath, WorkspaceSource

INJECTED_NAMES = ("workspace_name",)
INJECTED_PREFIXES = ("alloc_",)


def state_path(root: str, name: str) -> str:
    """The workspace's render state file ``ROOT/run/template-state/workspaces/<name>.json``."""
    return os.path.join(root, "run", "template-state", "workspaces", f"{name}.json")


def workspace_dir(root: str, name: str) -> str:
    return os.path.join(root, "workspaces", name)


@dataclass
class WorkspacePlan:
    """A built plan plus what the workspace record keeps of it."""

    plan: Any  # angee.templates.RenderPlan
    chain: list[str]
    chain_root: str
    persist_paths: dict[str, PersistPath] = field(default_factory=dict)


def _inside_rel(value: str, what: str) -> str:
    normal = posixpath.normpath(value.replace("\\", "/")) if value else ""
    if not normal or posixpath.isabs(normal) or normal == ".." or normal.startswith("../"):
        raise InvalidInput(what, f'"{value}" escapes the workspace root')
    return normal


def injected_inputs(name: str, allocations: Mapping[str, int]) -> dict[str, str]:
    """Step 6 of §3.4 for the workspace layer: ``workspace_name`` and ``alloc_<pool>``."""
    out = {"workspace_name": name}
    out.update({f"alloc_{pool}": str(port) for pool, port in sorted(allocations.items())})
    return out


def build_workspace_plan(
    root: str,
    name: str,
    resolved: Any,
    recorded_inputs: Mapping[str, str],
    allocations: Mapping[str, int],
    slots: Mapping[str, WorkspaceSource],
    manifest: Manifest,
) -> WorkspacePlan:
    """Build the plan from the recorded inputs (steps 2–5 + generated) and allocations; raises
    InvalidInput for bad substitutions, chain roots or persist paths."""
    from angee.paths import source_host_path
    from angee.substitution import SubstitutionError, substitute, template_context
    from angee.templates import Layer, RenderPlan, build_chain_layers, resolve_path_inputs

    ws_dir = workspace_dir(root, name)
    meta = resolved.meta
    try:
        ctx = template_context(
            name, dict(recorded_inputs), allocations=dict(allocations), workspace_path=ws_dir
        )
        chain_root = (
            substitute(meta.chain_root, ctx, where="_angee.chain_root").strip() if meta.chain_root else ""
        )
        chain_layers = build_chain_layers(
            resolved,
            dict(recorded_inputs),
            root=root,
            target=ws_dir,
            plan_kind="workspace",
            name=name,
            allocations=dict(allocations),
            workspace_path=ws_dir,
            base_dir=ws_dir,
            bound=ws_dir,
            bound_strict=True,
        )
    except SubstitutionError as err:
        raise InvalidInput("template", err.reason, message=str(err)) from None
    if chain_root:
        chain_root = _inside_rel(chain_root, "chain_root")
    layer_inputs = dict(recorded_inputs)
    layer_inputs.update(injected_inputs(name, allocations))
    layer_inputs = resolve_path_inputs(meta, layer_inputs, ws_dir)
    persist = {
        key: PersistPath(
            subpath=_inside_rel(spec.get("subpath") or key, f"persist.{key}"), scope=spec.get("scope", "")
        )
        for key, spec in sorted(meta.persist.items())
    }
    links: dict[str, str] = {}
    for slot, rec in slots.items():
        source = manifest.sources.get(rec.source)
        if source is not None and source.kind == "local" and (rec.mode or "mount") == "mount":
            subpath = _inside_rel(rec.subpath or slot, f"sources.{slot}.subpath")
            links[subpath] = os.path.realpath(source_host_path(root, rec.source, source))
    plan = RenderPlan(
        target=ws_dir,
        layers=[
            Layer(name="workspace", template=resolved, dest_root=".", inputs=layer_inputs),
            *chain_layers,
        ],
        state_path=state_path(root, name),
        protected_paths=sorted({p.subpath for p in persist.values()}),
        local_slot_links=links,
    )
    chain = [resolved.ref, *(layer.template.ref for layer in chain_layers)]
    return WorkspacePlan(plan=plan, chain=chain, chain_root=chain_root, persist_paths=persist)
