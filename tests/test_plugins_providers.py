"""The built-in and bundled providers as the kernel sees them: real directories, real git clones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from angee.errors import InvalidInput, RuntimeFailure
from angee.manifest.model import Source
from angee.plugins import PluginRegistry


@pytest.fixture(scope="module")
def reg() -> PluginRegistry:
    return PluginRegistry().load()


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """A repository with a ``main`` and a ``dev`` branch."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("main\n")
    git(repo, "add", "README")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "checkout", "-q", "-b", "dev")
    (repo / "DEV").write_text("dev\n")
    git(repo, "add", "DEV")
    git(repo, "commit", "-q", "-m", "dev work")
    git(repo, "checkout", "-q", "main")
    return repo


# ---------------------------------------------------------------- local


def test_local_source_returns_its_existing_path(reg: PluginRegistry, tmp_path: Path) -> None:
    (tmp_path / "code" / "app").mkdir(parents=True)
    kind = reg.provider("source_kinds", "local", "source kind")
    path = kind.materialize(str(tmp_path), "app", Source(kind="local", path="code/app"))
    assert path == str(tmp_path / "code" / "app")


def test_local_source_missing_path_names_source_and_path(reg: PluginRegistry, tmp_path: Path) -> None:
    kind = reg.provider("source_kinds", "local", "source kind")
    with pytest.raises(RuntimeFailure) as err:
        kind.materialize(str(tmp_path), "app", Source(kind="local", path="code/app"))
    assert str(err.value) == f'local source "app" path {tmp_path / "code" / "app"}: does not exist'


# ---------------------------------------------------------------- git


def test_git_source_clones_default_ref_into_sources_dir(
    reg: PluginRegistry, tmp_path: Path, upstream: Path
) -> None:
    root = tmp_path / "stack"
    root.mkdir()
    kind = reg.provider("source_kinds", "git", "source kind")
    said: list[str] = []
    path = kind.materialize(
        str(root), "app", Source(kind="git", repo=str(upstream), default_ref="dev"), said.append
    )
    assert path == str(root / "sources" / "app")
    assert git(Path(path), "symbolic-ref", "--short", "HEAD") == "dev"
    assert (Path(path) / "DEV").read_text() == "dev\n"
    assert said[0] == f"cloning {upstream} into {path}"


def test_git_source_existing_clone_is_left_as_is(reg: PluginRegistry, tmp_path: Path, upstream: Path) -> None:
    kind = reg.provider("source_kinds", "git", "source kind")
    source = Source(kind="git", url=str(upstream), cache_path="deps/app")
    path = kind.materialize(str(tmp_path), "app", source)
    assert path == str(tmp_path / "deps" / "app")
    assert git(Path(path), "symbolic-ref", "--short", "HEAD") == "main"
    (Path(path) / "local-change").write_text("kept\n")
    gone = Source(kind="git", repo=str(tmp_path / "gone"), cache_path="deps/app")
    assert kind.materialize(str(tmp_path), "app", gone) == path
    assert (Path(path) / "local-change").read_text() == "kept\n"


def test_git_source_clone_failure_carries_git_stderr(reg: PluginRegistry, tmp_path: Path) -> None:
    kind = reg.provider("source_kinds", "git", "source kind")
    missing = tmp_path / "no-such-repo"
    with pytest.raises(RuntimeFailure) as err:
        kind.materialize(str(tmp_path), "app", Source(kind="git", repo=str(missing)))
    message = str(err.value)
    assert message.startswith(f"git clone {missing} {tmp_path / 'sources' / 'app'}: exit status 128: ")
    assert "does not exist" in err.value.output
    assert not (tmp_path / "sources" / "app").exists()


def test_git_source_without_repo_is_invalid_input(reg: PluginRegistry, tmp_path: Path) -> None:
    kind = reg.provider("source_kinds", "git", "source kind")
    with pytest.raises(InvalidInput) as err:
        kind.materialize(str(tmp_path), "app", Source(kind="git"))
    assert str(err.value) == "sources.app.repo: a git source needs a repo to clone"


def test_runtimes_serve_their_manifest_runtime(reg: PluginRegistry) -> None:
    runtimes = reg.providers("runtimes")
    assert {name: rt.serves for name, rt in runtimes.items()} == {
        "compose": "container",
        "process-compose": "local",
        "embedded": "local",
    }
    assert runtimes["embedded"].available() is True


def test_runtime_availability_follows_path(
    reg: PluginRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtimes = reg.providers("runtimes")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not runtimes["compose"].available()
    assert not runtimes["process-compose"].available()
    for tool in ("docker", "process-compose"):
        (tmp_path / tool).write_text("#!/bin/sh\n")
        (tmp_path / tool).chmod(0o755)
    assert runtimes["compose"].available()
    assert runtimes["process-compose"].available()
