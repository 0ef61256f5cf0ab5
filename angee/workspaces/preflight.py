"""Workspace create preflight (spec templates-workspaces-git §5.4): what a create would use and what is
missing or invalid, computed without any side effect (no lock, no directory, no write)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from angee.api.workspaces import PreflightFailure, WorkspaceCreatePreflight
from angee.errors import AngeeError, InvalidInput
from angee.manifest.model import Manifest
from angee.workspaces.plan import INJECTED_NAMES, INJECTED_PREFIXES

BOOL_WORDS = ("true", "false", "1", "0", "yes", "no", "y", "n")


def type_reason(kind: str, value: str) -> str:
    """§5.4 type checks of a provided value: exact texts for bool and int."""
    if kind == "bool" and value.strip() and value.strip().lower() not in BOOL_WORDS:
        return f'not a boolean: "{value}"'
    if kind == "int" and value.strip():
        text = value.strip()
        if not (text.lstrip("+-").isdigit() and text.lstrip("+-").isascii()):
            return f'not an integer: "{value}"'
    return ""


def preflight(
    resolved: Any,
    template: str,
    manifest: Manifest,
    name: str | None,
    inputs: Mapping[str, str] | None,
    ttl: str | None,
) -> WorkspaceCreatePreflight:
    """Check a create request against the resolved template and a copy of the host manifest (modified in
    memory only): effective inputs (§3.4 steps 1–5, generated values never shown), missing required inputs,
    invalid values, ``ttl``, ``name`` (resolution, format, uniqueness) and ``ensure``."""
    from angee.templates import (
        apply_ensure,
        check_caller_inputs,
        check_inputs,
        check_value,
        default_inputs,
        generate_inputs,
    )
    from angee.workspaces.durations import parse_ttl
    from angee.workspaces.naming import resolve_workspace_name

    meta = resolved.meta
    caller = check_caller_inputs(inputs)
    invalid: list[PreflightFailure] = []
    reserved = [k for k in sorted(caller) if k in INJECTED_NAMES or k.startswith(INJECTED_PREFIXES)]
    for key in reserved:
        invalid.append(PreflightFailure(key, "is set by Angee and cannot be passed as an input"))
        del caller[key]
    effective = default_inputs(meta)
    effective.update(caller)
    effective = dict(sorted(effective.items()))
    values = {**effective, **generate_inputs(meta, effective)}  # generated values: never shown
    missing, _ = check_inputs(meta, values)
    for key in sorted(caller):
        definition = meta.inputs.get(key)
        if definition is None:
            continue
        reason = type_reason(definition.canonical_type, caller[key]) or check_value(meta, key, caller[key])
        if reason:
            invalid.append(PreflightFailure(key, reason))
    if (ttl or "").strip():
        try:
            parse_ttl(ttl or "")
        except InvalidInput as err:
            invalid.append(PreflightFailure("ttl", err.reason))
    try:
        apply_ensure(manifest, meta.ensure)
    except AngeeError as err:
        invalid.append(PreflightFailure("ensure", str(err)))
    try:
        ws_name = resolve_workspace_name(
            name,
            values,
            pattern=meta.instance_naming.pattern,
            fallback=meta.instance_naming.fallback,
            max_length=meta.instance_naming.max_length,
        )
        if ws_name in manifest.workspaces:
            invalid.append(PreflightFailure("name", f"workspace {ws_name} already exists"))
    except InvalidInput as err:
        invalid.append(PreflightFailure("name", str(err)))
    invalid.sort(key=lambda f: (f.field, f.reason))
    return WorkspaceCreatePreflight(
        ok=not missing and not invalid,
        template=template,
        resolved_template=resolved.ref,
        effective_inputs=effective,
        missing_required=sorted(missing),
        invalid_inputs=invalid,
    )
