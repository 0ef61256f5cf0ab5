"""Shared helpers of the lease, pool and reaper tests: a Platform with the lease/pool operations (also before
they join ``Platform``'s bases), a host stack with a real git source and a poolable workspace template."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from angee.manifest import load_manifest
from angee.manifest.store import mutate_manifest
from angee.platform.leases import WorkspaceLeaseOps
from angee.platform.pool import WorkspacePoolOps
from tests.test_workspaces_support import WsPlatform, git, make_repo, write_template

try:  # the runtime mixin (job_run, for bootstrap jobs) is finished by another engineer
    from angee.platform.runtime import RuntimeOps
except ImportError:  # pragma: no cover - depends on the tree's state
    RuntimeOps = None  # type: ignore[assignment,misc]

_bases: list[Any] = []
for _mixin in (WorkspaceLeaseOps, WorkspacePoolOps, RuntimeOps):
    if _mixin is not None and not issubclass(WsPlatform, _mixin):
        _bases.append(_mixin)
PoolPlatform: Any = type("PoolPlatform", (*_bases, WsPlatform), {}) if _bases else WsPlatform
HAS_JOB_RUN = callable(getattr(PoolPlatform, "job_run", None))

HOST = """\
version: 1
kind: stack
name: host
sources:
  app: {kind: git, repo: %(repo)s, default_ref: main}
"""

POOL_CONFIG = """\
operator:
  workspace_pool:
    agent:
      template: agent-runtime
      size: %(size)d
      ttl: 30m
      inputs: {AGENT_ID: pool}
%(bootstrap)s"""

AGENT_TEMPLATE = """\
_angee:
  kind: workspace
  inputs:
    AGENT_ID: {default: none}
  chain_root: .angee
  chain:
    - template: stacks/agent-inner
  sources:
    app: {}
  persist:
    data: {subpath: .data, scope: workspace}
"""

INNER_TEMPLATE = """\
_angee:
  kind: stack
"""

INNER_MANIFEST = """\
version: 1
kind: stack
name: inner
jobs:
  seed:
    runtime: local
    command: [sh, -c, "echo seeded >> ../.data/seed.log"]
  broken:
    runtime: local
    command: [sh, -c, "exit 3"]
"""


def make_pool_stack(tmp: str, size: int = 2, bootstrap: str = "") -> str:
    """A host root with git source ``app`` (upstream with a ``.gitignore`` for ``node_modules/``) and the
    ``agent-runtime`` workspace template (git slot ``app``, inner stack with jobs ``seed``/``broken``,
    persist ``.data``); with ``size`` >= 0 also ``operator.workspace_pool.agent`` of that size."""
    tree = {"README.md": "upstream\n", ".gitignore": "node_modules/\n", "src/app.py": "x = 1\n"}
    upstream = make_repo(os.path.join(tmp, "upstream"), tree)
    root = os.path.join(tmp, "stack")
    os.makedirs(root, exist_ok=True)
    text = HOST % {"repo": upstream}
    if size >= 0:
        extra = f"      bootstrap_job: {bootstrap}\n" if bootstrap else ""
        text += POOL_CONFIG % {"size": size, "bootstrap": extra}
    with open(os.path.join(root, "angee.yaml"), "w", encoding="utf-8") as fh:
        fh.write(text)
    write_template(
        root, "workspaces", "agent-runtime", AGENT_TEMPLATE, {"AGENT.md.jinja": "agent {{ AGENT_ID }}\n"}
    )
    write_template(root, "stacks", "agent-inner", INNER_TEMPLATE, {"angee.yaml": INNER_MANIFEST})
    return root


def manifest(root: str) -> Any:
    return load_manifest(os.path.join(root, "angee.yaml"))


def edit(root: str, change: Callable[[Any], None]) -> None:
    """Change ``angee.yaml`` through the one locked writer (tests move deadlines into the past with it)."""
    mutate_manifest(root, change)


def members(root: str, state: str | None = None) -> list[str]:
    m = manifest(root)
    return sorted(
        n for n, ws in m.workspaces.items() if ws.pool and (state is None or ws.pool_state == state)
    )


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def commit_all(path: str, message: str) -> None:
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
