"""``angee workspace git|push|sync-base`` and ``angee workspace source <op>`` through the real entry point
(operator-and-cli §6.3, text rows §6.4, exit codes §6.2), and the REST routes of the same operations."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import angee.platform as platform_module
from angee.cli import main as cli_main
from tests.test_workspace_git_support import (  # noqa: F401 - git_home is an autouse fixture
    GitPlatform,
    commit_all,
    git_home,
    make_git_stack,
    sh,
    slot_path,
    write,
)


@pytest.fixture
def stack(tmp_path: Path) -> Any:
    platform = make_git_stack(tmp_path)
    platform.workspace_create("dev", name="w1")
    return platform


@pytest.fixture
def angee(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the real ``angee`` entry point; returns ``(exit code, stdout, stderr)``."""
    monkeypatch.setattr(platform_module, "Platform", GitPlatform)
    for name, target in (
        ("workspace", "angee.cli.workspace_cmd:workspace"),
        ("gitops", "angee.cli.gitops_cmd:gitops"),
    ):
        if name not in cli_main.cli.lazy_commands:
            monkeypatch.setitem(cli_main.cli.lazy_commands, name, cli_main.LazyCommand(target, name))
    monkeypatch.setattr(cli_main.cli, "_imported", {})

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_main.run(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_workspace_git_push_and_sync_base_rows(stack: Any, angee: Any) -> None:
    root = stack.root
    app, lib = slot_path(stack, "w1", "app"), slot_path(stack, "w1", "lib")
    write(app / "a.txt", "a\n")
    commit_all(app, "a")

    code, out, err = angee("--root", root, "workspace", "git", "w1")
    assert code == 0, err
    assert out == (
        f"app\tworkspace/w1\tahead 1 commit(s) ahead of base ref main with no upstream\t{app}\n"
        f"lib\tworkspace/w1\tclean\t{lib}\n"
    )

    code, out, err = angee("--root", root, "ws", "push", "w1")
    assert (code, out) == (0, f"app\tworkspace/w1\t{app}\nlib\tworkspace/w1\t{lib}\n"), err

    stack.remotes["lib"].move({"UP.md": "up\n"})
    code, out, err = angee("--root", root, "ws", "sync-base", "w1", "--rebase")
    # lib now carries main's new commit on top of its published branch: ahead of its upstream
    assert (code, out) == (0, f"app\tworkspace/w1\tclean\t{app}\nlib\tworkspace/w1\tahead\t{lib}\n"), err
    assert (lib / "UP.md").is_file()

    code, out, err = angee("--root", root, "ws", "sync-base", "w1", "--merge", "--rebase")
    assert (code, out) == (2, "")
    assert "choose only one of --merge or --rebase" in err

    code, out, _ = angee("--root", root, "--json", "ws", "git", "w1")
    rows = json.loads(out)
    assert [(r["name"], r["slot"], r["ref"], r["upstream"]) for r in rows] == [
        ("app", "app", "main", "origin/workspace/w1"),
        ("lib", "lib", "main", "origin/workspace/w1"),
    ]


def test_sync_base_uses_the_enclosing_workspace(
    stack: Any, angee: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.remotes["app"].move({"UP.md": "up\n"})
    monkeypatch.chdir(slot_path(stack, "w1", "app") / "src")
    code, out, err = angee("ws", "sync-base")
    assert code == 0, err
    assert out.splitlines()[0].split("\t")[:3] == ["app", "workspace/w1", "clean"]
    assert (slot_path(stack, "w1", "app") / "UP.md").is_file()


def test_branch_mismatch_exits_1_with_one_line(stack: Any, angee: Any) -> None:
    sh(slot_path(stack, "w1", "lib"), "switch", "-q", "-c", "elsewhere")
    code, out, err = angee("--root", stack.root, "ws", "push", "w1")
    assert (code, out) == (1, "")
    assert err == (
        'workspace "w1" source "lib" has branch mismatch: '
        'current branch/ref "elsewhere", expected workspace branch "workspace/w1"\n'
    )


def test_workspace_source_commands(stack: Any, angee: Any) -> None:
    root = stack.root
    app = slot_path(stack, "w1", "app")
    code, out, err = angee("--root", root, "ws", "source", "fetch", "w1", "app")
    assert (code, out) == (
        0,
        "workspace=w1 slot=app state=clean branch=workspace/w1 ahead=0 behind=0 dirty=false\n",
    ), err

    write(app / "README.md", "ours\n")
    code, out, _ = angee("--root", root, "ws", "source", "diff", "w1", "app")
    assert out == "--- README.md\n+++ README.md\n@@ -1,1 +1,1 @@\n-app line 1\n+ours\n"
    commit_all(app, "ours")
    stack.remotes["app"].move({"README.md": "theirs\n"}, branch="topic")
    angee("--root", root, "ws", "source", "fetch", "w1", "app")

    code, out, err = angee("--root", root, "ws", "source", "merge", "w1", "app", "origin/topic")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["ok=false conflicted=true", "conflict\tREADME.md"]
    assert any("CONFLICT" in line for line in lines[2:])

    code, out, _ = angee("--root", root, "--json", "ws", "source", "merge-abort", "w1", "app")
    result = json.loads(out)
    assert (result["ok"], result["conflicted"], result["conflict_files"]) == (True, False, [])
    assert result["source"]["slot"] == "app" and result["source"]["state"] == "ahead"

    code, out, err = angee("--root", root, "ws", "source", "publish", "w1", "app")
    assert code == 0 and out.startswith("ok=true conflicted=false"), err
    write(app / "more.txt", "more\n")
    commit_all(app, "more")
    code, out, err = angee("--root", root, "ws", "source", "push", "w1", "app")
    assert (code, out) == (0, "workspace=w1 slot=app pushed=true state=clean\n"), err

    code, _, err = angee("--root", root, "ws", "source", "rebase", "w1", "app", "--upload-pack=x")
    assert code != 0


def test_rest_routes_of_the_workspace_git_operations(stack: Any) -> None:
    from angee.operator.app import create_app

    client = create_app(stack.root, platform_factory=lambda root: stack).test_client()
    app = slot_path(stack, "w1", "app")
    write(app / "README.md", "ours\n")
    commit_all(app, "ours")
    stack.remotes["app"].move({"README.md": "theirs\n"}, branch="topic")
    assert client.post("/workspaces/w1/sources/app/fetch").status_code == 200

    merged = client.post("/workspaces/w1/sources/app/merge", json={"ref": "origin/topic"})
    assert merged.status_code == 200
    body = merged.get_json()
    assert (body["ok"], body["conflicted"], body["conflict_files"]) == (False, True, ["README.md"])
    assert body["source"]["state"] == "dirty"

    refused = client.post("/workspaces/w1/push", json={})
    assert refused.status_code == 409
    assert refused.get_json() == {
        "error": 'workspace "w1" source "app" has uncommitted changes',
        "kind": "workspace-source",
        "name": "app",
        "reason": "uncommitted changes",
    }
    assert client.post("/workspaces/w1/sources/app/merge-abort").get_json()["ok"] is True
    bad = client.post("/workspaces/w1/sync-base", json={"method": "squash"})
    assert (bad.status_code, bad.get_json()["field"]) == (400, "method")
    missing = client.post("/workspaces/w1/sources/nope/fetch")
    assert (missing.status_code, missing.get_json()["kind"]) == (404, "workspace-source")
    assert client.get("/workspaces/w1/git").get_json()[0]["slot"] == "app"
    assert client.get("/workspaces/w1/sources/app/diff?ref=origin/main").status_code == 200
    assert os.path.isdir(app)
