"""``angee workspace`` / ``ws`` commands: text rows (§6.4), ``--json`` shapes, exit codes, enclosing
workspace inference for ``status``."""

from __future__ import annotations

import json
import os

import pytest

import angee.platform as platform_module
from angee.cli import main as cli_main
from tests.test_workspaces_support import WsPlatform, make_stack


@pytest.fixture
def angee(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the real ``angee`` entry point; returns ``(exit code, stdout, stderr)``."""
    monkeypatch.setattr(platform_module, "Platform", WsPlatform)
    for name, target in (
        ("workspace", "angee.cli.workspace_cmd:workspace"),
        ("file", "angee.cli.file_cmd:file"),
    ):
        if name not in cli_main.cli.lazy_commands:
            monkeypatch.setitem(cli_main.cli.lazy_commands, name, cli_main.LazyCommand(target, name))
    monkeypatch.setattr(cli_main.cli, "_imported", {})

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_main.run(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def root(tmp_path) -> str:
    return make_stack(str(tmp_path / "stack"))


def test_create_list_get_status_destroy_text(angee, root: str) -> None:
    code, out, err = angee("--root", root, "workspace", "create", "-t", "dev", "--input", "topic=Add Login")
    assert code == 0, err
    ws_dir = os.path.join(root, "workspaces", "add-login")
    assert out == f"workspace add-login created at {ws_dir}\n"
    code, out, _ = angee("--root", root, "ws", "ls")
    assert (code, out) == (0, f"add-login\tworkspaces/dev\t{ws_dir}\n")
    code, out, _ = angee("ws", "get", "add-login", "--root", root)
    assert out == f"add-login\tworkspaces/dev\t{ws_dir}\n"
    code, out, _ = angee("--root", root, "ws", "status", "add-login")
    lines = out.splitlines()
    assert lines[0] == "workspace\tadd-login\tready"
    assert (
        f"path\t{ws_dir}" in lines and "template\tworkspaces/dev" in lines and "chain_root\t.angee" in lines
    )
    assert "sources" in lines
    assert f"  code\tcode\tlocal\tmount\t\tready\t{ws_dir}/code" in lines
    assert "inner_stack\tinner-add-login\tservices=0\tjobs=0\tworkspaces=0" in lines
    code, out, _ = angee("--root", root, "ws", "update", "add-login", "--ttl", "2h")
    assert (code, out) == (0, "workspace add-login updated\n")
    code, out, _ = angee("--root", root, "ws", "destroy", "add-login", "--purge")
    assert (code, out) == (0, "workspace add-login destroyed\n")
    assert not os.path.exists(ws_dir)


def test_json_shapes(angee, root: str) -> None:
    code, out, err = angee(
        "--json", "--root", root, "ws", "create", "w1", "-t", "dev", "--input", "topic=x", "--ttl", "1h"
    )
    assert code == 0, err
    ref = json.loads(out)
    assert ref["name"] == "w1" and ref["template"] == "workspaces/dev" and ref["ttl"] == "1h"
    assert set(ref["allocations"]) == {"db", "web"} and "lease" not in ref and "pool" not in ref
    code, out, _ = angee("--root", root, "ws", "status", "w1", "--json")
    status = json.loads(out)
    assert status["state"] == "ready" and status["expired"] is False and status["exists"] is True
    assert status["sources"][0]["dirty"] is False and status["sources"][0]["pushed"] is True
    assert status["persist_paths"] == {"data": {"subpath": ".data", "scope": "workspace"}}
    assert status["inner_stack"]["name"] == "inner-x"
    code, out, _ = angee("--root", root, "ws", "destroy", "w1", "--json")
    assert json.loads(out) == {"status": "destroyed", "name": "w1"}


def test_preflight_rows(angee, root: str) -> None:
    code, out, _ = angee(
        "--root", root, "ws", "preflight", "-t", "dev", "--input", "level=high", "--ttl", "1d"
    )
    assert code == 0
    assert out.splitlines() == [
        "ok\tfalse",
        "template\tdev",
        "resolved_template\tworkspaces/dev",
        "missing\ttopic",
        'invalid\tlevel\tnot an integer: "high"',
        'invalid\tname\tworkspace name: instance_naming.pattern: input "topic" is not set',
        'invalid\tttl\tinvalid duration "1d"',
    ]
    code, out, _ = angee("--root", root, "--json", "ws", "preflight", "-t", "dev", "--input", "topic=ok")
    body = json.loads(out)
    assert body["ok"] is True and "missing_required" not in body and body["effective_inputs"]["topic"] == "ok"


def test_status_infers_the_enclosing_workspace(angee, root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert angee("--root", root, "ws", "create", "inside", "-t", "dev", "--input", "topic=x")[0] == 0
    monkeypatch.chdir(os.path.join(root, "workspaces", "inside", ".data"))
    code, out, _ = angee("ws", "status")
    assert code == 0 and out.splitlines()[0] == "workspace\tinside\tready"
    monkeypatch.chdir(root)
    code, _, err = angee("ws", "status")
    assert code == 1
    assert (
        err.strip()
        == "workspace status requires a workspace name unless run from inside ANGEE_ROOT/workspaces/<name>"
    )


def test_errors_and_usage(angee, root: str) -> None:
    code, _, err = angee("--root", root, "ws", "get", "ghost")
    assert code == 1 and "ghost" in err
    code, _, err = angee("--root", root, "ws", "create", "x", "--input", "novalue")
    assert code == 2
    code, _, err = angee("--root", root, "ws", "create", "x", "-t", "dev", "--input", "topic=a", "--ttl", "5")
    assert code == 1 and err.strip() == 'ttl: invalid duration "5"'
    assert angee("--root", root, "ws", "create", "dup", "-t", "dev", "--input", "topic=a")[0] == 0
    code, _, err = angee("--root", root, "ws", "create", "dup", "-t", "dev", "--input", "topic=a")
    assert code == 1 and err.strip() == "workspace dup conflicts: already exists"


def test_logs_without_inner_stack_are_empty(angee, root: str) -> None:
    from tests.test_workspaces_support import write_template

    write_template(root, "workspaces", "plain", "_angee: {kind: workspace}\n", {"a.txt": "a\n"})
    assert angee("--root", root, "ws", "create", "p", "-t", "plain")[0] == 0
    code, out, _ = angee("--root", root, "ws", "logs", "p")
    assert (code, out) == (0, "")
