"""A create killed with SIGKILL at a known step leaves a loadable, unchanged manifest, and the next
``create --sync`` or ``destroy`` recovers (§5.2 rollback, §10 root lock).

The pause is the test-only hook ``ANGEE_TEST_PAUSE_AFTER=<step>`` (see ``angee.workspaces.journal``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from angee.manifest import load_manifest
from tests.test_workspaces_slots import GIT_MANIFEST, _cache, _worktrees
from tests.test_workspaces_support import (  # noqa: F401 - git_identity is a fixture
    WsPlatform,
    git,
    git_identity,
    make_repo,
    make_stack,
    read,
    write_template,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = """\
import sys
from tests.test_workspaces_support import WsPlatform
WsPlatform(sys.argv[1]).workspace_create("crashy", name="victim", ttl="1h")
print("finished")
"""


@pytest.fixture
def root(tmp_path, git_identity) -> str:  # noqa: F811
    upstream = make_repo(str(tmp_path / "upstream"))
    root = make_stack(str(tmp_path / "stack"), GIT_MANIFEST % {"repo": upstream})
    with open(os.path.join(root, "angee.yaml"), "a", encoding="utf-8") as fh:
        fh.write('operator:\n  port_pool:\n    web: {range: "41200-41299"}\n')
    write_template(
        root,
        "workspaces",
        "crashy",
        """\
        _angee:
          kind: workspace
          sources:
            app: {}
            code: {}
        """,
        {"README.md.jinja": "port {{ alloc_web }}\n"},
    )
    return root


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"create exited before {what}: {out}{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _kill_during(root: str, step: str, marker: str) -> None:
    env = dict(os.environ, ANGEE_TEST_PAUSE_AFTER=step, ANGEE_TEST_PAUSE_MARKER=marker, PYTHONPATH=REPO)
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, root],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: os.path.exists(marker), proc, f"the pause after {step}")
    proc.kill()  # SIGKILL: no cleanup runs
    proc.communicate()
    assert proc.returncode == -9


@pytest.mark.parametrize("step", ["ports", "slots", "render"])
def test_killed_create_leaves_manifest_unchanged_and_create_sync_recovers(
    root: str, step: str, tmp_path
) -> None:
    manifest_before = read(os.path.join(root, "angee.yaml"))
    _kill_during(root, step, str(tmp_path / "paused"))
    # the manifest loads and is byte-identical: the record is only ever saved at the end
    assert read(os.path.join(root, "angee.yaml")) == manifest_before
    assert "victim" not in load_manifest(os.path.join(root, "angee.yaml")).workspaces
    ws_dir = os.path.join(root, "workspaces", "victim")
    if step != "ports":
        assert os.path.realpath(os.path.join(ws_dir, "app")) in _worktrees(root)
    ref = WsPlatform(root).workspace_create("crashy", name="victim", ttl="1h", sync=True)
    assert git(os.path.join(ref.path, "app"), "symbolic-ref", "--short", "HEAD") == "workspace/victim"
    assert read(os.path.join(ref.path, "README.md")) == f"port {ref.allocations['web']}\n"
    manifest = load_manifest(os.path.join(root, "angee.yaml"))
    assert list(manifest.workspaces) == ["victim"]
    assert [lease.owner for lease in manifest.port_leases["web"]] == ["workspace/victim/web"]
    assert not os.path.exists(os.path.join(root, "run", "workspace-journal", "victim.json"))


@pytest.mark.parametrize("step", ["slots", "render"])
def test_killed_create_is_recovered_by_destroy(root: str, step: str, tmp_path) -> None:
    _kill_during(root, step, str(tmp_path / "paused"))
    ws_dir = os.path.join(root, "workspaces", "victim")
    assert os.path.isdir(ws_dir)
    result = WsPlatform(root).workspace_destroy("victim")
    assert result.status == "destroyed"
    assert not os.path.exists(ws_dir)
    assert _worktrees(root) == [os.path.realpath(_cache(root))]
    assert os.path.isfile(os.path.join(root, "localsrc", "main.py"))
    manifest = load_manifest(os.path.join(root, "angee.yaml"))
    assert manifest.workspaces == {} and manifest.port_leases == {}
    # nothing is left to block a plain create afterwards
    WsPlatform(root).workspace_create("crashy", name="victim")


def test_resumed_pause_completes_the_create(root: str, tmp_path) -> None:
    marker = str(tmp_path / "paused")
    env = dict(os.environ, ANGEE_TEST_PAUSE_AFTER="slots", ANGEE_TEST_PAUSE_MARKER=marker, PYTHONPATH=REPO)
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, root],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: os.path.exists(marker), proc, "the pause after slots")
    os.unlink(marker)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.strip() == "finished"
    assert "victim" in load_manifest(os.path.join(root, "angee.yaml")).workspaces
