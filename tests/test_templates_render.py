"""Rendering with real Copier renders (§3.1–§3.6): snapshots, include_root, include rule A/B, engine
settings, symlinks and answers files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import yaml

import angee.templates.snapshot as snapshot_module
from angee.errors import InvalidInput, RuntimeFailure
from angee.templates import Layer, RenderPlan, read_answers, render, resolve_chain_template, resolve_template
from angee.templates.copier_ext import check_copier_version
from tests.test_templates_helpers import git, git_repo_with_template, make_template, write


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Snapshots and scratch trees go to a temp dir the test can inspect."""
    scratch = tmp_path / "systmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def render_into(
    template: Path, target: Path, inputs: dict[str, str] | None = None, kind: str = "stack", **kw
):
    resolved = resolve_template(str(target), str(template), kind)
    plan = RenderPlan(
        target=str(target),
        layers=[Layer("main", resolved, ".", dict(inputs or {}))],
        state_path=str(target / "run" / "template-state" / "stack.json"),
    )
    return render(plan, mode=kw.pop("mode", "create"), **kw)


def test_renders_from_a_private_git_free_snapshot(tmp_path: Path, private_tmp: Path) -> None:
    """A template that is a git repo root renders its working tree, not its latest tag; nothing is left
    behind in the temp dir and ``.git`` never reaches the output."""
    template = make_template(tmp_path / "tpl", {"_angee": {"kind": "stack"}}, {"README.md.jinja": "tagged\n"})
    git(template, "init", "-q", "-b", "main")
    git(template, "add", "-A")
    git(template, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "one")
    git(template, "tag", "v1.0.0")
    (template / "README.md.jinja").write_text("working tree {{ 1 + 1 }}\n")
    target = tmp_path / "out"
    result = render_into(template, target)
    assert (target / "README.md").read_text() == "working tree 2\n"
    assert not (target / ".git").exists()
    assert [c.path for c in result.changes] == ["README.md"]
    assert os.listdir(private_tmp) == []


def test_include_root_bounds_includes(tmp_path: Path) -> None:
    shared = write(tmp_path / "tpls" / "_shared" / "body.yaml.jinja", "body for {{ who }}\n")
    config = {"_angee": {"kind": "stack", "include_root": "../.."}, "who": {"type": "str", "default": "all"}}
    files = {"out.txt.jinja": '{% include "../../_shared/body.yaml.jinja" %}'}
    template = make_template(tmp_path / "tpls" / "stacks" / "dev", config, files)
    render_into(template, tmp_path / "a", {"who": "me"})
    assert (tmp_path / "a" / "out.txt").read_text() == "body for me\n"
    # Without include_root the same include is outside the snapshot: a clear error naming it.
    config["_angee"].pop("include_root")
    make_template(template, config)
    with pytest.raises(InvalidInput) as err:
        render_into(template, tmp_path / "b")
    assert 'include "../../_shared/body.yaml.jinja" not found in out.txt.jinja' in str(err.value)
    assert not (tmp_path / "b").exists()
    assert shared.exists()


@pytest.mark.parametrize(
    ("include_root", "message"),
    [
        ("/abs", "must be a relative path"),
        ("sub", "must name the template dir or one of its ancestors"),
    ],
)
def test_include_root_must_be_an_ancestor(tmp_path: Path, include_root: str, message: str) -> None:
    template = make_template(
        tmp_path / "t", {"_angee": {"kind": "stack", "include_root": include_root}}, {"a": "x"}
    )
    (template / "sub").mkdir()
    with pytest.raises(InvalidInput, match=message):
        render_into(template, tmp_path / "out")


def test_include_root_may_not_be_the_filesystem_root(tmp_path: Path) -> None:
    depth = len(Path(tmp_path / "t").parts)
    template = make_template(
        tmp_path / "t", {"_angee": {"kind": "stack", "include_root": "/".join([".."] * depth)}}
    )
    with pytest.raises(InvalidInput, match="must not be / or the home directory"):
        render_into(template, tmp_path / "out")


def test_include_rule_a_then_b_and_no_relative_nesting(tmp_path: Path) -> None:
    """With ``_subdirectory: template``: A (from the subdirectory) wins over B (from the template dir);
    B applies only without ``..``; nested includes resolve from the same roots, not the including file."""
    template = make_template(
        tmp_path / "tpls" / "web",
        {"_angee": {"kind": "stack", "include_root": ".."}, "_subdirectory": "template"},
        {
            "template/both.jinja": "A-both",
            "both.jinja": "B-both",
            "only-b.jinja": "B-only",
            "template/sub/page.txt.jinja": '{% include "both.jinja" %} {% include "only-b.jinja" %} '
            '{% include "nested.jinja" %} {% include "../../_shared/x.jinja" %}',
            "template/nested.jinja": "root-nested",
            "template/sub/nested.jinja": "WRONG",
            "template/macros.jinja": "{% macro hi(n) %}hi {{ n }}{% endmacro %}",
            "template/base.jinja": "[{% block body %}{% endblock %}]",
            "template/child.txt.jinja": '{% extends "base.jinja" %}{% block body %}'
            '{% from "macros.jinja" import hi %}{{ hi("x") }}{% endblock %}',
        },
    )
    write(tmp_path / "tpls" / "_shared" / "x.jinja", "shared")
    target = tmp_path / "out"
    render_into(template, target)
    assert (target / "sub" / "page.txt").read_text() == "A-both B-only root-nested shared"
    assert (target / "child.txt").read_text() == "[hi x]"
    assert not (target / "only-b").exists()  # outside the subdirectory: never a rendered file


