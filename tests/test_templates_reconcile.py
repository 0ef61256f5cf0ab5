"""Reconciliation of renders with the live tree (§3.8): the change/conflict table, dry runs, overwrite,
state file, symlink parents, rollback; plus stack documents and chains (§3.7)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from angee.errors import Conflict, InvalidInput, RuntimeFailure
from angee.templates import (
    Layer,
    RenderPlan,
    build_chain_layers,
    read_answers,
    render,
    resolve_template,
    stack_plan,
)
from tests.test_templates_helpers import make_template, write

CONFIG = {"_angee": {"kind": "workspace"}}


@pytest.fixture
def setup(tmp_path: Path):
    """A workspace-like template rendered once (create mode) into ``target``."""
    template = make_template(
        tmp_path / "tpl",
        CONFIG,
        {"a.txt": "a1\n", "dir/c.txt": "c1\n", "keep.txt": "same\n"},
    )
    target = tmp_path / "ws"
    state = tmp_path / "root" / "run" / "template-state" / "workspaces" / "ws.json"

    def plan(**kw) -> RenderPlan:
        resolved = resolve_template(str(tmp_path), str(template), "workspace")
        return RenderPlan(str(target), [Layer("workspace", resolved, ".", {})], str(state), **kw)

    render(plan(), mode="create")
    return template, target, state, plan


def changes(result) -> list[tuple[str, str]]:
    return [(c.path, c.kind) for c in result.changes]


def test_state_file_records_layers_files_and_modes(setup) -> None:
    template, target, state, _ = setup
    data = json.loads(state.read_text())
    assert data["version"] == 1
    assert data["layers"] == [
        {
            "name": "workspace",
            "template": str(template),
            "dest_root": ".",
            "answers_file": ".copier-answers.yml",
        }
    ]
    assert sorted(data["files"]) == ["a.txt", "dir/c.txt", "keep.txt"]
    assert data["files"]["a.txt"]["kind"] == "file" and data["files"]["a.txt"]["mode"] == 0o644
    assert data["documents"] == {} and data["protected_paths"] == []


def test_up_to_date_render_changes_nothing(setup) -> None:
    _, target, state, plan = setup
    before = state.stat().st_mtime_ns
    result = render(plan(), mode="update")
    assert result.changes == [] and not result.changed
    assert state.stat().st_mtime_ns == before


def test_modify_delete_prune_adopt_and_user_files(setup) -> None:
    template, target, _, plan = setup
    (template / "a.txt").write_text("a2\n")
    (template / "dir" / "c.txt").unlink()
    (template / "dir").rmdir()
    write(template / "new.txt", "new\n")
    write(template / "adopted.txt", "adopted\n")
    write(target / "adopted.txt", "adopted\n")
    write(target / "mine.txt", "user file\n")
    dry = render(plan(), mode="update", dry_run=True)
    assert changes(dry) == [
        ("a.txt", "modify"),
        ("adopted.txt", "adopt"),
        ("dir/c.txt", "delete"),
        ("new.txt", "add"),
    ]
    assert (target / "a.txt").read_text() == "a1\n" and (
        target / "dir" / "c.txt"
    ).exists()  # dry run wrote nothing
    result = render(plan(), mode="update")
    assert changes(result) == changes(dry) and result.changed
    assert (target / "a.txt").read_text() == "a2\n"
    assert not (target / "dir").exists()  # emptied by the deletion: pruned
    assert (target / "new.txt").read_text() == "new\n"
    assert (target / "mine.txt").read_text() == "user file\n"


def test_conflicts_block_the_whole_apply_unless_overwrite(setup) -> None:
    template, target, state, plan = setup
    (template / "a.txt").write_text("a2\n")
    (template / "keep.txt").write_text("template change\n")
    write(template / "b.txt", "from template\n")
    (target / "a.txt").write_text("local edit\n")
    write(target / "b.txt", "untracked\n")
    (target / "keep.txt").unlink()
    os.symlink("a.txt", target / "keep.txt")
    dry = render(plan(), mode="update", dry_run=True)
    assert [(c.path, c.reason) for c in dry.conflicts] == [
        ("a.txt", "locally-modified"),
        ("b.txt", "untracked-different"),
        ("keep.txt", "type-changed"),
    ]
    state_before = state.read_text()
    with pytest.raises(Conflict) as err:
        render(plan(), mode="update", conflict_kind="workspace-template")
    assert err.value.kind == "workspace-template"
    assert err.value.conflicts == [
        {"path": "a.txt", "reason": "locally-modified"},
        {"path": "b.txt", "reason": "untracked-different"},
        {"path": "keep.txt", "reason": "type-changed"},
    ]
    assert (target / "a.txt").read_text() == "local edit\n" and state.read_text() == state_before
    result = render(plan(), mode="update", overwrite=True)
    assert result.conflicts == []
    assert (target / "a.txt").read_text() == "a2\n" and (target / "b.txt").read_text() == "from template\n"
    assert not (target / "keep.txt").is_symlink() and (target / "keep.txt").read_text() == "template change\n"


def test_locally_modified_file_removed_from_template(setup) -> None:
    template, target, _, plan = setup
    (template / "dir" / "c.txt").unlink()
    (template / "dir").rmdir()
    (target / "dir" / "c.txt").write_text("edited\n")
    assert [(c.path, c.reason) for c in render(plan(), mode="update", dry_run=True).conflicts] == [
        ("dir/c.txt", "locally-modified")
    ]
    assert changes(render(plan(), mode="update", overwrite=True)) == [("dir/c.txt", "delete")]
    assert not (target / "dir").exists()


def test_protected_paths_are_never_reconciled(setup) -> None:
    template, target, state, plan = setup
    write(template / "data" / "seed.txt", "template seed\n")
    write(target / "data" / "seed.txt", "live data\n")
    result = render(plan(protected_paths=["data"]), mode="update")
    assert changes(result) == []
    assert (target / "data" / "seed.txt").read_text() == "live data\n"
    assert json.loads(state.read_text())["protected_paths"] == ["data"]


def test_unreadable_state_is_an_error_naming_the_file(setup) -> None:
    _, _, state, plan = setup
    state.write_text("{not json")
    with pytest.raises(RuntimeFailure, match=str(state)):
        render(plan(), mode="update")
    state.write_text(json.dumps({"version": 2, "files": {}}))
    with pytest.raises(RuntimeFailure, match="unknown version 2"):
        render(plan(), mode="update")
    render(plan(), mode="create")  # create mode starts from scratch


def test_failure_rolls_back_every_write(setup) -> None:
    template, target, state, plan = setup
    (template / "a.txt").write_text("a2\n")
    write(template / "new" / "deep.txt", "new\n")
    (template / "dir" / "c.txt").unlink()
    state_before = state.read_text()

    def failing_handler(documents: dict[str, str]) -> None:
        raise RuntimeFailure("handler failed")

    with pytest.raises(RuntimeFailure, match="handler failed"):
        render(plan(), mode="update", write_documents=failing_handler)
    assert (target / "a.txt").read_text() == "a1\n"
    assert (target / "dir" / "c.txt").read_text() == "c1\n"
    assert not (target / "new").exists()
    assert state.read_text() == state_before
    assert sorted(p.name for p in target.iterdir()) == [".copier-answers.yml", "a.txt", "dir", "keep.txt"]


def test_never_writes_through_a_symlinked_parent(setup, tmp_path: Path) -> None:
    template, target, _, plan = setup
    (template / "dir" / "c.txt").write_text("c2\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "c.txt").write_text("c1\n")
    for item in (target / "dir").iterdir():
        item.unlink()
    (target / "dir").rmdir()
    os.symlink(elsewhere, target / "dir")
    with pytest.raises(Conflict, match="dir is a symlink"):
        render(plan(), mode="update")
    assert (elsewhere / "c.txt").read_text() == "c1\n"
    # A declared local-source slot link is the one exception: written through while it resolves to its source.
    render(plan(local_slot_links={"dir": str(elsewhere)}), mode="update")
    assert (elsewhere / "c.txt").read_text() == "c2\n" and (target / "dir").is_symlink()
    with pytest.raises(Conflict, match="no longer resolves to its source"):
        (template / "dir" / "c.txt").write_text("c3\n")
        render(plan(local_slot_links={"dir": str(tmp_path / "other")}), mode="update")


def test_cancelled_render_writes_nothing(setup) -> None:
    template, target, _, plan = setup
    (template / "a.txt").write_text("a2\n")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(RuntimeFailure, match="cancelled"):
        render(plan(), mode="update", cancel=cancel)
    assert (target / "a.txt").read_text() == "a1\n"


def test_stack_plan_chains_documents_and_answers(tmp_path: Path) -> None:
    """Chain layers render first (at chain_root), the stack last; angee.yaml files become documents."""
    tpls = tmp_path / "host" / ".templates"
    make_template(
        tpls / "projects" / "web",
        {"_angee": {"kind": "project", "inputs": {"web_port": {"default": "8000"}, "src": {"type": "path"}}}},
        {
            "app.py.jinja": "PORT = {{ web_port }}  # {{ project }} {{ src }}\n",
            "shared.txt": "from chain\n",
            "{{ ANGEE_ROOT }}/angee.yaml.jinja": "name: inner\n",
        },
    )
    make_template(
        tpls / "stacks" / "dev",
        {
            "_angee": {
                "kind": "stack",
                "chain_root": "apps/${inputs.project}",
                "chain": [
                    {
                        "template": "../../projects/web",
                        "inputs": {"web_port": "9${inputs.port_suffix}", "src": "code"},
                    }
                ],
                "inputs": {"project": {"default": "demo"}, "port_suffix": {"default": "001"}},
            }
        },
        {"shared.txt": "from stack\n", "{{ ANGEE_ROOT }}/angee.yaml.jinja": "name: {{ project }}\n"},
    )
    root = tmp_path / "host"
    resolved = resolve_template(str(root), "dev", "stack")
    target = tmp_path / "host"
    plan = stack_plan(
        resolved,
        {"project": "demo", "port_suffix": "001", "ANGEE_ROOT": ".angee"},
        root=str(root),
        target=str(target),
        state_path=str(target / ".angee" / "run" / "template-state" / "stack.json"),
    )
    assert [(layer.name, layer.dest_root) for layer in plan.layers] == [
        ("chain:0", "apps/demo"),
        ("stack", "."),
    ]
    assert plan.layers[0].template.ref == "../../projects/web"
    result = render(plan, mode="create")
    assert result.documents == {
        ".angee/angee.yaml": "name: demo\n",
        "apps/demo/.angee/angee.yaml": "name: inner\n",
    }
    assert not (target / ".angee" / "angee.yaml").exists()  # documents are the caller's to install
    # Chain inputs: parent inputs + substituted entry inputs; path inputs resolved at the entry dest.
    assert (target / "apps" / "demo" / "app.py").read_text() == "PORT = 9001  # demo ../code\n"
    assert (target / "shared.txt").read_text() == "from stack\n"
    assert (target / "apps" / "demo" / ".copier-answers.yml").exists()
    assert (target / ".copier-answers.yml").exists()


def test_workspace_chain_entries_need_a_root(tmp_path: Path) -> None:
    ws = tmp_path / "workspaces" / "w1"
    make_template(ws / "app" / "stacks" / "inner", {"_angee": {"kind": "stack"}}, {"a": "x"})
    parent = make_template(
        tmp_path / "tpl",
        {
            "_angee": {
                "kind": "workspace",
                "chain": [{"template": "app/stacks/inner", "inputs": {"p": "${alloc.web}"}}],
            }
        },
    )
    resolved = resolve_template(str(tmp_path), str(parent), "workspace")
    common = {"root": str(tmp_path), "target": str(ws), "plan_kind": "workspace", "base_dir": str(ws)}
    with pytest.raises(InvalidInput, match='chain entry "app/stacks/inner" requires a root'):
        build_chain_layers(resolved, {}, name="w1", allocations={"web": 8101}, **common)
    resolved.meta.chain_root = "stack-${name}"
    [layer] = build_chain_layers(resolved, {"x": "1"}, name="w1", allocations={"web": 8101}, **common)
    assert (layer.dest_root, layer.inputs, layer.template.path) == (
        "stack-w1",
        {"x": "1", "p": "8101"},
        str(ws / "app" / "stacks" / "inner"),
    )
    assert "workspace_name" not in layer.inputs  # chain layers get no injected inputs implicitly


def test_answers_readers_stringify_scalars(tmp_path: Path) -> None:
    answers = write(
        tmp_path / "a.yml", "_src_path: stacks/dev\n_commit: abc\nport: 8000\nflag: true\nratio: 1.5\n"
    )
    assert read_answers(str(answers)) == ("stacks/dev", {"port": "8000", "flag": "true", "ratio": "1.5"})
