"""Workspace status (§5.6): state precedence, expiry, leases, mounted_by, inner stack."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from angee.errors import Conflict
from angee.manifest.model import Job, Service, StringList, WorkspaceLease
from tests.test_workspaces_support import WsPlatform, make_stack


@pytest.fixture
def platform(tmp_path) -> WsPlatform:
    p = WsPlatform(make_stack(str(tmp_path / "stack")))
    p.workspace_create("dev", name="w1", inputs={"topic": "x"})
    return p


def test_expired_then_missing_states(platform: WsPlatform) -> None:
    assert platform.workspace_status("w1").state == "ready"
    platform.workspace_update("w1", ttl="1us")
    status = platform.workspace_status("w1")
    assert (status.state, status.expired) == ("expired", True)
    platform.workspace_update("w1", ttl="4h")
    shutil.rmtree(os.path.join(platform.root, "workspaces", "w1"))
    status = platform.workspace_status("w1")
    assert (status.state, status.exists, status.expired) == ("missing", False, False)
    assert status.sources[0].state == "missing" and status.sources[0].exists is False
    assert status.inner_stack is None and "stack not found" in status.inner_error


def test_live_lease_blocks_destroy_unless_forced(platform: WsPlatform) -> None:
    now = datetime.now(UTC)

    def lease(owner: str, expires: datetime | None) -> None:
        def change(m) -> None:  # noqa: ANN001
            m.workspaces["w1"].lease = WorkspaceLease(owner=owner, created_at=now, expires_at=expires)

        platform.mutate(change)

    lease("agent-7", now + timedelta(hours=1))
    status = platform.workspace_status("w1")
    assert status.lease is not None and status.lease.owner == "agent-7"
    with pytest.raises(Conflict) as err:
        platform.workspace_destroy("w1")
    assert err.value.kind == "workspace-lease" and "agent-7" in str(err.value)
    lease("agent-7", now - timedelta(minutes=1))  # expired: no longer blocks
    lease("pool", None)  # the pool's own lease never blocks
    platform.workspace_destroy("w1")
    assert platform.workspaces_list() == []


def test_forced_destroy_ignores_a_live_lease(platform: WsPlatform) -> None:
    def change(m) -> None:  # noqa: ANN001
        m.workspaces["w1"].lease = WorkspaceLease(
            owner="someone", created_at=datetime.now(UTC), expires_at=datetime.now(UTC) + timedelta(hours=1)
        )

    platform.mutate(change)
    assert platform.workspace_destroy("w1", force=True).status == "destroyed"


def test_mounted_by_lists_services_then_jobs(platform: WsPlatform) -> None:
    def change(m) -> None:  # noqa: ANN001
        m.services["web"] = Service(
            runtime="local",
            command=["run"],
            mounts=StringList(["workspace://w1/code:/app", "workspace://w10:/other"]),
            workdir="workspace://w1",
            env={"B": "${workspace.w1.path}/x", "A": "plain", "C": "workspace://w1"},
        )
        m.jobs["seed"] = Job(runtime="local", command=["seed"], mounts=StringList(["workspace://w1:/data"]))

    platform.workspace_create("dev", name="w10", inputs={"topic": "y"})
    platform.mutate(change)
    refs = [(r.kind, r.name, r.field, r.value) for r in platform.workspace_status("w1").mounted_by]
    assert refs == [
        ("service", "web", "mounts", "workspace://w1/code:/app"),
        ("service", "web", "workdir", "workspace://w1"),
        ("service", "web", "env.B", "${workspace.w1.path}/x"),
        ("service", "web", "env.C", "workspace://w1"),
        ("job", "seed", "mounts", "workspace://w1:/data"),
    ]


def test_status_of_unknown_workspace(platform: WsPlatform) -> None:
    from angee.errors import NotFound

    with pytest.raises(NotFound) as err:
        platform.workspace_status("ghost")
    assert err.value.kind == "workspace"
    with pytest.raises(NotFound):
        platform.workspace_destroy("ghost")
    with pytest.raises(NotFound):
        platform.workspace_logs("ghost")
