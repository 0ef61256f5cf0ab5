"""Helpers for the git source tests: real repositories in tmp dirs and a recording ``git`` stand-in.

A uniquely named module (not ``conftest``) so test files can import it whatever other conftests exist."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

REAL_GIT = shutil.which("git")

# Logs argv and cwd as one JSON line, then runs the real git with the same arguments.
# Paths are baked in: convergence ops run git with a restricted environment.
RECORDER = r"""
import json, os, sys
with open(LOG, "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd()}) + "\n")
os.execv(REAL, ["git", *sys.argv[1:]])
"""


def sh(cwd: Path | str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the real git in a test (not through the plugin); fails the test on a non-zero exit."""
    done = subprocess.run(
        [REAL_GIT or "git", *args], cwd=cwd, capture_output=True, text=True, env=env or dict(os.environ)
    )
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def commit(repo: Path, files: dict[str, str | bytes | None], message: str, *, when: int | None = None) -> str:
    """Write (``None`` deletes) ``files``, stage everything and commit; returns the new sha."""
    for rel, content in files.items():
        target = repo / rel
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    sh(repo, "add", "-A")
    env = dict(os.environ)
    if when is not None:
        stamp = f"{when} +0200"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    sh(repo, "commit", "-q", "-m", message, env=env)
    return sh(repo, "rev-parse", "HEAD").strip()


class Repos:
    """Bare remotes and clones under one tmp dir."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def remote(self, name: str = "remote", files: dict[str, str | bytes | None] | None = None) -> Path:
        """A bare repository whose ``main`` holds one commit (``files``, default a README)."""
        bare = self.base / f"{name}.git"
        sh(self.base, "init", "-q", "--bare", "-b", "main", str(bare))
        seed = self.base / f"{name}-seed"
        sh(self.base, "clone", "-q", str(bare), str(seed))
        commit(seed, files or {"README.md": "hello\n"}, "initial commit")
        sh(seed, "push", "-q", "origin", "main")
        return bare

    def clone(self, remote: Path, name: str, *args: str) -> Path:
        path = self.base / name
        sh(self.base, "clone", "-q", *args, str(remote), str(path))
        return path


class Recorder:
    """A ``git`` first on PATH that logs each invocation and then runs the real git."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line)["argv"] for line in self.log.read_text().splitlines()]

    def clear(self) -> None:
        if self.log.exists():
            self.log.unlink()


def stack_platform(root: Path, sources: dict[str, dict[str, str]]):  # noqa: ANN201 - a Platform
    """Write ``angee.yaml`` declaring ``sources`` and return a Platform on ``root`` with the source ops."""
    import yaml

    from angee.platform import Platform
    from angee.platform.sources import SourceOps

    root.mkdir(parents=True, exist_ok=True)
    manifest = {"version": 1, "kind": "stack", "name": "demo", "sources": sources}
    (root / "angee.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    cls = Platform if hasattr(Platform, "sources_list") else type("SourcePlatform", (SourceOps, Platform), {})
    return cls(str(root))
