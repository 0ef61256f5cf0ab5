"""Names, refs and branches git could misread are refused before any git process starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from angee_source_git import converge, diff, remote, worktree
from angee_source_git.validate import unsafe_reason
from git_testlib import Recorder, stack_platform

from angee.errors import InvalidInput

BAD = ["-x", "--upload-pack=touch", "a..b", "a b", "a\tb", "a\nb", "bell\x07", "del\x7f"]


@pytest.mark.parametrize(
    "value", ["main", "origin/main", "v1.0", "HEAD~1", "feature/x-y_z", "refs/tags/v2", "é"]
)
def test_ordinary_refs_pass(value: str) -> None:
    assert unsafe_reason(value) == ""


@pytest.mark.parametrize("value", BAD)
def test_reasons_name_the_problem_on_one_line(value: str) -> None:
    reason = unsafe_reason(value)
    assert reason and "\n" not in reason and "\t" not in reason and "\x07" not in reason


@pytest.fixture
def checkout(tmp_path: Path) -> str:
    """Any directory will do: were a value not refused, the recorder would log the git call."""
    path = tmp_path / "app"
    path.mkdir()
    return str(path)


def plugin_calls(path: str, value: str) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("ref", lambda: diff.diff(path, value)),
        ("ref", lambda: remote.push(path, value)),
        ("branch", lambda: remote.push(path, branch=value)),
        ("ref", lambda: converge.merge(path, value)),
        ("ref", lambda: converge.rebase(path, value)),
        ("remote", lambda: converge.publish(path, remote=value)),
        ("branch", lambda: converge.publish(path, branch=value)),
        ("ref", lambda: converge.sync_base(path, value)),
        ("ref", lambda: worktree.resolve_sync_ref(path, value)),
        ("branch", lambda: worktree.worktree_add(path, path + "-wt", value)),
        ("ref", lambda: worktree.worktree_add(path, path + "-wt", "ok-branch", value)),
        ("default_ref", lambda: remote.clone(path, path + "-clone", branch=value)),
        ("repo", lambda: remote.clone("-" + value, path + "-clone")),
    ]


@pytest.mark.parametrize("value", BAD)
def test_plugin_operations_refuse_before_running_git(checkout: str, recorder: Recorder, value: str) -> None:
    for field, call in plugin_calls(checkout, value):
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.field == field
    assert recorder.calls() == []


@pytest.mark.parametrize("value", ["-x", "a..b", "a b", "ctl\x1b"])
def test_platform_source_operations_refuse_names_and_refs(
    tmp_path: Path, recorder: Recorder, value: str
) -> None:
    platform = stack_platform(tmp_path / "stack", {"app": {"kind": "git", "repo": str(tmp_path / "r.git")}})

    for op in (platform.source_status, platform.source_fetch, platform.source_pull, platform.source_push,
               platform.source_diff):  # fmt: skip
        with pytest.raises(InvalidInput) as err:
            op(value)
        assert err.value.field == "name"
    for op in (platform.source_push, platform.source_diff):
        with pytest.raises(InvalidInput) as err:
            op("app", ref=value)
        assert err.value.field == "ref" and str(err.value).startswith("ref: ")
    assert recorder.calls() == []
