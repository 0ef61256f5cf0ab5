"""Template metadata: ``copier.yml`` with its ``_angee`` block parsed into a :class:`TemplateMeta` (spec §1).

Parsing is Copier-free (plain PyYAML with Copier's ``!include`` and multi-document rules), so listing and
introspecting templates never imports Copier. Inputs declared both in ``_angee.inputs`` and as Copier
questions merge field-wise (§1.2).
"""

from __future__ import annotations

import glob
import json
import os
from collections import ChainMap
from dataclasses import dataclass, field
from typing import Any

import yaml

from angee.errors import InvalidInput

CONFIG_NAMES = ("copier.yml", "copier.yaml")
DEFAULT_ANSWERS_FILE = ".copier-answers.yml"
DEFAULT_GENERATED_LENGTH = 32
#: Declared type → canonical type (Copier's names); Angee accepts both spellings.
INPUT_TYPES = {
    "str": "str",
    "string": "str",
    "int": "int",
    "integer": "int",
    "bool": "bool",
    "boolean": "bool",
    "float": "float",
    "path": "path",
    "json": "json",
    "yaml": "yaml",
}
#: Angee-only question fields Copier does not know about.
ANGEE_QUESTION_FIELDS = ("required", "generated", "length", "immutable")
#: kind → family directory (spec §1, §2.1).
FAMILIES = {"stack": "stacks", "workspace": "workspaces", "service": "services", "project": "projects"}
KINDS_BY_FAMILY = {family: kind for kind, family in FAMILIES.items()}
# Copier list options that merge across documents instead of the later one winning.
_MERGED_LIST_OPTIONS = ("_exclude", "_jinja_extensions", "_secret_questions", "_skip_if_exists")


@dataclass
class InputDef:
    """One template input after the §1.2 merge; ``default`` is already stringified (``None`` = none)."""

    name: str
    type: str = ""
    required: bool = False
    default: str | None = None
    immutable: bool = False
    generated: bool = False
    length: int = DEFAULT_GENERATED_LENGTH
    help: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    validator: str = ""
    question: bool = False
    secret: bool = False

    @property
    def canonical_type(self) -> str:
        """``str``/``int``/``bool``/``float``/``path``/``json``/``yaml`` (``str`` when undeclared)."""
        return INPUT_TYPES.get(self.type, "str") if self.type else "str"

    @property
    def templated_default(self) -> bool:
        """A Jinja default (``{{ other | lower }}``) that only Copier can compute at render time."""
        return self.default is not None and ("{{" in self.default or "{%" in self.default)

    @property
    def effectively_required(self) -> bool:
        """Declared required, or a question without any default that is not generated (§1.2)."""
        if self.required:
            return True
        return self.question and self.default is None and not self.generated


@dataclass
class InstanceNaming:
    pattern: str = ""
    fallback: str = ""
    max_length: int = 0


@dataclass
class ChainEntry:
    """One ``_angee.chain`` layer; ``template``, ``root`` and input values are substitution strings."""

    template: str
    root: str = ""
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass
class TemplateMeta:
    """Everything Angee reads from one template's ``copier.yml``."""

    kind: str
    path: str
    config_file: str
    name: str = ""
    description: str = ""
    inputs: dict[str, InputDef] = field(default_factory=dict)
    instance_naming: InstanceNaming = field(default_factory=InstanceNaming)
    name_pattern: str = ""
    sources: dict[str, Any] = field(default_factory=dict)
    chain_root: str = ""
    chain: list[ChainEntry] = field(default_factory=list)
    ensure: dict[str, Any] = field(default_factory=dict)
    persist: dict[str, dict[str, str]] = field(default_factory=dict)
    include_root: str = ""
    answers_file: str = DEFAULT_ANSWERS_FILE
    subdirectory: str = ""
    preserve_symlinks: bool = False
    templates_suffix: str = ".jinja"
    jinja_extensions: list[str] = field(default_factory=list)


def template_error(reason: str, field: str = "template") -> InvalidInput:
    """InvalidInput whose message is ``reason`` alone (it already names the template or file)."""
    return InvalidInput(field, reason, message=reason)


def config_file(template_dir: str) -> str:
    """The ``copier.yml`` (or ``copier.yaml``) of a template dir, ``""`` when there is none."""
    for name in CONFIG_NAMES:
        candidate = os.path.join(template_dir, name)
        if os.path.isfile(candidate):
            return candidate
    return ""


