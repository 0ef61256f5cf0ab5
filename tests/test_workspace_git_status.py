"""Workspace and slot status (templates-workspaces-git §5.6): the first-match slot table and the workspace
state precedence ``ready|missing|error`` → ``expired`` → ``discrepancy``, inspected through the git
plugin."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from angee.manifest.model import WorkspaceSource
from tests.test_workspace_git_support import (  # noqa: F401 - fixtures: git_home (autouse), recorder
    Recorder,
    git_home,
    make_git_stack,
    recorder_fixture,
    sh,
    slot,
    slot_path,
    write,
)


@pytest.fixture
def stack(tmp_path: Path) -> Any:
    platform = make_git_stack(tmp_path, extra_sources="  docs: {kind: local, path: docs}\n")
    (Path(platform.root) / "docs").mkdir()
    platform.workspace_create("dev", name="w1")
    return platform


def add_slot(stack: Any, name: str, rec: WorkspaceSource) -> None:
    def change(manifest: Any) -> None:
        manifest.workspaces["w1"].sources[name] = rec

    stack.mutate(change)


def test_first_match_rows_of_the_slot_table(stack: Any) -> None:
    ws_dir = Path(stack.root) / "workspaces" / "w1"
    add_slot(stack, "escape", WorkspaceSource(source="app", mode="worktree", subpath="../outside"))
    add_slot(stack, "ghost", WorkspaceSource(source="ghost", mode="worktree", branch="workspace/w1"))
    add_slot(stack, "gone", WorkspaceSource(source="app", mode="clone", subpath="gone"))
    add_slot(stack, "docs", WorkspaceSource(source="docs", mode="mount", subpath="docs"))
    os.symlink(os.path.relpath(Path(stack.root) / "docs", ws_dir), ws_dir / "docs")
    add_slot(stack, "plain", WorkspaceSource(source="lib", mode="clone", subpath="plain"))
    (ws_dir / "plain").mkdir()  # exists but is no checkout: a git failure

    rows = {s.slot: s for s in stack.workspace_status("w1").sources}

    assert list(rows) == ["app", "docs", "escape", "ghost", "gone", "lib", "plain"]
    assert (rows["escape"].state, rows["escape"].pushed) == ("error", False)
    assert rows["escape"].error == '"../outside" escapes the workspace root'
    assert (rows["ghost"].state, rows["ghost"].pushed, rows["ghost"].kind) == ("error", False, "")
    assert rows["ghost"].unpushed_reason == rows["ghost"].error == 'source "ghost" is not declared'
    assert (rows["gone"].state, rows["gone"].exists, rows["gone"].pushed) == ("missing", False, True)
    assert (rows["docs"].state, rows["docs"].kind, rows["docs"].pushed) == ("ready", "local", True)
    assert (rows["plain"].state, rows["plain"].pushed) == ("error", False)
    assert "is not a git repository" in rows["plain"].error
    assert (rows["app"].state, rows["lib"].state) == ("clean", "clean")


def test_branch_mismatch_wins_over_dirty_and_dirty_over_ahead(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    write(app / "x.txt", "x\n")
    sh(app, "add", "x.txt")
    sh(app, "commit", "-q", "-m", "ahead")
    write(app / "y.txt", "y\n")
    dirty = slot(stack, "w1", "app")
    assert (dirty.state, dirty.dirty, dirty.unpushed_reason) == ("dirty", True, "uncommitted changes")
    sh(app, "switch", "-q", "-c", "other")
    mismatch = slot(stack, "w1", "app")
    assert (mismatch.state, mismatch.dirty, mismatch.current_ref) == ("branch-mismatch", True, "other")


def test_a_detached_head_is_a_mismatch_named_by_its_short_sha(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    sh(app, "switch", "-q", "--detach")
    status = slot(stack, "w1", "app")
    assert status.state == "branch-mismatch" and status.current_ref == sh(
        app, "rev-parse", "--short=7", "HEAD"
    )


def test_a_clone_slot_has_no_branch_check_and_no_base_means_clean(tmp_path: Path) -> None:
    template = "_angee:\n  kind: workspace\n  sources:\n    app: {source: app, mode: clone}\n"
    platform = make_git_stack(tmp_path, template=template)
    platform.workspace_create("dev", name="w1")
    app = slot_path(platform, "w1", "app")
    status = slot(platform, "w1", "app")
    assert (status.mode, status.branch, status.current_ref, status.upstream) == (
        "clone",
        "",
        "main",
        "origin/main",
    )
    sh(app, "switch", "-q", "-c", "anything")
    assert slot(platform, "w1", "app").state == "clean"  # no upstream, base main: nothing ahead

    def baseless(manifest: Any) -> None:
        manifest.workspaces["w1"].sources["app"].ref = ""
        manifest.sources["app"].default_ref = ""

    platform.mutate(baseless)
    write(app / "f.txt", "f\n")
    sh(app, "add", "f.txt")
    sh(app, "commit", "-q", "-m", "f")
    status = slot(platform, "w1", "app")
    assert (status.state, status.pushed, status.ahead) == ("clean", True, 0)


def test_workspace_state_precedence(stack: Any) -> None:
    assert stack.workspace_status("w1").state == "ready"

    def expire(manifest: Any) -> None:
        manifest.workspaces["w1"].ttl = "1h"
        manifest.workspaces["w1"].ttl_expires_at = datetime.now(UTC) - timedelta(minutes=1)

    stack.mutate(expire)
    status = stack.workspace_status("w1")
    assert (status.state, status.expired) == ("expired", True)

    sh(slot_path(stack, "w1", "lib"), "switch", "-q", "-c", "elsewhere")
    assert stack.workspace_status("w1").state == "discrepancy"  # later rows override earlier ones

    ws_dir = Path(stack.root) / "workspaces" / "w1"
    shutil.rmtree(ws_dir)
    status = stack.workspace_status("w1")
    assert (status.state, status.exists) == ("expired", False)
    assert [s.state for s in status.sources] == ["missing", "missing"]

    def unexpire(manifest: Any) -> None:
        manifest.workspaces["w1"].ttl_expires_at = None

    stack.mutate(unexpire)
    assert stack.workspace_status("w1").state == "missing"
    ws_dir.write_text("not a directory\n")
    status = stack.workspace_status("w1")
    assert (status.state, status.error) == ("error", f"{ws_dir} is not a directory")


def test_slot_status_compares_with_the_fresh_remote_base_not_a_stale_local_branch(stack: Any) -> None:
    stack.remotes["app"].move({"UP.md": "up\n"})
    cache = Path(stack.root) / "sources" / "app"
    sh(cache, "fetch", "-q", "origin")  # origin/main moves, the cache's local main stays behind
    stack.workspace_create("dev", name="w2")
    fresh = slot(stack, "w2", "app")
    assert (fresh.state, fresh.ahead, fresh.behind, fresh.pushed) == ("clean", 0, 0, True)
    assert slot(stack, "w1", "app").behind == 1


def test_one_status_call_per_checkout_and_one_base_resolution_per_cache(
    stack: Any, recorder: Recorder
) -> None:
    stack.workspace_create("dev", name="w2")
    recorder.clear()
    stack.gitops_topology()
    calls = recorder.calls()
    statuses = [c for c in calls if "status" in c]
    assert len(statuses) == 2 * 2 + 2  # four slot worktrees and the two source clones
    assert all("--porcelain=v2" in c for c in statuses)
    assert len([c for c in calls if c == ["remote"]]) == 2  # base "main" resolved once for each cache
