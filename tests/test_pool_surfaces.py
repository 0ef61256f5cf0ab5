"""The ephemeral tier's surfaces (spec templates-workspaces-git §11.6): ``angee workspace lease|release|
acquire|pool|reap`` (text and ``--json``, exit codes) and the REST routes' shapes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import angee.platform as platform_module
from angee.cli import main as cli_main
from angee.operator.app import create_app
from tests.test_pool_support import PoolPlatform, edit, make_pool_stack, manifest, members, write
from tests.test_workspaces_support import git_identity  # noqa: F401 - fixture


@pytest.fixture
def angee(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the real ``angee`` entry point (on a Platform with the pool operations)."""
    monkeypatch.setattr(platform_module, "Platform", PoolPlatform)
    if "workspace" not in cli_main.cli.lazy_commands:
        monkeypatch.setitem(
            cli_main.cli.lazy_commands,
            "workspace",
            cli_main.LazyCommand("angee.cli.workspace_cmd:workspace", "workspace"),
        )
    monkeypatch.setattr(cli_main.cli, "_imported", {})

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_main.run(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def root(tmp_path, git_identity) -> str:  # noqa: F811
    root = make_pool_stack(str(tmp_path), size=1)
    PoolPlatform(root).workspace_reap()  # no operator: a sweep tops the pool up in-process
    assert len(members(root, "ready")) == 1
    return root


def test_cli_pool_acquire_lease_release_reap(angee, root: str) -> None:
    (member,) = members(root, "ready")
    code, out, err = angee("--root", root, "workspace", "pool")
    assert code == 0, err
    assert out == (
        "agent\tagent-runtime\tsize=1\tready=1\tleased=0\tprovisioning=0\trecycling=0\tfailed=0\n"
        f"  {member}\tready\n"
    )

    code, out, err = angee("--root", root, "ws", "acquire", "agent", "--owner", "agent:alice", "--ttl", "2h")
    assert code == 0, err
    path = os.path.join(root, "workspaces", member)
    assert out == f"workspace {member} acquired from pool agent (warm) at {path}\n"

    code, out, err = angee("--root", root, "ws", "lease", member, "--owner", "agent:bob")
    assert code == 1 and out == ""
    assert f'workspace "{member}" is leased by agent:alice until' in err

    code, out, err = angee("--root", root, "--json", "ws", "lease", member, "--owner", "agent:alice")
    assert code == 0, err
    lease = json.loads(out)
    assert set(lease) == {"workspace", "owner", "created_at", "expires_at", "expired"}
    assert (lease["workspace"], lease["owner"], lease["expired"]) == (member, "agent:alice", False)

    code, out, _ = angee("--root", root, "ws", "pool")
    assert f"  {member}\tleased\tagent:alice\t{lease['expires_at']}\n" in out

    write(os.path.join(path, "app", "README.md"), "unsaved\n")
    code, _, err = angee("--root", root, "ws", "release", member, "--owner", "agent:alice")
    assert code == 1 and "app (uncommitted changes)" in err
    code, out, err = angee("--root", root, "ws", "release", member, "--owner", "agent:alice", "--discard")
    assert (code, out) == (0, f"workspace {member} recycling\n"), err
    assert manifest(root).workspaces[member].pool_state == "ready"  # no operator: recycled in-process

    code, out, _ = angee("--root", root, "ws", "reap", "--dry-run")
    assert (code, out) == (0, "no expired workspaces\n")


def test_cli_reap_rows_and_json(angee, root: str) -> None:
    PoolPlatform(root).workspace_create("agent-runtime", name="scratch", ttl="1h")
    write(os.path.join(root, "workspaces", "scratch", "app", "new.txt"), "x\n")

    def expire(m: Any) -> None:
        m.workspaces["scratch"].ttl_expires_at = datetime.now(UTC) - timedelta(minutes=1)

    edit(root, expire)
    code, out, _ = angee("--root", root, "ws", "reap", "--dry-run")
    assert (code, out) == (0, "scratch\twould keep\tapp (uncommitted changes)\n")
    code, out, err = angee("--root", root, "--json", "ws", "reap")
    assert code == 0
    assert json.loads(out) == [{"name": "scratch", "action": "kept", "reason": "app (uncommitted changes)"}]
    assert "operator: reaper: workspace scratch expired but kept: app (uncommitted changes)" in err
    code, out, _ = angee("--root", root, "--json", "ws", "pool")
    pools = json.loads(out)
    assert [sorted(p) for p in pools] == [
        sorted(
            [
                "name",
                "template",
                "size",
                "ttl",
                "ready",
                "leased",
                "provisioning",
                "recycling",
                "failed",
                "members",
            ]
        )
    ]


def test_cli_usage_errors(angee, root: str) -> None:
    code, _, err = angee("--root", root, "ws", "acquire", "agent")
    assert code == 2 and "--owner" in err
    code, _, err = angee("--root", root, "ws", "acquire", "nope", "--owner", "a")
    assert code == 1 and 'workspace-pool "nope" is not declared' in err
    code, _, err = angee("--root", root, "ws", "lease", "nope", "--owner", "a", "--ttl", "48h")
    assert code == 1 and "ttl" in err


def test_rest_shapes(root: str) -> None:
    client = create_app(root, platform_factory=PoolPlatform).test_client()
    (member,) = members(root, "ready")
    response = client.post("/workspaces/pool/agent/acquire", json={"owner": "agent:a"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == member and body["pool"] == "agent"
    assert set(body["lease"]) == {"owner", "created_at", "expires_at"}
    response = client.post(f"/workspaces/{member}/lease", json={"owner": "agent:a", "ttl": "3h"})
    assert response.status_code == 200
    assert response.get_json()["owner"] == "agent:a"
    response = client.post(f"/workspaces/{member}/lease", json={"owner": "agent:b"})
    assert response.status_code == 409 and response.get_json()["kind"] == "workspace-lease"
    response = client.post(f"/workspaces/{member}/lease", json={"owner": "pool"})
    assert response.status_code == 400 and response.get_json()["field"] == "owner"
    status = client.get(f"/workspaces/{member}/status").get_json()
    assert status["pool"] == "agent" and status["pool_state"] == "leased"
    assert status["lease"]["owner"] == "agent:a"
    response = client.post("/workspaces/reap?dry_run=true")
    assert response.status_code == 200 and response.get_json() == []
    response = client.delete(f"/workspaces/{member}/lease?owner=agent:a")
    assert response.status_code in (200, 202) and response.get_json()["status"] == "recycling"
    assert client.get("/workspaces/pool").get_json()[0]["ready"] == 1
