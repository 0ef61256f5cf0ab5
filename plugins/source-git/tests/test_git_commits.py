"""Commit listings with the refs pointing at each commit (templates-workspaces-git §4.2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from angee_source_git.history import list_commits
from git_testlib import Repos, commit, sh

from angee.api import to_wire
from angee.errors import InvalidInput


def test_commits_newest_first_with_refs_parents_time_and_author(repos: Repos) -> None:
    remote = repos.remote()
    clone = repos.clone(remote, "app")
    root_sha = sh(clone, "rev-parse", "HEAD").strip()
    second = commit(clone, {"a.txt": "a\n"}, "  second: add a  \n\nlonger body\n", when=1_700_000_000)
    sh(clone, "tag", "light")  # lightweight tag on `second`
    sh(clone, "tag", "-a", "v1", "-m", "release one")  # annotated: peeled to `second`
    sh(clone, "tag", "-a", "v1-again", "v1", "-m", "tag of a tag")  # nested: peeled all the way
    third = commit(clone, {"b.txt": "b\n"}, "third", when=1_700_000_100)

    commits = list_commits(str(clone), 10)

    assert [c.sha for c in commits] == [third, second, root_sha]
    newest, middle, oldest = (to_wire(c) for c in commits)
    assert newest == {
        "sha": third,
        "parents": [second],
        "refs": ["refs/heads/main"],
        "time": "2023-11-14T22:15:00Z",
        "summary": "third",
        "author": "Test User <test@example.com>",
    }
    assert middle["refs"] == ["refs/tags/light", "refs/tags/v1", "refs/tags/v1-again"]
    assert middle["summary"] == "second: add a" and middle["time"] == "2023-11-14T22:13:20Z"
    # origin/HEAD is a symbolic ref and never listed; the remote-tracking branch is.
    assert oldest["refs"] == ["refs/remotes/origin/main"]
    assert oldest["parents"] == []


def test_limit_is_honoured_and_clamped(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "app")
    for i in range(3):
        commit(clone, {f"f{i}": str(i)}, f"c{i}")
    assert [c.summary for c in list_commits(str(clone), 2)] == ["c2", "c1"]
    assert len(list_commits(str(clone), 5000)) == 4
    assert list_commits(str(clone), 0) == []


def test_negative_limit_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as err:
        list_commits("/nonexistent", -1)
    assert err.value.field == "with_commits"


def test_unreadable_repositories_give_no_commits_and_no_error(tmp_path: Path) -> None:
    assert list_commits(str(tmp_path / "missing"), 5) == []
    empty = tmp_path / "empty"
    sh(tmp_path, "init", "-q", str(empty))  # no commits yet: HEAD is unborn
    assert list_commits(str(empty), 5) == []
    plain = tmp_path / "plain"
    plain.mkdir()
    assert list_commits(str(plain), 5) == []
