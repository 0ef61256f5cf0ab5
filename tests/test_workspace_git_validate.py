"""Unsafe names, refs and branches are refused before any git process starts, and the per-slot operations'
typed errors (templates-workspaces-git §5.3, §5.8; operator-and-cli §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from angee.errors import Conflict, InvalidInput, NotFound
from tests.test_workspace_git_support import (  # noqa: F401 - fixtures: git_home (autouse), recorder
    Recorder,
    git_home,
    make_git_stack,
    recorder_fixture,
    slot_path,
)

UNSAFE = ["-x", "--upload-pack=touch", "a..b", "..", "has space", "tab\there", "bell\x07", "esc\x1b[31m"]


@pytest.fixture
def stack(tmp_path: Path) -> Any:
    platform = make_git_stack(tmp_path, extra_sources="  docs: {kind: local, path: docs}\n")
    (Path(platform.root) / "docs").mkdir()
    platform.workspace_create("dev", name="w1")
    return platform


@pytest.mark.parametrize("value", UNSAFE)
def test_unsafe_refs_and_branches_of_slot_ops_are_refused_before_git(
    stack: Any, recorder: Recorder, value: str
) -> None:
    calls = [
        lambda: stack.workspace_source_merge("w1", "app", value),
        lambda: stack.workspace_source_rebase("w1", "app", value),
        lambda: stack.workspace_source_push("w1", "app", ref=value),
        lambda: stack.workspace_source_diff("w1", "app", ref=value),
        lambda: stack.workspace_source_publish("w1", "app", remote=value),
        lambda: stack.workspace_source_publish("w1", "app", branch=value),
        lambda: stack.workspace_push("w1", ref=value),
    ]
    for call in calls:
        recorder.clear()
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.field in ("ref", "remote", "branch")
        assert recorder.calls() == []
    assert "\x1b" not in str(err.value) and "\x07" not in str(err.value)  # shown escaped, one line


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("source", "-app", '"-app" must not begin with "-"'),
        ("branch", "--force", '"--force" must not begin with "-"'),
        ("branch", "feature..x", '"feature..x" must not contain ".."'),
        ("ref", "main two", '"main two" must not contain spaces or control characters'),
        ("ref", "main\\u0001", '"main\\x01" must not contain spaces or control characters'),
    ],
)
def test_unsafe_template_slots_are_refused_before_git(
    tmp_path: Path, recorder: Recorder, key: str, value: str, message: str
) -> None:
    template = f'_angee:\n  kind: workspace\n  sources:\n    app: {{source: app, {key}: "{value}"}}\n'
    platform = make_git_stack(tmp_path, template=template)
    recorder.clear()
    with pytest.raises(InvalidInput) as err:
        platform.workspace_create("dev", name="w1")
    assert str(err.value).endswith(message)
    assert recorder.calls() == []
    assert not (Path(platform.root) / "workspaces" / "w1").exists()


def test_unsafe_recorded_branch_is_refused_before_git(stack: Any, recorder: Recorder) -> None:
    def poison(manifest: Any) -> None:
        manifest.workspaces["w1"].sources["app"].branch = "-evil"

    stack.mutate(poison)
    recorder.clear()
    with pytest.raises(InvalidInput, match='must not begin with "-"'):
        stack.workspace_source_fetch("w1", "app")
    assert recorder.calls() == []


def test_merge_and_rebase_need_a_ref(stack: Any) -> None:
    for op in (stack.workspace_source_merge, stack.workspace_source_rebase):
        with pytest.raises(InvalidInput) as err:
            op("w1", "app", "")
        assert (err.value.field, str(err.value)) == ("ref", "ref: is required")


def test_unknown_workspace_slot_and_source_are_typed_404s(stack: Any) -> None:
    with pytest.raises(NotFound) as err:
        stack.workspace_source_fetch("nope", "app")
    assert (err.value.kind, err.value.name) == ("workspace", "nope")
    with pytest.raises(NotFound) as err:
        stack.workspace_source_merge("w1", "nope", "main")
    assert (err.value.kind, err.value.name, str(err.value)) == (
        "workspace-source",
        "nope",
        'workspace-source "nope" is not declared',
    )
    with pytest.raises(NotFound):
        stack.workspace_git("nope")

    def orphan(manifest: Any) -> None:
        manifest.workspaces["w1"].sources["app"].source = "ghost"

    stack.mutate(orphan)
    with pytest.raises(NotFound) as err:
        stack.workspace_source_diff("w1", "app")
    assert (err.value.kind, err.value.name) == ("source", "ghost")
    rows = {s.slot: s for s in stack.workspace_git("w1")}  # the whole-workspace view reports it per slot
    assert (rows["app"].state, rows["app"].error, rows["app"].pushed) == (
        "error",
        'source "ghost" is not declared',
        False,
    )


def test_a_local_slot_is_not_a_git_slot(stack: Any) -> None:
    def mount_docs(manifest: Any) -> None:
        from angee.manifest.model import WorkspaceSource

        manifest.workspaces["w1"].sources["docs"] = WorkspaceSource(
            source="docs", mode="mount", subpath="docs"
        )

    stack.mutate(mount_docs)
    with pytest.raises(InvalidInput) as err:
        stack.workspace_source_diff("w1", "docs")
    assert str(err.value) == 'workspace source "docs" is a local source: only git sources can be diffed'


def test_a_missing_checkout_is_a_conflict(stack: Any) -> None:
    stack.workspace_create("dev", name="w2")
    import shutil

    shutil.rmtree(slot_path(stack, "w2", "lib"))
    with pytest.raises(Conflict) as err:
        stack.workspace_source_fetch("w2", "lib")
    assert str(err.value).startswith('workspace "w2" source "lib" is missing at ')
    assert stack.workspace_git("w2")[1].state == "missing"
    assert [s.slot for s in stack.workspace_push("w2")] == ["app"]  # missing slots are skipped


def test_publish_on_a_detached_head_without_branch_is_invalid(stack: Any, tmp_path: Path) -> None:
    from tests.test_workspace_git_support import sh

    def no_branch(manifest: Any) -> None:
        manifest.workspaces["w1"].sources["app"].branch = ""

    stack.mutate(no_branch)
    sh(slot_path(stack, "w1", "app"), "switch", "-q", "--detach")
    with pytest.raises(InvalidInput) as err:
        stack.workspace_source_publish("w1", "app")
    assert err.value.field == "branch"
