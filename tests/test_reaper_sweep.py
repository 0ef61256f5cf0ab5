"""The reaper sweep (spec templates-workspaces-git §11.3): deadlines from TTL and leases, the sticky
``reap_blocked`` with one log line per distinct reason, dry runs, and state that survives a restart."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from angee.manifest.model import Manifest
from tests.test_pool_support import PoolPlatform, commit_all, edit, make_pool_stack, manifest, write
from tests.test_workspaces_support import git, git_identity  # noqa: F401 - fixture

PAST = timedelta(minutes=-5)
FUTURE = timedelta(hours=1)


@pytest.fixture
def root(tmp_path, git_identity) -> str:  # noqa: F811
    return make_pool_stack(str(tmp_path), size=-1)


def _create(root: str, name: str) -> str:
    PoolPlatform(root).workspace_create("agent-runtime", name=name)
    return os.path.join(root, "workspaces", name, "app")


def _deadlines(root: str, name: str, ttl: timedelta | None = None, lease: timedelta | None = None) -> None:
    now = datetime.now(UTC)

    def change(m: Manifest) -> None:
        ws = m.workspaces[name]
        if ttl is not None:
            ws.ttl, ws.ttl_expires_at = "1h", now + ttl
        if lease is not None:
            ws.lease.owner, ws.lease.created_at, ws.lease.expires_at = "agent:a", now - FUTURE, now + lease

    edit(root, change)


def _lines(err: str, name: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(f"operator: reaper: workspace {name} ")]


def test_deadline_is_the_later_of_ttl_and_lease(root: str) -> None:
    for name in ("ttl-only", "lease-only", "ttl-past-lease-live", "ttl-live-lease-past", "durable"):
        _create(root, name)
    _deadlines(root, "ttl-only", ttl=PAST)
    _deadlines(root, "lease-only", lease=PAST)
    _deadlines(root, "ttl-past-lease-live", ttl=PAST, lease=FUTURE)
    _deadlines(root, "ttl-live-lease-past", ttl=FUTURE, lease=PAST)
    platform = PoolPlatform(root)
    assert platform.workspace_status("ttl-past-lease-live").expired is False
    assert platform.workspace_status("lease-only").state == "expired"

    rows = platform.workspace_reap()

    assert [(r.name, r.action) for r in rows] == [("lease-only", "destroyed"), ("ttl-only", "destroyed")]
    assert sorted(manifest(root).workspaces) == ["durable", "ttl-live-lease-past", "ttl-past-lease-live"]
    assert not os.path.exists(os.path.join(root, "workspaces", "ttl-only"))


def test_unsafe_work_is_kept_with_one_log_line_per_distinct_reason(root: str, capfd) -> None:
    app = _create(root, "agent")
    _deadlines(root, "agent", ttl=PAST)
    write(os.path.join(app, "README.md"), "work in progress\n")
    platform = PoolPlatform(root)
    capfd.readouterr()

    first = platform.workspace_reap()
    second = platform.workspace_reap()

    assert [(r.name, r.action, r.reason) for r in first] == [("agent", "kept", "app (uncommitted changes)")]
    assert second == first
    err = capfd.readouterr().err
    assert _lines(err, "agent") == [
        "operator: reaper: workspace agent expired but kept: app (uncommitted changes)"
    ]
    blocked = manifest(root).workspaces["agent"].reap_blocked
    assert blocked.reason == "app (uncommitted changes)" and blocked.at is not None

    commit_all(app, "wip")  # a different reason: committed but not pushed
    rows = PoolPlatform(root).workspace_reap()
    assert rows[0].action == "kept" and "ahead of base ref" in rows[0].reason
    assert _lines(capfd.readouterr().err, "agent") == [
        f"operator: reaper: workspace agent expired but kept: {rows[0].reason}"
    ]
    with open(os.path.join(app, "README.md"), encoding="utf-8") as fh:
        assert fh.read() == "work in progress\n"


def test_blocked_state_survives_a_restart_and_pushing_lets_it_go(root: str, capfd) -> None:
    app = _create(root, "agent")
    _deadlines(root, "agent", ttl=PAST)
    write(os.path.join(app, "feature.txt"), "done\n")
    commit_all(app, "feature")
    PoolPlatform(root).workspace_reap()
    capfd.readouterr()

    restarted = PoolPlatform(root)  # a new process reads everything from angee.yaml
    status = restarted.workspace_status("agent")
    assert status.state == "expired" and status.expired is True
    assert "ahead of base ref" in status.reap_blocked_reason
    assert restarted.workspace_reap()[0].action == "kept"
    assert _lines(capfd.readouterr().err, "agent") == []  # same reason: not logged again

    git(app, "push", "-q", "-u", "origin", "workspace/agent")
    rows = restarted.workspace_reap()
    assert [(r.name, r.action) for r in rows] == [("agent", "destroyed")]
    assert "agent" not in manifest(root).workspaces
    upstream = os.path.join(os.path.dirname(root), "upstream")
    assert git(upstream, "branch", "--list", "workspace/agent")  # the pushed work is upstream


def test_dry_run_reports_and_changes_nothing(root: str, capfd) -> None:
    app = _create(root, "dirty")
    _create(root, "clean")
    _deadlines(root, "dirty", ttl=PAST)
    _deadlines(root, "clean", ttl=PAST)
    write(os.path.join(app, "new.txt"), "untracked\n")
    with open(os.path.join(root, "angee.yaml"), "rb") as fh:
        before = fh.read()
    capfd.readouterr()

    rows = PoolPlatform(root).workspace_reap(dry_run=True)

    assert [(r.name, r.action) for r in rows] == [("clean", "destroyed"), ("dirty", "kept")]
    with open(os.path.join(root, "angee.yaml"), "rb") as fh:
        assert fh.read() == before
    assert os.path.isdir(os.path.join(root, "workspaces", "clean"))
    assert "reaper" not in capfd.readouterr().err


def test_leasing_an_expired_blocked_workspace_keeps_it(root: str) -> None:
    app = _create(root, "agent")
    _deadlines(root, "agent", lease=PAST)
    write(os.path.join(app, "README.md"), "edit\n")
    platform = PoolPlatform(root)
    assert platform.workspace_reap()[0].action == "kept"
    platform.workspace_lease("agent", "agent:a", ttl="1h")  # the agent came back and renewed
    record = manifest(root).workspaces["agent"]
    assert record.reap_blocked.reason == "" and record.lease.owner == "agent:a"
    assert platform.workspace_reap() == []
    assert platform.workspace_status("agent").state == "ready"
