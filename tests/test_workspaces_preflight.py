"""Workspace create preflight (§5.4): effective inputs, missing and invalid inputs, no side effects."""

from __future__ import annotations

import os

import pytest

from angee.errors import InvalidInput, NotFound
from tests.test_workspaces_support import WsPlatform, make_stack, tree_snapshot, write_template


@pytest.fixture
def root(tmp_path) -> str:
    root = make_stack(str(tmp_path / "stack"))
    write_template(
        root,
        "workspaces",
        "typed",
        """\
        _angee:
          kind: workspace
          inputs:
            count: {type: int}
            ratio: {type: float}
            flag: {type: bool}
            color: {choices: [red, blue]}
            owner: {required: true}
            secret: {generated: true}
        question: {type: str, help: "asked"}
        """,
        {"a.txt": "a\n"},
    )
    return root


def test_preflight_reports_missing_and_invalid_and_touches_nothing(root: str) -> None:
    platform = WsPlatform(root)
    before = tree_snapshot(os.path.dirname(root))
    result = platform.workspace_create_preflight(
        "typed",
        name="pool",
        inputs={"count": "x1", "ratio": "abc", "flag": "maybe", "color": "green", "alloc_web": "1"},
        ttl="3 days",
    )
    assert tree_snapshot(os.path.dirname(root)) == before
    assert not os.path.exists(os.path.join(root, "run"))
    assert result.ok is False
    assert result.template == "typed" and result.resolved_template == "workspaces/typed"
    assert result.missing_required == ["owner", "question"]
    fields = {f.field: f.reason for f in result.invalid_inputs}
    assert fields["count"] == 'not an integer: "x1"'
    assert fields["flag"] == 'not a boolean: "maybe"'
    assert "ratio" in fields and "color" in fields
    assert fields["ttl"] == 'invalid duration "3 days"'
    assert "reserved" in fields["name"]
    assert "alloc_web" in fields
    assert [f.field for f in result.invalid_inputs] == sorted(f.field for f in result.invalid_inputs)
    # generated values are never shown; provided ones are
    assert "secret" not in result.effective_inputs
    assert result.effective_inputs["count"] == "x1"


def test_preflight_ok_with_effective_inputs(root: str) -> None:
    result = WsPlatform(root).workspace_create_preflight(
        "dev", inputs={"topic": "Add Login", "debug": "YES"}, ttl="90m"
    )
    assert result.ok is True
    assert result.missing_required == [] and result.invalid_inputs == []
    assert result.effective_inputs == {"debug": "YES", "level": "3", "topic": "Add Login"}
    assert result.resolved_template == "workspaces/dev"


def test_preflight_checks_name_uniqueness(root: str) -> None:
    platform = WsPlatform(root)
    platform.workspace_create("dev", inputs={"topic": "taken"})
    result = platform.workspace_create_preflight("dev", inputs={"topic": "Taken"})
    assert result.ok is False
    assert [(f.field, f.reason) for f in result.invalid_inputs] == [
        ("name", "workspace taken already exists")
    ]


def test_preflight_accepts_empty_and_any_case_booleans(root: str) -> None:
    result = WsPlatform(root).workspace_create_preflight(
        "typed", name="t1", inputs={"owner": "me", "question": "q", "flag": "N", "count": "-3"}
    )
    assert result.invalid_inputs == [] and result.ok


def test_preflight_of_bad_templates_raises(root: str) -> None:
    platform = WsPlatform(root)
    with pytest.raises(InvalidInput):
        platform.workspace_create_preflight("")
    with pytest.raises(NotFound):
        platform.workspace_create_preflight("missing")
    with pytest.raises(InvalidInput):
        platform.workspace_create_preflight("stacks/inner")