def stringify(value: Any) -> str:
    """The string form of a YAML value: ``true``/``false``, decimal numbers, JSON for lists and maps."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def read_config(path: str) -> dict[str, Any]:
    """Load a ``copier.yml`` like Copier does: ``!include`` globs inside the template dir, several YAML
    documents merged (later wins, list options concatenated). Raises InvalidInput naming the file."""
    template_root = os.path.realpath(os.path.dirname(path))

    class _Loader(yaml.SafeLoader):
        pass

    def _include(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        pattern = str(loader.construct_scalar(node))  # type: ignore[arg-type]
        if os.path.isabs(pattern):
            raise yaml.YAMLError(f"!include {pattern}: must be a relative path")
        data: list[Any] = []
        for match in sorted(glob.glob(os.path.join(template_root, pattern))):
            real = os.path.realpath(match)
            if os.path.commonpath([real, template_root]) != template_root:
                raise yaml.YAMLError(f"!include {pattern}: outside the template directory")
            with open(real, "rb") as fh:
                data.extend(_flatten(d for d in yaml.load_all(fh, Loader=_Loader) if d))
        return data

    _Loader.add_constructor("!include", _include)
    try:
        with open(path, "rb") as fh:
            documents = _flatten(d for d in yaml.load_all(fh, Loader=_Loader) if d)
    except OSError as err:
        raise template_error(f"{path}: cannot read: {err.strerror}") from None
    except yaml.YAMLError as err:
        detail = " ".join(str(err).split())
        raise template_error(f"{path}: invalid YAML: {detail}") from None
    for doc in documents:
        if not isinstance(doc, dict):
            raise template_error(f"{path}: every YAML document must be a mapping")
    merged: dict[str, list[Any]] = {}
    for option in _MERGED_LIST_OPTIONS:
        for doc in documents:
            if option in doc:
                value = doc[option]
                merged.setdefault(option, []).extend(value if isinstance(value, list) else [value])
    return dict(ChainMap(merged, *reversed(documents)))  # type: ignore[arg-type]


def _flatten(items: Any) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, list):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _fail(path: str, reason: str) -> InvalidInput:
    return template_error(f"{path}: {reason}")


def _text(config: str, where: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise _fail(config, f"{where} must be a string")
    return stringify(value)


def _bool(config: str, where: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    raise _fail(config, f"{where} must be a boolean")


def _choices(value: Any) -> list[tuple[str, str]]:
    """Copier choices (list, ``[label, value]`` pairs or a label→value map) as (label, value) strings."""
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for label, item in value.items():
            if isinstance(item, dict):
                item = item.get("value")
            out.append((stringify(label), stringify(item)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                out.append((stringify(item[0]), stringify(item[1])))
            elif isinstance(item, dict) and "value" in item:
                out.append((stringify(item.get("label", item["value"])), stringify(item["value"])))
            else:
                out.append((stringify(item), stringify(item)))
    return out


def _input_def(config: str, name: str, spec: Any, question: bool) -> tuple[InputDef, set[str]]:
    """Parse one input definition; also returns which fields were explicitly set (for the merge)."""
    where = f'input "{name}"'
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        if question:
            spec = {"default": spec}
        else:
            raise _fail(config, f"_angee.inputs.{name} must be a mapping")
    given = {k for k, v in spec.items() if v is not None}
    declared_type = _text(config, f"{where} type", spec.get("type")).strip()
    if declared_type and declared_type not in INPUT_TYPES:
        raise _fail(config, f'{where}: unknown type "{declared_type}"')
    length = spec.get("length", DEFAULT_GENERATED_LENGTH)
    if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
        raise _fail(config, f"{where}: length must be a positive integer")
    default = spec.get("default")
    definition = InputDef(
        name=name,
        type=declared_type,
        required=_bool(config, f"{where} required", spec.get("required")),
        default=None if default is None else stringify(default),
        immutable=_bool(config, f"{where} immutable", spec.get("immutable")),
        generated=_bool(config, f"{where} generated", spec.get("generated")),
        length=length,
        help=_text(config, f"{where} help", spec.get("help")),
        choices=_choices(spec.get("choices")),
        validator=_text(config, f"{where} validator", spec.get("validator")),
        question=question,
        secret=bool(spec.get("secret")) if isinstance(spec.get("secret"), bool) else False,
    )
    return definition, given


def merge_input(
    angee: InputDef, angee_given: set[str], question: InputDef, question_given: set[str]
) -> InputDef:
    """§1.2 field-wise merge: flags OR-ed, ``default`` from ``_angee`` when set, everything else from the
    question when set there, else from ``_angee``."""

    def pick(name: str) -> Any:
        return getattr(question, name) if name in question_given else getattr(angee, name)

    return InputDef(
        name=angee.name,
        type=pick("type"),
        required=angee.required or question.required,
        default=angee.default if angee.default is not None else question.default,
        immutable=angee.immutable or question.immutable,
        generated=angee.generated or question.generated,
        length=pick("length"),
        help=pick("help"),
        choices=pick("choices"),
        validator=pick("validator"),
        question=True,
        secret=question.secret or angee.secret,
    )


def _mapping(config: str, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(config, f"{where} must be a mapping")
    return {str(k): v for k, v in value.items()}


def _chain(config: str, value: Any) -> list[ChainEntry]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(config, "_angee.chain must be a list")
    entries: list[ChainEntry] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"template": item}
        if not isinstance(item, dict) or not isinstance(item.get("template"), str) or not item["template"]:
            raise _fail(config, f"_angee.chain[{i}] needs a template")
        inputs = _mapping(config, f"_angee.chain[{i}].inputs", item.get("inputs"))
        entries.append(
            ChainEntry(
                template=item["template"],
                root=_text(config, f"_angee.chain[{i}].root", item.get("root")),
                inputs={k: stringify(v) for k, v in inputs.items()},
            )
        )
    return entries


def parse_meta(
    template_dir: str, data: dict[str, Any], config: str, want_kind: str | None = None
) -> TemplateMeta:
    """Build a :class:`TemplateMeta` from loaded ``copier.yml`` data (validates ``_angee``)."""
    angee = data.get("_angee")
    if angee is None:
        angee = {}
    if not isinstance(angee, dict):
        raise _fail(config, "_angee must be a mapping")
    schema = angee.get("schema")
    if schema is not None and str(schema) != "1":
        raise _fail(config, f'unsupported _angee.schema "{schema}" (want 1)')
    kind = _text(config, "_angee.kind", angee.get("kind")).strip()
    if not kind:
        raise _fail(config, "_angee.kind is required")
    if want_kind and kind != want_kind:
        raise template_error(f'template kind "{kind}" does not match "{want_kind}"')

    inputs: dict[str, InputDef] = {}
    declared = _mapping(config, "_angee.inputs", angee.get("inputs"))
    angee_defs = {k: _input_def(config, k, v, question=False) for k, v in declared.items()}
    questions = {
        str(k): _input_def(config, str(k), v, question=True)
        for k, v in data.items()
        if not str(k).startswith("_") and isinstance(v, dict)
    }
    for secret_name in data.get("_secret_questions") or []:
        if secret_name in questions:
            questions[secret_name][0].secret = True
    for name in sorted(set(angee_defs) | set(questions)):
        if name in angee_defs and name in questions:
            inputs[name] = merge_input(*angee_defs[name], *questions[name])
        else:
            inputs[name] = (angee_defs.get(name) or questions[name])[0]

    naming = _mapping(config, "_angee.instance_naming", angee.get("instance_naming"))
    max_length = naming.get("max_length", 0) or 0
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 0:
        raise _fail(config, "_angee.instance_naming.max_length must be a non-negative integer")
    persist: dict[str, dict[str, str]] = {}
    for key, spec in _mapping(config, "_angee.persist", angee.get("persist")).items():
        spec = _mapping(config, f"_angee.persist.{key}", spec)
        persist[key] = {
            "subpath": _text(config, f"_angee.persist.{key}.subpath", spec.get("subpath")),
            "scope": _text(config, f"_angee.persist.{key}.scope", spec.get("scope")),
        }
    suffix = data.get("_templates_suffix")
    extensions = data.get("_jinja_extensions") or []
    return TemplateMeta(
        kind=kind,
        path=template_dir,
        config_file=config,
        name=_text(config, "_angee.name", angee.get("name")),
        description=_text(config, "_angee.description", angee.get("description")),
        inputs=inputs,
        instance_naming=InstanceNaming(
            pattern=_text(config, "_angee.instance_naming.pattern", naming.get("pattern")),
            fallback=_text(config, "_angee.instance_naming.fallback", naming.get("fallback")),
            max_length=max_length,
        ),
        name_pattern=_text(config, "_angee.name_pattern", angee.get("name_pattern")),
        sources=_mapping(config, "_angee.sources", angee.get("sources")),
        chain_root=_text(config, "_angee.chain_root", angee.get("chain_root")),
        chain=_chain(config, angee.get("chain")),
        ensure=_mapping(config, "_angee.ensure", angee.get("ensure")),
        persist=persist,
        include_root=_text(config, "_angee.include_root", angee.get("include_root")),
        answers_file=_text(config, "_answers_file", data.get("_answers_file")) or DEFAULT_ANSWERS_FILE,
        subdirectory=_text(config, "_subdirectory", data.get("_subdirectory")),
        preserve_symlinks=_bool(config, "_preserve_symlinks", data.get("_preserve_symlinks")),
        templates_suffix=".jinja" if suffix is None else _text(config, "_templates_suffix", suffix),
        jinja_extensions=[str(e) for e in (extensions if isinstance(extensions, list) else [extensions])],
    )


def load_meta(template_dir: str, want_kind: str | None = None) -> TemplateMeta:
    """Read and validate the metadata of the template in ``template_dir`` (InvalidInput on any problem)."""
    template_dir = os.path.abspath(template_dir)
    config = config_file(template_dir)
    if not config:
        raise template_error(f"{template_dir}: no copier.yml")
    return parse_meta(template_dir, read_config(config), config, want_kind)
