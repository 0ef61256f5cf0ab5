"""The canonical YAML emitter (spec manifest-and-runtime §2.8, §5.7).

One emitter serves ``angee.yaml`` and the generated runtime files, so unchanged input always
produces identical bytes.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime
from functools import cache
from typing import Any

import yaml


class CanonicalDumper(yaml.SafeDumper):
    """SafeDumper that always indents sequences under their key (``indentless=False``)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def format_timestamp(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.fraction]Z`` in UTC, no trailing zeros in the fraction."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += ("." + f"{value.microsecond:06d}").rstrip("0")
    return text + "Z"


def _represent_datetime(dumper: yaml.SafeDumper, value: datetime) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", format_timestamp(value))


CanonicalDumper.add_representer(datetime, _represent_datetime)


def dump_yaml(data: Any) -> str:
    """Serialise plain data with the spec's emitter settings (4-space indent, no line wrapping)."""
    return yaml.dump(
        data,
        Dumper=CanonicalDumper,
        indent=4,
        width=2**31 - 1,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_empty(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, (str, list, dict)) and not value:
        return True
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


def to_data(value: Any, hint: Any = None) -> Any:
    """Model object → plain data in saved order: empty fields omitted unless ``always``,
    user-named maps sorted, lists in order, verbatim (``Any``) values untouched."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = _hints(type(value))
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            data = to_data(getattr(value, f.name), hints[f.name])
            if f.metadata.get("always") or not _is_empty(data):
                out[f.metadata.get("key", f.name)] = data
        return out
    if hint is Any:
        return value
    if isinstance(value, dict):
        args = typing.get_args(hint)
        item_hint = args[1] if len(args) == 2 else None
        return {k: to_data(value[k], item_hint) for k in sorted(value)}
    if isinstance(value, list):
        args = typing.get_args(hint)
        item_hint = args[0] if args else None
        return [to_data(v, item_hint) for v in value]
    return value


def dump_manifest(manifest: Any) -> str:
    """The canonical text of a manifest (what every writer of ``angee.yaml`` saves)."""
    return dump_yaml(to_data(manifest))
