"""The warm pool end to end through the operator (spec templates-workspaces-git §11.2–§11.6): members become
ready, acquire hands one out over REST, a second owner gets 409, recycle keeps ignored caches and drops
tracked edits and the throwaway branch's work, the pool tops back up, and a restart keeps everything."""

from __future__ import annotations

import os
from typing import Any

import pytest

from angee.operator.app import create_app, operator_context
from angee.operator.workers import install_pool_worker
from tests.test_pool_support import (
    HAS_JOB_RUN,
    PoolPlatform,
    commit_all,
    edit,
    make_pool_stack,
    manifest,
    members,
    write,
)
from tests.test_workspaces_support import git, git_identity  # noqa: F401 - fixture


class Operator:
    """An operator app on the root with its pool worker (started like the server starts it)."""

    def __init__(self, root: str, reap_interval: float = 0) -> None:
        self.app = create_app(root, platform_factory=PoolPlatform)
        self.worker = install_pool_worker(self.app, reap_interval=reap_interval)
        assert self.worker is not None
        self.client = self.app.test_client()
        operator_context(self.app).start()

    def idle(self) -> None:
        assert self.worker.wait_idle(120), "pool worker did not settle"

    def stop(self) -> None:
        operator_context(self.app).stop()

    def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        response = self.client.open(path, method=method, **kw)
        return response.status_code, response.get_json()


@pytest.fixture
def root(tmp_path, git_identity) -> str:  # noqa: F811
    return make_pool_stack(str(tmp_path), size=2, bootstrap="seed" if HAS_JOB_RUN else "")


