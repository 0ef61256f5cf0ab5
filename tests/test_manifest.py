"""angee.yaml: strict loading, validation errors with file:line:col and dotted keys, canonical writing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from angee.errors import ManifestError
from angee.manifest import dump_manifest, load_manifest, parse_manifest
from tests.spec_files import spec_file


def load_text(tmp_path: Path, text: str) -> object:
    path = tmp_path / "angee.yaml"
    path.write_text(text)
    return load_manifest(str(path))


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ManifestError) as info:
        load_text(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- errors a user sees


def test_container_service_without_image_names_service_and_missing_field(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "name: demo\nservices:\n  web:\n    runtime: container\n    command: [serve]\n")
    assert msg.startswith(f"{tmp_path / 'angee.yaml'}:3:3: services.web: ")
    assert msg.endswith('service "web" with runtime container requires image or build')


def test_unknown_key_names_its_dotted_path_and_position(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "name: demo\nservices:\n  web:\n    runtime: container\n    imgae: nginx\n")
    assert msg == f"{tmp_path / 'angee.yaml'}:5:5: services.web.imgae: unknown key"


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "name: demo\nname: other\n")
    assert msg.endswith(":2:1: name: duplicate key")


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "name: demo\nservices:\n  web: [\n    runtime: local\n")
    assert re.match(rf"{re.escape(str(tmp_path / 'angee.yaml'))}:\d+:\d+: invalid YAML: ", msg)


def test_empty_and_multi_document_files_are_refused(tmp_path: Path) -> None:
    assert error_of(tmp_path, "").endswith("manifest is empty")
    assert error_of(tmp_path, "name: a\n---\nname: b\n").endswith("holds more than one YAML document")


def test_type_errors_name_the_key(tmp_path: Path) -> None:
    assert error_of(tmp_path, 'name: d\nports:\n  api: {value: "80"}\n').endswith("ports.api.value: must be an integer")
    assert error_of(tmp_path, "name: d\nsecrets:\n  a: {generated: maybe}\n").endswith(
        "secrets.a.generated: must be a boolean (true or false)"
    )
    assert error_of(tmp_path, "name: d\nservices:\n  w: {runtime: local, command: run}\n").endswith(
        "services.w.command: must be a list"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("version: 1\n", "name: manifest name is required"),
        ("name: d\nversion: 2\n", "version: manifest version 2 is not supported (want 1)"),
        ("name: d\nservices:\n  w: {image: x}\n", 'service "w" requires runtime'),
        ("name: d\nservices:\n  w: {runtime: vm, image: x}\n", 'service "w" has unsupported runtime "vm"'),
        ("name: d\njobs:\n  j: {runtime: local, image: x, command: [a]}\n", 'job "j" with runtime local must not set image'),
        ("name: d\njobs:\n  j: {runtime: local}\n", 'job "j" with runtime local requires command'),
        ("name: d\nservices:\n  w: {runtime: local, command: [a], route: {port: 80}}\n", 'service "w": route requires runtime: container'),
        ("name: d\nservices:\n  w: {runtime: local, command: [a], depends_on: [nope]}\n", 'names unknown service or job "nope"'),
        ("name: d\nservices:\n  w: {runtime: local, command: [a]}\njobs:\n  w: {runtime: local, command: [a]}\n", "declared both as a service and as a job"),
        ("name: d\nsources:\n  a.b: {kind: local, path: x}\n", 'sources key "a.b" must match'),
        ("name: d\nsources:\n  a: {kind: svn}\n", 'source "a" has unsupported kind "svn"'),
        ("name: d\nsecrets:\n  a-b: {}\n  a_b: {}\n", "share the env var ANGEE_SECRET_A_B"),
        ("name: d\nsecrets:\n  a: {import: 'env:1X'}\n", 'import must be env:NAME or NAME'),
        ("name: d\noperator:\n  port_pool:\n    web: {range: 9000-8000}\n", 'port pool "web" has invalid range 9000-8000'),
    ],
)
def test_validation_rules(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(tmp_path, body)


# ---------------------------------------------------------------- scalar rules


def test_str_fields_keep_scalar_source_text() -> None:
    m = parse_manifest(
        "name: d\nservices:\n  v:\n    runtime: container\n    image: x\n"
        "    env: {A: yes, B: 0x10, C: 22:22, D: ~, E: 8080, F: 1.50}\n"
    )
    assert m.services["v"].env == {"A": "yes", "B": "0x10", "C": "22:22", "D": "", "E": "8080", "F": "1.50"}


def test_bool_words_and_time_normalisation() -> None:
    m = parse_manifest(
        "name: d\nsecrets:\n  a: {generated: Yes, required: ON}\n  b: {generated: n}\n"
        "workspaces:\n  w:\n    template: t\n    ttl_expires_at: '2026-06-17T18:00:00+02:00'\n"
    )
    assert m.secrets["a"].generated and m.secrets["a"].required and not m.secrets["b"].generated
    assert m.workspaces["w"].ttl_expires_at == datetime(2026, 6, 17, 16, 0, tzinfo=UTC)
    assert "ttl_expires_at: 2026-06-17T16:00:00Z\n" in dump_manifest(m)


def test_string_lists_fold_scalars_and_mappings() -> None:
    m = parse_manifest(
        "name: d\nservices:\n  w:\n    runtime: container\n    image: x\n    ports: 8080\n"
        "    mounts:\n      - {type: volume, source: data, target: /d, read_only: true}\n"
        "      - {type: bind, source: ./x, target: /x}\n      - {b: 2, a: 1}\n"
        "  v:\n    runtime: container\n    image: x\n    ports: [{host: 127.0.0.1, port: 80}, {port: 81}]\n"
    )
    assert m.services["w"].ports == ["8080"]
    assert m.services["w"].mounts == ["volume://data:/d:ro", "bind://./x:/x", "a=1,b=2"]
    assert m.services["v"].ports == ["127.0.0.1:80", "81"]


def test_defaults_and_null_objects() -> None:
    m = parse_manifest("name: d\nvolumes: {data: }\n")
    assert (m.version, m.kind, m.secrets_backend.type, m.ingress.type) == (1, "stack", "env-file", "none")
    assert "volumes:\n    data: {}\n" in dump_manifest(m)


def test_legacy_lifecycle_key_is_accepted_and_dropped() -> None:
    m = parse_manifest("name: d\nworkspaces:\n  w:\n    template: t\n    resolved: {lifecycle: {x: 1}, chain_root: .angee}\n")
    text = dump_manifest(m)
    assert "lifecycle" not in text and "chain_root: .angee" in text


# ---------------------------------------------------------------- canonical writing


def test_canonical_form_orders_quotes_and_omits_empty_fields() -> None:
    m = parse_manifest(
        "services:\n  b: {runtime: local, command: ['8101', x], env: {Z: '1', A: '22:22'}}\n"
        "  a: {runtime: container, image: x, build: {dockerfile: D, context: .}}\n"
        "name: Demo\nports:\n  api: {value: 0}\nsecrets:\n  tok: {}\n"
    )
    assert dump_manifest(m) == (
        "version: 1\nkind: stack\nname: Demo\nsecrets_backend:\n    type: env-file\ningress:\n    type: none\n"
        "secrets:\n    tok: {}\nports:\n    api:\n        value: 0\nservices:\n"
        "    a:\n        runtime: container\n        image: x\n        build:\n            dockerfile: D\n            context: .\n"
        "    b:\n        runtime: local\n        command:\n            - '8101'\n            - x\n"
        "        env:\n            A: '22:22'\n            Z: '1'\n"
    )


def spec_manifest_examples() -> list[tuple[str, str]]:
    """Every ```yaml block of the spec that is a manifest (not a compiled runtime file)."""
    examples = []
    for name in ("manifest-and-runtime.md", "templates-workspaces-git.md"):
        text = spec_file(name).read_text()
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S)):
            if "x-angee-project" in block or "version: '0.5'" in block:
                continue
            examples.append((f"{name}#{i}", block))
    return examples


def test_every_manifest_example_of_the_spec_loads_and_round_trips(tmp_path: Path) -> None:
    examples = spec_manifest_examples()
    assert len(examples) >= 3
    for label, block in examples:
        text = block if re.search(r"^name:", block, re.M) else "name: example\n" + block
        m = load_text(tmp_path, text)
        first = dump_manifest(m)
        again = load_text(tmp_path, first)
        assert dump_manifest(again) == first, label


# ---------------------------------------------------------------- JSON Schema coverage


def _sample(schema: dict, defs: dict, key: str = "") -> object:
    """A value for a schema node using every property it declares."""
    if schema is True or schema == {}:
        return {"context": ".", "dockerfile": "Dockerfile"}
    if "$ref" in schema:
        return _sample(defs[schema["$ref"].split("/")[-1]], defs, key)
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if "properties" in schema:
            return {k: _sample(v, defs, k) for k, v in schema["properties"].items()}
        return {"item": _sample(schema.get("additionalProperties", {"type": "string"}), defs, "item")}
    if kind == "array":
        return [_sample(schema.get("items", {"type": "string"}), defs, key)]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return "2026-01-02T03:04:05Z"
    return f"{key}-value"


def test_everything_the_json_schema_allows_loads() -> None:
    schema = json.loads(spec_file("angee.schema.json").read_text())
    data = _sample(schema, schema["$defs"])
    # Cross-field rules the schema cannot express (spec §2.7) are satisfied by hand.
    data["ingress"]["type"] = "caddy"
    data["operator"]["port_pool"] = {"web": {"range": "9000-9100"}}
    data["port_leases"] = {"web": [{"port": 9001, "owner": "workspace/w/web", "created_at": "2026-01-02T03:04:05Z"}]}
    data["secrets"] = {"api-key": {"generated": True, "length": 12, "required": True, "import": "env:API_KEY"}}
    for section in ("services", "jobs"):
        data[section] = {section[:-1]: data[section]["item"]}
        data[section][section[:-1]].update(runtime="container", after=[], depends_on=[])
        data[section][section[:-1]].pop("after")
    data["jobs"]["job"]["run_on"] = ["anywhere"]
    import yaml

    m = parse_manifest(yaml.safe_dump(data, sort_keys=False))
    from angee.manifest import validate_manifest

    assert validate_manifest(m) == []
    text = dump_manifest(m)
    assert dump_manifest(parse_manifest(text)) == text
