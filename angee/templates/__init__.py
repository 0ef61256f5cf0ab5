"""Angee's template engine on Copier 9 (spec templates-workspaces-git §1–§3, §7.1).

Importing this package never imports Copier: only a render does (``angee/templates/copier_ext.py``).

Public API (other platform modules call these names):

Resolution and metadata
    ``resolve_template(root, ref, kind, *, base_dir=None, cwd=None, template_paths=None) -> ResolvedTemplate``
        ``.ref`` (recorded ref), ``.path`` (absolute template dir), ``.meta`` (:class:`TemplateMeta`).
        Raises NotFound(kind="template") / InvalidInput. Remote refs (GitHub URLs, the ``o/r//path@ref``
        shorthand, ``file:///abs/repo//path?ref=x``) are cloned into the user cache.
    ``resolve_chain_template(root, ref, *, base_dir, cwd=None, bound="", bound_strict=False)``
    ``load_meta(template_dir, want_kind=None) -> TemplateMeta`` — fields: kind, name, description,
        inputs (name → :class:`InputDef`), instance_naming {pattern, fallback, max_length}, name_pattern,
        sources, chain_root, chain ([ChainEntry{template, root, inputs}]), ensure, persist, include_root,
        answers_file, subdirectory, preserve_symlinks.
    ``list_templates(root)``, ``get_template(root, ref, cwd=None)``, ``describe(ref, meta)`` → descriptors.

Inputs (§3.4)
    ``default_inputs(meta)`` (steps 1–2), ``generate_inputs(meta, existing)`` (step 3, only unset
    generated inputs), ``flow_inputs(meta, recorded=None, caller=None)`` (steps 1–5),
    ``check_inputs(meta, inputs) -> (missing_required, [{field, reason}])``, ``check_value(meta, k, v)``,
    ``require_inputs(meta, inputs)``, ``check_immutable(meta, old, new)``, ``reject_injected(inputs, names)``,
    ``resolve_path_inputs(meta, inputs, dest, angee_root=None, *, verbatim=())`` (step 7).

Ensure (§1.3)
    ``apply_ensure(manifest_or_mapping, ensure) -> list[str]`` (added paths) — Conflict(kind "ensure").

Rendering (§3.7, §3.8)
    ``Layer(name, template, dest_root, inputs)``, ``RenderPlan(target, layers, state_path,
    protected_paths=[], local_slot_links={})``,
    ``render(plan, *, mode, overwrite=False, dry_run=False, conflict_kind="template", cancel=None,
    write_documents=None) -> RenderResult(changes, conflicts, documents, previous_documents)``;
    ``prepare_render(...)`` + ``PreparedRender.apply(conflict_kind, write_documents, extra_files)`` for
    callers that must look at the rendered documents before anything is written.
    ``build_chain_layers(parent, parent_inputs, *, root, target, plan_kind, ...)``, ``stack_plan(...)``.
    ``answers_text(ref, inputs)``, ``read_answers(path)``, ``load_state(path)``.
"""

from angee.templates.chains import build_chain_layers, stack_plan
from angee.templates.ensure import apply_ensure
from angee.templates.inputs import (
    check_caller_inputs,
    check_immutable,
    check_inputs,
    check_value,
    default_inputs,
    flow_inputs,
    generate_inputs,
    reject_injected,
    require_inputs,
    resolve_path_inputs,
)
from angee.templates.introspect import describe, get_template, list_templates
from angee.templates.meta import FAMILIES, ChainEntry, InputDef, InstanceNaming, TemplateMeta, load_meta
from angee.templates.reconcile import TemplateState, load_state
from angee.templates.render import (
    Layer,
    PreparedRender,
    RenderPlan,
    RenderResult,
    answers_text,
    prepare_render,
    read_answers,
    render,
)
from angee.templates.resolve import ResolvedTemplate, resolve_chain_template, resolve_template

__all__ = [
    "FAMILIES",
    "ChainEntry",
    "InputDef",
    "InstanceNaming",
    "Layer",
    "PreparedRender",
    "RenderPlan",
    "RenderResult",
    "ResolvedTemplate",
    "TemplateMeta",
    "TemplateState",
    "answers_text",
    "apply_ensure",
    "build_chain_layers",
    "check_caller_inputs",
    "check_immutable",
    "check_inputs",
    "check_value",
    "default_inputs",
    "describe",
    "flow_inputs",
    "generate_inputs",
    "get_template",
    "list_templates",
    "load_meta",
    "load_state",
    "prepare_render",
    "read_answers",
    "reject_injected",
    "render",
    "require_inputs",
    "resolve_chain_template",
    "resolve_path_inputs",
    "resolve_template",
    "stack_plan",
]