def test_dotdot_include_never_uses_candidate_b(tmp_path: Path) -> None:
    template = make_template(
        tmp_path / "root" / "tpl",
        {"_angee": {"kind": "stack", "include_root": ".."}, "_subdirectory": "template"},
        {"template/page.txt.jinja": '{% include "../x.jinja" %}', "x.jinja": "in template dir"},
    )
    render_into(template, tmp_path / "out")  # A: tpl/template/../x.jinja = tpl/x.jinja
    assert (tmp_path / "out" / "page.txt").read_text() == "in template dir"
    # Candidate B (<template dir>/../x.jinja, inside the snapshot) is never tried for a ".." name.
    (template / "x.jinja").unlink()
    write(tmp_path / "root" / "x.jinja", "B would find me")
    with pytest.raises(InvalidInput, match=r'include "\.\./x\.jinja" not found in template/page\.txt\.jinja'):
        render_into(template, tmp_path / "out2")


def test_engine_settings(tmp_path: Path) -> None:
    """Autoescape off, declared questions cast, undeclared inputs visible, tasks never run."""
    template = make_template(
        tmp_path / "t",
        {
            "_angee": {"kind": "stack", "inputs": {"extra": {"default": "x"}}},
            "_tasks": ["touch TASK_RAN"],
            "debug": {"type": "boolean", "default": False},
            "port": {"type": "integer", "default": 1, "required": True},
        },
        {"out.txt.jinja": "{{ '<b>' }} {{ debug is sameas true }} {{ port + 1 }} {{ extra }}\n"},
    )
    render_into(template, tmp_path / "out", {"debug": "true", "port": "41", "extra": "seen"})
    assert (tmp_path / "out" / "out.txt").read_text() == "<b> True 42 seen\n"
    assert not (tmp_path / "out" / "TASK_RAN").exists()


def test_unsafe_and_invalid_answers_are_invalid_input(tmp_path: Path) -> None:
    unsafe = make_template(
        tmp_path / "u", {"_angee": {"kind": "stack"}, "_jinja_extensions": ["jinja2.ext.do"]}
    )
    with pytest.raises(InvalidInput, match="_jinja_extensions are not allowed"):
        render_into(unsafe, tmp_path / "o1")
    checked = make_template(
        tmp_path / "c",
        {
            "_angee": {"kind": "stack"},
            "size": {"type": "str", "default": "s", "choices": ["s", "m"]},
            "name": {
                "type": "str",
                "default": "ok",
                "validator": "{% if name == 'bad' %}name must not be bad{% endif %}",
            },
        },
        {"x.jinja": "{{ size }}"},
    )
    with pytest.raises(InvalidInput) as err:
        render_into(checked, tmp_path / "o2", {"name": "bad"})
    assert (err.value.field, err.value.reason) == ("name", "name must not be bad")
    with pytest.raises(InvalidInput) as err:
        render_into(checked, tmp_path / "o3", {"size": "xl"})
    assert err.value.field == "size"
    broken = make_template(tmp_path / "b", {"_angee": {"kind": "stack"}}, {"x.txt.jinja": "{% if %}"})
    with pytest.raises(InvalidInput, match=r"x\.txt\.jinja:1"):
        render_into(broken, tmp_path / "o4")


def test_symlinks_followed_or_preserved(tmp_path: Path) -> None:
    root = tmp_path / "tpls"
    write(root / "_shared" / "data.txt", "shared data\n")
    template = make_template(
        root / "web", {"_angee": {"kind": "stack", "include_root": ".."}}, {"real.txt": "real\n"}
    )
    os.symlink("../_shared/data.txt", template / "linked.txt")
    os.symlink("real.txt", template / "alias.txt")
    render_into(template, tmp_path / "followed")
    assert (tmp_path / "followed" / "linked.txt").read_text() == "shared data\n"
    assert not (tmp_path / "followed" / "linked.txt").is_symlink()
    # Preserved: the same link text, pointing wherever it points (even outside the destination).
    make_template(template, {"_angee": {"kind": "stack"}, "_preserve_symlinks": True})
    os.unlink(template / "linked.txt")
    os.symlink("sources/angee/templates", template / "templates")
    render_into(template, tmp_path / "kept")
    assert os.readlink(tmp_path / "kept" / "templates") == "sources/angee/templates"
    state = (tmp_path / "kept" / "run" / "template-state" / "stack.json").read_text()
    assert '"link": "sources/angee/templates"' in state


