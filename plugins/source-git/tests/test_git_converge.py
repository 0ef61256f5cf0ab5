"""Convergence ops, worktrees and sync-base on real repositories (templates-workspaces-git §5.3, §5.7, §5.8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from angee_source_git import converge
from angee_source_git.remote import upstream_of
from angee_source_git.worktree import (
    is_ancestor,
    resolve_sync_ref,
    worktree_add,
    worktree_registered,
    worktree_remove,
)
from git_testlib import Repos, commit, sh

from angee.errors import Conflict, InvalidInput, RuntimeFailure


@pytest.fixture
def forked(repos: Repos) -> Path:
    """A clone on ``feature`` and ``main`` that both changed ``shared.txt`` and ``other.txt`` differently."""
    remote = repos.remote(files={"shared.txt": "base\n", "other.txt": "base\n", "calm.txt": "calm\n"})
    app = repos.clone(remote, "app")
    sh(app, "switch", "-q", "-c", "feature")
    commit(app, {"shared.txt": "feature\n", "other.txt": "feature\n"}, "feature change")
    sh(app, "switch", "-q", "main")
    commit(app, {"shared.txt": "main\n", "other.txt": "main\n", "calm.txt": "calm too\n"}, "main change")
    sh(app, "switch", "-q", "feature")
    return app


def test_merge_conflict_is_reported_with_the_exact_files_and_abort_restores(forked: Path) -> None:
    before = sh(forked, "rev-parse", "HEAD").strip()

    result = converge.merge(str(forked), "main")

    assert (result.ok, result.conflicted) == (False, True)
    assert result.conflict_files == ["other.txt", "shared.txt"]
    assert "CONFLICT" in result.message
    assert (forked / ".git" / "MERGE_HEAD").exists()  # the checkout is left conflicted for the user

    aborted = converge.merge_abort(str(forked))
    assert (aborted.ok, aborted.conflicted, aborted.conflict_files) == (True, False, [])
    assert sh(forked, "rev-parse", "HEAD").strip() == before
    assert sh(forked, "status", "--porcelain").strip() == ""
    assert (forked / "shared.txt").read_text() == "feature\n"


def test_clean_merge_commits_as_angee_with_no_ff(repos: Repos) -> None:
    app = repos.clone(repos.remote(), "app")
    sh(app, "switch", "-q", "-c", "feature")
    commit(app, {"f.txt": "f\n"}, "feature")
    sh(app, "switch", "-q", "main")

    result = converge.merge(str(app), "feature")

    assert (result.ok, result.conflicted, result.conflict_files) == (True, False, [])
    parents = sh(app, "log", "-1", "--format=%P").split()
    assert len(parents) == 2  # --no-ff: a merge commit even though a fast-forward was possible
    identity = sh(app, "log", "-1", "--format=%an <%ae>|%cn <%ce>").strip()
    assert identity == "angee <angee@example.invalid>|angee <angee@example.invalid>"


def test_rebase_conflict_then_abort(forked: Path) -> None:
    before = sh(forked, "rev-parse", "HEAD").strip()
    result = converge.rebase(str(forked), "main")
    assert result.conflicted is True and result.conflict_files == ["other.txt", "shared.txt"]

    aborted = converge.rebase_abort(str(forked))
    assert aborted.ok is True
    assert sh(forked, "rev-parse", "HEAD").strip() == before
    assert sh(forked, "symbolic-ref", "--short", "HEAD").strip() == "feature"


def test_rebase_continue_after_resolving(forked: Path) -> None:
    converge.rebase(str(forked), "main")
    (forked / "shared.txt").write_text("resolved\n")
    (forked / "other.txt").write_text("resolved\n")
    sh(forked, "add", "shared.txt", "other.txt")

    result = converge.rebase_continue(str(forked))

    assert result.ok is True
    assert sh(forked, "log", "-1", "--format=%s").strip() == "feature change"
    assert sh(forked, "rev-parse", "HEAD~1").strip() == sh(forked, "rev-parse", "main").strip()


def test_a_failure_without_unmerged_paths_is_a_conflict_with_git_output(repos: Repos) -> None:
    app = repos.clone(repos.remote(), "app")
    with pytest.raises(Conflict) as err:
        converge.merge_abort(str(app), slot="app")
    assert err.value.kind == "workspace-source" and err.value.name == "app"
    assert err.value.reason.startswith("git merge --abort: ")
    assert "MERGE_HEAD" in err.value.reason


def test_convergence_ops_run_with_the_restricted_environment(
    repos: Repos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = repos.clone(repos.remote(), "app")
    sh(app, "switch", "-q", "-c", "feature")
    commit(app, {"f.txt": "f\n"}, "feature")
    sh(app, "switch", "-q", "main")
    env_log = tmp_path / "env.txt"
    hook = app / ".git" / "hooks" / "post-merge"
    hook.write_text(f"#!/bin/sh\nenv > {env_log}\n")
    hook.chmod(0o755)
    monkeypatch.setenv("SECRET_TOKEN", "leak-me")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone Else")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")

    assert converge.merge(str(app), "feature").ok

    env = dict(line.split("=", 1) for line in env_log.read_text().splitlines() if "=" in line)
    assert "SECRET_TOKEN" not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_AUTHOR_NAME"] == "angee" and env["GIT_COMMITTER_EMAIL"] == "angee@example.invalid"
    assert env["SSH_AUTH_SOCK"] == "/tmp/agent.sock"


def test_publish_sets_the_upstream(repos: Repos) -> None:
    remote = repos.remote()
    app = repos.clone(remote, "app")
    sh(app, "switch", "-q", "-c", "workspace/w1")
    head = commit(app, {"w.txt": "w\n"}, "work")

    result = converge.publish(str(app))

    assert result.ok is True
    assert sh(app, "rev-parse", "--abbrev-ref", "@{upstream}").strip() == "origin/workspace/w1"
    assert sh(remote, "rev-parse", "workspace/w1").strip() == head


def test_publish_refuses_a_detached_head(repos: Repos) -> None:
    app = repos.clone(repos.remote(), "app")
    sh(app, "switch", "-q", "--detach")
    with pytest.raises(InvalidInput) as err:
        converge.publish(str(app))
    assert err.value.field == "branch"


def test_merge_and_rebase_need_a_ref(repos: Repos) -> None:
    app = repos.clone(repos.remote(), "app")
    for op in (converge.merge, converge.rebase):
        with pytest.raises(InvalidInput, match="^ref: is required$"):
            op(str(app), "")


class TestSyncBase:
    def test_method_names(self) -> None:
        assert [converge.sync_method(m) for m in ("", " Merge ", "REBASE")] == ["merge", "merge", "rebase"]
        with pytest.raises(InvalidInput) as err:
            converge.sync_method("squash")
        assert str(err.value) == 'workspace sync-base method must be "merge" or "rebase"'
        assert err.value.field == "method"

    def test_merge_brings_in_the_fetched_base_without_switching_branch(self, repos: Repos) -> None:
        remote = repos.remote()
        app = repos.clone(remote, "app")
        sh(app, "switch", "-q", "-c", "workspace/w")
        commit(app, {"w.txt": "w\n"}, "work")
        other = repos.clone(remote, "other")
        upstream_change = commit(other, {"u.txt": "u\n"}, "upstream change")
        sh(other, "push", "-q", "origin", "main")

        result = converge.sync_base(str(app), "main", "merge")

        assert result.ok is True
        assert sh(app, "symbolic-ref", "--short", "HEAD").strip() == "workspace/w"
        assert is_ancestor(str(app), upstream_change, "HEAD")

    def test_rebase_onto_the_base(self, repos: Repos) -> None:
        remote = repos.remote()
        app = repos.clone(remote, "app")
        sh(app, "switch", "-q", "-c", "workspace/w")
        commit(app, {"w.txt": "w\n"}, "work")
        other = repos.clone(remote, "other")
        upstream_change = commit(other, {"u.txt": "u\n"}, "upstream change")
        sh(other, "push", "-q", "origin", "main")

        assert converge.sync_base(str(app), "main", "rebase").ok
        assert sh(app, "rev-parse", "HEAD~1").strip() == upstream_change

    def test_conflict_leaves_the_checkout_conflicted(self, forked: Path) -> None:
        sh(forked, "push", "-q", "origin", "main")  # the sync ref is origin/main
        result = converge.sync_base(str(forked), "main")
        assert result.conflicted and result.conflict_files == ["other.txt", "shared.txt"]


class TestSyncRef:
    def test_prefers_origin_then_other_remotes_then_the_local_ref(self, repos: Repos) -> None:
        remote = repos.remote()
        app = repos.clone(remote, "app")
        assert resolve_sync_ref(str(app), "main") == "origin/main"
        sh(app, "branch", "local-only")
        assert resolve_sync_ref(str(app), "local-only") == "local-only"
        sh(app, "remote", "add", "mirror", str(remote))
        sh(app, "fetch", "-q", "mirror")
        sh(app, "remote", "rename", "origin", "zzz")
        assert resolve_sync_ref(str(app), "main") == "mirror/main"

    def test_full_and_remote_qualified_refs_are_used_as_given(self, repos: Repos) -> None:
        app = repos.clone(repos.remote(), "app")
        assert resolve_sync_ref(str(app), "refs/heads/whatever") == "refs/heads/whatever"
        assert resolve_sync_ref(str(app), "origin/not-fetched") == "origin/not-fetched"

    def test_unknown_ref(self, repos: Repos) -> None:
        app = repos.clone(repos.remote(), "app")
        with pytest.raises(RuntimeFailure, match='^base ref "nope" was not found after fetch$'):
            resolve_sync_ref(str(app), "nope")


class TestWorktrees:
    def test_new_branch_starts_from_the_remote_base(self, repos: Repos, tmp_path: Path) -> None:
        remote = repos.remote()
        cache = repos.clone(remote, "cache")
        other = repos.clone(remote, "other")
        newer = commit(other, {"n.txt": "n\n"}, "newer")
        sh(other, "push", "-q", "origin", "main")
        sh(cache, "fetch", "-q")  # local main is behind origin/main now
        dest = tmp_path / "workspaces" / "w1" / "app"

        existed = worktree_add(str(cache), str(dest), "workspace/w1", "main")

        assert existed is False
        assert sh(dest, "symbolic-ref", "--short", "HEAD").strip() == "workspace/w1"
        assert sh(dest, "rev-parse", "HEAD").strip() == newer
        assert upstream_of(str(dest)) == ""  # --no-track
        assert worktree_registered(str(cache), str(dest))

    def test_existing_branch_is_reused_with_a_warning(self, repos: Repos, tmp_path: Path) -> None:
        cache = repos.clone(repos.remote(), "cache")
        sh(cache, "branch", "workspace/w2")
        warnings: list[str] = []
        dest = tmp_path / "w2"
        assert worktree_add(str(cache), str(dest), "workspace/w2", "main", warn=warnings.append) is True
        assert len(warnings) == 1 and '"workspace/w2" already exists' in warnings[0]

    def test_remove_deregisters(self, repos: Repos, tmp_path: Path) -> None:
        cache = repos.clone(repos.remote(), "cache")
        dest = tmp_path / "w3"
        worktree_add(str(cache), str(dest), "workspace/w3")
        (dest / "scratch.txt").write_text("dirty\n")
        worktree_remove(str(cache), str(dest))
        assert not dest.exists() and not worktree_registered(str(cache), str(dest))
