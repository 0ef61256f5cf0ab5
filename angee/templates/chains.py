"""Chain layers and the stack plan (spec §3.7).

Stack plan: chain entries in order, the stack template last (overlay); chain layers land at
``<entry.root or chain_root or "">``. Workspace plan: the workspace template first (``.``), then its
chain entries at ``<entry.root or chain_root>`` (a root is required). Chain inputs = the parent's
(unresolved) effective inputs overlaid by the substituted ``entry.inputs``, then the chained template's
own defaults and generated values for what is still unset, then ``type: path`` resolution against the
entry destination. Chain layers get no ``workspace_name``/``alloc_*`` implicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from angee.errors import InvalidInput
from angee.substitution import substitute, template_context
from angee.templates.inputs import default_inputs, generate_inputs, resolve_path_inputs
from angee.templates.render import Layer, RenderPlan
from angee.templates.resolve import ResolvedTemplate, resolve_chain_template


def _clean_root(value: str, entry: str) -> str:
    """A chain destination relative to the plan target; it may not be absolute or leave the target."""
    normal = os.path.normpath(value or ".")
    if os.path.isabs(normal) or normal == ".." or normal.startswith("../"):
        raise InvalidInput(
            "chain", f'chain entry "{entry}": root "{value}" must stay inside the render target'
        )
    return "." if normal == "." else normal.replace(os.sep, "/")


def build_chain_layers(
    parent: ResolvedTemplate,
    parent_inputs: Mapping[str, str],
    *,
    root: str,
    target: str,
    plan_kind: str,
    name: str = "",
    allocations: Mapping[str, int] | None = None,
    workspace_path: str | None = None,
    base_dir: str | None = None,
    cwd: str | None = None,
    bound: str = "",
    bound_strict: bool = False,
) -> list[Layer]:
    """The chain layers of ``parent`` (a workspace or stack template), in order.

    ``parent_inputs`` are the parent's effective inputs before path resolution (workspace: the recorded
    inputs; stack: the merged stack inputs). ``base_dir`` is where relative chain refs are tried first
    (the workspace dir; default the parent template's own dir); templates found inside ``bound`` (the
    workspace dir, strict) inherit it as their ``include_root`` bound. ``root`` is the stack root used
    for the ``resolve(ref, "stack"|"project")`` fallback.
    """
    ctx = template_context(
        name, dict(parent_inputs), allocations=dict(allocations or {}), workspace_path=workspace_path
    )
    meta = parent.meta
    if base_dir is None:
        base_dir = parent.path
        if parent.bound:
            bound, bound_strict = parent.bound, parent.bound_strict
    chain_root = substitute(meta.chain_root, ctx, where="_angee.chain_root") if meta.chain_root else ""
    layers: list[Layer] = []
    for i, entry in enumerate(meta.chain):
        where = f"_angee.chain[{i}]"
        ref = substitute(entry.template, ctx, where=f"{where}.template").strip()
        dest = substitute(entry.root, ctx, where=f"{where}.root") if entry.root else chain_root
        if plan_kind == "workspace" and not dest:
            raise InvalidInput("chain", f'chain entry "{ref}" requires a root')
        dest = _clean_root(dest, ref)
        resolved = resolve_chain_template(
            root, ref, base_dir=base_dir, cwd=cwd, bound=bound, bound_strict=bound_strict
        )
        overlay = {k: substitute(v, ctx, where=f"{where}.inputs.{k}") for k, v in entry.inputs.items()}
        inputs = dict(parent_inputs)
        inputs.update(overlay)
        for key, value in default_inputs(resolved.meta).items():
            inputs.setdefault(key, value)
        inputs.update(generate_inputs(resolved.meta, inputs))
        dest_abs = os.path.normpath(os.path.join(target, dest))
        inputs = resolve_path_inputs(resolved.meta, inputs, dest_abs)
        layers.append(Layer(name=f"chain:{i}", template=resolved, dest_root=dest, inputs=inputs))
    return layers


def stack_plan(
    resolved: ResolvedTemplate,
    inputs: Mapping[str, str],
    *,
    root: str,
    target: str,
    state_path: str,
    cwd: str | None = None,
    verbatim: tuple[str, ...] = (),
) -> RenderPlan:
    """The render plan of a stack template at ``target``: its chain layers, then the stack layer.

    ``inputs`` are the merged stack inputs before path resolution; ``verbatim`` names answered path
    inputs that are already resolved (stack update, §7.3).
    """
    target = os.path.abspath(target)
    chain = build_chain_layers(resolved, inputs, root=root, target=target, plan_kind="stack", cwd=cwd)
    stack_inputs = resolve_path_inputs(resolved.meta, inputs, target, verbatim=verbatim)
    layers = [*chain, Layer(name="stack", template=resolved, dest_root=".", inputs=stack_inputs)]
    return RenderPlan(target=target, layers=layers, state_path=state_path)
