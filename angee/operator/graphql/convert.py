"""Platform results → GraphQL values (spec operator-and-cli §3.7), driven by the strawberry types.

A result (an :mod:`angee.api` dataclass, a list of them or plain data) is first put in its REST wire
form (:func:`angee.api.to_wire`, snake_case, ``key?`` fields omitted when zero-valued), then shaped
after the strawberry type of the field: name-keyed maps become name-sorted lists, string maps
become ``[KeyValue]`` sorted by key, absent lists become ``[]``, absent nullable values ``null``.
The output is plain dicts keyed by python field names, which the schema's default resolver reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition

from angee.api import to_wire
from angee.operator.graphql import types as t

_ZERO: dict[Any, Any] = {str: "", int: 0, bool: False, float: 0.0}
Shaper = Callable[[dict[str, Any], dict[str, Any]], None]
_SHAPERS: dict[type, Shaper] = {}


def shaper(cls: type) -> Callable[[Shaper], Shaper]:
    """Register ``fn(raw, shaped)`` to finish values of type ``cls`` (computed or re-encoded fields)."""

    def register(fn: Shaper) -> Shaper:
        _SHAPERS[cls] = fn
        return fn

    return register


def resolve_dict_field(source: Any, name: str) -> Any:
    """The schema's default resolver: dict values by python field name, else the attribute."""
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, name, None)


def graph(value: Any, cls: type) -> dict[str, Any] | None:
    """Shape one Platform result (dataclass or dict) as a value of strawberry type ``cls``."""
    if value is None:
        return None
    return _shape_object(to_wire(value), cls)


def graph_list(values: Any, cls: type) -> list[dict[str, Any]]:
    """Shape a list (or a name-keyed map, giving the name-sorted list) of results of type ``cls``."""
    raw = to_wire(values) if values is not None else []
    if isinstance(raw, dict):
        raw = [raw[k] for k in sorted(raw)]
    return [_shape_object(item, cls) for item in raw]


def _shape(raw: Any, typ: Any) -> Any:
    optional = isinstance(typ, StrawberryOptional)
    if optional:
        typ = typ.of_type
    if isinstance(typ, StrawberryList):
        if raw is None:
            return None if optional else []
        item = typ.of_type
        if isinstance(item, StrawberryOptional):
            item = item.of_type
        if isinstance(raw, dict):
            if item is t.KeyValue:
                raw = [{"key": str(k), "value": "" if v is None else str(v)} for k, v in sorted(raw.items())]
            else:  # a map keyed by name → the name-sorted list of its values
                raw = [raw[k] for k in sorted(raw)]
        return [_shape(x, item) for x in raw]
    if has_object_definition(typ):
        if raw is None:
            return None
        return _shape_object(raw, typ)
    if raw is None and not optional:
        return _ZERO.get(typ)
    return raw


def _shape_object(raw: Any, cls: type) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raw = to_wire(raw)
    out: dict[str, Any] = {}
    for f in cls.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        key = f.graphql_name or f.python_name
        value = raw.get(key) if key in raw else raw.get(f.python_name)
        out[f.python_name] = _shape(value, f.type)
    finish = _SHAPERS.get(cls)
    if finish is not None:
        finish(raw, out)
    return out


def json_text_value(text: Any) -> Any:
    """A canonical JSON text as its value (``None`` stays ``None``; a non-JSON text is served as is)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def is_past(stamp: Any, now: datetime | None = None) -> bool:
    """Whether an RFC 3339 time (any offset, ``Z`` allowed) lies in the past; empty/unparsable → False."""
    if not isinstance(stamp, str) or not stamp.strip():
        return False
    try:
        when = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when <= (now or datetime.now(UTC))


@shaper(t.WorkspaceLease)
def _lease_expired(raw: dict[str, Any], shaped: dict[str, Any]) -> None:
    """``expired`` as the Platform reports it, else computed from ``expires_at`` (§11.1: none = live)."""
    if isinstance(raw.get("expired"), bool):
        shaped["expired"] = raw["expired"]
    else:
        shaped["expired"] = is_past(raw.get("expires_at"))


def key_values(items: list[Any] | None) -> dict[str, str]:
    """``[KeyValueInput]`` → string map: empty keys dropped, later duplicates win (spec §3.7)."""
    out: dict[str, str] = {}
    for item in items or []:
        if item.key:
            out[item.key] = item.value
    return out
