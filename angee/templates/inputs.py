"""Template inputs: the §3.4 flow, generated values, ``type: path`` resolution and value checks.

The flow (later wins): 1 question defaults → 2 ``_angee.inputs`` defaults → 3 generated values (only
for inputs still unset) → 4 recorded values → 5 caller inputs → 6 injected values → 7 path resolution.
Callers that keep a record (workspaces) store steps 2–5 plus the generated values.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterable, Mapping

import yaml

from angee.errors import InvalidInput
from angee.templates.meta import TemplateMeta

BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "1", "0"}


def default_inputs(meta: TemplateMeta) -> dict[str, str]:
    """Steps 1–2: every input with a default (the ``_angee`` default beats the question's).

    Jinja defaults of questions (``{{ other }}``) are left to Copier, which computes them at render.
    """
    return {
        name: d.default
        for name, d in sorted(meta.inputs.items())
        if d.default is not None and not (d.question and d.templated_default)
    }


def generate_value(length: int) -> str:
    """``length`` random bytes, URL-safe base64 without padding, cut to ``length`` characters."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(length)).decode("ascii").rstrip("=")
    return raw[:length]


def generate_inputs(meta: TemplateMeta, existing: Mapping[str, str]) -> dict[str, str]:
    """Step 3: a fresh value for each ``generated`` input that is unset or blank in ``existing``.

    Returns only the new values; values already present are never regenerated.
    """
    return {
        name: generate_value(d.length)
        for name, d in sorted(meta.inputs.items())
        if d.generated and not (existing.get(name) or "").strip()
    }


def flow_inputs(
    meta: TemplateMeta,
    *,
    recorded: Mapping[str, str] | None = None,
    caller: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Steps 1–5: defaults, then recorded values, then caller inputs; generated inputs left unset get
    their random value. Injection (6) and path resolution (7) are up to the caller."""
    values = default_inputs(meta)
    values.update(recorded or {})
    values.update(caller or {})
    values.update(generate_inputs(meta, values))
    return values


def check_caller_inputs(inputs: Mapping[str, str] | None) -> dict[str, str]:
    """Caller inputs as a ``str → str`` dict; an empty key is InvalidInput (spec §0 ``--input``)."""
    out: dict[str, str] = {}
    for key, value in (inputs or {}).items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidInput("inputs", "input names must not be empty")
        out[key] = "" if value is None else str(value)
    return out


def reject_injected(
    inputs: Mapping[str, str], names: Iterable[str], prefixes: Iterable[str] = ("alloc_",)
) -> None:
    """Step 6 guard: callers may not set injected inputs (``workspace_name``, ``alloc_<pool>`` ...)."""
    reserved = set(names)
    starts = tuple(prefixes)
    for key in sorted(inputs):
        if key in reserved or (starts and key.startswith(starts)):
            raise InvalidInput(key, "is set by Angee and cannot be passed as an input")


def check_value(meta: TemplateMeta, name: str, value: str) -> str:
    """Why ``value`` is not acceptable for input ``name`` (type and ``choices``), or ``""`` if it is.

    Blank values are left to the required check; undeclared inputs accept anything.
    """
    definition = meta.inputs.get(name)
    if definition is None or value == "":
        return ""
    kind = definition.canonical_type
    text = value.strip()
    if kind == "int":
        try:
            int(text)
        except ValueError:
            return f'"{value}" is not an integer'
    elif kind == "float":
        try:
            float(text)
        except ValueError:
            return f'"{value}" is not a number'
    elif kind == "bool":
        if text.lower() not in BOOL_WORDS:
            return f'"{value}" is not a boolean (want true or false)'
    elif kind == "json":
        try:
            json.loads(value)
        except ValueError as err:
            return f"invalid JSON: {err}"
    elif kind == "yaml":
        try:
            yaml.safe_load(value)
        except yaml.YAMLError as err:
            return f"invalid YAML: {' '.join(str(err).split())}"
    if definition.choices:
        allowed = [v for _, v in definition.choices]
        if not _in_choices(kind, value, allowed):
            return f'"{value}" is not one of: {", ".join(allowed)}'
    return ""


def _in_choices(kind: str, value: str, allowed: list[str]) -> bool:
    if value in allowed:
        return True
    if kind in ("int", "float"):  # "08" and "8", "1.0" and "1" are the same answer for Copier
        try:
            return any(float(value) == float(a) for a in allowed)
        except ValueError:
            return False
    if kind == "bool":
        truthy = {"true", "yes", "on", "y", "t", "1"}
        return any((value.strip().lower() in truthy) == (a.strip().lower() in truthy) for a in allowed)
    return False


def check_inputs(meta: TemplateMeta, inputs: Mapping[str, str]) -> tuple[list[str], list[dict[str, str]]]:
    """Preflight-style validation: ``(missing_required, invalid)`` where ``invalid`` is a sorted list of
    ``{field, reason}``. Required = declared ``required`` or a question without default (§1.2)."""
    missing: list[str] = []
    invalid: list[dict[str, str]] = []
    for name, definition in sorted(meta.inputs.items()):
        value = inputs.get(name, "")
        if definition.effectively_required and not value.strip() and not definition.templated_default:
            missing.append(name)
            continue
        reason = check_value(meta, name, value)
        if reason:
            invalid.append({"field": name, "reason": reason})
    return missing, invalid


def require_inputs(meta: TemplateMeta, inputs: Mapping[str, str]) -> None:
    """Create/init: the first missing required input or invalid value as InvalidInput naming the field."""
    missing, invalid = check_inputs(meta, inputs)
    if missing:
        key = missing[0]
        raise InvalidInput(
            key, "required", message=f"template input {key} is required; pass --input {key}=value"
        )
    if invalid:
        first = invalid[0]
        raise InvalidInput(first["field"], first["reason"])


def check_immutable(meta: TemplateMeta, old: Mapping[str, str], new: Mapping[str, str]) -> None:
    """Update guard: an ``immutable`` input whose recorded value changes → InvalidInput(field, ``immutable``)."""
    for name, definition in sorted(meta.inputs.items()):
        if definition.immutable and name in old and name in new and old[name] != new[name]:
            raise InvalidInput(name, "immutable")


def resolve_path(value: str, dest: str, angee_root: str) -> str:
    """One ``type: path`` value: relative → ``relpath(normpath(dest/value), dest/ANGEE_ROOT)``;
    absolute or empty → unchanged (§1.2)."""
    if not value or os.path.isabs(value):
        return value
    base = os.path.normpath(os.path.join(dest, angee_root or "."))
    return os.path.relpath(os.path.normpath(os.path.join(dest, value)), base)


def resolve_path_inputs(
    meta: TemplateMeta,
    inputs: Mapping[str, str],
    dest: str,
    angee_root: str | None = None,
    *,
    verbatim: Iterable[str] = (),
) -> dict[str, str]:
    """Step 7: resolve every ``type: path`` input against the layer destination ``dest`` (absolute).

    ``angee_root`` defaults to the ``ANGEE_ROOT`` input, else ``.``; names in ``verbatim`` (answered
    values that are already resolved, §7.3) are left as they are.
    """
    out = dict(inputs)
    root = angee_root if angee_root is not None else (inputs.get("ANGEE_ROOT") or ".")
    keep = set(verbatim)
    for name, definition in meta.inputs.items():
        if definition.canonical_type == "path" and name in out and name not in keep:
            out[name] = resolve_path(out[name], os.path.abspath(dest), root)
    return out
