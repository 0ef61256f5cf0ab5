"""``_angee.ensure``: graft required values into the host manifest (spec §1.3).

Keys are dotted manifest paths applied in sorted order to a mapping view of the manifest: a missing or
null leaf is set; a deep-equal value (after YAML normalisation) is a no-op; anything else — a different
value, or a path that descends through a non-mapping — is Conflict(kind ``ensure``). A manifest model is
re-validated strictly after the grafts and updated in place.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import yaml

from angee.errors import AngeeError, Conflict, InvalidInput


def _normalise(value: Any) -> Any:
    """The value as YAML would read it back (tuples → lists, keys → strings where YAML makes them so)."""
    return yaml.safe_load(yaml.safe_dump(value, default_flow_style=False, allow_unicode=True))


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _conflict(path: str, existing: Any, required: Any) -> Conflict:
    reason = f"existing value {_show(existing)} conflicts with required value {_show(required)}"
    return Conflict("ensure", path, reason, message=f"ensure: {path}: {reason}")


def ensure_data(data: dict[str, Any], ensure: Mapping[str, Any]) -> list[str]:
    """Apply ``ensure`` to plain manifest data in place; returns the dotted paths that were set."""
    applied: list[str] = []
    for path in sorted(ensure):
        required = _normalise(ensure[path])
        parts = [p for p in str(path).split(".")]
        if not all(parts):
            raise InvalidInput("ensure", f'ensure key "{path}" is not a dotted manifest path')
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise _conflict(path, {".".join(parts[: i + 1]): child}, required)
            node = child
        leaf = parts[-1]
        current = node.get(leaf)
        if current is None:
            node[leaf] = required
            applied.append(path)
        elif _normalise(current) != required:
            raise _conflict(path, current, required)
    return applied


def apply_ensure(manifest: Any, ensure: Mapping[str, Any]) -> list[str]:
    """Apply ``ensure`` to a :class:`~angee.manifest.model.Manifest` (in place, re-validated strictly) or
    to a plain mapping view. Returns the dotted paths that were added; violations raise Conflict."""
    if not ensure:
        return []
    if isinstance(manifest, dict):
        return ensure_data(manifest, ensure)
    from angee.manifest.emit import dump_yaml, to_data
    from angee.manifest.load import parse_manifest
    from angee.manifest.validate import validate_manifest

    data = to_data(manifest)
    applied = ensure_data(data, ensure)
    if not applied:
        return []
    try:
        updated = parse_manifest(dump_yaml(data), file="angee.yaml (ensure)")
    except AngeeError as err:  # a grafted value of the wrong shape
        raise InvalidInput("ensure", f"ensure produced an invalid manifest: {err}") from None
    issues = validate_manifest(updated)
    if issues:
        raise InvalidInput(issues[0].path, f"after ensure: {issues[0].message}")
    for f in dataclasses.fields(manifest):
        setattr(manifest, f.name, getattr(updated, f.name))
    return applied
