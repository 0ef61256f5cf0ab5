"""The issue's acceptance flow against bare remotes made in the test (templates-workspaces-git §5.3,
§5.6–§5.8): two git slots; edit → dirty; commit → ahead; the remote moves → behind / diverged after
fetch; another branch → branch-mismatch, workspace ``discrepancy`` and a refused push; sync-base by
rebase and by merge without leaving the branch; a conflicting merge is a result with the exact files
and merge-abort restores; publish sets the upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from angee.errors import Conflict, InvalidInput
from tests.test_workspace_git_support import (  # noqa: F401 - git_home is an autouse fixture
    commit_all,
    git_home,
    make_git_stack,
    sh,
    slot,
    slot_path,
    write,
)


@pytest.fixture
def stack(tmp_path: Path) -> Any:
    platform = make_git_stack(tmp_path)
    platform.workspace_create("dev", name="w1")
    return platform


def states(platform: Any, workspace: str = "w1") -> dict[str, tuple[str, int, int]]:
    return {s.slot: (s.state, s.ahead, s.behind) for s in platform.workspace_status(workspace).sources}


def test_create_gives_two_clean_worktree_slots_on_the_workspace_branch(stack: Any) -> None:
    status = stack.workspace_status("w1")
    assert status.state == "ready"
    assert [(s.slot, s.kind, s.mode, s.branch, s.ref) for s in status.sources] == [
        ("app", "git", "worktree", "workspace/w1", "main"),
        ("lib", "git", "worktree", "workspace/w1", "main"),
    ]
    for s in status.sources:
        assert (s.state, s.current_ref, s.pushed, s.dirty, s.exists) == (
            "clean",
            "workspace/w1",
            True,
            False,
            True,
        )
    # the branch starts at origin/main of the cache (base-ref resolution prefers origin/<B>)
    app = slot_path(stack, "w1", "app")
    assert sh(app, "rev-parse", "HEAD") == sh(stack.remotes["app"].bare, "rev-parse", "main")


def test_edit_commit_remote_moves_fetch_then_sync_base_rebase_and_merge(stack: Any) -> None:
    app, lib = slot_path(stack, "w1", "app"), slot_path(stack, "w1", "lib")

    write(app / "src" / "app.py", "print('edited')\n")
    edited = slot(stack, "w1", "app")
    assert (edited.state, edited.dirty, edited.pushed, edited.unpushed_reason) == (
        "dirty",
        True,
        False,
        "uncommitted changes",
    )

    commit_all(app, "local work")
    ahead = slot(stack, "w1", "app")
    assert (ahead.state, ahead.ahead, ahead.behind, ahead.pushed) == ("ahead", 1, 0, False)
    assert ahead.unpushed_reason == "1 commit(s) ahead of base ref main with no upstream"

    stack.remotes["app"].move({"UPSTREAM.md": "from upstream\n"})
    stack.remotes["lib"].move({"LIB.md": "lib upstream\n"})
    assert states(stack) == {"app": ("ahead", 1, 0), "lib": ("clean", 0, 0)}  # not fetched yet

    fetched = stack.workspace_source_fetch("w1", "app")
    assert (fetched.state, fetched.ahead, fetched.behind) == ("diverged", 1, 1)
    fetched = stack.workspace_source_fetch("w1", "lib")
    assert (fetched.state, fetched.ahead, fetched.behind, fetched.pushed) == ("behind", 0, 1, True)

    synced = stack.workspace_sync_base("w1", method="rebase")
    assert [(s.slot, s.current_ref, s.state, s.ahead, s.behind) for s in synced] == [
        ("app", "workspace/w1", "ahead", 1, 0),
        ("lib", "workspace/w1", "clean", 0, 0),
    ]
    assert (app / "UPSTREAM.md").read_text() == "from upstream\n" and (lib / "LIB.md").is_file()
    assert sh(app, "log", "-1", "--format=%s") == "local work"  # our commit replayed on top
    assert sh(app, "rev-parse", "--abbrev-ref", "HEAD") == "workspace/w1"

    stack.remotes["app"].move({"SECOND.md": "second\n"}, "second upstream change")
    synced = stack.workspace_sync_base("w1", method="merge")  # sync-base fetches by itself
    app_state = next(s for s in synced if s.slot == "app")
    assert (app_state.current_ref, app_state.state, app_state.behind) == ("workspace/w1", "ahead", 0)
    assert (app / "SECOND.md").is_file()
    assert sh(app, "log", "-1", "--format=%P").count(" ") == 1  # a merge commit: two parents
    assert sh(app, "log", "-1", "--format=%an <%ae>") == "angee <angee@example.invalid>"


def test_another_branch_is_a_mismatch_and_whole_workspace_ops_refuse(stack: Any) -> None:
    lib = slot_path(stack, "w1", "lib")
    sh(lib, "switch", "-q", "-c", "elsewhere")

    status = stack.workspace_status("w1")
    mismatched = next(s for s in status.sources if s.slot == "lib")
    assert status.state == "discrepancy"
    assert (mismatched.state, mismatched.pushed) == ("branch-mismatch", False)
    assert mismatched.unpushed_reason == (
        'current branch/ref "elsewhere", expected workspace branch "workspace/w1"'
    )
    expected = (
        'workspace "w1" source "lib" has branch mismatch: '
        'current branch/ref "elsewhere", expected workspace branch "workspace/w1"'
    )
    for op in (stack.workspace_push, stack.workspace_git, stack.workspace_sync_base):
        with pytest.raises(Conflict) as err:
            op("w1")
        assert (str(err.value), err.value.kind, err.value.http_status) == (expected, "workspace-source", 409)
    with pytest.raises(Conflict, match="has branch mismatch"):
        stack.workspace_source_push("w1", "lib")
    with pytest.raises(Conflict, match="has branch mismatch"):
        stack.workspace_source_pull("w1", "lib")
    assert stack.remotes["lib"].branches() == ["main"]  # nothing was pushed
    assert sh(lib, "rev-parse", "--abbrev-ref", "HEAD") == "elsewhere"  # never switched back

    sh(lib, "switch", "-q", "workspace/w1")
    assert stack.workspace_status("w1").state == "ready"


def test_push_refuses_a_dirty_slot_then_pushes_with_upstream(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    write(app / "new.txt", "untracked\n")
    with pytest.raises(Conflict) as err:
        stack.workspace_push("w1")
    assert str(err.value) == 'workspace "w1" source "app" has uncommitted changes'
    assert stack.remotes["app"].branches() == ["main"]

    commit_all(app, "work")
    pushed = stack.workspace_push("w1")
    assert [(s.name, s.slot, s.ref, s.current_ref, s.state, s.pushed) for s in pushed] == [
        ("app", "app", "main", "workspace/w1", "clean", True),
        ("lib", "lib", "main", "workspace/w1", "clean", True),
    ]
    assert [s.upstream for s in pushed] == ["origin/workspace/w1", "origin/workspace/w1"]
    assert stack.remotes["app"].branches() == ["main", "workspace/w1"]
    git_rows = stack.workspace_git("w1")
    assert [(s.slot, s.state, s.upstream) for s in git_rows] == [
        ("app", "clean", "origin/workspace/w1"),
        ("lib", "clean", "origin/workspace/w1"),
    ]


def test_conflicting_merge_is_a_result_and_merge_abort_restores(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    write(app / "README.md", "our line 1\n")
    write(app / "src" / "app.py", "print('ours')\n")
    commit_all(app, "ours")
    before = sh(app, "rev-parse", "HEAD")
    stack.remotes["app"].move(
        {"README.md": "their line 1\n", "src/app.py": "print('theirs')\n", "clean.txt": "no conflict\n"},
        branch="topic",
    )
    stack.workspace_source_fetch("w1", "app")

    result = stack.workspace_source_merge("w1", "app", "origin/topic")

    assert (result.ok, result.conflicted, result.conflict_files) == (False, True, ["README.md", "src/app.py"])
    assert "CONFLICT" in result.message
    assert result.source is not None and result.source.slot == "app" and result.source.state == "dirty"
    assert "<<<<<<<" in (app / "README.md").read_text()  # the worktree is left conflicted

    aborted = stack.workspace_source_merge_abort("w1", "app")
    assert (aborted.ok, aborted.conflicted, aborted.conflict_files) == (True, False, [])
    assert (app / "README.md").read_text() == "our line 1\n" and not (app / "clean.txt").exists()
    assert sh(app, "rev-parse", "HEAD") == before
    assert aborted.source.state == "ahead"


def test_conflicting_rebase_then_abort_and_a_clean_rebase_continue(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    write(app / "README.md", "ours\n")
    commit_all(app, "ours")
    stack.remotes["app"].move({"README.md": "theirs\n"}, branch="topic")
    stack.workspace_source_fetch("w1", "app")

    result = stack.workspace_source_rebase("w1", "app", "origin/topic")
    assert (result.ok, result.conflicted, result.conflict_files) == (False, True, ["README.md"])
    assert stack.workspace_source_rebase_abort("w1", "app").ok is True
    assert (app / "README.md").read_text() == "ours\n"

    again = stack.workspace_source_rebase("w1", "app", "origin/topic")
    assert again.conflicted is True
    write(app / "README.md", "resolved\n")
    sh(app, "add", "README.md")
    done = stack.workspace_source_rebase_continue("w1", "app")
    assert (done.ok, done.conflicted) == (True, False)
    assert sh(app, "rev-parse", "--abbrev-ref", "HEAD") == "workspace/w1"
    assert (app / "README.md").read_text() == "resolved\n"


def test_sync_base_conflict_stops_and_names_the_files(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    write(app / "README.md", "ours\n")
    commit_all(app, "ours")
    stack.remotes["app"].move({"README.md": "theirs\n"})

    with pytest.raises(Conflict) as err:
        stack.workspace_sync_base("w1", method="merge")

    assert err.value.kind == "workspace-source" and err.value.name == "app"
    assert err.value.conflicts == [{"slot": "app", "conflict_files": ["README.md"]}]
    assert str(err.value) == 'workspace "w1" source "app" sync-base merge conflicted: README.md'
    assert sh(app, "rev-parse", "--abbrev-ref", "HEAD") == "workspace/w1"
    assert "<<<<<<<" in (app / "README.md").read_text()


def test_sync_base_refuses_dirty_slots_and_bad_methods_before_changing_anything(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    head = sh(app, "rev-parse", "HEAD")
    stack.remotes["app"].move({"UP.md": "up\n"})
    with pytest.raises(InvalidInput) as bad:
        stack.workspace_sync_base("w1", method="squash")
    assert (str(bad.value), bad.value.field) == (
        'workspace sync-base method must be "merge" or "rebase"',
        "method",
    )
    write(slot_path(stack, "w1", "lib") / "scratch.txt", "x\n")
    with pytest.raises(Conflict, match='source "lib" has uncommitted changes'):
        stack.workspace_sync_base("w1", method=" Rebase ")
    assert sh(app, "rev-parse", "HEAD") == head  # app was not synced either


def test_publish_sets_the_upstream(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    commit_all_file = app / "feature.txt"
    write(commit_all_file, "feature\n")
    commit_all(app, "feature")

    result = stack.workspace_source_publish("w1", "app")

    assert (result.ok, result.conflicted, result.conflict_files) == (True, False, [])
    assert result.source.upstream == "origin/workspace/w1"
    assert (result.source.state, result.source.pushed) == ("clean", True)
    assert stack.remotes["app"].branches() == ["main", "workspace/w1"]
    assert sh(app, "rev-parse", "--abbrev-ref", "@{upstream}") == "origin/workspace/w1"

    write(app / "feature.txt", "more\n")
    commit_all(app, "more")
    assert slot(stack, "w1", "app").unpushed_reason == "1 commit(s) ahead of origin/workspace/w1"
    pushed = stack.workspace_source_push("w1", "app")
    assert (pushed.state, pushed.pushed) == ("clean", True)

    named = stack.workspace_source_publish("w1", "lib", remote="origin", branch="workspace/w1")
    assert named.ok and named.source.upstream == "origin/workspace/w1"


def test_pull_fast_forwards_from_the_tracking_branch(stack: Any) -> None:
    stack.workspace_source_publish("w1", "app")
    remote = stack.remotes["app"]
    sh(remote.work, "fetch", "-q", "origin")
    sh(remote.work, "checkout", "-q", "-B", "workspace/w1", "origin/workspace/w1")
    write(remote.work / "pair.txt", "from a pair\n")
    commit_all(remote.work, "pair programming")
    sh(remote.work, "push", "-q", "origin", "workspace/w1")

    pulled = stack.workspace_source_pull("w1", "app")

    assert (pulled.state, pulled.behind, pulled.current_ref) == ("clean", 0, "workspace/w1")
    assert (slot_path(stack, "w1", "app") / "pair.txt").read_text() == "from a pair\n"


def test_diff_of_a_slot(stack: Any) -> None:
    app = slot_path(stack, "w1", "app")
    write(app / "README.md", "app line 1\nmore\n")
    sh(app, "add", "README.md")  # staged changes count too
    [changed] = stack.workspace_source_diff("w1", "app")
    assert (changed.old_path, changed.new_path, changed.is_new) == ("README.md", "README.md", False)
    assert changed.hunks[0].body == " app line 1\n+more\n"
    commit_all(app, "more")
    [vs_main] = stack.workspace_source_diff("w1", "app", ref="origin/main")
    assert vs_main.hunks[0].body == " app line 1\n-more\n"
