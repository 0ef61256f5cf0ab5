"""Strict loader for ``angee.yaml`` (spec manifest-and-runtime §2.1).

Works on the YAML node tree, not on constructed Python values, so that every error can name the
file, line, column and dotted key, duplicate keys are caught, and *str* fields keep the scalar's
source text (``8080`` → ``"8080"``, ``22:22`` never sexagesimal).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime
from typing import Any

import yaml

from angee.errors import ManifestError
from angee.manifest.emit import _hints
from angee.manifest.model import Manifest, StringList

NULL_TAG = "tag:yaml.org,2002:null"
INT_TAG = "tag:yaml.org,2002:int"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
TRUE_WORDS = {"true", "y", "yes", "on"}
FALSE_WORDS = {"false", "n", "no", "off"}
# Accepted and dropped, never written back (spec §2.1).
TOLERATED = {("workspaces", "*", "resolved", "lifecycle")}


class _Loader(yaml.SafeLoader):
    """SafeLoader used to construct verbatim (``Any``) values and to compose nodes without libyaml."""


_CLoader: type | None = getattr(yaml, "CSafeLoader", None)


class _FastLoader(_CLoader or yaml.SafeLoader):  # type: ignore[misc]
    """libyaml's parser (when PyYAML has it) composing the same nodes about ten times faster."""


def _plain_styles(root: yaml.Node) -> None:
    """libyaml marks plain scalars with style ``""`` where the pure loader uses ``None``: align them."""
    pending, seen = [root], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:  # aliases share nodes
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.style == "":
                node.style = None
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                pending.extend((key, value))


def compose_documents(text: str) -> list[yaml.Node | None]:
    """The YAML documents of ``text`` as nodes, identical to ``yaml.compose_all(text, SafeLoader)``.

    libyaml composes when available; on any YAML error the pure loader composes again so the error
    (message, line, column) is exactly the pure loader's. (Only the end mark of a collection that ends
    the text without a final newline differs; nothing here reads end marks.)
    """
    if _CLoader is None:
        return list(yaml.compose_all(text, Loader=_Loader))
    try:
        documents = list(yaml.compose_all(text, Loader=_FastLoader))
    except yaml.YAMLError:
        return list(yaml.compose_all(text, Loader=_Loader))
    for document in documents:
        if document is not None:
            _plain_styles(document)
    return documents