@pytest.fixture
def operator(root: str):
    op = Operator(root)
    op.idle()
    yield op
    op.stop()


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def test_pool_of_two_acquire_conflict_recycle_top_up_and_restart(
    root: str, operator: Operator, capfd
) -> None:
    # both members become ready, leased to the reserved owner pool, on their own branches
    ready = members(root, "ready")
    assert len(ready) == 2 and all(name.startswith("agent-") for name in ready)
    m = manifest(root)
    for name in ready:
        assert m.workspaces[name].lease.owner == "pool" and m.workspaces[name].ttl == ""
        app = os.path.join(root, "workspaces", name, "app")
        assert git(app, "symbolic-ref", "--short", "HEAD") == f"workspace/{name}"
    status, pools = operator.call("GET", "/workspaces/pool")
    assert status == 200
    assert [(p["name"], p["template"], p["size"], p["ready"], p["leased"]) for p in pools] == [
        ("agent", "agent-runtime", 2, 2, 0)
    ]

    # acquire: a warm member (200) leased to the caller for the pool ttl; a second owner gets 409
    status, ref = operator.call("POST", "/workspaces/pool/agent/acquire", json={"owner": "agent:alice"})
    assert status == 200, ref
    name = ref["name"]
    assert name in ready and ref["pool"] == "agent" and ref["lease"]["owner"] == "agent:alice"
    record = manifest(root).workspaces[name]
    assert record.pool_state == "leased"
    assert (record.lease.expires_at - record.lease.created_at).total_seconds() == 30 * 60
    status, body = operator.call("POST", f"/workspaces/{name}/lease", json={"owner": "agent:bob"})
    assert status == 409 and body["kind"] == "workspace-lease" and "agent:alice" in body["error"]
    status, body = operator.call("DELETE", f"/workspaces/{name}/lease?owner=agent:bob")
    assert status == 409

    # the pool tops back up to two ready members
    operator.idle()
    assert len(members(root, "ready")) == 2 and name not in members(root, "ready")

    # the agent works: an ignored cache, a tracked edit, an untracked file, a commit on its branch
    ws = os.path.join(root, "workspaces", name)
    app = os.path.join(ws, "app")
    base = git(app, "rev-parse", "HEAD")
    write(os.path.join(app, "node_modules", "left-pad", "index.js"), "module.exports = 1\n")
    write(os.path.join(app, "src", "app.py"), "x = 2\n")
    commit_all(app, "throwaway work")
    throwaway = git(app, "rev-parse", "HEAD")
    write(os.path.join(app, "README.md"), "edited by the agent\n")
    write(os.path.join(app, "scratch.txt"), "notes\n")
    write(os.path.join(ws, "AGENT.md"), "scribbled\n")

    # release refuses to throw the work away unless asked to
    status, body = operator.call("DELETE", f"/workspaces/{name}/lease?owner=agent:alice")
    assert status == 409 and "app (uncommitted changes)" in body["error"]
    status, body = operator.call("DELETE", f"/workspaces/{name}/lease?owner=agent:alice&discard=true")
    assert status in (200, 202) and body["status"] == "recycling"
    operator.idle()

    record = manifest(root).workspaces[name]
    assert (record.pool_state, record.lease.owner, record.lease.expires_at) == ("ready", "pool", None)
    assert _read(os.path.join(app, "node_modules", "left-pad", "index.js")) == "module.exports = 1\n"
    assert _read(os.path.join(app, "README.md")) == "upstream\n"
    assert _read(os.path.join(app, "src", "app.py")) == "x = 1\n"
    assert not os.path.exists(os.path.join(app, "scratch.txt"))
    assert _read(os.path.join(ws, "AGENT.md")) == "agent pool\n"  # re-rendered with overwrite
    assert git(app, "symbolic-ref", "--short", "HEAD") == f"workspace/{name}"
    assert git(app, "rev-parse", "HEAD") == base
    assert git(app, "branch", "--contains", throwaway) == ""  # no branch keeps the throwaway commit
    assert git(app, "status", "--porcelain") == ""
    if HAS_JOB_RUN:  # the bootstrap job ran after create and again after the recycle; .data persisted
        assert _read(os.path.join(ws, ".data", "seed.log")) == "seeded\nseeded\n"

    # one pool has 3 members now (2 ready + the recycled one): the top-up trims it back to size
    assert len(members(root, "ready")) == 2
    assert len(members(root)) == 2

    # take one for good, then restart the operator: leases and members are intact
    status, ref = operator.call(
        "POST", "/workspaces/pool/agent/acquire", json={"owner": "agent:carol", "ttl": "2h"}
    )
    assert status == 200
    operator.idle()
    before = {
        n: (ws.pool_state, ws.lease.owner, ws.lease.expires_at) for n, ws in manifest(root).workspaces.items()
    }
    assert sorted(state for state, _, _ in before.values()) == ["leased", "ready", "ready"]
    operator.stop()
    capfd.readouterr()

    again = Operator(root, reap_interval=60)
    try:
        again.idle()
        after = {
            n: (ws.pool_state, ws.lease.owner, ws.lease.expires_at)
            for n, ws in manifest(root).workspaces.items()
        }
        assert after == before
        assert again.worker.sweeps == 1  # the start-up sweep ran and found nothing expired
        status, body = again.call("POST", f"/workspaces/{ref['name']}/lease", json={"owner": "agent:bob"})
        assert status == 409
    finally:
        again.stop()


def test_empty_pool_cold_creates_with_201_and_a_log_line(root: str, capfd) -> None:
    def shrink(m: Any) -> None:
        m.operator.workspace_pool["agent"].size = 0

    edit(root, shrink)
    op = Operator(root)
    try:
        op.idle()
        assert members(root) == []
        capfd.readouterr()
        status, ref = op.call("POST", "/workspaces/pool/agent/acquire", json={"owner": "agent:dave"})
        assert status == 201, ref
        assert "operator: workspace pool agent empty; cold create for agent:dave" in capfd.readouterr().err
        record = manifest(root).workspaces[ref["name"]]
        assert (record.pool, record.pool_state, record.lease.owner) == ("agent", "leased", "agent:dave")
        if HAS_JOB_RUN:
            assert _read(os.path.join(ref["path"], ".data", "seed.log")) == "seeded\n"
        status, body = op.call("POST", "/workspaces/pool/nope/acquire", json={"owner": "agent:dave"})
        assert status == 404 and body["kind"] == "workspace-pool"
        status, body = op.call("POST", "/workspaces/pool/agent/acquire", json={"owner": "pool"})
        assert status == 400
    finally:
        op.stop()


