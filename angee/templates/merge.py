"""The structural 3-way merge of manifest data (spec templates-workspaces-git §7.3 step 5, §8.2).

Pure functions over canonical manifest data (``angee.manifest.emit.to_data`` of a parsed manifest:
defaults applied, empty fields omitted). ``base`` is the last rendered manifest, ``ours`` the current
one, ``theirs`` the new render; :data:`ABSENT` marks a missing value at any level.

``m(base, ours, theirs)``: when ``ours`` and ``theirs`` are both mappings (and ``base`` is a mapping or
absent) the sorted key union merges recursively; anything else is atomic::

    no base, no ours                     → theirs (add)
    no base, no theirs or ours = theirs  → ours
    no base, ours ≠ theirs               → conflict untracked-different
    no ours, no theirs                   → absent
    no ours                              → theirs = base ? absent : conflict locally-modified
    no theirs                            → ours = base ? delete : conflict locally-modified
    ours = base                          → theirs
    theirs = base or ours = theirs       → ours
    else                                 → conflict locally-modified

A conflict keeps ``ours`` (so a dry run can still show the rest of the merge) unless ``overwrite``,
which resolves it to ``theirs``. Section rules of ``angee.yaml`` sit on top (:func:`merge_manifest_data`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from angee.api.templates import TemplateChange, TemplateConflict


class _Absent:
    """The "no value here" marker (a key missing from its mapping, or no document at all)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()

#: Runtime state: copied from the current manifest verbatim.
RUNTIME_SECTIONS = ("operator", "workspaces", "port_leases")
#: The template always decides these.
TEMPLATE_SCALARS = ("version", "kind")
#: Merged per key (an absent section is an empty map, so one side's keys never conflict as a block).
KEYED_SECTIONS = ("sources", "secrets", "volumes", "persist", "services", "jobs", "ports")
#: The saved key order of ``angee.yaml`` (manifest model field order), for the merged data.
SECTION_ORDER = (
    "version",
    "kind",
    "name",
    "template",
    "operator",
    "secrets_backend",
    "ingress",
    "secrets",
    "ports",
    "volumes",
    "persist",
    "sources",
    "workspaces",
    "services",
    "jobs",
    "port_leases",
)


# --------------------------------------------------------------------------- values and paths


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        from angee.manifest.emit import format_timestamp

        return format_timestamp(value)
    return str(value)


def canonical_json(value: Any) -> str:
    """Sorted keys, compact separators, UTF-8 text; :data:`ABSENT` (and ``None``) → ``null``."""
    if value is ABSENT:
        value = None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def same(a: Any, b: Any) -> bool:
    """Deep equality of canonical values (``1`` ≠ ``true`` ≠ ``"1"``; absent only equals absent)."""
    if a is ABSENT or b is ABSENT:
        return a is b
    return canonical_json(a) == canonical_json(b)


def format_path(segments: Iterable[str]) -> str:
    """A dotted key path; a segment holding ``.`` is written ``["a.b"]`` (``services["a.b"].image``)."""
    out = ""
    for segment in segments:
        if "." in segment:
            out += "[" + json.dumps(segment, ensure_ascii=False) + "]"
        else:
            out += ("." if out else "") + segment
    return out


def qualified(prefix: str, segments: Iterable[str]) -> str:
    """``<prefix>#<path>`` (``angee.yaml#services.web.image``), or the bare path without a prefix."""
    path = format_path(segments)
    return f"{prefix}#{path}" if prefix else path


@dataclass
class MergeConflict:
    """A value both sides changed differently: ``path`` segments, reason, and the three values."""

    path: tuple[str, ...]
    reason: str
    base: Any
    ours: Any
    theirs: Any

    def to_wire(self, prefix: str = "") -> TemplateConflict:
        """The reported conflict: qualified path and canonical JSON texts (absent = ``null``)."""
        return TemplateConflict(
            path=qualified(prefix, self.path),
            reason=self.reason,
            base=canonical_json(self.base),
            ours=canonical_json(self.ours),
            theirs=canonical_json(self.theirs),
        )


# --------------------------------------------------------------------------- m(base, ours, theirs)


