"""The Platform's source operations and ``angee source`` over real git repositories (templates-workspaces-git §4,
operator-and-cli §6.3/§6.4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from git_testlib import Repos, commit, sh, stack_platform

from angee.api import to_wire
from angee.cli.context import CliState
from angee.cli.source_cmd import source
from angee.errors import Conflict, InvalidInput, NotFound, RuntimeFailure


@pytest.fixture
def stack(tmp_path: Path, repos: Repos) -> Any:
    """A stack with a git source ``app`` (not cloned yet) and local sources ``docs`` (present), ``gone``."""
    bare = repos.remote()
    (tmp_path / "stack" / "docs").mkdir(parents=True)
    platform = stack_platform(
        tmp_path / "stack",
        {
            "app": {"kind": "git", "repo": str(bare), "default_ref": "main"},
            "docs": {"kind": "local", "path": "docs"},
            "gone": {"kind": "local", "path": "nowhere"},
        },
    )
    platform.bare = bare
    return platform


def run_cli(platform: Any, *args: str, as_json: bool = False) -> Any:
    state = CliState(root=platform.root, json=as_json)
    state.platform = platform
    return CliRunner().invoke(source, list(args), obj=state, catch_exceptions=False)


def test_list_reports_each_source_and_survives_a_failing_one(stack: Any) -> None:
    broken = Path(stack.root) / "sources" / "app"
    broken.mkdir(parents=True)  # exists, but is no clone

    states = {s.name: to_wire(s) for s in stack.sources_list()}

    assert list(states) == ["app", "docs", "gone"]
    assert states["app"]["state"] == "error" and states["app"]["pushed"] is True
    assert "is not a git repository" in states["app"]["error"]
    assert states["docs"] == {"name": "docs", "kind": "local", "path": f"{stack.root}/docs", "exists": True,
                              "state": "ready", "pushed": True}  # fmt: skip
    assert states["gone"]["state"] == "missing" and states["gone"]["exists"] is False


def test_fetch_clones_on_first_use_then_fetches(stack: Any, repos: Repos) -> None:
    assert stack.source_status("app").state == "missing"
    lines: list[str] = []

    state = stack.source_fetch("app", progress=lines.append)

    clone = Path(stack.root) / "sources" / "app"
    assert (state.state, state.exists, state.path, state.upstream) == (
        "clean",
        True,
        str(clone),
        "origin/main",
    )
    assert lines and lines[0].startswith("cloning ")

    other = repos.clone(stack.bare, "other")
    commit(other, {"n.txt": "n\n"}, "new upstream work")
    sh(other, "push", "-q", "origin", "main")
    lines.clear()
    state = stack.source_fetch("app", progress=lines.append)
    assert (state.state, state.behind, lines) == ("behind", 1, [])  # an existing clone is fetched, not cloned

    state = stack.source_pull("app")
    assert (state.state, state.behind) == ("clean", 0)


def test_status_of_an_undeclared_source_is_not_found(stack: Any) -> None:
    with pytest.raises(NotFound) as err:
        stack.source_status("nope")
    assert str(err.value) == 'source "nope" is not declared'


def test_local_sources_cannot_be_pulled_pushed_or_diffed(stack: Any) -> None:
    for op, verb in (
        (stack.source_pull, "pulled"),
        (stack.source_push, "pushed"),
        (stack.source_diff, "diffed"),
    ):
        with pytest.raises(InvalidInput) as err:
            op("docs")
        assert str(err.value) == f'source "docs" is a local source: only git sources can be {verb}'


def test_fetching_a_missing_local_source_fails_clearly(stack: Any) -> None:
    with pytest.raises(RuntimeFailure, match='^local source "gone" path .*/nowhere: does not exist$'):
        stack.source_fetch("gone")


def test_push_refuses_uncommitted_changes_then_pushes(stack: Any) -> None:
    stack.source_fetch("app", progress=lambda _line: None)
    clone = Path(stack.root) / "sources" / "app"
    (clone / "wip.txt").write_text("not committed\n")
    with pytest.raises(Conflict) as err:
        stack.source_push("app")
    assert str(err.value) == 'source "app" has uncommitted changes'
    assert err.value.kind == "source" and err.value.name == "app"

    head = commit(clone, {}, "commit the wip")
    assert stack.source_status("app").state == "ahead"
    state = stack.source_push("app")
    assert state.state == "clean" and state.pushed is True
    assert sh(stack.bare, "rev-parse", "main").strip() == head

    sh(clone, "tag", "v1")
    stack.source_push("app", ref="v1")
    assert sh(stack.bare, "rev-parse", "v1").strip() == head


def test_pushing_or_diffing_before_the_clone_exists_says_how_to_clone(stack: Any) -> None:
    with pytest.raises(RuntimeFailure, match="run `angee source fetch app`"):
        stack.source_diff("app")


def test_diff_of_a_git_source(stack: Any) -> None:
    stack.source_fetch("app", progress=lambda _line: None)
    clone = Path(stack.root) / "sources" / "app"
    (clone / "README.md").write_text("hello\nworld\n")
    [changed] = stack.source_diff("app")
    assert changed.new_path == "README.md" and changed.hunks[0].body == " hello\n+world\n"
    commit(clone, {}, "world")
    assert stack.source_diff("app") == []
    [against] = stack.source_diff("app", ref="origin/main")
    assert against.hunks[0].body == " hello\n-world\n"


class TestCli:
    def test_list_rows(self, stack: Any) -> None:
        result = run_cli(stack, "ls")
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            f"app\tgit\tmissing\t{stack.root}/sources/app",
            f"docs\tlocal\tready\t{stack.root}/docs",
            f"gone\tlocal\tmissing\t{stack.root}/nowhere",
        ]

    def test_fetch_prints_the_row_and_clone_progress_on_stderr(self, stack: Any) -> None:
        result = run_cli(stack, "fetch", "app")
        assert result.exit_code == 0
        assert result.stdout == f"app\tgit\tready\t{stack.root}/sources/app\n"
        assert result.stderr.startswith("cloning ") and "Cloning into" in result.stderr

    def test_status_and_push_rows_and_json(self, stack: Any) -> None:
        stack.source_fetch("app", progress=lambda _line: None)
        assert run_cli(stack, "status", "app").stdout == f"app\tgit\tready\t{stack.root}/sources/app\n"
        assert run_cli(stack, "push", "app").stdout == f"app\tgit\tready\t{stack.root}/sources/app\n"
        data = json.loads(run_cli(stack, "status", "app", as_json=True).stdout)
        assert data == {"name": "app", "kind": "git", "path": f"{stack.root}/sources/app", "exists": True,
                        "state": "clean", "branch": "main", "ref": "main", "current_ref": "main",
                        "upstream": "origin/main", "pushed": True}  # fmt: skip

    def test_diff_text(self, stack: Any) -> None:
        stack.source_fetch("app", progress=lambda _line: None)
        clone = Path(stack.root) / "sources" / "app"
        (clone / "README.md").write_text("hello\nworld\n")
        (clone / "new.txt").write_text("n\n")
        sh(clone, "add", "new.txt")
        result = run_cli(stack, "diff", "app")
        assert result.stdout == (
            "--- README.md\n+++ README.md\n@@ -1,1 +1,2 @@\n hello\n+world\n"
            "--- \n+++ new.txt\n@@ -0,0 +1,1 @@\n+n\n"
        )
        files = json.loads(run_cli(stack, "diff", "app", as_json=True).stdout)
        assert [f.get("old_path", "") for f in files] == ["README.md", ""]
        assert files[1]["is_new"] is True and "old_path" not in files[1]


@pytest.mark.skipif(
    "source" not in __import__("angee.cli.main", fromlist=["CORE_COMMANDS"]).CORE_COMMANDS,
    reason="`angee source` is not wired into the CLI command table yet",
)
def test_angee_source_list_end_to_end(stack: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    done = subprocess.run(
        [sys.executable, "-m", "angee.cli.main", "--root", stack.root, "source", "list"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"app\tgit\tmissing\t{stack.root}/sources/app"
