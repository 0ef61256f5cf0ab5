"""Shared helpers for the workspace and Files tests: real template dirs, real git repos, a Platform that has
the workspace and file operations (also before they join ``Platform``'s bases)."""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

from angee.platform import Platform

WsPlatform = Platform


HOST_MANIFEST = """\
version: 1
kind: stack
name: host
operator:
  port_pool:
    web: {range: "%(web)s"}
    db: {range: "%(db)s"}
sources:
  code: {kind: local, path: localsrc}
"""

DEV_WORKSPACE = """\
_angee:
  kind: workspace
  name: Dev workspace
  inputs:
    topic: {required: true}
    token: {generated: true, length: 12}
    level: {type: int, default: 3, immutable: true}
    debug: {type: bool, default: false}
  instance_naming: {pattern: "${inputs.topic | slug}", max_length: 20}
  chain_root: .angee
  chain:
    - template: stacks/inner
      inputs: {web_port: "${alloc.web}"}
  sources:
    code: {source: code}
  persist:
    data: {subpath: .data, scope: workspace}
"""

INNER_STACK = """\
_angee:
  kind: stack
  inputs:
    web_port: {default: "0"}
"""

INNER_MANIFEST = """\
version: 1
kind: stack
name: inner-{{ topic | lower | replace(' ', '-') }}
ports:
  web: {value: {{ web_port }}}
"""


def write_template(root: str, family: str, name: str, copier_yml: str, files: dict[str, str]) -> str:
    """Create ``ROOT/.templates/<family>/<name>`` with ``copier.yml`` and ``files`` (relpath → text)."""
    path = os.path.join(root, ".templates", family, name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "copier.yml"), "w", encoding="utf-8") as fh:
        fh.write(textwrap.dedent(copier_yml))
    for rel, text in files.items():
        full = os.path.join(path, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(text)
    return path


def free_range(size: int = 50) -> str:
    """A port range that is free right now (high ports, chosen per test process to avoid clashes)."""
    from angee.ports import port_available

    base = 20000 + (os.getpid() % 200) * 100
    for start in range(base, 60000, 500):
        if all(port_available(p) for p in range(start, start + 3)):
            return f"{start}-{start + size - 1}"
    raise RuntimeError("no free port range")


def make_stack(root: str, manifest: str | None = None) -> str:
    """A host stack root with a local source ``code``, pools ``web``/``db`` and the dev templates."""
    os.makedirs(os.path.join(root, "localsrc"), exist_ok=True)
    with open(os.path.join(root, "localsrc", "main.py"), "w", encoding="utf-8") as fh:
        fh.write("print('hi')\n")
    web = free_range()
    start = int(web.split("-")[0]) + 200
    if manifest is None:
        manifest = HOST_MANIFEST % {"web": web, "db": f"{start}-{start + 49}"}
    with open(os.path.join(root, "angee.yaml"), "w", encoding="utf-8") as fh:
        fh.write(manifest)
    write_template(
        root,
        "workspaces",
        "dev",
        DEV_WORKSPACE,
        {
            "README.md.jinja": "workspace {{ workspace_name }} topic={{ topic }} web={{ alloc_web }} "
            "db={{ alloc_db }} level={{ level }}\n",
            "token.txt.jinja": "{{ token }}\n",
        },
    )
    write_template(root, "stacks", "inner", INNER_STACK, {"angee.yaml.jinja": INNER_MANIFEST})
    return root


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """A git identity for commits made by tests and by Angee's git calls."""
    for key, value in (
        ("GIT_AUTHOR_NAME", "Test"),
        ("GIT_AUTHOR_EMAIL", "test@example.invalid"),
        ("GIT_COMMITTER_NAME", "Test"),
        ("GIT_COMMITTER_EMAIL", "test@example.invalid"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ):
        monkeypatch.setenv(key, value)


def git(cwd: str, *args: str) -> str:
    """Run git in ``cwd`` and return stdout (fails the test on error)."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def make_repo(path: str, files: dict[str, str] | None = None) -> str:
    """A git repository with one commit on ``main``."""
    os.makedirs(path, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for rel, text in (files or {"README.md": "upstream\n"}).items():
        full = os.path.join(path, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as fh:
            fh.write(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def tree_snapshot(path: str) -> dict[str, tuple[str, str]]:
    """Every entry under ``path`` with its kind and content/link (to prove nothing changed)."""
    out: dict[str, tuple[str, str]] = {}
    for current, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(current, name)
            rel = os.path.relpath(full, path)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = ("dir", "")
            else:
                with open(full, "rb") as fh:
                    out[rel] = ("file", fh.read().hex())
    return out


def read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()
