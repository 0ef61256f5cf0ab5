"""A real operator process (gunicorn, forked worker) with the pool worker: the pool fills, an acquire hands
out a member over HTTP, and after a SIGTERM and a new process the leases and members are intact while an
unfinished member is replaced (spec templates-workspaces-git §11.5: start-up recovery)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.operator.conftest import OperatorProcess, free_port, spawn
from tests.test_pool_support import edit, make_pool_stack, manifest, members
from tests.test_workspaces_support import git_identity  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[1]

# The operator as `angee operator` will run it once the pool worker is wired in: create_app + the worker.
SERVER = """\
import sys
from tests.test_pool_support import PoolPlatform
from angee.operator.app import create_app
from angee.operator.server import serve
from angee.operator.workers import install_pool_worker

app = create_app(sys.argv[1], platform_factory=PoolPlatform)
install_pool_worker(app, float(sys.argv[3]))
sys.exit(serve(app, host="127.0.0.1", port=int(sys.argv[2])))
"""


def wait_for(predicate: Callable[[], Any], timeout: float = 120.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def start(root: str) -> OperatorProcess:
    port = free_port()
    proc = spawn([sys.executable, "-c", SERVER, root, str(port), "0.2"], REPO, env={"PYTHONPATH": str(REPO)})
    operator = OperatorProcess(proc, "127.0.0.1", port)
    operator.wait_ready()
    return operator


def pool_counts(operator: OperatorProcess) -> tuple[int, int]:
    status, pools = operator.json("GET", "/workspaces/pool")
    assert status == 200
    return pools[0]["ready"], pools[0]["leased"]


def snapshot(root: str) -> dict[str, tuple[str, str, Any]]:
    return {
        n: (ws.pool_state, ws.lease.owner, ws.lease.expires_at) for n, ws in manifest(root).workspaces.items()
    }


@pytest.mark.slow
def test_operator_restart_keeps_leases_and_members(tmp_path, git_identity) -> None:  # noqa: F811
    root = make_pool_stack(str(tmp_path), size=2)
    operator = start(root)
    try:
        wait_for(lambda: pool_counts(operator) == (2, 0), what="two ready members")
        status, ref = operator.json("POST", "/workspaces/pool/agent/acquire", {"owner": "agent:alice"})
        assert status == 200, ref
        wait_for(lambda: pool_counts(operator) == (2, 1), what="the top-up after an acquire")
    finally:
        assert operator.stop() == 0
    before = snapshot(root)
    ready = members(root, "ready")
    assert len(ready) == 2 and ref["name"] not in ready
    unfinished, kept = ready

    def interrupt(m: Any) -> None:  # as if the last operator died while provisioning it
        m.workspaces[unfinished].pool_state = "provisioning"

    edit(root, interrupt)
    operator = start(root)
    try:
        wait_for(lambda: unfinished not in manifest(root).workspaces, what="the unfinished member to go")
        wait_for(lambda: pool_counts(operator) == (2, 1), what="its replacement")
        after = snapshot(root)
        assert after[ref["name"]] == before[ref["name"]]  # the lease is exactly as it was
        assert after[kept] == before[kept]
        status, body = operator.json("POST", f"/workspaces/{ref['name']}/lease", {"owner": "agent:bob"})
        assert status == 409 and "agent:alice" in body["error"]
    finally:
        assert operator.stop() == 0
