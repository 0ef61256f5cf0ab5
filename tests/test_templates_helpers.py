"""Shared builders for the template tests: real template dirs, real git repos, the real CLI.

No tests live here; the other ``test_templates_*`` modules import these helpers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent



def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def make_template(directory: Path, config: dict, files: dict[str, str] | None = None) -> Path:
    """A template dir: ``copier.yml`` from ``config`` plus ``files`` (relative path → content)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "copier.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for rel, content in (files or {}).items():
        write(directory / rel, content)
    return directory


def stack_template(directory: Path, extra: dict | None = None, files: dict[str, str] | None = None) -> Path:
    """A minimal stack template rendering ``angee.yaml`` (name from input ``project``) and a README."""
    config: dict = {
        "_angee": {"kind": "stack", "name": "Test stack", "inputs": {"project": {"default": "demo"}}},
    }
    config.update(extra or {})
    content = {
        "angee.yaml.jinja": "version: 1\nname: {{ project }}\n",
        "README.md.jinja": "# {{ project }}\n",
    }
    content.update(files or {})
    return make_template(directory, config, content)


def git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def git_repo_with_template(work: Path, bare: Path, subpath: str, project: str = "remote") -> None:
    """A work tree whose ``subpath`` holds a stack template, committed and pushed to a bare repo (main)."""
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    stack_template(work / subpath, files={"VERSION.jinja": f"{project}\n"})
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "template")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")


def run_cli(
    *args: str, cwd: Path, stdin: str | None = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``angee`` CLI in a subprocess (stdin defaults to empty: EOF at the first prompt)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    base["PYTHONPATH"] = str(REPO)
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "angee.cli.main", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=base,
        timeout=120,
    )
