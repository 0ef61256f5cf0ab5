"""Service templates through the operator: create → update → destroy over REST, and the CLI's remote mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.test_service_templates import STATE, root  # noqa: F401 - the stack fixture

__all__ = ["root"]


def manifest(path: Path) -> dict:
    return yaml.safe_load((path / "angee.yaml").read_text())


def test_create_update_destroy_through_the_operator(root: Path, operator_server) -> None:  # noqa: F811
    server = operator_server(root)
    status, _, body = server.request(
        "POST", "/services/create", {"template": "agent", "workspace": "ws1", "inputs": {"mode": "dev"}}
    )
    assert status == 201, body
    assert json.loads(body) == {"name": "agent-ws1", "runtime": "local", "status": "declared"}
    assets = root / "services" / "agent-ws1"
    assert (assets / "AGENTS.md").read_text() == "# agent-ws1 (dev)\n"
    (lease,) = manifest(root)["port_leases"]["agent"]
    assert manifest(root)["services"]["agent-ws1"]["env"]["AUTH_MODE"] == "dev"

    status, _, body = server.request(
        "POST", "/services/agent-ws1/template/update", {"inputs": {"mode": "prod"}}
    )
    assert status == 200, body
    result = json.loads(body)
    assert result["changed"] is True and result["conflicts"] == []
    assert manifest(root)["services"]["agent-ws1"]["env"]["AUTH_MODE"] == "prod"
    assert manifest(root)["port_leases"]["agent"] == [lease]
    assert (assets / "AGENTS.md").read_text() == "# agent-ws1 (prod)\n"

    # the remote CLI drives the same operation and prints what the local CLI prints
    done = subprocess.run(
        [sys.executable, "-m", "angee.cli.main", "--operator", server.url, "service", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [s["name"] for s in json.loads(done.stdout)] == ["agent-ws1"]

    status, _, body = server.request("POST", "/services/agent-ws1/destroy?stop=false")
    assert status == 200, body
    assert json.loads(body) == {"status": "destroyed", "name": "agent-ws1"}
    data = manifest(root)
    assert "agent-ws1" not in data.get("services", {}) and "port_leases" not in data
    assert not assets.exists() and not (root / STATE).exists()
