"""Worktrees of a source cache and base-ref resolution for workspace slots (templates-workspaces-git §5.3, §5.7)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from angee.errors import RuntimeFailure
from angee_source_git.remote import remotes
from angee_source_git.runner import GitFailed, git
from angee_source_git.validate import check_git_arg, check_git_args


def commit_exists(path: str, candidate: str) -> bool:
    """``git rev-parse --verify --quiet <candidate>^{commit}`` succeeds."""
    return git(["rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], path, check=False).ok


def resolve_sync_ref(path: str, ref: str) -> str:
    """The ref a slot syncs with for base ``ref``: ``refs/…`` and ``<existing remote>/…`` as given; else the
    first of ``origin/<ref>``, ``<other remote>/<ref>`` (sorted), ``<ref>`` that names a commit.

    None → RuntimeFailure ``base ref "<ref>" was not found after fetch``.
    """
    check_git_arg("ref", ref)
    if ref.startswith("refs/"):
        return ref
    names = remotes(path)
    if ref.partition("/")[0] in names and "/" in ref:
        return ref
    candidates = [f"{r}/{ref}" for r in (["origin"] if "origin" in names else [])]
    candidates += [f"{r}/{ref}" for r in names if r != "origin"]
    candidates.append(ref)
    for candidate in candidates:
        if commit_exists(path, candidate):
            return candidate
    raise RuntimeFailure(f'base ref "{ref}" was not found after fetch')


def branch_exists(cache: str, branch: str) -> bool:
    """``refs/heads/<branch>`` exists in ``cache``."""
    check_git_arg("branch", branch)
    return git(["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], cache, check=False).ok


def _warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def worktree_add(
    cache: str, dest: str, branch: str, base_ref: str = "", warn: Callable[[str], None] | None = None
) -> bool:
    """Add the worktree ``dest`` of ``cache`` on ``branch``; return whether the branch already existed.

    Existing ``refs/heads/<branch>`` → a warning and ``git worktree add <dest> <branch>``; else
    ``git worktree add --no-track -b <branch> <dest> <start>`` with ``<start>`` = ``base_ref`` resolved
    like sync-base (prefers ``origin/<base_ref>``), or HEAD without a base ref. Parents of ``dest`` are
    created.
    """
    check_git_args(branch=branch, ref=base_ref)
    if not branch:
        raise RuntimeFailure(f"worktree {dest}: a branch is required")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if branch_exists(cache, branch):
        (warn or _warn_stderr)(f'branch "{branch}" already exists in {cache}; reusing it for {dest}')
        git(["worktree", "add", dest, branch], cache)
        return True
    start = resolve_sync_ref(cache, base_ref) if base_ref else "HEAD"
    git(["worktree", "add", "--no-track", "-b", branch, dest, start], cache)
    return False


def worktree_paths(cache: str) -> list[str]:
    """Paths of ``cache``'s worktrees (``git worktree list --porcelain``), the main checkout first."""
    out = git(["worktree", "list", "--porcelain"], cache).stdout
    return [line[len("worktree ") :] for line in out.splitlines() if line.startswith("worktree ")]


def worktree_registered(cache: str, dest: str) -> bool:
    """Whether ``dest``'s canonical path is a registered worktree of ``cache`` (stale ones included)."""
    wanted = os.path.realpath(dest)
    return any(os.path.realpath(p) == wanted for p in worktree_paths(cache))


def worktree_prune(cache: str) -> None:
    """``git worktree prune``: forget worktrees whose directories are gone."""
    git(["worktree", "prune"], cache)


def worktree_remove(cache: str, dest: str) -> None:
    """``git worktree remove --force --force <dest>`` then ``git worktree prune``."""
    git(["worktree", "remove", "--force", "--force", dest], cache)
    worktree_prune(cache)


def is_ancestor(path: str, commit: str, of: str) -> bool:
    """``git merge-base --is-ancestor <commit> <of>`` (the reaper's "merged into its base" test)."""
    check_git_arg("ref", commit)
    check_git_arg("ref", of)
    done = git(["merge-base", "--is-ancestor", commit, of], path, check=False)
    if done.returncode not in (0, 1):
        raise GitFailed(done)
    return done.ok
