"""Angee bundled plugin: Git source kind: cache, worktrees, slots, convergence operations.

Today it materialises a git source by cloning it when absent (spec manifest-and-runtime §5.1
step 5); fetch/pull/push/diff land later and raise ``NotImplementedYet`` meanwhile. Imports stay
cheap (stdlib + kernel): the CLI imports every plugin at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from angee.contracts import SourceKind
from angee.errors import InvalidInput, NotImplementedYet, RuntimeFailure
from angee.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Source

GIT_TIMEOUT_SECONDS = 1800  # a first clone of a large repository can take a while


def run_git(args: list[str], cwd: str | None = None, timeout: float = GIT_TIMEOUT_SECONDS) -> str:
    """Run ``git <args>`` (argv list, never a shell) with prompts disabled; return its stdout.

    A failure raises RuntimeFailure ``git <args>: exit status N: <stderr>`` (spec §5.8 format).
    """
    import subprocess

    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    argv = ["git", *args]
    shown = " ".join(argv)
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise RuntimeFailure("git is required for git sources (not found on PATH)") from None
    except subprocess.TimeoutExpired as exc:
        output = exc.stderr if isinstance(exc.stderr, str) else ""
        raise RuntimeFailure(f"{shown}: timed out after {timeout:g}s", output=output) from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise RuntimeFailure(f"{shown}: exit status {done.returncode}: {output}", output=output)
    return done.stdout


class GitSourceKind(SourceKind):
    """A git repository cloned into the stack (sources.<n>.repo, cache_path)."""

    name = "git"

    def materialize(
        self, root: str, name: str, source: Source, progress: Callable[[str], None] | None = None
    ) -> str:
        """Clone the repository when ``<path>/.git`` is absent; an existing clone is left as it is."""
        path = self.host_path(root, name, source)
        if os.path.exists(os.path.join(path, ".git")):
            return path
        repo = source.clone_url
        if not repo:
            raise InvalidInput(f"sources.{name}.repo", "a git source needs a repo to clone")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        args = ["clone"]
        if source.default_ref:
            args += ["--branch", source.default_ref]
        args += [repo, path]
        if progress is not None:
            progress(f"cloning {repo} into {path}")
        run_git(args, cwd=root)
        return path

    def fetch(self, root: str, name: str, source: Source) -> None:
        """``git fetch --all --prune`` in the clone (not implemented yet)."""
        raise NotImplementedYet("git source fetch")

    def pull(self, root: str, name: str, source: Source) -> None:
        """``git pull --ff-only`` in the clone (not implemented yet)."""
        raise NotImplementedYet("git source pull")

    def push(self, root: str, name: str, source: Source, ref: str = "") -> None:
        """Push the clone's branch to its push remote (not implemented yet)."""
        raise NotImplementedYet("git source push")

    def diff(self, root: str, name: str, source: Source, ref: str = "") -> list[object]:
        """Parsed diff of the clone against HEAD or ``ref`` (not implemented yet)."""
        raise NotImplementedYet("git source diff")


@hookimpl
def angee_source_kinds() -> list[SourceKind]:
    """The ``git`` source kind."""
    return [GitSourceKind()]
