"""Ahead/behind counts of many commits against one base from a single history walk.

Workspace slots without an upstream compare HEAD with their base (``git rev-list --left-right --count
<base>...HEAD``): one extra git process per slot. The worktrees of one cache share their object store,
so :func:`batch_left_right` counts all of them at once: ``git merge-base --all --octopus`` finds the
common ancestors ``O`` of the base and every tip, one ``git rev-list --parents <base> <tips> --not <O>``
lists the history they do not share, and the counts are set differences of reachability in that small
graph (every commit reachable from ``O`` is reachable from the base and from every tip, so it never
counts). Large graphs raise :class:`BatchTooLarge`, and the caller counts slot by slot instead.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from angee.errors import RuntimeFailure
from angee_source_git.runner import git
from angee_source_git.validate import check_git_arg

MAX_GRAPH = 20_000  # commits in the unshared history
MAX_WORK = 2_000_000  # commits × distinct tips visited in Python


class BatchTooLarge(RuntimeFailure):
    """The unshared history is too large to count in Python; count per checkout with git instead."""


def _is_sha(value: str) -> bool:
    return len(value) in (40, 64) and all(ch in string.hexdigits for ch in value)


def _reach(start: str, parents: dict[str, list[str]]) -> set[str]:
    """Commits of the graph reachable from ``start`` (itself included); nothing when it is outside."""
    seen: set[str] = set()
    stack = [start] if start in parents else []
    while stack:
        commit = stack.pop()
        if commit in seen:
            continue
        seen.add(commit)
        stack.extend(p for p in parents[commit] if p in parents and p not in seen)
    return seen


def batch_left_right(path: str, base: str, tips: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``{tip: (behind, ahead)}`` of each tip (a full commit sha) relative to ``base``, run in ``path`` (any
    checkout of the repository). Raises RuntimeFailure when the commits share no history, and
    :class:`BatchTooLarge` when the walk would be too large."""
    check_git_arg("ref", base)
    unique = sorted(set(tips))
    if not unique or not all(_is_sha(t) for t in unique):
        raise RuntimeFailure("batch counts need full commit ids")
    base_sha = git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], path).stdout.strip()
    found = git(["merge-base", "--all", "--octopus", base_sha, *unique], path, check=False)
    bases = found.stdout.split()
    if not found.ok or not bases:
        raise RuntimeFailure(f"no common ancestor of {base} and the checked-out commits")
    listed = git(["rev-list", "--parents", base_sha, *unique, "--not", *bases, "--"], path).stdout
    parents: dict[str, list[str]] = {}
    for line in listed.splitlines():
        commit, *rest = line.split()
        parents[commit] = rest
    if len(parents) > MAX_GRAPH or len(parents) * (len(unique) + 1) > MAX_WORK:
        raise BatchTooLarge(f"{len(parents)} unshared commits across {len(unique)} checkouts")
    from_base = _reach(base_sha, parents)
    counts: dict[str, tuple[int, int]] = {}
    for tip in unique:
        from_tip = _reach(tip, parents)
        counts[tip] = (len(from_base - from_tip), len(from_tip - from_base))
    return counts
