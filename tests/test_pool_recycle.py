"""Recycling a pool member (spec templates-workspaces-git §11.4) with real git: a half-done merge is aborted,
the base is fetched, the slot branch is recreated at the new base, untracked files go while ignored caches,
persist data and the inner stack stay, and the templates are re-rendered."""

from __future__ import annotations

import os
import subprocess

import pytest

from angee.workspaces.recycle import clean_excludes
from tests.test_pool_support import (
    AGENT_TEMPLATE,
    HAS_JOB_RUN,
    PoolPlatform,
    commit_all,
    make_pool_stack,
    manifest,
    members,
    write,
)
from tests.test_workspaces_support import git, git_identity, write_template  # noqa: F401 - fixture


def git_status(cwd: str, *args: str) -> int:
    """Exit status of ``git <args>`` (for commands expected to fail, like a conflicting merge)."""
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False).returncode


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _acquire(root: str, owner: str = "agent:a") -> tuple[PoolPlatform, str]:
    platform = PoolPlatform(root)
    platform.workspace_reap()  # no operator: the sweep tops the pool up in-process
    result = platform.workspace_pool_acquire("agent", owner)
    assert result.warm
    return platform, result.workspace.name


@pytest.fixture
def root(tmp_path, git_identity) -> str:  # noqa: F811
    return make_pool_stack(str(tmp_path), size=1, bootstrap="seed" if HAS_JOB_RUN else "")


def test_recycle_aborts_a_conflicted_merge_and_moves_to_the_fetched_base(root: str) -> None:
    platform, name = _acquire(root)
    app = os.path.join(root, "workspaces", name, "app")
    git(app, "switch", "-q", "-c", f"side-{name}")
    write(os.path.join(app, "README.md"), "side\n")
    commit_all(app, "side")
    git(app, "switch", "-q", f"workspace/{name}")
    write(os.path.join(app, "README.md"), "mine\n")
    commit_all(app, "mine")
    merge = git_status(app, "merge", f"side-{name}")
    assert merge != 0 and os.path.exists(os.path.join(app, ".git")) and "UU" in git(app, "status", "--short")

    upstream = os.path.join(os.path.dirname(root), "upstream")
    write(os.path.join(upstream, "NEWS.md"), "the base moved on\n")
    commit_all(upstream, "base moves")
    new_base = git(upstream, "rev-parse", "HEAD")

    assert platform.workspace_release(name, "agent:a", discard=True).status == "recycling"

    record = manifest(root).workspaces[name]
    assert record.pool_state == "ready" and record.lease.owner == "pool"
    assert git(app, "symbolic-ref", "--short", "HEAD") == f"workspace/{name}"
    assert git(app, "rev-parse", "HEAD") == new_base  # fetched, then reset to origin/main
    assert _read(os.path.join(app, "NEWS.md")) == "the base moved on\n"
    assert git(app, "status", "--porcelain") == ""
    assert not os.path.exists(os.path.join(app, ".git", "MERGE_HEAD"))
    status = platform.workspace_status(name)
    assert status.state == "ready" and [s.state for s in status.sources] == ["clean"]
    assert git(app, "branch", "--list", f"side-{name}")  # other local branches are never touched


def test_workspace_root_slot_keeps_inner_stack_persist_and_caches(tmp_path, git_identity) -> None:  # noqa: F811
    root = make_pool_stack(str(tmp_path), size=1, bootstrap="seed" if HAS_JOB_RUN else "")
    write_template(
        root,
        "workspaces",
        "agent-runtime",
        AGENT_TEMPLATE.replace("app: {}", 'app: {subpath: "."}'),
        {"AGENT.md.jinja": "agent {{ AGENT_ID }}\n"},
    )
    platform, name = _acquire(root)
    ws = os.path.join(root, "workspaces", name)
    assert git(ws, "symbolic-ref", "--short", "HEAD") == f"workspace/{name}"
    write(os.path.join(ws, ".angee", "run", "db.sqlite"), "inner data\n")
    write(os.path.join(ws, ".data", "cache.bin"), "persisted\n")
    write(os.path.join(ws, "node_modules", "dep", "index.js"), "cached\n")
    write(os.path.join(ws, "scratch.txt"), "throw me away\n")
    write(os.path.join(ws, "AGENT.md"), "scribbled\n")
    write(os.path.join(ws, "src", "app.py"), "x = 99\n")

    assert platform.workspace_release(name, "agent:a", discard=True).status == "recycling"

    assert manifest(root).workspaces[name].pool_state == "ready"
    assert _read(os.path.join(ws, ".angee", "run", "db.sqlite")) == "inner data\n"
    assert os.path.isfile(os.path.join(ws, ".angee", "angee.yaml"))
    assert _read(os.path.join(ws, ".data", "cache.bin")) == "persisted\n"
    assert _read(os.path.join(ws, "node_modules", "dep", "index.js")) == "cached\n"
    assert not os.path.exists(os.path.join(ws, "scratch.txt"))
    assert _read(os.path.join(ws, "AGENT.md")) == "agent pool\n"
    assert _read(os.path.join(ws, "src", "app.py")) == "x = 1\n"
    if HAS_JOB_RUN:
        assert _read(os.path.join(ws, ".data", "seed.log")) == "seeded\nseeded\n"
    assert members(root, "ready") == [name]


def test_clean_excludes_are_anchored_and_only_inside_the_slot(tmp_path) -> None:
    slot = str(tmp_path / "ws")
    protected = [
        str(tmp_path / "ws" / ".data"),
        str(tmp_path / "ws" / "code"),
        str(tmp_path / "ws" / "deep" / "cache"),
        str(tmp_path / "ws"),  # the slot itself: never an exclusion
        str(tmp_path / "elsewhere"),
    ]
    assert clean_excludes(slot, protected) == ["/.data", "/code", "/deep/cache"]
    assert clean_excludes(str(tmp_path / "ws" / "app"), protected) == []
