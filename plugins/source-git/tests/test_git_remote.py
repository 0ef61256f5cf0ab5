"""Clone, fetch, pull, push and push-remote resolution on real repositories (templates-workspaces-git §4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from angee_source_git.remote import clone, fetch_all, pull_ff_only, push, push_remote
from angee_source_git.runner import GitFailed
from git_testlib import Repos, commit, sh

from angee.errors import RuntimeFailure


def test_clone_streams_progress_lines_and_checks_out_the_branch(repos: Repos, tmp_path: Path) -> None:
    remote = repos.remote()
    seed = repos.clone(remote, "seed")
    sh(seed, "switch", "-q", "-c", "stable")
    commit(seed, {"s.txt": "s\n"}, "stable work")
    sh(seed, "push", "-q", "origin", "stable")
    lines: list[str] = []
    dest = tmp_path / "deep" / "er" / "app"

    clone(str(remote), str(dest), branch="stable", progress=lines.append)

    assert sh(dest, "symbolic-ref", "--short", "HEAD").strip() == "stable"
    assert lines[0] == f"cloning {remote} into {dest}"
    assert any(line.startswith("Cloning into") for line in lines)
    assert all(line and "\r" not in line and "\n" not in line for line in lines)


def test_clone_failure_names_the_command_and_git_output(tmp_path: Path) -> None:
    with pytest.raises(GitFailed) as err:
        clone(str(tmp_path / "no-such.git"), str(tmp_path / "app"), progress=lambda _line: None)
    message = str(err.value)
    assert message.startswith(f"git clone --progress {tmp_path / 'no-such.git'} {tmp_path / 'app'}: ")
    assert "exit status 128" in message and "does not exist" in message


def test_fetch_and_pull_fast_forward(repos: Repos) -> None:
    remote = repos.remote()
    app = repos.clone(remote, "app")
    other = repos.clone(remote, "other")
    new = commit(other, {"n.txt": "n\n"}, "new")
    sh(other, "push", "-q", "origin", "main")

    fetch_all(str(app))
    assert sh(app, "rev-parse", "origin/main").strip() == new
    pull_ff_only(str(app))
    assert sh(app, "rev-parse", "HEAD").strip() == new


def test_push_without_ref_pushes_the_upstream_and_with_ref_pushes_that_ref(repos: Repos) -> None:
    remote = repos.remote()
    app = repos.clone(remote, "app")
    head = commit(app, {"a.txt": "a\n"}, "a")
    push(str(app))
    assert sh(remote, "rev-parse", "main").strip() == head

    sh(app, "tag", "v9")
    push(str(app), "v9")
    assert sh(remote, "rev-parse", "v9").strip() == head


def test_push_with_branch_sets_the_upstream_when_there_is_none(repos: Repos) -> None:
    app = repos.clone(repos.remote(), "app")
    sh(app, "switch", "-q", "-c", "workspace/x")
    commit(app, {"x.txt": "x\n"}, "x")
    push(str(app), branch="workspace/x")
    assert sh(app, "rev-parse", "--abbrev-ref", "@{upstream}").strip() == "origin/workspace/x"


class TestPushRemote:
    """``branch.<b>.pushRemote`` → ``remote.pushDefault`` → ``branch.<b>.remote`` → origin → the only one."""

    @pytest.fixture
    def app(self, repos: Repos) -> Path:
        remote = repos.remote()
        app = repos.clone(remote, "app")
        for name in ("fork", "upstream"):
            sh(app, "remote", "add", name, str(remote))
        return app

    def test_branch_push_remote_wins(self, app: Path) -> None:
        sh(app, "config", "remote.pushDefault", "upstream")
        sh(app, "config", "branch.main.pushRemote", "fork")
        assert push_remote(str(app)) == "fork"

    def test_then_remote_push_default(self, app: Path) -> None:
        sh(app, "config", "remote.pushDefault", "upstream")
        assert push_remote(str(app)) == "upstream"

    def test_then_the_branch_remote(self, app: Path) -> None:
        sh(app, "config", "branch.main.remote", "fork")
        assert push_remote(str(app)) == "fork"

    def test_then_origin(self, app: Path) -> None:
        sh(app, "config", "--unset", "branch.main.remote")
        assert push_remote(str(app)) == "origin"

    def test_a_detached_head_skips_branch_keys(self, app: Path) -> None:
        sh(app, "config", "branch.main.pushRemote", "fork")
        sh(app, "switch", "-q", "--detach")
        assert push_remote(str(app)) == "origin"

    def test_the_only_remote(self, app: Path) -> None:
        sh(app, "config", "--unset", "branch.main.remote")
        sh(app, "remote", "remove", "origin")
        sh(app, "remote", "remove", "upstream")
        assert push_remote(str(app)) == "fork"

    def test_several_remotes_without_origin_ask_for_push_default(self, app: Path) -> None:
        sh(app, "config", "--unset", "branch.main.remote")
        sh(app, "remote", "remove", "origin")
        with pytest.raises(RuntimeFailure, match=r"several git remotes configured \(fork, upstream\); set "
                           r"remote.pushDefault"):  # fmt: skip
            push_remote(str(app))

    def test_no_remotes(self, app: Path) -> None:
        for name in ("origin", "fork", "upstream"):
            sh(app, "remote", "remove", name)
        with pytest.raises(RuntimeFailure, match="^no git remotes configured$"):
            push_remote(str(app))
