"""Template metadata, input definitions (§1.2 merge), the §3.4 input helpers and ``ensure`` (§1.3)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from angee.errors import Conflict, InvalidInput
from angee.manifest import parse_manifest
from angee.templates import (
    apply_ensure,
    check_immutable,
    check_inputs,
    default_inputs,
    describe,
    flow_inputs,
    generate_inputs,
    load_meta,
    reject_injected,
    resolve_path_inputs,
)
from tests.test_templates_helpers import make_template, write


def test_double_declaration_merges_field_wise(tmp_path: Path) -> None:
    """_angee.inputs keeps `required` and its default; the question contributes type/help/choices."""
    template = make_template(
        tmp_path / "t",
        {
            "_angee": {
                "kind": "workspace",
                "inputs": {
                    "branch": {"required": True, "default": "main", "help": "angee help"},
                    "db": {"immutable": True, "type": "string"},
                },
            },
            "branch": {"type": "str", "help": "Git branch", "default": "develop"},
            "db": {"default": "app", "choices": {"App DB": "app", "Other": "other"}},
        },
    )
    meta = load_meta(str(template), "workspace")
    branch, db = meta.inputs["branch"], meta.inputs["db"]
    assert (branch.required, branch.default, branch.help, branch.type, branch.question) == (
        True,
        "main",
        "Git branch",
        "str",
        True,
    )
    assert (db.immutable, db.type, db.default, db.choices) == (
        True,
        "string",
        "app",
        [("App DB", "app"), ("Other", "other")],
    )


def test_defaults_are_stringified_and_descriptor_is_sorted(tmp_path: Path) -> None:
    template = make_template(
        tmp_path / "t",
        {
            "_angee": {
                "kind": "stack",
                "name": "Demo",
                "description": "A demo",
                "inputs": {"zeta": {"generated": True}},
            },
            "flag": {"type": "bool", "default": True},
            "port": {"type": "int", "default": 8000},
            "ratio": {"type": "float", "default": 1.5},
            "tags": {"type": "json", "default": ["a", "b"]},
            "name": {"type": "str"},
            "computed": {"type": "str", "default": "{{ name | lower }}"},
        },
    )
    meta = load_meta(str(template), "stack")
    d = describe("stacks/demo", meta)
    assert [i.name for i in d.inputs] == ["computed", "flag", "name", "port", "ratio", "tags", "zeta"]
    by = {i.name: i for i in d.inputs}
    assert (by["flag"].default, by["port"].default, by["ratio"].default, by["tags"].default) == (
        "true",
        "8000",
        "1.5",
        '["a","b"]',
    )
    # A question without default counts as required; generated inputs do not.
    assert by["name"].required and by["name"].default is None and not by["zeta"].required
    assert (d.kind, d.name, d.description, d.path) == ("stack", "Demo", "A demo", str(template))
    # Jinja defaults are Copier's to compute: not part of the default inputs.
    assert default_inputs(meta) == {"flag": "true", "port": "8000", "ratio": "1.5", "tags": '["a","b"]'}


@pytest.mark.parametrize(
    ("angee", "message"),
    [
        ({}, "_angee.kind is required"),
        ({"kind": "stack", "schema": 2}, 'unsupported _angee.schema "2"'),
        ({"kind": "service"}, 'template kind "service" does not match "stack"'),
        ({"kind": "stack", "inputs": {"x": {"type": "color"}}}, 'input "x": unknown type "color"'),
    ],
)
def test_invalid_metadata_is_invalid_input(tmp_path: Path, angee: dict, message: str) -> None:
    template = make_template(tmp_path / "t", {"_angee": angee})
    with pytest.raises(InvalidInput) as err:
        load_meta(str(template), "stack")
    assert message in str(err.value)


def test_multi_document_config_and_include(tmp_path: Path) -> None:
    template = tmp_path / "t"
    write(template / "questions.yml", "color:\n  type: str\n  default: blue\n")
    write(
        template / "copier.yml",
        """\
        _angee: {kind: stack}
        _exclude: [a]
        ---
        _exclude: [b]
        size: {type: int, default: 3}
        ---
        !include questions.yml
        """,
    )
    meta = load_meta(str(template), "stack")
    assert sorted(meta.inputs) == ["color", "size"]
    assert meta.inputs["color"].default == "blue"


def test_generated_inputs_are_only_made_for_unset_values(tmp_path: Path) -> None:
    template = make_template(
        tmp_path / "t",
        {
            "_angee": {
                "kind": "stack",
                "inputs": {"token": {"generated": True, "length": 20}, "kept": {"generated": True}},
            }
        },
    )
    meta = load_meta(str(template), "stack")
    fresh = generate_inputs(meta, {"kept": "already"})
    assert list(fresh) == ["token"]
    assert len(fresh["token"]) == 20 and "=" not in fresh["token"]
    base64.urlsafe_b64decode(fresh["token"] + "=" * (-len(fresh["token"]) % 4))
    # Flow: recorded values win over generation, caller values over recorded.
    values = flow_inputs(meta, recorded={"token": "rec"}, caller={"kept": "mine"})
    assert values["token"] == "rec" and values["kept"] == "mine"


def test_check_inputs_reports_missing_and_invalid(tmp_path: Path) -> None:
    template = make_template(
        tmp_path / "t",
        {
            "_angee": {"kind": "workspace", "inputs": {"ticket": {"required": True}}},
            "port": {"type": "int", "default": 1},
            "debug": {"type": "bool", "default": False},
            "tier": {"type": "str", "choices": ["small", "large"], "default": "small"},
            "ratio": {"type": "float", "default": 0.5},
            "owner": {"type": "str"},
        },
    )
    meta = load_meta(str(template), "workspace")
    missing, invalid = check_inputs(
        meta, {"ticket": " ", "port": "eighty", "debug": "maybe", "tier": "huge", "ratio": "x"}
    )
    assert missing == ["owner", "ticket"]
    assert [i["field"] for i in invalid] == ["debug", "port", "ratio", "tier"]
    assert invalid[3]["reason"] == '"huge" is not one of: small, large'
    assert check_inputs(
        meta, {"ticket": "T-1", "owner": "me", "port": "80", "debug": "yes", "tier": "large"}
    ) == ([], [])


def test_immutable_and_injected_guards(tmp_path: Path) -> None:
    template = make_template(
        tmp_path / "t", {"_angee": {"kind": "workspace", "inputs": {"db": {"immutable": True}}}}
    )
    meta = load_meta(str(template), "workspace")
    check_immutable(meta, {"db": "a"}, {"db": "a", "other": "x"})
    with pytest.raises(InvalidInput) as err:
        check_immutable(meta, {"db": "a"}, {"db": "b"})
    assert (err.value.field, err.value.reason) == ("db", "immutable")
    with pytest.raises(InvalidInput) as err:
        reject_injected({"alloc_web": "1"}, ["workspace_name"])
    assert err.value.field == "alloc_web"


def test_path_inputs_resolve_against_the_layer_destination(tmp_path: Path) -> None:
    template = make_template(
        tmp_path / "t",
        {
            "_angee": {
                "kind": "stack",
                "inputs": {"src": {"type": "path"}, "abs": {"type": "path"}, "plain": {}},
            }
        },
    )
    meta = load_meta(str(template), "stack")
    inputs = {"ANGEE_ROOT": ".angee", "src": "examples/foo", "abs": "/opt/x", "plain": "examples/foo"}
    assert resolve_path_inputs(meta, inputs, "/p") == {**inputs, "src": "../examples/foo"}
    assert resolve_path_inputs(meta, {"ANGEE_ROOT": "state/dev", "src": "."}, "/p")["src"] == "../.."
    assert resolve_path_inputs(meta, {"src": "a/b"}, "/p")["src"] == "a/b"  # ANGEE_ROOT defaults to "."
    assert resolve_path_inputs(meta, {"src": "../x"}, "/p", verbatim=["src"])["src"] == "../x"


def test_ensure_sets_missing_and_accepts_equal_values() -> None:
    manifest = parse_manifest("name: demo\noperator:\n  port_pool:\n    web: {range: '9000-9010'}\n")
    added = apply_ensure(
        manifest,
        {
            "operator.port_pool.django": {"range": "8101-8199"},
            "operator.port_pool.web": {"range": "9000-9010"},
            "secrets_backend.path": ".env.local",
        },
    )
    assert added == ["operator.port_pool.django", "secrets_backend.path"]
    assert manifest.operator.port_pool["django"].range == "8101-8199"
    assert manifest.secrets_backend.path == ".env.local"


def test_ensure_conflicts_name_the_path_and_both_values() -> None:
    manifest = parse_manifest("name: demo\noperator:\n  port_pool:\n    web: {range: '9000-9010'}\n")
    with pytest.raises(Conflict) as err:
        apply_ensure(manifest, {"operator.port_pool.web": {"range": "8000-8010"}})
    assert err.value.kind == "ensure"
    assert str(err.value) == (
        'ensure: operator.port_pool.web: existing value {"range":"9000-9010"} conflicts with '
        'required value {"range":"8000-8010"}'
    )
    data = {"name": "x"}
    with pytest.raises(Conflict) as err:
        apply_ensure(data, {"name.first": "y"})
    assert "ensure: name.first: existing value" in str(err.value)


def test_ensure_result_is_revalidated() -> None:
    manifest = parse_manifest("name: demo\n")
    with pytest.raises(InvalidInput):
        apply_ensure(manifest, {"ingress.port": "not-a-port"})