def test_restart_recovers_unfinished_members(root: str, operator: Operator) -> None:
    first, second = members(root, "ready")
    write(os.path.join(root, "workspaces", second, "app", "README.md"), "half-recycled\n")

    def interrupt(m: Any) -> None:  # as if the operator died mid-provision and mid-recycle
        m.workspaces[first].pool_state = "provisioning"
        m.workspaces[second].pool_state = "recycling"

    edit(root, interrupt)
    operator.stop()
    op = Operator(root)
    try:
        op.idle()
        names = members(root)
        assert first not in names and not os.path.exists(os.path.join(root, "workspaces", first))
        assert second in names and manifest(root).workspaces[second].pool_state == "ready"
        assert _read(os.path.join(root, "workspaces", second, "app", "README.md")) == "upstream\n"
        assert len(members(root, "ready")) == 2  # replaced
    finally:
        op.stop()


def test_expired_acquirer_lease_is_recycled_when_clean_and_kept_when_dirty(
    root: str, operator: Operator
) -> None:
    from datetime import UTC, datetime, timedelta

    taken = []
    for owner in ("agent:a", "agent:b"):
        status, ref = operator.call("POST", "/workspaces/pool/agent/acquire", json={"owner": owner})
        assert status == 200
        taken.append(ref["name"])
    operator.idle()
    clean, dirty = taken
    write(os.path.join(root, "workspaces", dirty, "app", "README.md"), "unsaved\n")

    def lapse(m: Any) -> None:
        for name in taken:
            m.workspaces[name].lease.expires_at = datetime.now(UTC) - timedelta(minutes=1)

    edit(root, lapse)
    status, rows = operator.call("POST", "/workspaces/reap")
    assert status == 200
    assert [(r["name"], r["action"]) for r in rows] == sorted([(clean, "recycled"), (dirty, "kept")])
    operator.idle()
    m = manifest(root)
    assert m.workspaces[clean].pool_state == "ready" and m.workspaces[clean].lease.owner == "pool"
    assert m.workspaces[dirty].pool_state == "leased"
    assert m.workspaces[dirty].reap_blocked.reason == "app (uncommitted changes)"
    assert _read(os.path.join(root, "workspaces", dirty, "app", "README.md")) == "unsaved\n"
    assert len(members(root, "ready")) == 2


def test_removed_pool_members_go_away_when_ready_or_released(root: str, operator: Operator) -> None:
    status, ref = operator.call("POST", "/workspaces/pool/agent/acquire", json={"owner": "agent:a"})
    assert status == 200
    operator.idle()

    def remove(m: Any) -> None:
        del m.operator.workspace_pool["agent"]

    edit(root, remove)
    status, rows = operator.call("POST", "/workspaces/reap")
    assert status == 200 and rows == []
    operator.idle()
    assert members(root) == [ref["name"]]  # only the leased one is left
    status, pools = operator.call("GET", "/workspaces/pool")
    assert [(p["name"], p["size"], p["leased"]) for p in pools] == [("agent", 0, 1)]
    status, body = operator.call("DELETE", f"/workspaces/{ref['name']}/lease?owner=agent:a")
    assert status == 200 and body["status"] == "destroyed"
    assert members(root) == []


def test_a_failing_bootstrap_job_destroys_the_member_and_backs_off(tmp_path, git_identity, capfd) -> None:  # noqa: F811
    if not HAS_JOB_RUN:
        pytest.skip("job_run is not available on this Platform yet")
    root = make_pool_stack(str(tmp_path), size=1, bootstrap="broken")
    platform = PoolPlatform(root)
    platform._pool_top_up("agent")
    err = capfd.readouterr().err
    assert "operator: workspace pool agent: member agent-" in err and "failed" in err
    assert "(replacing in 30s)" in err
    assert members(root) == [] and os.listdir(os.path.join(root, "workspaces")) == []
    platform._pool_top_up("agent")  # within the backoff: no new attempt
    assert "failed" not in capfd.readouterr().err