@dataclass
class ThreeWayMerge:
    """One merge run: collects conflicts; ``overwrite`` resolves each to ``theirs``."""

    overwrite: bool = False
    conflicts: list[MergeConflict] = field(default_factory=list)

    def conflict(self, path: tuple[str, ...], reason: str, base: Any, ours: Any, theirs: Any) -> Any:
        self.conflicts.append(MergeConflict(path, reason, base, ours, theirs))
        return theirs if self.overwrite else ours

    def merge(self, base: Any, ours: Any, theirs: Any, path: tuple[str, ...] = ()) -> Any:
        """``m(base, ours, theirs)`` at ``path``; returns the merged value or :data:`ABSENT`."""
        if isinstance(ours, dict) and isinstance(theirs, dict) and (base is ABSENT or isinstance(base, dict)):
            return self.merge_keys(base if isinstance(base, dict) else {}, ours, theirs, path)
        return self.atomic(base, ours, theirs, path)

    def merge_keys(
        self,
        base: Mapping[str, Any],
        ours: Mapping[str, Any],
        theirs: Mapping[str, Any],
        path: tuple[str, ...],
    ) -> dict[str, Any]:
        """Merge the sorted key union of three mappings (a missing key is absent on that side)."""
        out: dict[str, Any] = {}
        for key in sorted(set(ours) | set(theirs) | set(base)):
            value = self.merge(
                base.get(key, ABSENT), ours.get(key, ABSENT), theirs.get(key, ABSENT), (*path, key)
            )
            if value is not ABSENT:
                out[key] = value
        return out

    def atomic(self, base: Any, ours: Any, theirs: Any, path: tuple[str, ...]) -> Any:
        """The atomic table of §7.3 for one value (lists and scalars, or mismatched shapes)."""
        if base is ABSENT:
            if ours is ABSENT:
                return theirs
            if theirs is ABSENT or same(ours, theirs):
                return ours
            return self.conflict(path, "untracked-different", base, ours, theirs)
        if ours is ABSENT and theirs is ABSENT:
            return ABSENT
        if ours is ABSENT:
            if same(theirs, base):
                return ABSENT
            return self.conflict(path, "locally-modified", base, ours, theirs)
        if theirs is ABSENT:
            if same(ours, base):
                return ABSENT
            return self.conflict(path, "locally-modified", base, ours, theirs)
        if same(ours, base):
            return theirs
        if same(theirs, base) or same(ours, theirs):
            return ours
        return self.conflict(path, "locally-modified", base, ours, theirs)

    # ------------------------------------------------------------------ section rules

    def merge_ports(
        self,
        base: Mapping[str, Any],
        ours: Mapping[str, Any],
        theirs: Mapping[str, Any],
        *,
        inner_stack: bool,
    ) -> dict[str, Any]:
        """``ports`` per key; a port's ``value`` is ours when ours ≠ 0 (allocations survive), or theirs
        for a workspace inner stack (ports are host-authoritative there)."""
        out: dict[str, Any] = {}
        for key in sorted(set(ours) | set(theirs) | set(base)):
            b, o, t = base.get(key, ABSENT), ours.get(key, ABSENT), theirs.get(key, ABSENT)
            path = ("ports", key)
            if isinstance(o, dict) and isinstance(t, dict) and (b is ABSENT or isinstance(b, dict)):
                b_map = b if isinstance(b, dict) else {}
                fields = {k: v for k, v in o.items() if k != "value"}
                merged = self.merge_keys(
                    {k: v for k, v in b_map.items() if k != "value"},
                    fields,
                    {k: v for k, v in t.items() if k != "value"},
                    path,
                )
                if inner_stack and "value" in t:
                    value = t["value"]
                elif o.get("value", 0) not in (0, ABSENT):
                    value = o["value"]
                else:
                    value = self.merge(
                        b_map.get("value", ABSENT),
                        o.get("value", ABSENT),
                        t.get("value", ABSENT),
                        (*path, "value"),
                    )
                if value is not ABSENT:
                    merged = {"value": value, **merged}
                out[key] = merged
                continue
            value = self.merge(b, o, t, path)
            if value is not ABSENT:
                out[key] = value
        return out


def _section(data: Mapping[str, Any] | None, name: str) -> Any:
    if data is None:
        return ABSENT
    return data.get(name, ABSENT)


def _as_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class ManifestMerge:
    """Merged manifest data and the conflicts met on the way (paths without a file prefix)."""

    data: dict[str, Any]
    conflicts: list[MergeConflict]


