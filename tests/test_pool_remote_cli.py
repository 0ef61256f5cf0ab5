"""``angee --operator URL workspace acquire|lease|release|pool|reap`` against a real operator process: the
remote client decodes the same wire types, so the CLI prints the same rows as in local mode."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from angee.remote import wire_type
from tests.test_pool_operator_restart import REPO, pool_counts, start, wait_for
from tests.test_pool_support import make_pool_stack, manifest
from tests.test_workspaces_support import git_identity  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(
    wire_type("WorkspacePoolStatus") is None,
    reason="angee.remote.wire_type does not look in angee.api.pool yet (lead wiring)",
)


def angee(url: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    done = subprocess.run(
        [sys.executable, "-m", "angee.cli.main", "--operator", url, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
def test_remote_cli_drives_the_pool(tmp_path, git_identity) -> None:  # noqa: F811
    root = make_pool_stack(str(tmp_path), size=1)
    operator = start(root)
    try:
        wait_for(lambda: pool_counts(operator) == (1, 0), what="a ready member")
        code, out, err = angee(operator.url, "workspace", "acquire", "agent", "--owner", "agent:r")
        assert code == 0, err
        name = out.split()[1]
        assert (
            out == f"workspace {name} acquired from pool agent at {os.path.join(root, 'workspaces', name)}\n"
        )
        code, out, err = angee(operator.url, "ws", "lease", name, "--owner", "agent:r", "--ttl", "2h")
        assert code == 0 and out.startswith(f"workspace {name} leased to agent:r until "), err
        code, _, err = angee(operator.url, "ws", "lease", name, "--owner", "agent:other")
        assert code == 1 and "leased by agent:r" in err
        code, out, err = angee(operator.url, "ws", "pool")
        assert code == 0 and f"  {name}\tleased\tagent:r\t" in out, err
        code, out, err = angee(operator.url, "ws", "release", name, "--owner", "agent:r")
        assert (code, out) == (0, f"workspace {name} recycling\n"), err
        wait_for(lambda: manifest(root).workspaces[name].pool_state == "ready", what="the recycle")
        code, out, err = angee(operator.url, "ws", "reap", "--dry-run")
        assert (code, out) == (0, "no expired workspaces\n"), err
    finally:
        assert operator.stop() == 0
