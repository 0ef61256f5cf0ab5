"""The kernel's small git runner for workspace slots (argv lists, never a shell; prompts disabled).

Worktree/clone materialisation and the minimal slot status live here until the git source plugin grows
its own slot operations; :func:`slot_git` prefers the plugin's methods when it has them.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

from angee.errors import RuntimeFailure

GIT_TIMEOUT_SECONDS = 1800


def git_env() -> dict[str, str]:
    """The environment of every git call: the caller's, with ``GIT_TERMINAL_PROMPT=0`` (spec §0)."""
    return dict(os.environ, GIT_TERMINAL_PROMPT="0")


def run_git(
    args: list[str], cwd: str | None = None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``git <args>``; a non-zero exit raises RuntimeFailure naming the argv with git's output."""
    argv = ["git", *args]
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=git_env(), capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS
        )
    except FileNotFoundError:
        raise RuntimeFailure("git is required for git workspace slots (not found on PATH)") from None
    except subprocess.TimeoutExpired:
        raise RuntimeFailure(f"{' '.join(argv)}: timed out after {GIT_TIMEOUT_SECONDS}s") from None
    if check and done.returncode != 0:
        output = (done.stderr.strip() + "\n" + done.stdout.strip()).strip()
        raise RuntimeFailure(f"{' '.join(argv)}: exit status {done.returncode}: {output}", output=output)
    return done


def git_out(args: list[str], cwd: str | None = None) -> str:
    """Stdout of a successful ``git <args>``, stripped."""
    return run_git(args, cwd).stdout.strip()


class KernelSlotGit:
    """Slot git operations through the git CLI: worktrees, clones, branch/ref lookups, status facts."""

    # ------------------------------------------------------------------ refs

    def branch_exists(self, cache: str, branch: str) -> bool:
        return (
            run_git(
                ["-C", cache, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], check=False
            ).returncode
            == 0
        )

    def remotes(self, repo: str) -> list[str]:
        out = run_git(["-C", repo, "remote"], check=False)
        return (
            [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []
        )

    def _is_commit(self, repo: str, candidate: str) -> bool:
        done = run_git(
            ["-C", repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], check=False
        )
        return done.returncode == 0

    def resolve_start(self, repo: str, base: str) -> str:
        """A base ref resolved like sync-base: ``refs/…`` or ``<remote>/…`` as is, else the first of
        ``origin/<b>``, ``<other remote>/<b>``, ``<b>`` that names a commit; ``""`` base → ``HEAD``."""
        if not base:
            return "HEAD"
        remotes = self.remotes(repo)
        if base.startswith("refs/") or base.split("/", 1)[0] in remotes and "/" in base:
            return base
        ordered = (["origin"] if "origin" in remotes else []) + sorted(r for r in remotes if r != "origin")
        for candidate in [f"{r}/{base}" for r in ordered] + [base]:
            if self._is_commit(repo, candidate):
                return candidate
        raise RuntimeFailure(f'base ref "{base}" was not found after fetch')

    # ------------------------------------------------------------------ worktrees

    def worktree_list(self, cache: str) -> list[str]:
        """Canonical paths of the worktrees registered in ``cache`` (``worktree list --porcelain``)."""
        out = git_out(["-C", cache, "worktree", "list", "--porcelain"])
        return [
            os.path.realpath(line[len("worktree ") :])
            for line in out.splitlines()
            if line.startswith("worktree ")
        ]

    def worktree_registered(self, cache: str, dest: str) -> bool:
        return os.path.realpath(dest) in self.worktree_list(cache)

    def worktree_add(self, cache: str, dest: str, branch: str, start: str) -> bool:
        """Add a worktree at ``dest`` on ``branch``: reuse an existing branch (warning on stderr), else create
        it from ``start`` without tracking. Returns whether the branch was created."""
        if self.branch_exists(cache, branch):
            import sys

            print(f'angee: warning: branch "{branch}" already exists in {cache}; reusing it', file=sys.stderr)
            run_git(["-C", cache, "worktree", "add", dest, branch])
            return False
        run_git(["-C", cache, "worktree", "add", "--no-track", "-b", branch, dest, start])
        return True

    def worktree_remove(self, cache: str, dest: str) -> None:
        """Deregister (and delete) the worktree at ``dest``, even when dirty or locked, then prune."""
        run_git(["-C", cache, "worktree", "remove", "--force", "--force", dest])
        self.worktree_prune(cache)

    def worktree_prune(self, cache: str) -> None:
        run_git(["-C", cache, "worktree", "prune"])

    # ------------------------------------------------------------------ clones

    def clone(self, repo: str, dest: str, branch: str = "") -> None:
        args = ["clone"]
        if branch:
            args += ["--branch", branch]
        run_git([*args, repo, dest])

    # ------------------------------------------------------------------ status facts

    def current_ref(self, path: str) -> str:
        """``git symbolic-ref --quiet --short HEAD``, else the 7-char HEAD sha."""
        done = run_git(["-C", path, "symbolic-ref", "--quiet", "--short", "HEAD"], check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
        return git_out(["-C", path, "rev-parse", "--short=7", "HEAD"])

    def is_dirty(self, path: str) -> bool:
        return bool(git_out(["-C", path, "status", "--porcelain=v1", "--untracked-files=all"]))

    def upstream(self, path: str) -> str:
        done = run_git(
            ["-C", path, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"], check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    def ahead_behind(self, path: str, base: str) -> tuple[int, int]:
        """``(ahead, behind)`` of HEAD relative to ``base`` (``rev-list --left-right --count``)."""
        out = git_out(["-C", path, "rev-list", "--left-right", "--count", f"{base}...HEAD"]).split()
        behind, ahead = int(out[0]), int(out[1])
        return ahead, behind


_KERNEL = KernelSlotGit()


class _SlotGit:
    """Per-method dispatch: the source-kind plugin's implementation when it has one, else the kernel's."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._provider, name, None)
        if callable(method) and hasattr(KernelSlotGit, name):
            return method
        return getattr(_KERNEL, name)


def slot_git(provider: Any) -> Any:
    """The object serving slot git operations (same signatures as :class:`KernelSlotGit`): each method
    comes from the git source-kind plugin when it implements it (``worktree_add(cache, dest, branch,
    start)``, ...), else from the kernel helper."""
    return _SlotGit(provider) if provider is not None else _KERNEL