def _bool_word(text: str) -> bool | None:
    for words, result in ((TRUE_WORDS, True), (FALSE_WORDS, False)):
        for w in words:
            if text in (w, w.capitalize(), w.upper()):
                return result
    return None


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[str, tuple[int, int]] = {}
        self._constructor = _Loader("")

    def fail(self, node: yaml.Node, path: str, reason: str) -> typing.NoReturn:
        mark = node.start_mark
        raise ManifestError(reason, file=self.file, line=mark.line + 1, column=mark.column + 1, key=path)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def _mapping_items(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, path, "must be a mapping")
        seen: set[str] = set()
        items = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, path, "keys must be plain strings")
            key = key_node.value
            if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                self.fail(key_node, path, "merge keys (<<) are not supported")
            if key in seen:
                self.fail(key_node, self._join(path, key), "duplicate key")
            seen.add(key)
            self.positions[self._join(path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            items.append((key, key_node, value_node))
        return items

    @staticmethod
    def _is_null(node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG

    # ------------------------------------------------------------------ conversion

    def convert(self, node: yaml.Node, hint: Any, path: str) -> Any:
        origin = typing.get_origin(hint)
        if hint is Any:
            return self.verbatim(node, path)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(hint) if a is not type(None)][0]
            if self._is_null(node):
                return None
            return self.convert(node, inner, path)
        if hint is StringList:
            return self.string_list(node, path)
        if dataclasses.is_dataclass(hint):
            return self.model(node, hint, path)
        if origin is dict:
            _, value_hint = typing.get_args(hint)
            if self._is_null(node):
                return {}
            return {
                key: self.convert(value, value_hint, self._join(path, key))
                for key, _, value in self._mapping_items(node, path)
            }
        if origin is list:
            (item_hint,) = typing.get_args(hint)
            if self._is_null(node):
                return []
            if not isinstance(node, yaml.SequenceNode):
                self.fail(node, path, "must be a list")
            return [self.convert(item, item_hint, f"{path}[{i}]") for i, item in enumerate(node.value)]
        if hint is str:
            return self.text(node, path)
        if hint is bool:
            return self.boolean(node, path)
        if hint is int:
            return self.integer(node, path)
        if hint is datetime:
            return self.timestamp(node, path)
        raise TypeError(f"unsupported manifest field type {hint!r} at {path}")  # pragma: no cover

    def model(self, node: yaml.Node, cls: type, path: str) -> Any:
        obj = cls()
        if self._is_null(node):  # `volumes: {data: }` → an empty object
            return obj
        hints = _hints(cls)
        by_key = {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls)}
        for key, key_node, value in self._mapping_items(node, path):
            field = by_key.get(key)
            if field is None:
                if self._tolerated(self._join(path, key)):
                    continue
                self.fail(key_node, self._join(path, key), "unknown key")
            setattr(obj, field.name, self.convert(value, hints[field.name], self._join(path, key)))
        return obj

    @staticmethod
    def _tolerated(path: str) -> bool:
        parts = tuple(path.split("."))
        return any(
            len(parts) == len(p) and all(a == b or b == "*" for a, b in zip(parts, p, strict=True)) for p in TOLERATED
        )

    def text(self, node: yaml.Node, path: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, path, "must be a string")
        return "" if node.tag == NULL_TAG else node.value

    def boolean(self, node: yaml.Node, path: str) -> bool:
        if isinstance(node, yaml.ScalarNode):
            if node.tag == NULL_TAG:
                return False
            if node.style is None:
                word = _bool_word(node.value)
                if word is not None:
                    return word
        self.fail(node, path, "must be a boolean (true or false)")

    def integer(self, node: yaml.Node, path: str) -> int:
        if isinstance(node, yaml.ScalarNode):
            if node.tag == NULL_TAG:
                return 0
            if node.tag == INT_TAG and node.style is None:
                return int(self._constructor.construct_yaml_int(node))
        self.fail(node, path, "must be an integer")

    def timestamp(self, node: yaml.Node, path: str) -> datetime | None:
        if isinstance(node, yaml.ScalarNode):
            if node.tag == NULL_TAG:
                return None
            value: Any
            if node.tag == TIMESTAMP_TAG:
                value = self._constructor.construct_yaml_timestamp(node)
                if not isinstance(value, datetime):
                    value = datetime(value.year, value.month, value.day)
            else:
                try:
                    value = datetime.fromisoformat(node.value.strip())
                except ValueError:
                    self.fail(node, path, f'invalid time "{node.value}" (want RFC 3339, e.g. 2026-01-02T15:04:05Z)')
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return value.astimezone(UTC)
        self.fail(node, path, "must be a time")

    def string_list(self, node: yaml.Node, path: str) -> StringList:
        if self._is_null(node):
            return StringList()
        if isinstance(node, yaml.ScalarNode):
            return StringList([node.value])
        if isinstance(node, yaml.MappingNode):
            return StringList([self._fold_mapping(node, path)])
        out = StringList()
        for i, item in enumerate(node.value):
            item_path = f"{path}[{i}]"
            if isinstance(item, yaml.MappingNode):
                out.append(self._fold_mapping(item, item_path))
            else:
                out.append(self.text(item, item_path))
        return out

    def _fold_mapping(self, node: yaml.Node, path: str) -> str:
        """A mapping list item folded into its string form (spec §2.1, StringList)."""
        values: dict[str, str] = {}
        for key, _, value in self._mapping_items(node, path):
            values[key] = self.text(value, self._join(path, key))
        kind = values.get("type", "")
        if kind in ("volume", "bind"):
            text = f"{kind}://{values.get('source', '')}:{values.get('target', '')}"
            if any(_bool_word(values.get(k, "")) for k in ("read_only", "ro")):
                text += ":ro"
            return text
        if "port" in values:
            host = values.get("host", "")
            return f"{host}:{values['port']}" if host else values["port"]
        return ",".join(f"{k}={values[k]}" for k in sorted(values))

    def verbatim(self, node: yaml.Node, path: str) -> Any:
        """A value passed through as is (``build``): plain data, duplicate keys still refused."""
        if isinstance(node, yaml.MappingNode):
            return {k: self.verbatim(v, self._join(path, k)) for k, _, v in self._mapping_items(node, path)}
        if isinstance(node, yaml.SequenceNode):
            return [self.verbatim(v, f"{path}[{i}]") for i, v in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)


def parse_manifest(text: str, file: str = "angee.yaml") -> Manifest:
    """Parse manifest text into the model with defaults applied; structural errors raise ManifestError.

    Cross-field rules are checked separately by :func:`angee.manifest.validate.validate_manifest`.
    """
    try:
        documents = compose_documents(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise ManifestError(
            f"invalid YAML: {reason}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"invalid YAML: {exc}", file=file) from None
    documents = [d for d in documents if d is not None]
    if not documents:
        raise ManifestError("manifest is empty", file=file)
    if len(documents) > 1:
        mark = documents[1].start_mark
        raise ManifestError(
            "holds more than one YAML document", file=file, line=mark.line + 1, column=mark.column + 1
        )
    converter = _Converter(file)
    root = documents[0]
    if not isinstance(root, yaml.MappingNode):
        converter.fail(root, "", "the manifest must be a mapping of top-level keys")
    manifest: Manifest = converter.model(root, Manifest, "")
    if manifest.version == 0:
        manifest.version = 1
    manifest.kind = manifest.kind or "stack"
    manifest.secrets_backend.type = manifest.secrets_backend.type or "env-file"
    manifest.ingress.type = manifest.ingress.type or "none"
    manifest.__dict__["_positions"] = converter.positions
    manifest.__dict__["_file"] = file
    return manifest


def position_of(manifest: Manifest, path: str) -> tuple[int | None, int | None]:
    """Line and column of a dotted key (or its nearest recorded ancestor) in the loaded file."""
    positions: dict[str, tuple[int, int]] = manifest.__dict__.get("_positions", {})
    while path:
        if path in positions:
            return positions[path]
        path = path.rpartition(".")[0]
    return None, None


def load_manifest(path: str, validate: bool = True) -> Manifest:
    """Read, parse and (by default) validate ``angee.yaml``; the first problem raises ManifestError."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise ManifestError("file not found", file=path) from None
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror}", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"not valid UTF-8 (byte {exc.start})", file=path) from None
    manifest = parse_manifest(text, path)
    if validate:
        raise_first_issue(manifest, path)
    return manifest


def raise_first_issue(manifest: Manifest, file: str) -> None:
    """Validate and raise the first problem as a ManifestError naming file, line, column and key."""
    from angee.manifest.validate import validate_manifest

    issues = validate_manifest(manifest)
    if issues:
        first = issues[0]
        line, column = position_of(manifest, first.path)
        reason = first.message
        if len(issues) > 1:
            reason += f" (and {len(issues) - 1} more problem{'s' if len(issues) > 2 else ''})"
        raise ManifestError(reason, file=file, line=line, column=column, key=first.path)
