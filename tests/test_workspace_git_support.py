"""Shared helpers for the workspace git and GitOps tests: bare remotes made in the test, a stack whose
workspace template has two git slots, a Platform with the git mixins (also before they join ``Platform``'s
bases), and a recording ``git`` that proves which git processes ran."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from angee.platform import Platform
from angee.platform.gitops import GitOpsOps
from angee.platform.workspace_git import WorkspaceGitOps

if issubclass(Platform, WorkspaceGitOps) and issubclass(Platform, GitOpsOps):
    GitPlatform = Platform
else:

    class GitPlatform(WorkspaceGitOps, GitOpsOps, Platform):  # type: ignore[no-redef]
        """Platform with the workspace git and topology mixins."""


REAL_GIT = shutil.which("git")

TWO_SLOT_TEMPLATE = """\
_angee:
  kind: workspace
  sources:
    app: {source: app}
    lib: {source: lib}
"""


def sh(cwd: str | Path, *args: str) -> str:
    """Run the real git in ``cwd`` (not through Angee); fails the test on a non-zero exit."""
    done = subprocess.run([REAL_GIT or "git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def write(path: str | Path, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


def commit_all(repo: str | Path, message: str) -> str:
    sh(repo, "add", "-A")
    sh(repo, "commit", "-q", "-m", message)
    return sh(repo, "rev-parse", "HEAD")


class Remote:
    """A bare repository with a working clone (``work``) used to move it like another developer would."""

    def __init__(self, base: Path, name: str, files: dict[str, str]) -> None:
        self.bare = base / f"{name}.git"
        self.work = base / f"{name}-work"
        sh(base, "init", "-q", "--bare", "-b", "main", str(self.bare))
        sh(base, "clone", "-q", str(self.bare), str(self.work))
        for rel, text in files.items():
            write(self.work / rel, text)
        commit_all(self.work, "initial")
        sh(self.work, "push", "-q", "origin", "main")

    def move(self, files: dict[str, str], message: str = "upstream change", branch: str = "main") -> str:
        """Commit ``files`` on ``branch`` of the remote (created from main when new) and push it."""
        sh(self.work, "fetch", "-q", "origin")
        if branch == "main":
            sh(self.work, "checkout", "-q", "main")
            sh(self.work, "reset", "-q", "--hard", "origin/main")
        else:
            sh(self.work, "checkout", "-q", "-B", branch, "origin/main")
        for rel, text in files.items():
            write(self.work / rel, text)
        sha = commit_all(self.work, message)
        sh(self.work, "push", "-q", "origin", branch)
        return sha

    def branches(self) -> list[str]:
        out = sh(self.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads")
        return sorted(out.split())


@pytest.fixture(autouse=True)
def git_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated HOME with its own .gitconfig and identity; no system config, no inherited GIT_*."""
    if REAL_GIT is None:
        pytest.skip("git is not installed")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        "[commit]\n\tgpgsign = false\n[pull]\n\trebase = false\n"
    )
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return home


def make_git_stack(tmp_path: Path, template: str = TWO_SLOT_TEMPLATE, extra_sources: str = "") -> Any:
    """A stack root with git sources ``app`` and ``lib`` (bare remotes in the test) and the workspace
    template ``dev``; returns a GitPlatform with ``.remotes`` = ``{"app": Remote, "lib": Remote}``."""
    base = tmp_path / "remotes"
    base.mkdir()
    remotes = {
        "app": Remote(base, "app", {"README.md": "app line 1\n", "src/app.py": "print('app')\n"}),
        "lib": Remote(base, "lib", {"README.md": "lib line 1\n"}),
    }
    root = tmp_path / "stack"
    root.mkdir()
    manifest = textwrap.dedent(
        f"""\
        version: 1
        kind: stack
        name: gitstack
        sources:
          app: {{kind: git, repo: {remotes["app"].bare}, default_ref: main}}
          lib: {{kind: git, repo: {remotes["lib"].bare}, default_ref: main}}
        """
    )
    (root / "angee.yaml").write_text(manifest + extra_sources, encoding="utf-8")
    tpl = root / ".templates" / "workspaces" / "dev"
    tpl.mkdir(parents=True)
    (tpl / "copier.yml").write_text(template, encoding="utf-8")
    (tpl / "NOTES.md.jinja").write_text("workspace {{ workspace_name }}\n", encoding="utf-8")
    platform = GitPlatform(str(root))
    platform.remotes = remotes  # type: ignore[attr-defined]
    return platform


def slot(platform: Any, workspace: str, name: str) -> Any:
    """One slot's WorkspaceSourceStatus."""
    return next(s for s in platform.workspace_status(workspace).sources if s.slot == name)


def slot_path(platform: Any, workspace: str, name: str) -> Path:
    return Path(platform.root) / "workspaces" / workspace / name


RECORDER = r"""
import json, os, sys
with open(LOG, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
os.execv(REAL, ["git", *sys.argv[1:]])
"""


class Recorder:
    """A ``git`` first on PATH that logs each invocation, then runs the real git."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def clear(self) -> None:
        if self.log.exists():
            self.log.unlink()


@pytest.fixture(name="recorder")
def recorder_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    bin_dir = tmp_path / "recording-bin"
    bin_dir.mkdir()
    log = tmp_path / "git-calls.log"
    tool = bin_dir / "git"
    tool.write_text(f"#!{sys.executable}\nLOG = {str(log)!r}\nREAL = {REAL_GIT!r}\n{RECORDER}")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    yield Recorder(log)