def merge_manifest_data(
    base: Mapping[str, Any] | None,
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    *,
    overwrite: bool = False,
    inner_stack: bool = False,
) -> ManifestMerge:
    """The §7.3 section table over canonical manifest data (``base`` ``None`` = no stored render).

    ``operator``/``workspaces``/``port_leases``: ours verbatim; ``template``: theirs if present, else ours;
    ``version``/``kind``: theirs; keyed sections per key; ``ports`` per key with the allocation rule;
    everything else (``name``, ``secrets_backend``, ``ingress``, unknown sections) recursive 3-way.
    """
    run = ThreeWayMerge(overwrite=overwrite)
    names = set(ours) | set(theirs) | set(base or {})
    ordered = [n for n in SECTION_ORDER if n in names] + sorted(names - set(SECTION_ORDER))
    out: dict[str, Any] = {}
    for name in ordered:
        b, o, t = _section(base, name), _section(ours, name), _section(theirs, name)
        if name in RUNTIME_SECTIONS:
            value = o
        elif name == "template":
            value = t if t is not ABSENT and t != {} else o
        elif name in TEMPLATE_SCALARS:
            value = t if t is not ABSENT else o
        elif name == "ports":
            value = run.merge_ports(_as_map(b), _as_map(o), _as_map(t), inner_stack=inner_stack)
        elif name in KEYED_SECTIONS:
            value = run.merge_keys(_as_map(b), _as_map(o), _as_map(t), (name,))
        else:
            value = run.merge(b, o, t, (name,))
        if value is not ABSENT and value != {}:
            out[name] = value
    return ManifestMerge(out, run.conflicts)


def merge_entry(
    base: Any, ours: Any, theirs: Any, path: tuple[str, ...], *, overwrite: bool = False
) -> tuple[Any, list[MergeConflict], bool]:
    """A service entry (§8.2): ``m`` at ``path``, except that without a baseline the entry is adopted when
    identical and is one ``untracked-different`` conflict otherwise. Returns ``(merged, conflicts,
    adopted)``."""
    run = ThreeWayMerge(overwrite=overwrite)
    if base is ABSENT:
        if same(ours, theirs):
            return ours, [], True
        if ours is ABSENT:
            return theirs, [], False
        return run.conflict(path, "untracked-different", base, ours, theirs), run.conflicts, False
    return run.merge(base, ours, theirs, path), run.conflicts, False


# --------------------------------------------------------------------------- reporting


def value_changes(old: Any, new: Any, path: tuple[str, ...], depth: int) -> list[tuple[tuple[str, ...], str]]:
    """``(path, add|modify|delete)`` between two values, descending into mappings ``depth`` levels."""
    if same(old, new):
        return []
    if old is ABSENT:
        return [(path, "add")]
    if new is ABSENT:
        return [(path, "delete")]
    if depth > 0 and isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[tuple[str, ...], str]] = []
        for key in sorted(set(old) | set(new)):
            out += value_changes(old.get(key, ABSENT), new.get(key, ABSENT), (*path, key), depth - 1)
        return out
    return [(path, "modify")]


def manifest_changes(ours: Mapping[str, Any], merged: Mapping[str, Any], prefix: str) -> list[TemplateChange]:
    """Changes from the current manifest to the merged one at ``<section>.<key>`` granularity
    (scalar sections as ``<section>``), as ``<prefix>#…`` paths sorted by path."""
    found = value_changes(dict(ours), dict(merged), (), 2)
    changes = [TemplateChange(qualified(prefix, path), kind) for path, kind in found]
    return sorted(changes, key=lambda c: c.path)


def unified_diff(old_text: str, new_text: str, name: str = "angee.yaml") -> str:
    """A unified diff (3 context lines, ``--- a/<name>`` / ``+++ b/<name>``); ``""`` when equal."""
    if old_text == new_text:
        return ""
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
        n=3,
    )
    out: list[str] = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


__all__ = [
    "ABSENT",
    "KEYED_SECTIONS",
    "RUNTIME_SECTIONS",
    "ManifestMerge",
    "MergeConflict",
    "ThreeWayMerge",
    "canonical_json",
    "format_path",
    "manifest_changes",
    "merge_entry",
    "merge_manifest_data",
    "qualified",
    "same",
    "unified_diff",
    "value_changes",
]