def test_link_outside_the_snapshot_is_a_render_error(tmp_path: Path) -> None:
    write(tmp_path / "secret.txt", "nope")
    template = make_template(tmp_path / "t", {"_angee": {"kind": "stack"}})
    os.symlink(str(tmp_path / "secret.txt"), template / "leak.txt")
    with pytest.raises(InvalidInput, match="symlink leak.txt resolves outside the template snapshot"):
        render_into(template, tmp_path / "out")


def test_answers_file_written_by_angee(tmp_path: Path) -> None:
    make_template(
        tmp_path / "tpls" / "stacks" / "dev",
        {
            "_angee": {"kind": "stack"},
            "_answers_file": ".answers/dev.yml",
            "flag": {"type": "bool", "default": True},
        },
        {"x.txt.jinja": "{{ flag }}"},
    )
    target = tmp_path / "out"
    resolved = resolve_template(str(tmp_path / "tpls" / ".."), "dev", "stack", template_paths=["tpls"])
    plan = RenderPlan(
        str(target),
        [Layer("stack", resolved, ".", {"flag": "true", "zz": "1", "aa": "2"})],
        str(target / "s.json"),
    )
    result = render(plan, mode="create")
    text = (target / ".answers" / "dev.yml").read_text()
    assert text.startswith("# ")
    body = yaml.safe_load(text)
    assert list(body) == ["_src_path", "aa", "flag", "zz"]
    assert body == {"_src_path": "stacks/dev", "aa": "2", "flag": "true", "zz": "1"}
    assert read_answers(str(target / ".answers" / "dev.yml")) == (
        "stacks/dev",
        {"aa": "2", "flag": "true", "zz": "1"},
    )
    assert [c.path for c in result.changes] == ["x.txt"]  # answers are not file-tracked
    (target / ".answers" / "dev.yml").write_text("hand edited\n")
    render(plan, mode="update")  # machine-owned: rewritten without a conflict
    assert yaml.safe_load((target / ".answers" / "dev.yml").read_text())["aa"] == "2"


def test_include_root_stays_inside_a_remote_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    work, bare = tmp_path / "work", tmp_path / "bare.git"
    git_repo_with_template(work, bare, "stacks/dev")
    config = yaml.safe_load((work / "stacks" / "dev" / "copier.yml").read_text())
    config["_angee"]["include_root"] = "../../.."  # the cache dir above the clone
    (work / "stacks" / "dev" / "copier.yml").write_text(yaml.safe_dump(config))
    git(work, "commit", "-qam", "escape")
    git(work, "push", "-q", "origin", "main")
    resolved = resolve_template(str(tmp_path), f"file://{bare}//stacks/dev", "stack")
    plan = RenderPlan(str(tmp_path / "out"), [Layer("stack", resolved, ".", {})], str(tmp_path / "s.json"))
    with pytest.raises(InvalidInput, match="must stay inside the template repository"):
        render(plan, mode="create")


def test_workspace_chain_templates_stay_strictly_inside_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "workspaces" / "w1"
    template = make_template(
        ws / "app" / ".templates" / "stacks" / "dev", {"_angee": {"kind": "stack"}}, {"a": "x"}
    )
    for include_root, ok in (("../..", True), ("../../../..", False)):
        config = {"_angee": {"kind": "stack", "include_root": include_root}}
        make_template(template, config)
        resolved = resolve_chain_template(
            str(tmp_path), "app/.templates/stacks/dev", base_dir=str(ws), bound=str(ws), bound_strict=True
        )
        assert (resolved.bound, resolved.bound_strict) == (str(ws), True)
        plan = RenderPlan(
            str(tmp_path / "out"), [Layer("chain:0", resolved, ".", {})], str(tmp_path / "s.json")
        )
        if ok:
            render(plan, mode="create")
        else:
            with pytest.raises(InvalidInput, match="must stay strictly inside the workspace"):
                render(plan, mode="create")


def test_snapshot_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshot_module, "MAX_ENTRIES", 3)
    template = make_template(
        tmp_path / "t", {"_angee": {"kind": "stack"}}, {f"f{i}.txt": "x" for i in range(5)}
    )
    with pytest.raises(InvalidInput, match="template snapshot exceeds 256 MiB or 3 entries"):
        render_into(template, tmp_path / "out")


def test_copier_version_range_is_checked() -> None:
    check_copier_version("9.19.1")
    check_copier_version("9.30.0")
    for bad in ("9.3.0", "10.0.0"):
        with pytest.raises(RuntimeFailure, match=r"copier>=9.19,<10"):
            check_copier_version(bad)
