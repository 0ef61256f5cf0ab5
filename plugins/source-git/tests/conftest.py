"""Fixtures for the git source tests: an isolated git configuration, real repositories in tmp dirs and a
recording ``git`` stand-in that proves which git processes ran."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from git_testlib import REAL_GIT, RECORDER, Recorder, Repos


@pytest.fixture(autouse=True)
def git_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated HOME with its own .gitconfig; no system config, no inherited GIT_* variables."""
    if REAL_GIT is None:
        pytest.skip("git is not installed")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n\tnestedTag = false\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
        "[pull]\n\trebase = false\n"
    )
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return home


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    base = tmp_path / "repos"
    base.mkdir()
    return Repos(base)


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    bin_dir = tmp_path / "recording-bin"
    bin_dir.mkdir()
    tool = bin_dir / "git"
    log = tmp_path / "git-calls.log"
    tool.write_text(f"#!{sys.executable}\nLOG = {str(log)!r}\nREAL = {REAL_GIT!r}\n{RECORDER}")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    yield Recorder(log)
